"""Recompute: new immutable versions from study-level data, with their diff, carried rows and GRADE."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from evidence.models import GradeAssessment, PooledResult, ReviewVersion, Study
from evidence.synthesis.recompute import review_recompute
from evidence.synthesis.recompute.safety import NONE_OCCURRED
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set


def _row(version, code, months, subgroup=""):
    return version.pooled_results.get(outcome__code=code, timepoint_months=months, subgroup_value=subgroup)


def test_it_reproduces_the_bone_marrow_subgroup_from_keyszers_reported_estimate(seeded):
    version = review_recompute(review=seeded, trigger="test").version
    row = _row(version, "mrss", 6, "bone_marrow_msc")
    assert row.computed and row.k == 1
    assert (round(row.estimate, 2), round(row.ci_lb, 2), round(row.ci_ub, 2)) == (6.70, -0.22, 13.62)
    assert not any("Bone-marrow" in line for line in version.change_summary)  # recomputed, but it did not move


def test_a_row_without_study_level_data_is_its_published_remainder(seeded):
    version = review_recompute(review=seeded, trigger="test").version
    row = _row(version, "mrss", 3)
    assert row.computed and not row.awaiting
    assert list(row.study_results.values_list("role", "study_label")) == [
        ("remainder", "Cui 2022: studies without extracted data — Keyszer 2011, Wang 2013, Zhang 2017; derived "
         "from the published estimate")
    ]  # fmt: skip
    assert (row.estimate, row.ci_lb, row.ci_ub, row.k, row.n_participants) == (4.11, 2.19, 6.02, 3, 22)


def test_extracting_the_missing_study_recomputes_the_published_row(seeded):
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    version = review_recompute(review=seeded, trigger="Wang 2013 extracted").version
    row = _row(version, "mrss", 12)
    assert row.computed and row.k == 2 and row.n_participants == 19
    assert row.model == "FE" and row.ci_method == "z"  # the published review's primary analysis
    assert not row.study_results.filter(role="remainder").exists()  # every study it pooled has data now
    assert list(row.study_results.values_list("study_label", flat=True)) == ["Wang 2013", "Zhang 2017"]
    assert abs(sum(row.study_results.values_list("weight", flat=True)) - 100) < 1e-9
    assert row.forest_svg.startswith("<svg") and "Zhang 2017" in row.forest_svg and "<title" in row.forest_svg
    line = next(text for text in version.change_summary if text.startswith("mRSS at 12 months:"))
    assert line.startswith("mRSS at 12 months: 6.49 (4.61 to 8.37), 2 studies, 19 patients → ")


def test_the_zhang_effect_uses_the_reviews_orientation_and_r(seeded):
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    row = _row(review_recompute(review=seeded, trigger="t").version, "mrss", 12)
    zhang = row.study_results.get(study_label="Zhang 2017")
    # baseline − follow-up = 20.1 − 13.8; before and after independent, as Cui 2022 (MC variance with r = 0)
    assert zhang.yi == pytest.approx(6.3)
    assert zhang.vi == pytest.approx((3.1**2 + 10.2**2) / 14)
    assert "r = 0 (before and after treated as independent)" in zhang.derivation


def test_unchanged_inputs_give_no_new_version(seeded):
    first = review_recompute(review=seeded, trigger="a")
    second = review_recompute(review=seeded, trigger="b")
    assert first.created and not second.created
    assert second.version == first.version
    assert ReviewVersion.objects.filter(review=seeded).count() == 2


def test_a_grade_change_is_carried_into_the_next_version_with_its_change(seeded):
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    review_recompute(review=seeded, trigger="first")
    GradeAssessment.objects.filter(review=seeded, outcome__code="mrss", timepoint_months=12, subgroup_value="").update(
        certainty="low", imprecision="Downgraded: 19 patients"
    )
    version = review_recompute(review=seeded, trigger="GRADE").version
    row = _row(version, "mrss", 12)
    assert (row.certainty, row.certainty_change) == ("low", "moderate → low")
    assert row.certainty_reasons["imprecision"] == "Downgraded: 19 patients"


def test_versions_are_numbered_and_earlier_ones_stay_untouched(seeded):
    before = list(PooledResult.objects.filter(version__number=0).values_list("id", "estimate", "ci_lb", "ci_ub"))
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    review_recompute(review=seeded, trigger="x")
    assert (
        list(PooledResult.objects.filter(version__number=0).values_list("id", "estimate", "ci_lb", "ci_ub")) == before
    )
    assert list(seeded.versions.order_by("number").values_list("number", flat=True)) == [0, 1]


def test_safety_is_pooled_per_category_with_the_serious_rate(seeded):
    version = review_recompute(review=seeded, trigger="t").version
    serious = version.safety_results.get(is_serious_rate=True)
    # Almadori 62, Granel 12, Keyszer 3, Park 18, Zhang 14 report counts; Virzì 6 and Wang 5 state none
    # occurred; Blezien (no count) and Scuderi (Cui: "NA") stay out.
    assert serious.events == 0 and serious.k == 7 and serious.n == 120
    # no event is invented: 0 of 120 with the exact interval on the total (issue 13, item 7)
    assert serious.measure == "CP" and serious.proportion == serious.ci_lb == 0 < serious.ci_ub < 0.05
    categories = set(version.safety_results.values_list("category", flat=True))
    assert {"injection-site skin reaction", "other", "serious adverse events"} <= categories
    assert any(row["study"] == "Zhang 2017" and row["term"] == "diarrhea" for row in version.safety_table)


def test_a_study_stating_no_adverse_events_counts_zero_in_every_category(seeded):
    version = review_recompute(review=seeded, trigger="t").version
    for row in version.safety_results.all():
        by_study = {s["study"].split(" (")[0]: (s["events"], s["n"]) for s in row.studies}
        assert by_study["Wang 2013"] == (0, 5) and by_study["Virzì 2017"] == (0, 6), row.category
        assert not any(label.startswith(("Scuderi", "Blezien")) for label in by_study), row.category
    wang = [r for r in version.safety_table if r["study"] == "Wang 2013"]
    assert wang == [
        {
            "study": "Wang 2013",
            "term": NONE_OCCURRED,
            "category": "all categories",
            "serious": False,
            "patients_with_event": 0,
            "patients_at_risk": 5,
        }
    ]


def test_ticking_no_adverse_events_makes_a_new_version_that_counts_the_study(seeded):
    review_recompute(review=seeded, trigger="t")
    scuderi = Study.objects.get(review=seeded, label="Scuderi 2013")
    scuderi.reports_no_adverse_events = True
    scuderi.full_clean()
    scuderi.save()
    version = review_recompute(review=seeded, trigger="Scuderi: none occurred").version
    serious = version.safety_results.get(is_serious_rate=True)
    assert (version.number, serious.k, serious.n) == (2, 8, 126)


def test_the_flag_is_refused_on_a_study_with_adverse_events(seeded):
    almadori = Study.objects.get(review=seeded, label="Almadori 2019")
    almadori.reports_no_adverse_events = True
    with pytest.raises(ValidationError, match="remove them first"):
        almadori.full_clean()


def test_sensitivity_leave_one_out_and_cumulative_are_stored(seeded):
    for label, base, follow in (("Wang 2013", 24.0, 17.0), ("Keyszer 2011", 26.0, 20.0)):
        measurement_set(
            seeded,
            label,
            "mrss",
            12,
            baseline_mean=base,
            baseline_sd=5.0,
            baseline_n=4,
            followup_mean=follow,
            followup_sd=6.0,
            followup_n=4,
        )
    row = _row(review_recompute(review=seeded, trigger="t").version, "mrss", 12)
    assert row.k == 3
    assert [entry["omitted"] for entry in row.sensitivity["leave_one_out"]] == [
        "Keyszer 2011",
        "Wang 2013",
        "Zhang 2017",
    ]
    assert [entry["r"] for entry in row.sensitivity["r_sensitivity"]] == [0.2, 0.5, 0.8]
    assert [entry["k"] for entry in row.sensitivity["cumulative"]] == [1, 2, 3]
    assert row.cumulative_svg.startswith("<svg")


def test_the_command_recomputes_and_reports(seeded, capsys):
    call_command("recompute", "--review", "msc-ssc")
    call_command("recompute", "--review", "msc-ssc")
    out = capsys.readouterr().out
    assert "Version 1 published" in out and "Inputs unchanged" in out


def test_the_command_names_known_reviews_on_a_bad_slug(seeded):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="known reviews: msc-ssc"):
        call_command("recompute", "--review", "nope")
