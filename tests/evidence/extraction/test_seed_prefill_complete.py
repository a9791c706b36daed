"""Seed drafts complete: every seeded measurement, with its source, is in the pre-filled draft (numbers, effect
estimates such as Keyszer 2011's, and outcomes measured but not yet extracted), survives the extraction form,
and a reconciled seed draft approves into a version that loses no seeded row."""

from collections import Counter

import pytest

from evidence.approval.services import study_approve
from evidence.extraction.forms import draft_forms, draft_payload
from evidence.extraction.seed_prefill import study_draft_prefill
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import OutcomeMeasurement, PooledResult, ReviewCitation, Study, StudyResult
from evidence.synthesis.recompute import review_recompute
from tests.evidence.extraction.test_seed_extraction import team as seed_team

team = seed_team  # fixture: the seeded review's extractors, senior reviewer and editor


def _keys(rows) -> set[tuple[str, float, str]]:
    return {(row["outcome"], float(row["timepoint_months"]), row["arm"]) for row in rows}


def _stored(study: Study) -> set[tuple[str, float, str]]:
    return {
        (code, float(months), arm)
        for code, months, arm in study.measurements.values_list("outcome__code", "timepoint_months", "arm")
    }


def test_it_prefills_every_seeded_measurement_of_every_seeded_study(seeded):
    for study in Study.objects.filter(review=seeded):
        rows = study_draft_prefill(study=study)["measurements"]

        assert _stored(study) <= _keys(rows), f"{study.label}: seeded rows missing from the draft"
        assert all(row["source_location"] for row in rows), f"{study.label}: a row without its source"


def test_keyszers_effect_estimate_and_its_unextracted_time_point_are_prefilled_with_their_source(seeded):
    keyszer = Study.objects.get(review=seeded, label="Keyszer 2011")

    rows = {(r["outcome"], r["timepoint_months"]): r for r in study_draft_prefill(study=keyszer)["measurements"]}

    at_6 = rows[("mrss", 6.0)]
    assert at_6["data_format"] == "effect_estimate"
    assert (at_6["effect_estimate"], at_6["effect_ci_lb"], at_6["effect_ci_ub"], at_6["effect_n"]) == (
        6.7,
        -0.22,
        13.62,
        3,
    )
    assert at_6["effect_orientation"] == "baseline_minus_followup"  # stated as stored; never flipped by hand
    assert at_6["source_location"].startswith("Cui 2022 table")
    at_3 = rows[("mrss", 3.0)]
    assert at_3["data_format"] == "not_extracted" and at_3["source_location"].startswith("Cui 2022 table")


def _posted(payload: dict) -> dict:
    """The draft page's POST for a payload, as the browser sends the pre-filled form back."""
    data = {f"{prefix}-{name}": "0" for prefix in ("arm", "m", "ae") for name in ("TOTAL_FORMS", "INITIAL_FORMS")}
    data.update({f"study-{name}": str(value) for name, value in payload["study"].items()})
    for section, prefix in (("arms", "arm"), ("measurements", "m"), ("adverse_events", "ae")):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(payload[section]))
        for index, row in enumerate(payload[section]):
            data.update({f"{prefix}-{index}-{name}": str(value) for name, value in row.items() if value is not None})
    for section in ("intervention", "quality"):
        data.update({f"{section}-{name}": str(value) for name, value in payload[section].items() if value is not None})
    return data


@pytest.mark.parametrize("label", ["Keyszer 2011", "Zhang 2017", "Granel 2015"])
def test_the_extraction_form_keeps_every_prefilled_value(seeded, label):
    study = Study.objects.get(review=seeded, label__startswith=label)
    payload = study_draft_prefill(study=study)

    posted = draft_payload(draft_forms(seeded, _posted(payload)))

    assert posted is not None
    assert posted["measurements"] == payload["measurements"]


def _per_outcome(study: Study) -> Counter:
    return Counter(study.measurements.values_list("outcome__code", flat=True))


def _forest_lines(version, study: Study) -> set[tuple[str, float]]:
    lines = StudyResult.objects.filter(pooled_result__version=version, study=study, pooled_result__subgroup_variable="")
    return {(line.pooled_result.outcome.code, float(line.pooled_result.timepoint_months)) for line in lines}


def test_a_seed_draft_reconciles_and_approves_without_losing_a_seeded_row(seeded, team):
    keyszer = Study.objects.get(review=seeded, label="Keyszer 2011")
    entry = ReviewCitation.objects.get(
        review=seeded, citation__study_reports__study=keyszer, citation__study_reports__is_main_report=True
    )
    before = review_recompute(review=seeded, trigger="before").version
    counts_before, lines_before = _per_outcome(keyszer), _forest_lines(before, keyszer)
    payload = draft_payload(draft_forms(seeded, _posted(study_draft_prefill(study=keyszer))))
    at_3 = next(row for row in payload["measurements"] if (row["outcome"], row["timepoint_months"]) == ("mrss", 3.0))
    at_3.update(data_format="change", change_mean=-5.0, change_sd=4.0, change_n=3, source_location="Table 2, p. 4")

    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=payload, submit=True)
    extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=payload)
    study_approve(study=keyszer, editor=team["editor"])
    after = review_recompute(review=seeded, trigger="approved").version

    assert after.number == before.number + 1
    assert _per_outcome(keyszer) == counts_before  # the 3-month row filled in, none lost
    at_6 = OutcomeMeasurement.objects.get(study=keyszer, outcome__code="mrss", timepoint_months=6)
    assert (at_6.effect_estimate, at_6.effect_orientation) == (6.7, "baseline_minus_followup")
    assert lines_before <= _forest_lines(after, keyszer)  # no forest-plot line lost
    assert ("mrss", 3.0) in _forest_lines(after, keyszer) - lines_before  # the new data is plotted
    assert PooledResult.objects.filter(version=after, outcome__code="mrss", timepoint_months=3).exists()


def test_every_seeded_studys_draft_page_opens_pre_filled(seeded, team, client):
    """Granel 2015's primary report gives '22-30m' percentages: its draft page answered 500."""
    from django.urls import reverse

    client.force_login(team["ext1"])
    for study in Study.objects.filter(review=seeded):
        entry = ReviewCitation.objects.get(
            review=seeded, citation__study_reports__study=study, citation__study_reports__is_main_report=True
        )

        page = client.get(reverse("admin:extraction_draft", args=[seeded.pk, entry.pk]))

        assert page.status_code == 200, study.label
        assert page.content.decode().count("Cui 2022 table") >= 1, study.label


def test_every_seeded_study_goes_through_the_workflow_unchanged(seeded, team):
    """Each seed study's pre-filled draft, sent back through the form by two extractors, reconciled and approved
    as it stands: the next version keeps every seeded measurement and every forest-plot line."""
    studies = list(Study.objects.filter(review=seeded).order_by("id"))
    before = review_recompute(review=seeded, trigger="before").version
    counts = {study.pk: _per_outcome(study) for study in studies}
    lines = {study.pk: _forest_lines(before, study) for study in studies}

    for study in studies:
        entry = ReviewCitation.objects.get(
            review=seeded, citation__study_reports__study=study, citation__study_reports__is_main_report=True
        )
        payload = draft_payload(draft_forms(seeded, _posted(study_draft_prefill(study=study))))
        for extractor in ("ext1", "ext2"):
            extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=payload, submit=True)
        extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=payload)
        study_approve(study=study, editor=team["editor"])
    after = review_recompute(review=seeded, trigger="all approved").version

    assert after.number == before.number + 1 and after.n_studies == before.n_studies
    for study in studies:
        assert _per_outcome(study) == counts[study.pk], study.label
        assert lines[study.pk] <= _forest_lines(after, study), study.label


def test_a_primary_papers_numbers_replace_a_row_that_only_says_measured(seeded):
    zhang = Study.objects.get(review=seeded, label="Zhang 2017")
    OutcomeMeasurement.objects.filter(study=zhang, outcome__code="mrss", timepoint_months=12).update(
        data_format="not_extracted", baseline_mean=None, baseline_sd=None, followup_mean=None, followup_sd=None
    )

    rows = [
        r
        for r in study_draft_prefill(study=zhang)["measurements"]
        if (r["outcome"], r["timepoint_months"]) == ("mrss", 12.0)
    ]

    assert len(rows) == 1 and rows[0]["data_format"] == "baseline_followup" and rows[0]["baseline_mean"] == 20.1
    assert rows[0]["source_location"].startswith("Primary paper")
