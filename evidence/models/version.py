"""Published versions of a review's results. Rows here are written once and never edited."""

from __future__ import annotations

import datetime

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
    studies = models.JSONField(default=list, blank=True, help_text="The included studies as this version saw them.")
    safety_table = models.JSONField(default=list, blank=True, help_text="Per-study adverse events.")
    changes = models.JSONField(default=dict, blank=True, help_text="What changed against the previous version.")
    change_summary = models.JSONField(default=list, blank=True, help_text="One plain-language line per outcome.")
    input_problems = models.JSONField(
        default=list, blank=True, help_text="Inputs that could not enter a row, and why (shown on the version)."
    )
    prisma = models.JSONField(
        default=dict,
        blank=True,
        help_text="The PRISMA flows as published: counted when the version was written, never recounted.",
    )

    class Meta:
        ordering = ["review", "-number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(fields=["review", "number"], name="review_version_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug} v{self.number}"

    @property
    def dated(self) -> datetime.date | datetime.datetime | None:
        """The date readers see: an imported synthesis is dated by its publication, which its settings record;
        ``published_at`` stays the snapshot's moment (pages read the records as of it)."""
        source_day = (self.analysis_settings or {}).get("source_published_on")
        if source_day:
            try:
                return datetime.date.fromisoformat(source_day)
            except ValueError:
                pass  # a malformed record falls back to the snapshot's moment
        return self.published_at


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
    h2 = models.FloatField(null=True, blank=True)
    se_tau2 = models.FloatField(null=True, blank=True)
    tau2_ci_lb = models.FloatField(null=True, blank=True)
    tau2_ci_ub = models.FloatField(null=True, blank=True)
    ci_method = models.CharField(max_length=4, blank=True)
    certainty = models.CharField(max_length=10, choices=Certainty.choices, blank=True)
    certainty_reasons = models.JSONField(default=dict, blank=True)
    certainty_change = models.CharField(max_length=80, blank=True, help_text="e.g. 'moderate → low'.")
    contributing_studies = models.JSONField(default=list, blank=True)
    computed = models.BooleanField(default=False, help_text="False: published or carried from an earlier version.")
    carried_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    awaiting = models.TextField(blank=True, help_text="Why the row is carried: 'awaiting extraction of …'.")
    subgroup_test = models.JSONField(default=dict, blank=True, help_text="Between-subgroup Q test, on overall rows.")
    sensitivity = models.JSONField(default=dict, blank=True, help_text="Leave-one-out, r-sensitivity, cumulative.")
    remainder = models.JSONField(
        default=dict,
        blank=True,
        help_text="The published remainder this row pooled: how it was derived from the published estimate.",
    )
    absolute_effect = models.JSONField(
        default=dict,
        blank=True,
        help_text="A binary contrast per 1,000 patients: assumed comparator risk and the intervention's, with CI.",
    )
    forest_svg = models.TextField(blank=True, help_text="Rendered once, at recompute time.")
    cumulative_svg = models.TextField(blank=True)
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


class StudyRole(models.TextChoices):
    EXTRACTED = "extracted", "Study in the published synthesis, extracted"
    NEW = "new", "New study (not in the published synthesis)"
    REMAINDER = "remainder", "Published remainder (studies without extracted data)"
    NOT_POOLED = "not_pooled", "Has data, not pooled (the row shows the published value, with the reason)"


class StudyResult(models.Model):
    """One study's row in a pooled result: the forest plot's line and its weight."""

    pooled_result = models.ForeignKey(PooledResult, on_delete=models.CASCADE, related_name="study_results")
    study = models.ForeignKey("evidence.Study", null=True, on_delete=models.SET_NULL, related_name="+")
    study_label = models.CharField(max_length=120)
    publication_year = models.PositiveSmallIntegerField(null=True, blank=True)
    n = models.PositiveIntegerField(null=True, blank=True)
    yi = models.FloatField()
    vi = models.FloatField()
    ci_lb = models.FloatField()
    ci_ub = models.FloatField()
    weight = models.FloatField(help_text="Percent.")
    derivation = models.CharField(max_length=200, blank=True, help_text="How yi and vi were derived from the data.")
    role = models.CharField(max_length=10, choices=StudyRole.choices, default=StudyRole.EXTRACTED)
    source = models.CharField(
        max_length=500, blank=True, help_text="Where the numbers come from: the extraction (who, when, page) or source."
    )

    class Meta:
        ordering = ["pooled_result", "publication_year", "study_label"]
        constraints = [
            models.CheckConstraint(condition=Q(vi__gt=0), name="study_result_variance_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.study_label}: {self.yi:.3g}"


class SafetyResult(models.Model):
    """Pooled proportion of patients with an adverse event in one category (or any serious event)."""

    version = models.ForeignKey(ReviewVersion, on_delete=models.CASCADE, related_name="safety_results")
    category = models.CharField(max_length=100)
    is_serious_rate = models.BooleanField(default=False)
    k = models.PositiveIntegerField()
    events = models.PositiveIntegerField()
    n = models.PositiveIntegerField()
    measure = models.CharField(max_length=4)
    proportion = models.FloatField()
    ci_lb = models.FloatField()
    ci_ub = models.FloatField()
    i2 = models.FloatField(null=True, blank=True)
    studies = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "-is_serious_rate", "category"]
        constraints = [models.UniqueConstraint(fields=["version", "category"], name="safety_result_unique")]

    def __str__(self) -> str:
        return f"{self.category}: {self.proportion:.3f}"


class VersionExport(models.Model):
    """One export of a version (FHIR bundle, CSV, JSON, RIS) as the bytes served, built once and kept.

    ``content`` is gzip-compressed (a 1,000-study review's FHIR bundle is ~290 MB of JSON, ~6% of that
    compressed); ``sha256`` hashes the content type and the uncompressed bytes, as the API's ETag always has.
    ``variant`` names which part of an export the row holds (a FHIR page: "page-3"; its URLs name the configured
    public base URL, never the host a request came on);
    ``stamp`` names the live data read besides the immutable version (which studies are still approved,
    their reports, ongoing trials): a different stamp means the row is stale and is built once more.
    """

    version = models.ForeignKey(ReviewVersion, on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=40, help_text="pooled.csv, studies.json, reports.ris, fhir…")
    variant = models.CharField(max_length=64, blank=True)
    stamp = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField(help_text="gzip-compressed")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(help_text="Bytes, uncompressed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # export_stored looks a row up by these three on every download and FHIR request
            models.UniqueConstraint(fields=["version", "kind", "variant"], name="version_export_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.kind}"
