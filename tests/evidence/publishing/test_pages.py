"""The public review page of the seeded review: version 0, the paper's own published results."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.cache import cache
from django.utils.html import escape

from evidence.models import (
    AdverseEvent,
    Citation,
    PooledResult,
    ReviewVersion,
    SearchRun,
    SearchRunStatus,
    Study,
    StudyApproval,
)
from evidence.publishing.selectors import interval_text, number, p_text, row_view
from tests.evidence.recompute_helpers import version_between_screenings
from tests.evidence.screening_support import records_screened_out, two_screeners

URL = "/reviews/msc-ssc/"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _row_html(body: str, anchor: str) -> str:
    start = body.index(f'id="sof-{anchor}"')
    return body[start : body.index("</tr>", start)]


def test_it_shows_every_pooled_number_of_the_seeded_version_in_its_summary_of_findings_row(client, seeded):
    body = client.get(URL).content.decode()
    version = ReviewVersion.objects.get(review=seeded, number=0)
    rows = PooledResult.objects.filter(version=version).select_related("outcome")
    assert rows.count() == 11
    for row in rows:
        html = _row_html(body, row_view(row, version).anchor)
        assert number(row.estimate) in html, f"{row}: estimate missing from its row"
        assert interval_text(None, row.ci_lb, row.ci_ub) in html, f"{row}: 95% CI missing from its row"
        assert f'<td data-label="Studies (k)" class="num">{row.k}</td>' in html
        assert f'<td data-label="Patients (N)" class="num">{row.n_participants}</td>' in html
        assert escape(p_text(row.p_value)) in html
        assert row.get_certainty_display() in html


def test_it_writes_negative_numbers_with_a_true_minus_sign(client, seeded):
    body = client.get(URL).content.decode()
    assert "(−0.22 to 13.62)" in body and "95% CI −0.22 to 13.62" in body
    assert "-0.22" not in body and "−27.01 to 45.11" in body


def test_it_summarises_the_main_results_in_plain_language(client, seeded):
    body = client.get(URL).content.decode()
    assert (
        "Modified Rodnan skin score (mRSS) fell by 5.09 points (95% CI 3.38 to 6.81) at 6 months in 5 studies, "
        "52 patients (lower mRSS = less skin thickening); moderate certainty." in body
    )
    assert "though the confidence interval includes no change; low certainty" in body  # RCS
    assert "Diffusing capacity for carbon monoxide (DLCO) at 12 months: the published review reports" in body


def test_it_attributes_version_zero_to_the_published_paper_and_draws_its_rows_as_forest_plots(client, seeded):
    body = client.get(URL).content.decode()
    version = ReviewVersion.objects.get(review=seeded, number=0)
    assert version.attribution in body
    assert "Cui 2022: published estimate — Keyszer 2011, Wang 2013, Zhang 2017" in body
    for row in version.pooled_results.all():
        assert f'aria-labelledby="forest-{row.pk}-t forest-{row.pk}-d"' in body
    assert 'aria-labelledby="prisma-all-t prisma-all-d"' in body


def test_it_shows_the_status_banner_with_defaults_when_never_searched(client, seeded):
    body = client.get(URL).content.decode()
    assert "Living (searched on its schedule)" in body and "not yet searched" in body
    assert "<dt>Next search</dt><dd>daily at 02:30 UTC</dd>" in body
    assert "Version 0 of" in body


def test_it_shows_the_last_successful_search_and_the_review_schedule(client, seeded):
    from evidence.models import Frequency, ReviewSchedule, Weekday

    SearchRun.objects.create(
        review=seeded, query="q", window_start=datetime.date(2026, 1, 1), window_end=datetime.date(2026, 3, 4),
        status=SearchRunStatus.SUCCEEDED, finished_at=datetime.datetime(2026, 3, 5, 2, 0, tzinfo=datetime.UTC),
    )  # fmt: skip
    SearchRun.objects.create(
        review=seeded, query="q", window_start=datetime.date(2026, 3, 5), window_end=datetime.date(2026, 3, 9),
        status=SearchRunStatus.FAILED,
    )  # fmt: skip
    ReviewSchedule.objects.create(
        review=seeded, frequency=Frequency.WEEKLY, weekday=Weekday.TUESDAY, time_of_day=datetime.time(5, 15)
    )
    body = client.get(URL).content.decode()
    assert "PubMed searched up to 4 Mar 2026" in body
    assert "<dt>Next search</dt><dd>weekly on Tuesday at 05:15 UTC</dd>" in body


def test_it_states_serious_adverse_events_explicitly(client, seeded):
    body = client.get(URL).content.decode()
    assert "Serious adverse events: none reported in the included studies." in body
    assert "transient pale fingers" in body and "3 of 18" in body
    wang = body[body.index('<th scope="row">Wang 2013</th>') :]
    wang = wang[: wang.index("</tr>")]
    assert "no adverse events (as the study reports)" in wang and "0 of 5" in wang


def test_version_0_keeps_the_adverse_events_it_was_published_with(client, seeded):
    AdverseEvent.objects.filter(term="transient pale fingers").update(patients_with_event=4)
    body = client.get("/reviews/msc-ssc/v/0/").content.decode()
    assert "transient pale fingers" in body and "3 of 18" in body and "4 of 18" not in body


def test_it_lists_the_included_studies_with_links_and_flags_a_retracted_report(client, seeded):
    Citation.objects.filter(pmid="28724445").update(is_retracted=True)
    body = client.get(URL).content.decode()
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/28724445/"' in body
    assert 'href="https://doi.org/10.1186/s13075-017-1373-2"' in body
    assert 'href="https://clinicaltrials.gov/study/NCT00962923"' in body
    zhang = body[body.index(">Zhang 2017</a>") : body.index("</tr>", body.index(">Zhang 2017</a>"))]
    assert '<span class="flag">RETRACTED</span>' in zhang
    assert "8 of 9" in body  # NOS


def test_it_shows_the_version_history_and_what_changed(client, seeded):
    body = client.get(URL).content.decode()
    assert "This is the first version: the published review" in body
    assert "0 (this page)" in body
    assert 'href="/reviews/msc-ssc/feed/"' in body


def test_it_uses_no_external_asset_and_no_script(client, seeded):
    body = client.get(URL).content.decode()
    assert "<script" not in body
    assert not re.search(r'<link[^>]+href="(https?:)?//', body)
    assert not re.search(r'<img[^>]+src="(https?:)?//', body)
    assert '<th scope="col">' in body and '<html lang="en">' in body


def test_it_answers_304_to_a_matching_if_none_match(client, seeded):
    first = client.get(URL)
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    second = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 304 and second.content == b""


def test_it_serves_a_cached_page_with_a_single_query(client, seeded, django_assert_num_queries, settings):
    settings.PAGES_STAMP_SECONDS = 0
    client.get(URL)
    with django_assert_num_queries(1):  # the stamp; the page itself comes from the cache
        assert client.get(URL).status_code == 200


def test_it_serves_a_cached_page_without_a_query_while_the_stamp_is_fresh(client, seeded, django_assert_num_queries):
    client.get(URL)
    with django_assert_num_queries(0):
        assert client.get(URL).status_code == 200


def test_it_changes_the_etag_when_a_search_succeeds(client, seeded, settings):
    settings.PAGES_STAMP_SECONDS = 0
    before = client.get(URL)["ETag"]
    SearchRun.objects.create(
        review=seeded, query="q", window_start=datetime.date(2026, 1, 1), window_end=datetime.date(2026, 1, 2),
        status=SearchRunStatus.SUCCEEDED,
    )  # fmt: skip
    after = client.get(URL)
    assert after["ETag"] != before and "PubMed searched up to 2 Jan 2026" in after.content.decode()


def test_it_returns_404_for_an_unknown_review_or_version(client, seeded):
    assert client.get("/reviews/nope/").status_code == 404
    assert client.get("/reviews/msc-ssc/v/7/").status_code == 404
    assert client.get("/reviews/msc-ssc/outcomes/nope/").status_code == 404
    assert client.get("/reviews/msc-ssc/studies/999999/").status_code == 404


def test_it_shows_version_zero_at_its_own_address(client, seeded):
    body = client.get("/reviews/msc-ssc/v/0/").content.decode()
    assert "Version 0 of" in body and "superseded" not in body


def test_it_shows_an_outcome_page(client, seeded):
    body = client.get("/reviews/msc-ssc/outcomes/mrss/").content.decode()
    assert "<h1>Modified Rodnan skin score (mRSS)</h1>" in body
    assert "5.09" in body and "6.49" in body and "Mouth Handicap" not in body


def test_it_shows_a_study_page(client, seeded):
    study = Study.objects.get(review=seeded, label="Zhang 2017")
    body = client.get(f"/reviews/msc-ssc/studies/{study.pk}/").content.decode()
    assert "<h1>Zhang 2017</h1>" in body and "plasmapheresis" in body
    assert "before 20.1 (SD 3.1, n 14), after 13.8 (SD 10.2, n 14)" in body
    assert "minor respiratory tract infection" in body


def test_it_lists_the_reviews_on_the_home_page_with_their_last_search(client, seeded):
    body = client.get("/").content.decode()
    assert 'href="/reviews/msc-ssc/"' in body and "not yet searched" in body


# --- PRISMA: each version shows the counts it was published with ------------------------------------------


def _prisma_desc(body: str, key: str) -> str | None:
    """The text alternative of one PRISMA figure ('all', 'update' or 'progress'), which states every count."""
    found = re.search(rf'<desc id="prisma-{key}-d">([^<]*)</desc>', body)
    return found and found.group(1)


@pytest.fixture
def screened_version(seeded):
    return version_between_screenings(seeded)


def test_a_version_page_keeps_the_prisma_counts_it_was_published_with(client, screened_version):
    body = client.get("/reviews/msc-ssc/v/1/").content.decode()
    assert "Records screened: 2; excluded: 2." in _prisma_desc(body, "all")
    assert "Records screened: 2; excluded: 2." in _prisma_desc(body, "update")
    assert "as they stood when version 1 was published" in body
    assert _prisma_desc(body, "progress") is None  # version 1 is the latest, but its own page shows only it
    older = client.get("/reviews/msc-ssc/v/0/").content.decode()
    assert "Records screened: 0; excluded: 0." in _prisma_desc(older, "all")
    assert _prisma_desc(older, "update") is None and _prisma_desc(older, "progress") is None


def test_the_latest_page_adds_the_screening_not_yet_in_a_version(client, screened_version):
    body = client.get(URL).content.decode()
    assert "Records screened: 2; excluded: 2." in _prisma_desc(body, "all")
    assert "Records screened: 3; excluded: 3." in _prisma_desc(body, "progress")
    assert "PRISMA 2020 flow: screening since version 1 (not yet in a published version)" in body
    assert "Work in progress: records identified and screened since version 1 was published" in body


def test_the_latest_page_shows_no_work_in_progress_when_nothing_happened_since(client, seeded):
    body = client.get(URL).content.decode()
    assert _prisma_desc(body, "all") and _prisma_desc(body, "progress") is None
    assert "not yet in a published version" not in body


def test_a_version_stored_before_versions_kept_their_flows_is_counted_live(client, seeded):
    ReviewVersion.objects.filter(review=seeded).update(prisma={})
    records_screened_out(seeded, range(2), screeners=two_screeners(seeded))
    body = client.get(URL).content.decode()
    assert "Records screened: 2; excluded: 2." in _prisma_desc(body, "all")
    assert "as they stood when version" not in body


def test_it_changes_the_etag_when_screening_moves_the_work_in_progress(client, seeded, settings):
    settings.PAGES_STAMP_SECONDS = 0
    screeners = two_screeners(seeded)
    before = client.get(URL)["ETag"]
    records_screened_out(seeded, range(1), screeners=screeners)
    screened = client.get(URL)
    assert screened["ETag"] != before and "Records screened: 1;" in _prisma_desc(screened.content.decode(), "progress")
    StudyApproval.objects.create(
        study=Study.objects.filter(review=seeded).first(), editor=screeners[0], action="approve"
    )
    approved = client.get(URL)
    assert approved["ETag"] != screened["ETag"]
