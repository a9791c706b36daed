"""Published versions of a review's results. Rows here are written once and never edited."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class VersionKind(models.TextChoices):
    PUBLISHED_PAPER = "published_paper", "Published synthesis (imported)"
    COMPUTED = "computed", "Computed from study-level data"


class Certainty(models.TextChoices):
    HIGH = "high", "High"
    MODERATE = "moderate", "Moderate"
    LOW = "low", "Low"
    VERY_LOW = "very_low", "Very low"


class ReviewVersion(models.Model):
    review = models.ForeignKey("evidence.Review", on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=VersionKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=300, help_text="What made this version: seed import, approval of…")
    inputs_hash = models.CharField(max_length=64, blank=True)
    analysis_settings = models.JSONField(default=dict, blank=True)
    code_version = models.CharField(max_length=80, blank=True)
    attribution = models.TextField(blank=True, help_text="For an imported synthesis: its authors, year, DOI.")
    source_citation = models.ForeignKey(
        "evidence.Citation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    methods_note = models.TextField(blank=True)
    narrative_findings = models.JSONField(default=list, blank=True, help_text="Stated results without numbers.")
    safety_summary = models.JSONField(default=dict, blank=True)
    n_studies = models.PositiveIntegerField(default=0)
    n_patients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["review", "-number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(fields=["review", "number"], name="review_version_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug} v{self.number}"


class PooledResult(models.Model):
    """One pooled row of a version: an outcome at a time point, overall or in a subgroup."""

    version = models.ForeignKey(ReviewVersion, on_delete=models.CASCADE, related_name="pooled_results")
    outcome = models.ForeignKey("evidence.Outcome", on_delete=models.PROTECT, related_name="pooled_results")
    timepoint_months = models.DecimalField(max_digits=6, decimal_places=2)
    timepoint_label = models.CharField(max_length=40, blank=True)
    subgroup_variable = models.CharField(max_length=40, blank=True, help_text="Blank for the overall result.")
    subgroup_value = models.CharField(max_length=80, blank=True)
    k = models.PositiveIntegerField()
    n_participants = models.PositiveIntegerField(null=True, blank=True)
    effect_measure = models.CharField(max_length=10)
    effect_measure_note = models.CharField(max_length=300, blank=True)
    orientation = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=40, blank=True, help_text="FE, REML… blank when the source does not say.")
    estimate = models.FloatField()
    ci_lb = models.FloatField()
    ci_ub = models.FloatField()
    pi_lb = models.FloatField(null=True, blank=True)
    pi_ub = models.FloatField(null=True, blank=True)
    se = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    p_value_reported = models.CharField(max_length=200, blank=True)
    i2 = models.FloatField(null=True, blank=True)
    tau2 = models.FloatField(null=True, blank=True)
    q = models.FloatField(null=True, blank=True)
    q_pval = models.FloatField(null=True, blank=True)
    certainty = models.CharField(max_length=10, choices=Certainty.choices, blank=True)
    certainty_reasons = models.JSONField(default=dict, blank=True)
    contributing_studies = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["version", "outcome__display_order", "timepoint_months", "subgroup_variable", "subgroup_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "outcome", "timepoint_months", "subgroup_variable", "subgroup_value"],
                name="pooled_result_unique",
            ),
            models.CheckConstraint(condition=Q(ci_lb__lte=F("ci_ub")), name="pooled_result_ci_ordered"),
            models.CheckConstraint(condition=Q(k__gte=1), name="pooled_result_k_positive"),
        ]

    def __str__(self) -> str:
        sub = f" [{self.subgroup_value}]" if self.subgroup_value else ""
        return f"{self.outcome.code} {self.timepoint_months} m{sub}: {self.estimate}"
