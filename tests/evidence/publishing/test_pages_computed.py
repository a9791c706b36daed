"""A computed version (study-level data for mRSS at 6 months) on the public pages."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from evidence.models import OutcomeMeasurement, PooledResult, ReviewVersion, StudyResult
from evidence.publishing.selectors import interval_text, number
from evidence.synthesis.recompute import review_recompute

# (study label prefix) -> baseline mean, SD; follow-up mean, SD; n  (made-up numbers for the test)
MRSS_6M = {
    "Granel": (20.0, 8.0, 15.0, 7.0, 12),
    "Park": (18.0, 6.0, 14.0, 6.0, 18),
    "Wang": (25.0, 9.0, 19.0, 8.0, 5),
    "Zhang": (20.1, 7.0, 14.0, 6.0, 14),
}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def computed_version(seeded) -> ReviewVersion:
    """Version 1: mRSS at 6 months recomputed from five studies (Keyszer's reported MD plus four above)."""
    for prefix, (bm, bsd, fm, fsd, n) in MRSS_6M.items():
        updated = OutcomeMeasurement.objects.filter(
            study__review=seeded, study__label__startswith=prefix, outcome__code="mrss", timepoint_months=6
        ).update(
            data_format="baseline_followup", baseline_mean=bm, baseline_sd=bsd, baseline_n=n,
            followup_mean=fm, followup_sd=fsd, followup_n=n,
        )  # fmt: skip
        assert updated == 1, f"no mRSS 6-month row for {prefix}: the seed changed; update MRSS_6M"
    outcome = review_recompute(review=seeded, trigger="test: mRSS 6 months extracted")
    assert outcome.created and outcome.version.number == 1
    return outcome.version


def _overall(version: ReviewVersion) -> PooledResult:
    return version.pooled_results.get(outcome__code="mrss", timepoint_months=6, subgroup_variable="")


def test_it_inlines_the_stored_forest_plots_with_unique_ids_and_a_text_alternative(client, computed_version):
    body = client.get("/reviews/msc-ssc/").content.decode()
    row = _overall(computed_version)
    assert row.computed and row.forest_svg and row.cumulative_svg
    assert f'aria-labelledby="forest-{row.pk}-t forest-{row.pk}-d"' in body
    assert f'<title id="forest-{row.pk}-t">' in body and f'<desc id="cumulative-{row.pk}-d">' in body
    names = [chunk.split('"')[0] for chunk in body.split(' id="')[1:]]
    assert len(names) == len(set(names)), "duplicate element ids on the page"
    subgroups = computed_version.pooled_results.filter(outcome__code="mrss", timepoint_months=6).exclude(
        subgroup_variable=""
    )
    assert subgroups.exists()
    for sub in subgroups:
        assert f'<title id="forest-{sub.pk}-t">' in body


def test_it_shows_each_study_row_beside_the_forest_plot(client, computed_version):
    body = client.get("/reviews/msc-ssc/").content.decode()
    row = _overall(computed_version)
    results = StudyResult.objects.filter(pooled_result=row)
    assert results.count() == 5
    for result in results:
        assert interval_text(result.yi, result.ci_lb, result.ci_ub) in body
        assert f"{result.weight:.1f}%" in body
    assert interval_text(row.estimate, row.ci_lb, row.ci_ub) in body
    assert number(row.estimate) in body


def test_it_shows_the_sensitivity_analyses(client, computed_version):
    body = client.get("/reviews/msc-ssc/").content.decode()
    row = _overall(computed_version)
    for entry in row.sensitivity["leave_one_out"]:
        assert interval_text(entry["estimate"], entry["ci_lb"], entry["ci_ub"]) in body
    for entry in row.sensitivity["r_sensitivity"]:
        assert f"r = {entry['r']:g}" in body
    assert "Leave-one-out sensitivity analysis" in body and "Cumulative meta-analysis" in body
    assert "Test for differences between subgroups: Cell source: Q = " in body


def test_it_marks_rows_still_carried_from_the_paper(client, computed_version):
    body = client.get("/reviews/msc-ssc/").content.decode()
    carried = computed_version.pooled_results.get(computed=False)  # MHISS: Almadori outweighs the published row
    assert carried.awaiting.startswith("published value shown: negative remainder")
    assert f"Published result carried forward; {carried.awaiting}." in body


def test_it_shows_what_changed_and_the_pooled_safety(client, computed_version):
    body = client.get("/reviews/msc-ssc/").content.decode()
    assert computed_version.change_summary
    for line in computed_version.change_summary:
        assert line in body
    serious = computed_version.safety_results.get(is_serious_rate=True)
    assert serious.events == 0
    stated = f"Serious adverse events: none reported in {serious.k} studies ({serious.n} patients); 0 of {serious.n} (95% CI 0 to"
    assert stated in body


def test_it_keeps_version_zero_readable_as_published(client, computed_version):
    old = client.get("/reviews/msc-ssc/v/0/").content.decode()
    assert "You are reading version 0" in old and "superseded" in old
    assert "5.09 (3.38 to 6.81)" in old
    latest = client.get("/reviews/msc-ssc/v/1/").content.decode()
    assert "superseded" not in latest and "Version 1 of" in latest


def test_it_invalidates_the_page_when_a_new_version_is_published(client, seeded, settings):
    settings.PAGES_STAMP_SECONDS = 0
    first = client.get("/reviews/msc-ssc/")
    OutcomeMeasurement.objects.filter(study__label__startswith="Wang", outcome__code="mrss", timepoint_months=12).update(
        data_format="baseline_followup", baseline_mean=25, baseline_sd=9, baseline_n=5, followup_mean=18,
        followup_sd=8, followup_n=5,
    )  # fmt: skip
    review_recompute(review=seeded, trigger="test")
    second = client.get("/reviews/msc-ssc/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and "Version 1 of" in second.content.decode()


def test_it_links_the_study_page_to_its_contributions(client, computed_version):
    result = StudyResult.objects.filter(pooled_result=_overall(computed_version), study__label="Zhang 2017").get()
    body = client.get(f"/reviews/msc-ssc/studies/{result.study_id}/").content.decode()
    assert interval_text(result.yi, result.ci_lb, result.ci_ub) in body
    assert "Contribution to the latest version (version 1)" in body
