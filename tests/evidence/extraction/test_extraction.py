"""Extraction: validation messages, the median conversion, comparison, reconciliation and approval."""

from statistics import NormalDist

import pytest
from django.core.exceptions import ValidationError

from evidence.approval import services as approval
from evidence.approval.services import on_study_approved, study_approve
from evidence.extraction.payload import payload_compare, payload_errors, payload_merge
from evidence.extraction.services import extraction_draft_save, extraction_reconcile, median_to_mean_sd
from evidence.models import DraftStatus, OutcomeMeasurement, Study, StudyStatus, TriageStage
from tests.evidence import screening_support
from tests.evidence.screening_support import make_citation, make_outcomes

review = screening_support.review  # fixture
team = screening_support.team  # fixture


def payload(**measurement) -> dict:
    row = {"outcome": "mrss", "timepoint_months": 6, "data_format": "baseline_followup"}
    row.update(measurement)
    return {
        "study": {"label": "Li 2022", "design": "single_arm_before_after", "enrolment_n": 20},
        "intervention": {"cell_source": "umbilical_cord_msc", "route": "intravenous", "donor": "allogeneic"},
        "measurements": [row],
        "adverse_events": [{"term": "Fever", "patients_with_event": 2, "patients_at_risk": 20}],
        "quality": {"selection": 3, "comparability": 1, "outcome": 2},
    }


@pytest.mark.parametrize(
    ("measurement", "message"),
    [
        ({"baseline_mean": 20, "baseline_sd": -1}, "baseline_sd is -1; an SD cannot be negative"),
        ({"baseline_mean": 20, "baseline_n": 25}, "baseline_n is 25, more than the 20 patients enrolled"),
        ({"followup_mean": 12}, "a follow-up mean needs its baseline mean"),
        ({"baseline_mean": 60}, "baseline_mean 60 is outside mrss's plausible range 0.0–51.0"),
        ({"baseline_mean": 20, "unit": "mL"}, "unit “mL” does not match mrss's unit"),
        ({"outcome": "skin"}, "unknown outcome “skin”"),
    ],
)
def test_it_explains_each_invalid_value(review, measurement, message):
    make_outcomes()
    errors = payload_errors(payload=payload(**measurement), review=review)
    assert any(message in error for error in errors), errors


def test_a_valid_payload_has_no_errors_and_units_ignore_the_scale_note(review):
    make_outcomes()
    assert payload_errors(payload=payload(baseline_mean=20, followup_mean=14, unit="Points"), review=review) == []


def test_it_explains_adverse_event_and_nos_problems(review):
    make_outcomes()
    bad = payload()
    bad["adverse_events"] = [{"term": "Fever", "patients_with_event": 5, "patients_at_risk": 3}]
    bad["quality"] = {"selection": 5}
    errors = payload_errors(payload=bad, review=review)
    assert "Adverse event 1: 5 patients with the event but only 3 at risk." in errors
    assert "NOS selection: 5 stars is outside 0–4." in errors


def test_the_median_conversion_goes_through_the_pooling_module():
    mean, sd, method = median_to_mean_sd(median=20, n=30, q1=15, q3=26, minimum=None, maximum=None)
    assert mean == pytest.approx(0.713 * 20.5 + 0.287 * 20)  # Luo 2018 S2: w = 0.7 + 0.39/30 = 0.713
    eta = 2 * NormalDist().inv_cdf((0.75 * 30 - 0.125) / (30 + 0.25))  # Wan 2014 eq. 16
    assert sd == pytest.approx(11 / eta)  # S2: IQR / eta(n)
    assert "Luo 2018" in method and "Wan 2014" in method


def test_a_submitted_draft_is_validated_and_a_saved_one_is_not(review, team):
    make_outcomes()
    rc = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    bad = payload(baseline_mean=20, baseline_sd=-2)
    draft = extraction_draft_save(review_citation=rc, extractor=team["ext1"], payload=bad)
    assert draft.status == DraftStatus.DRAFT
    with pytest.raises(ValidationError, match="cannot be negative"):
        extraction_draft_save(review_citation=rc, extractor=team["ext1"], payload=bad, submit=True)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DRAFT and draft.payload == bad  # nothing lost


def test_the_comparison_marks_discrepancies_by_identity_not_position():
    first = payload(baseline_mean=20, followup_mean=14)
    second = payload(baseline_mean=20, followup_mean=15)
    second["adverse_events"] = [{"term": "Fever", "patients_with_event": 2, "patients_at_risk": 20}]
    differing = [c.path for c in payload_compare([first, second]) if c.differs]
    assert differing == ["measurements[mrss|6|MSC].followup_mean"]
    merged = payload_merge([first, second], {"measurements[mrss|6|MSC].followup_mean": 1})
    assert merged["measurements"][0]["followup_mean"] == 15
    with pytest.raises(ValueError, match="choose a value"):
        payload_merge([first, second], {})


def test_reconciliation_needs_two_drafts_and_converts_a_median(review, team):
    make_outcomes()
    rc = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    reported = payload(data_format="median", median_of="baseline", median=20, q1=15, q3=26, baseline_n=20)
    extraction_draft_save(review_citation=rc, extractor=team["ext1"], payload=reported, submit=True)
    with pytest.raises(ValidationError, match="two extractors"):
        extraction_reconcile(review_citation=rc, reconciler=team["senior"], payload=reported)
    extraction_draft_save(review_citation=rc, extractor=team["ext2"], payload=reported, submit=True)
    study = extraction_reconcile(review_citation=rc, reconciler=team["senior"], payload=reported)
    measurement = OutcomeMeasurement.objects.get(study=study)
    assert measurement.median == 20 and measurement.baseline_mean == pytest.approx(0.7195 * 20.5 + 0.2805 * 20)
    assert "Wan 2014" in measurement.conversion_method
    assert study.reports.get().is_main_report and study.interventions.get().route == "intravenous"
    assert study.adverse_events.get().patients_with_event == 2
    assert study.quality_assessments.get().total_score == 6


def test_a_second_report_attaches_to_the_existing_study(review, team):
    make_outcomes()
    first, second = (make_citation(review, n, stage=TriageStage.EXTRACTION) for n in (1, 2))
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=first, extractor=team[extractor], payload=payload(), submit=True)
    study = extraction_reconcile(review_citation=first, reconciler=team["senior"], payload=payload())
    companion = {**payload(), "study": {"existing_study_id": study.pk}}
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=second, extractor=team[extractor], payload=companion, submit=True)
    assert extraction_reconcile(review_citation=second, reconciler=team["senior"], payload=companion) == study
    assert Study.objects.count() == 1
    assert [report.is_main_report for report in study.reports.order_by("id")] == [True, False]


def test_approval_includes_the_study_and_calls_the_recompute_seam_after_commit(
    review, team, django_capture_on_commit_callbacks, monkeypatch
):
    make_outcomes()
    rc = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=rc, extractor=team[extractor], payload=payload(), submit=True)
    study = extraction_reconcile(review_citation=rc, reconciler=team["senior"], payload=payload())
    calls = []
    monkeypatch.setattr(approval, "on_study_approved", calls.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        study_approve(study=study, editor=team["editor"])
    assert calls == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert calls == [review.pk]
    study.refresh_from_db()
    assert study.status == StudyStatus.INCLUDED
    assert study.history.first().history_user == team["editor"]
    with pytest.raises(ValidationError, match="not yet approved"):
        study_approve(study=study, editor=team["editor"])


def test_an_approval_queues_one_recompute_run_and_its_task(review, monkeypatch, django_capture_on_commit_callbacks):
    from evidence.models import RecomputeRun
    from evidence.synthesis.tasks import review_recompute

    enqueued = []
    monkeypatch.setattr(review_recompute, "apply_async", lambda args, countdown, **options: enqueued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        on_study_approved(review.pk)
        on_study_approved(review.pk)
    run = RecomputeRun.objects.get(review=review)
    assert run.status == "queued" and run.triggers == ["study approved", "study approved"]
    assert enqueued == [[run.id]]
