"""The review page lists at most REVIEW_PAGE_STUDIES studies per analysis (issue 15: a 1,000-study review's page
was 68 MB); the heaviest are listed, and the outcome page keeps every study and the forest plot."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from evidence.models import PooledResult, RecomputeRun, RecomputeStatus, ReviewVersion
from evidence.publishing.selectors import pages
from evidence.publishing.selectors.rows import row_anchor
from evidence.synthesis.recompute import recompute_run_execute


@pytest.fixture(autouse=True)
def _no_pages_in_memory():
    from evidence.publishing import exports, http_cache

    for clear in (cache.clear, http_cache._LARGE_PAGES.clear, exports._STORED.clear):
        clear()
    yield
    for clear in (cache.clear, http_cache._LARGE_PAGES.clear, exports._STORED.clear):
        clear()


@pytest.fixture
def published(seeded) -> ReviewVersion:
    run = RecomputeRun.objects.create(review=seeded)
    assert recompute_run_execute(run_id=run.id) == RecomputeStatus.PUBLISHED
    return seeded.versions.get(number=1)


def _largest(version: ReviewVersion) -> PooledResult:
    rows = version.pooled_results.filter(subgroup_variable="").select_related("outcome")
    return max(rows, key=lambda row: row.study_results.count())


def _table(html: str, anchor: str) -> str:
    """The analysis's section on the page, up to the next analysis."""
    start = html.index(f'<h3 id="{anchor}">')
    end = html.find('<section aria-labelledby="', start)
    section = html[start : end if end > 0 else None]
    return section.split("<h4>Subgroups</h4>")[0]  # its subgroups are analyses of their own


def test_the_review_page_lists_the_heaviest_studies_and_links_the_outcome_page(client, published, monkeypatch):
    monkeypatch.setattr(pages, "REVIEW_PAGE_STUDIES", 1)  # the seed's largest analysis (2 studies) stands in for 1,000
    row = _largest(published)
    results = list(row.study_results.all())
    assert len(results) > 1
    heaviest = [s.study_label for s in sorted(results, key=lambda s: -s.weight)[:1]]

    section = _table(client.get("/reviews/msc-ssc/").content.decode(), row_anchor(row))

    body = section[section.index("<tbody>", section.index("<caption>Study results")) : section.index("</tbody>")]
    listed = re.findall(r'<th scope="row">(?:<a href="[^"]*">)?([^<]+)', body)
    assert listed == heaviest
    assert f"/reviews/msc-ssc/outcomes/{row.outcome.code}/#{row_anchor(row)}" in section
    assert f"the 1 of {len(results)} studies with the largest weights" in section
    assert "Forest plot:" not in section and "Leave-one-out" not in section and "Cumulative" not in section


def test_the_outcome_page_keeps_every_study_and_the_forest_plot(client, published, monkeypatch):
    monkeypatch.setattr(pages, "REVIEW_PAGE_STUDIES", 1)
    row = _largest(published)

    html = client.get(f"/reviews/msc-ssc/outcomes/{row.outcome.code}/").content.decode()

    section = _table(html, row_anchor(row))
    assert section.count('<th scope="row">') >= row.study_results.count() and "Forest plot:" in section
    assert "largest weights" not in html


def test_an_older_versions_page_links_its_study_level_download(client, published, monkeypatch):
    """The outcome page shows the latest version only: an older version's page links its own CSV instead."""
    monkeypatch.setattr(pages, "REVIEW_PAGE_STUDIES", 1)
    monkeypatch.setattr(pages.ReviewPage, "is_latest", property(lambda page: False))  # as once v2 is out
    row = _largest(published)

    section = _table(client.get("/reviews/msc-ssc/v/1/").content.decode(), row_anchor(row))

    assert "/reviews/msc-ssc/v/1/studies.csv" in section and "/outcomes/" not in section


def test_the_seed_page_is_below_the_cap_and_lists_every_study(client, published):
    html = client.get("/reviews/msc-ssc/").content.decode()

    assert "largest weights" not in html and pages.REVIEW_PAGE_STUDIES >= 20
    for row in published.pooled_results.filter(subgroup_variable=""):
        assert not row.study_results.count() > pages.REVIEW_PAGE_STUDIES
