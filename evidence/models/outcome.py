"""Outcome definitions and what each study measured."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from evidence.models.review import Review


class Direction(models.TextChoices):
    LOWER_IS_BETTER = "lower_is_better", "Lower is better"
    HIGHER_IS_BETTER = "higher_is_better", "Higher is better"


class OutcomeType(models.TextChoices):
    CONTINUOUS = "continuous", "Continuous"
    COUNT = "count", "Count"
    BINARY = "binary", "Binary"
    TIME_TO_EVENT = "time_to_event", "Time to event"


class Outcome(models.Model):
    """One outcome a review pools; its code is unique within the review (two reviews may both have "mrss")."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="outcomes")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=80, blank=True)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    outcome_type = models.CharField(max_length=20, choices=OutcomeType.choices)
    benefit_in_words = models.CharField(
        max_length=200, blank=True, help_text="e.g. 'lower mRSS = less skin thickening'."
    )
    plausible_min = models.FloatField(null=True, blank=True, help_text="Values outside the scale are refused.")
    plausible_max = models.FloatField(null=True, blank=True)
    display_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["display_order", "code"]
        constraints = [models.UniqueConstraint(fields=["review", "code"], name="outcome_code_unique_per_review")]

    def __str__(self) -> str:
        return self.name


# What defines an outcome, apart from its review: what the API exports and what copying it into another review
# carries over.
OUTCOME_DEFINITION_FIELDS = (
    "code",
    "name",
    "unit",
    "direction",
    "outcome_type",
    "benefit_in_words",
    "plausible_min",
    "plausible_max",
    "display_order",
)


class MeasurementFormat(models.TextChoices):
    BASELINE_FOLLOWUP = "baseline_followup", "Baseline and follow-up mean/SD/n"
    CHANGE = "change", "Change from baseline mean/SD/n"
    MEDIAN = "median", "Median with IQR and/or range"
    EVENTS = "events", "Events / n"
    EFFECT_ESTIMATE = "effect_estimate", "Effect estimate with CI or SE"
    NOT_EXTRACTED = "not_extracted", "Measured, numbers not yet extracted"


def _non_negative(field: str) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0})


def _positive(field: str) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 1})


class OutcomeMeasurement(models.Model):
    """What one study reported for one outcome at one time point in one arm; numbers kept as reported."""

    study = models.ForeignKey("evidence.Study", on_delete=models.CASCADE, related_name="measurements")
    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, related_name="measurements")
    timepoint_months = models.DecimalField(max_digits=6, decimal_places=2)
    arm = models.CharField(max_length=80, default="MSC")
    study_arm = models.ForeignKey(
        "evidence.StudyArm", null=True, blank=True, on_delete=models.CASCADE, related_name="measurements"
    )
    data_format = models.CharField(max_length=20, choices=MeasurementFormat.choices)
    baseline_mean = models.FloatField(null=True, blank=True)
    baseline_sd = models.FloatField(null=True, blank=True)
    baseline_n = models.PositiveIntegerField(null=True, blank=True)
    followup_mean = models.FloatField(null=True, blank=True)
    followup_sd = models.FloatField(null=True, blank=True)
    followup_n = models.PositiveIntegerField(null=True, blank=True)
    change_mean = models.FloatField(null=True, blank=True)
    change_sd = models.FloatField(null=True, blank=True)
    change_n = models.PositiveIntegerField(null=True, blank=True)
    median_of = models.CharField(max_length=10, blank=True, help_text="baseline / followup / change")
    median = models.FloatField(null=True, blank=True)
    q1 = models.FloatField(null=True, blank=True)
    q3 = models.FloatField(null=True, blank=True)
    range_min = models.FloatField(null=True, blank=True)
    range_max = models.FloatField(null=True, blank=True)
    events = models.PositiveIntegerField(null=True, blank=True)
    total = models.PositiveIntegerField(null=True, blank=True)
    effect_measure = models.CharField(
        max_length=10, blank=True, help_text="MD, OR, RR… for a reported effect estimate."
    )
    effect_estimate = models.FloatField(null=True, blank=True)
    effect_ci_lb = models.FloatField(null=True, blank=True)
    effect_ci_ub = models.FloatField(null=True, blank=True)
    effect_se = models.FloatField(null=True, blank=True)
    effect_n = models.PositiveIntegerField(null=True, blank=True)
    effect_orientation = models.CharField(max_length=30, blank=True)
    prepost_correlation = models.FloatField(null=True, blank=True)
    percent_change = models.FloatField(null=True, blank=True, help_text="Reported % change; not poolable as an MD.")
    p_value_reported = models.CharField(max_length=40, blank=True)
    conversion_method = models.CharField(max_length=200, blank=True, help_text="e.g. 'Wan 2014 (median, IQR)'.")
    source_location = models.CharField(max_length=300, blank=True, help_text="Table, page or figure in the source.")
    source_url = models.URLField(max_length=500, blank=True)
    origin = models.CharField(max_length=60, blank=True, help_text="primary report / meta-analysis")
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "outcome", "timepoint_months", "arm"]
        constraints = [
            models.UniqueConstraint(fields=["study", "outcome", "timepoint_months", "arm"], name="measurement_unique"),
            models.CheckConstraint(condition=Q(timepoint_months__gte=0), name="measurement_timepoint_not_negative"),
            models.CheckConstraint(
                condition=_non_negative("baseline_sd") & _non_negative("followup_sd") & _non_negative("change_sd"),
                name="measurement_sd_not_negative",
            ),
            models.CheckConstraint(
                condition=_positive("baseline_n")
                & _positive("followup_n")
                & _positive("change_n")
                & _positive("total")
                & _positive("effect_n"),
                name="measurement_n_positive",
            ),
            models.CheckConstraint(
                condition=Q(events__isnull=True) | Q(total__isnull=True) | Q(events__lte=F("total")),
                name="measurement_events_within_total",
            ),
            models.CheckConstraint(
                condition=Q(effect_ci_lb__isnull=True)
                | Q(effect_ci_ub__isnull=True)
                | Q(effect_ci_lb__lte=F("effect_ci_ub")),
                name="measurement_ci_ordered",
            ),
            models.CheckConstraint(condition=_non_negative("effect_se"), name="measurement_se_not_negative"),
            models.CheckConstraint(
                condition=Q(prepost_correlation__isnull=True)
                | (Q(prepost_correlation__gte=-1) & Q(prepost_correlation__lte=1)),
                name="measurement_correlation_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study} · {self.outcome.code} · {self.timepoint_months} m"

    def clean(self) -> None:
        super().clean()
        errors = measurement_number_errors(self.data_format, vars(self))
        wrong_review = outcome_review_error(
            outcome=related_or_none(self, "outcome"), review_id=_related_review_id(self)
        )
        if wrong_review:
            errors["outcome"] = wrong_review
        if errors:
            raise ValidationError(errors)


RATIO_EFFECTS = ("HR", "RR", "OR")


def related_or_none(instance: models.Model, name: str):
    """The related row (cached or read), or None when it is not set: clean() runs after a field error too."""
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None


def _related_review_id(measurement: OutcomeMeasurement) -> int | None:
    study = related_or_none(measurement, "study")  # the parent an inline form sets may not be saved yet
    return study.review_id if study is not None else None


def outcome_review_error(*, outcome: Outcome | None, review_id: int | None) -> str:
    """Why ``outcome`` may not be used in the review ``review_id`` ("" when it may): outcomes belong to one
    review, and a measurement or a GRADE rating on another review's outcome would be pooled or shown in the
    wrong review. The raw admin offers a review's outcomes only; this also catches a form posted before its
    review was known. Only a mismatch costs a query."""
    if outcome is None or review_id is None or outcome.review_id == review_id:
        return ""  # a missing field has its own error
    review = Review.objects.filter(pk=review_id).only("title").first()
    return (
        f"“{outcome.name}” is an outcome of the review “{outcome.review.slug}”; "
        f"choose one of “{review.title if review else review_id}”'s outcomes."
    )


def measurement_number_errors(data_format: str, values: dict) -> dict[str, str]:
    """What an events or effect-estimate row lacks, by field: such a row without its numbers says nothing
    (an outcome measured but not yet extracted is "not_extracted"). An estimate without its CI or SE is kept:
    the recompute names it as not poolable, so the gap stays visible."""
    errors: dict[str, str] = {}
    if data_format == MeasurementFormat.EVENTS:
        for name, words in (("events", "patients with the event"), ("total", "patients in the arm")):
            if values.get(name) is None:
                errors[name] = f"Events / n needs the number of {words}."
        events, total = values.get("events"), values.get("total")
        if events is not None and total is not None and events > total:
            errors["events"] = f"{events} events is more than the {total} patients in the arm."
    if data_format == MeasurementFormat.EFFECT_ESTIMATE:
        estimate, low = values.get("effect_estimate"), values.get("effect_ci_lb")
        if estimate is None:
            errors["effect_estimate"] = "An effect estimate needs its value (e.g. HR 0.35)."
        elif (values.get("effect_measure") or "").upper() in RATIO_EFFECTS and (
            estimate <= 0 or (low is not None and low <= 0)
        ):
            errors["effect_estimate"] = "A ratio (HR, RR, OR) and its CI must be above 0."
    return errors


class AdverseEvent(models.Model):
    study = models.ForeignKey("evidence.Study", on_delete=models.CASCADE, related_name="adverse_events")
    term = models.CharField(max_length=300)
    study_arm = models.ForeignKey(
        "evidence.StudyArm", null=True, blank=True, on_delete=models.CASCADE, related_name="adverse_events"
    )
    category = models.CharField(max_length=100, blank=True, help_text="e.g. injection-site skin reaction, other.")
    serious = models.BooleanField(null=True, blank=True, help_text="Unknown when not reported.")
    patients_with_event = models.PositiveIntegerField(null=True, blank=True)
    patients_at_risk = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=500, blank=True)
    origin = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "term"]
        constraints = [
            # Per arm: a controlled study reports the same event in each of its arms.
            models.UniqueConstraint(fields=["study", "study_arm", "term", "origin"], name="adverse_event_unique"),
            models.CheckConstraint(condition=_positive("patients_at_risk"), name="adverse_event_at_risk_positive"),
            models.CheckConstraint(
                condition=Q(patients_with_event__isnull=True)
                | Q(patients_at_risk__isnull=True)
                | Q(patients_with_event__lte=F("patients_at_risk")),
                name="adverse_event_within_at_risk",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.term}"


class QualityInstrument(models.TextChoices):
    NOS = "nos", "Newcastle–Ottawa Scale"
    ROB2 = "rob2", "Cochrane RoB 2"
    ROBINS_I = "robins_i", "ROBINS-I"


class QualityAssessment(models.Model):
    study = models.ForeignKey("evidence.Study", on_delete=models.CASCADE, related_name="quality_assessments")
    instrument = models.CharField(max_length=10, choices=QualityInstrument.choices)
    domain_scores = models.JSONField(default=dict, blank=True)
    total_score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    assessor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assessor_label = models.CharField(max_length=200, blank=True, help_text="e.g. 'Cui et al. 2022' for seeded scores.")
    source = models.CharField(max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "instrument"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_score__isnull=True) | Q(total_score__gte=0), name="quality_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(total_score__isnull=True) | Q(max_score__isnull=True) | Q(total_score__lte=F("max_score")),
                name="quality_total_within_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.get_instrument_display()} {self.total_score}"
