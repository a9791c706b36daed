"""Dual extraction: each extractor's draft kept apart, then a senior reviewer reconciles them into a study."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from evidence.core.roles import review_role_require
from evidence.extraction.arms_write import arms_upsert, intervention_values_set, measurement_spread_convert
from evidence.extraction.payload import NOS_MAX, payload_errors
from evidence.extraction.selectors import reported_study
from evidence.models import (
    AdverseEvent,
    DraftStatus,
    ExtractionDraft,
    Intervention,
    MeasurementFormat,
    Outcome,
    OutcomeMeasurement,
    QualityAssessment,
    QualityInstrument,
    ReviewCitation,
    Study,
    StudyArm,
    StudyReport,
    StudyStatus,
    TriageStage,
)
from evidence.screening.selectors import EXTRACT, RECONCILE

EXTRACTION_ORIGIN = "dual extraction"
MEASUREMENT_FIELDS = [
    field.name
    for field in OutcomeMeasurement._meta.get_fields()
    if field.concrete and field.name not in {"id", "study", "outcome", "timepoint_months", "arm", "study_arm"}
]


def median_to_mean_sd(
    *, median: float, n: float, q1: float | None, q3: float | None, minimum: float | None, maximum: float | None
) -> tuple[float, float, str]:
    """Mean, SD and the method's name from a median with IQR and/or range.

    The single seam to the numeric module: ``pooling.conversions.mean_sd_from_median`` (Luo 2018 mean,
    Wan 2014 SD). A ValueError there (unordered quantiles, n < 1, neither IQR nor range) propagates.
    """
    from pooling.conversions import mean_sd_from_median

    result = mean_sd_from_median(median, n, q1=q1, q3=q3, minimum=minimum, maximum=maximum)
    return result.mean, result.sd, result.method


def _clean_or_raise(errors: list[str]) -> None:
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def extraction_draft_save(
    *, review_citation: ReviewCitation, extractor: AbstractBaseUser, payload: dict, submit: bool = False
) -> ExtractionDraft:
    """Store one extractor's own draft; submitting validates it and hands it to reconciliation."""
    review_role_require(user=extractor, review=review_citation.review, roles=EXTRACT, action="extract data")
    locked = ReviewCitation.objects.select_for_update().get(pk=review_citation.pk)
    study = reported_study(review_citation=locked)
    if locked.stage != TriageStage.EXTRACTION and not (locked.stage == TriageStage.INCLUDED and study):
        raise ValidationError(f"This citation is not awaiting extraction (it is: {locked.get_stage_display()}).")
    draft, _ = ExtractionDraft.objects.get_or_create(review_citation=locked, extractor=extractor)
    if draft.status == DraftStatus.RECONCILED and not (study and study.status == StudyStatus.INCLUDED):
        raise ValidationError("Your draft has already been reconciled into the study; it can no longer change.")
    if submit:
        _clean_or_raise(payload_errors(payload=payload, review=review_citation.review))
    draft.payload = payload
    draft.status = DraftStatus.SUBMITTED if submit else DraftStatus.DRAFT
    draft.full_clean()
    draft._history_user = extractor
    draft.save()
    return draft


@transaction.atomic
def extraction_reconcile(*, review_citation: ReviewCitation, reconciler: AbstractBaseUser, payload: dict) -> Study:
    """Write the reconciled payload into Study, StudyReport, Intervention, measurements, events and NOS."""
    review_role_require(user=reconciler, review=review_citation.review, roles=RECONCILE, action="reconcile")
    locked = ReviewCitation.objects.select_for_update().select_related("review", "citation").get(pk=review_citation.pk)
    drafts = list(locked.extraction_drafts.select_for_update().filter(status=DraftStatus.SUBMITTED))
    if len(drafts) < 2:
        raise ValidationError("Dual extraction: two extractors must submit their drafts before reconciliation.")
    _clean_or_raise(payload_errors(payload=payload, review=locked.review))
    _included_study_require(locked, payload)
    previous = next((draft.study for draft in drafts if draft.study_id), None)  # sent back, now resubmitted
    study = _study_upsert(locked, payload.get("study") or {}, reconciler, previous=previous)
    if study.status == StudyStatus.INCLUDED:
        # An included (e.g. seeded) study's additions leave the analysis until an editor approves them; meanwhile
        # the recompute carries the published rows it fed ("awaiting extraction of …").
        study.status = StudyStatus.EXTRACTION
        _saved(study, reconciler)
    arms = arms_upsert(study=study, payload=payload, user=reconciler)
    _intervention_upsert(study, {"arm": next(iter(arms)), **(payload.get("intervention") or {})}, reconciler)
    _measurements_upsert(study, payload.get("measurements") or [], arms, reconciler)
    _adverse_events_upsert(study, payload.get("adverse_events") or [], arms, reconciler)
    _quality_upsert(study, payload.get("quality") or {}, reconciler)
    for draft in drafts:
        draft.status, draft.study = DraftStatus.RECONCILED, study
        draft._history_user = reconciler
        draft.save(update_fields=["status", "study", "updated_at"])
    return study


def _included_study_require(review_citation: ReviewCitation, payload: dict) -> None:
    """A report of a study already in the review adds to that study, never to a new one."""
    if review_citation.stage != TriageStage.INCLUDED:
        return  # a report under extraction (or sent back) writes to its own new study
    study = reported_study(review_citation=review_citation)
    if study is not None and (payload.get("study") or {}).get("existing_study_id") != study.pk:
        raise ValidationError({"study.existing_study_id": f"This citation reports {study.label}: choose that study."})


def _saved(instance, user):
    try:
        instance.full_clean()
    except ValidationError as error:
        raise _field_named(error, instance) from None
    instance._history_user = user
    instance.save()
    return instance


def _field_named(error: ValidationError, instance) -> ValidationError:
    """Django's "This field cannot be blank." names no field; say which record and which field it is."""
    if not hasattr(error, "error_dict"):
        return error
    record = str(instance._meta.verbose_name).capitalize()
    messages = []
    for name, field_messages in error.message_dict.items():
        field = str(instance._meta.get_field(name).verbose_name).capitalize() if name != "__all__" else ""
        messages += [f"{record}: {field}: {message}" if field else f"{record}: {message}" for message in field_messages]
    return ValidationError(messages)


STUDY_FIELDS = (
    "label",
    "first_author",
    "year",
    "design",
    "country",
    "enrolment_n",
    "followup_months",
    "centre",
    "recruitment_start_year",
    "recruitment_end_year",
    "contrast_basis",
)
EXISTING_STUDY_FIELDS = ("contrast_basis", "centre", "recruitment_start_year", "recruitment_end_year")
TEXT_FIELDS = {"label", "first_author", "design", "country", "centre", "contrast_basis"}


def _study_upsert(review_citation: ReviewCitation, fields: dict, user, *, previous: Study | None) -> Study:
    if fields.get("existing_study_id"):
        study = Study.objects.select_for_update().get(pk=fields["existing_study_id"], review=review_citation.review)
        # A further report may state the contrast, the centre or the recruitment years (the overlap check's input).
        given = {name: fields[name] for name in EXISTING_STUDY_FIELDS if fields.get(name) not in (None, "")}
        if given:
            for name, value in given.items():
                setattr(study, name, value)
            _saved(study, user)
    else:
        study = previous or Study(review=review_citation.review)
        for name in STUDY_FIELDS:
            if name in fields:
                setattr(study, name, "" if fields[name] is None and name in TEXT_FIELDS else fields[name])
        _saved(study, user)
    if not StudyReport.objects.filter(study=study, citation=review_citation.citation).exists():
        is_main = not study.reports.filter(is_main_report=True).exists()
        _saved(StudyReport(study=study, citation=review_citation.citation, is_main_report=is_main), user)
    return study


def _intervention_upsert(study: Study, fields: dict, user) -> None:
    values = {name: value for name, value in fields.items() if name != "arm" and value not in (None, "")}
    if not values:
        return
    arm = fields.get("arm") or study.review.arm_label
    intervention = Intervention.objects.filter(study=study, arm=arm).first() or Intervention(study=study, arm=arm)
    intervention_values_set(intervention, values)
    _saved(intervention, user)


def _measurements_upsert(study: Study, rows: list[dict], arms: dict[str, StudyArm], user) -> None:
    outcomes = {outcome.code: outcome for outcome in Outcome.objects.filter(review=study.review_id)}
    for row in rows:
        arm = arms[row.get("arm") or next(iter(arms))]
        key = dict(
            study=study,
            outcome=outcomes[row["outcome"]],
            timepoint_months=Decimal(str(row["timepoint_months"])),
            arm=arm.label,
        )
        measurement = OutcomeMeasurement.objects.filter(**key).first() or OutcomeMeasurement(**key)
        measurement.study_arm = arm
        for name in MEASUREMENT_FIELDS:
            if name in row:
                setattr(measurement, name, row[name] if row[name] is not None else _blank(name))
        measurement_spread_convert(measurement, row, arm)
        if row.get("change_mean") is not None:
            measurement.effect_orientation = "followup_minus_baseline"  # the form's printed convention
        measurement.origin = measurement.origin or EXTRACTION_ORIGIN
        _convert_median(measurement)
        _saved(measurement, user)


def _blank(name: str):
    return "" if isinstance(OutcomeMeasurement._meta.get_field(name).get_default(), str) else None


def _convert_median(measurement: OutcomeMeasurement) -> None:
    """A median with IQR/range becomes the mean/SD the pooling needs; the method is recorded with it."""
    slot = measurement.median_of
    if measurement.data_format != MeasurementFormat.MEDIAN or slot not in {"baseline", "followup", "change"}:
        return
    n = getattr(measurement, f"{slot}_n")
    if measurement.median is None or n is None:
        raise ValidationError(f"{measurement.outcome.code}: a median needs its {slot} n to be converted.")
    try:
        mean, sd, method = median_to_mean_sd(
            median=measurement.median,
            n=n,
            q1=measurement.q1,
            q3=measurement.q3,
            minimum=measurement.range_min,
            maximum=measurement.range_max,
        )
    except ValueError as error:
        raise ValidationError(f"{measurement.outcome.code}: cannot convert the median: {error}") from error
    setattr(measurement, f"{slot}_mean", mean)
    setattr(measurement, f"{slot}_sd", sd)
    measurement.conversion_method = method


def _adverse_events_upsert(study: Study, rows: list[dict], arms: dict[str, StudyArm], user) -> None:
    for row in rows:
        arm = arms[row.get("arm") or next(iter(arms))]
        # The same term in the same arm, from the seed or an earlier extraction, is updated, not counted twice.
        event = AdverseEvent.objects.filter(study=study, study_arm=arm, term=row["term"]).order_by("id").first()
        event = event or AdverseEvent(study=study, study_arm=arm, term=row["term"], origin=EXTRACTION_ORIGIN)
        for name in ("category", "serious", "patients_with_event", "patients_at_risk"):
            if name in row:
                setattr(event, name, row[name] if row[name] is not None or name != "category" else "")
        _saved(event, user)


def _judgement_upsert(study: Study, tool: str, overall: str | None, user) -> None:
    """RoB 2 or ROBINS-I: the overall judgement (the payload's checks made sure it is one of the tool's)."""
    if not overall:
        return
    assessment = QualityAssessment.objects.filter(
        study=study, instrument=tool, assessor_label=EXTRACTION_ORIGIN
    ).first() or QualityAssessment(study=study, instrument=tool, assessor_label=EXTRACTION_ORIGIN)
    assessment.domain_scores = {"overall": overall}
    assessment.assessor = user
    _saved(assessment, user)


def _quality_upsert(study: Study, stars: dict, user) -> None:
    tool = study.review.rob_tool_for(study.design)
    if tool != QualityInstrument.NOS:
        _judgement_upsert(study, tool, stars.get("overall"), user)
        return
    stars = {domain: value for domain, value in stars.items() if domain != "overall"}
    if not any(value is not None for value in stars.values()):
        return
    assessment = QualityAssessment.objects.filter(
        study=study, instrument=QualityInstrument.NOS, assessor_label=EXTRACTION_ORIGIN
    ).first() or QualityAssessment(study=study, instrument=QualityInstrument.NOS, assessor_label=EXTRACTION_ORIGIN)
    assessment.domain_scores = {domain: stars.get(domain) for domain in NOS_MAX}
    assessment.total_score = sum(value or 0 for value in stars.values())
    assessment.max_score = sum(NOS_MAX.values())
    assessment.assessor = user
    _saved(assessment, user)
