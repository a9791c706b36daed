"""Studies, their reports and interventions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class StudyDesign(models.TextChoices):
    SINGLE_ARM_BEFORE_AFTER = "single_arm_before_after", "Single-arm before/after (self-control)"
    RCT = "rct", "Randomized controlled trial"
    NON_RANDOMIZED_CONTROLLED = "non_randomized_controlled", "Non-randomized controlled study"
    COHORT = "cohort", "Cohort study"
    CASE_SERIES = "case_series", "Case series"


CONTROLLED_DESIGNS = ("rct", "non_randomized_controlled")


class ContrastBasis(models.TextChoices):
    CHANGE = "change", "Mean difference in change from baseline"
    FOLLOWUP = "followup", "Mean difference in follow-up values (adjusted as the report states)"


class StudyStatus(models.TextChoices):
    INCLUDED = "included", "Included (approved)"
    EXTRACTION = "extraction", "Extraction in progress"
    WITHDRAWN = "withdrawn", "Withdrawn from the analysis"


class Study(models.Model):
    """One study; several reports (citations) may describe it."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="studies")
    label = models.CharField(max_length=120, help_text="Short name as reviewers cite it, e.g. 'Zhang 2017'.")
    first_author = models.CharField(max_length=120, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    design = models.CharField(max_length=30, choices=StudyDesign.choices)
    design_detail = models.TextField(blank=True)
    country = models.CharField(max_length=200, blank=True)
    enrolment_n = models.PositiveIntegerField(null=True, blank=True)
    female_n = models.PositiveIntegerField(null=True, blank=True)
    male_n = models.PositiveIntegerField(null=True, blank=True)
    age_mean = models.FloatField(null=True, blank=True)
    age_sd = models.FloatField(null=True, blank=True)
    disease_duration_years = models.FloatField(null=True, blank=True, help_text="Mean, from diagnosis unless noted.")
    disease_duration_sd_years = models.FloatField(null=True, blank=True)
    baseline_characteristics = models.JSONField(
        default=dict, blank=True, help_text="Other reported population details (age range, BMI, eligibility…)."
    )
    ssc_subtype = models.CharField(max_length=200, blank=True, help_text="Diffuse / limited cutaneous, as reported.")
    population_notes = models.TextField(blank=True)
    followup_months = models.FloatField(null=True, blank=True)
    followup_note = models.TextField(blank=True)
    trial_registration = models.TextField(blank=True)
    data_quality_notes = models.TextField(
        blank=True, help_text="Internal: the team's doubts and checks on the data. Never shown to readers."
    )
    public_note = models.TextField(
        blank=True,
        help_text="Shown to readers on the study's public page and in the API: a caveat readers need to read "
        "this study's numbers (e.g. a count that differs between reports). Written for the public; internal "
        "doubts go in the data-quality notes.",
    )
    reports_no_adverse_events = models.BooleanField(
        default=False,
        help_text="The study states that no adverse event occurred: it enters the safety analysis with 0 events "
        "in every category. Leave unticked when the study is silent on adverse events.",
    )
    centre = models.CharField(max_length=200, blank=True, help_text="Recruiting centre(s), as reported.")
    recruitment_start_year = models.PositiveSmallIntegerField(null=True, blank=True)
    recruitment_end_year = models.PositiveSmallIntegerField(null=True, blank=True)
    contrast_basis = models.CharField(
        max_length=10,
        choices=ContrastBasis.choices,
        blank=True,
        help_text="Controlled studies: what the between-arm contrast compares (the extractor states it).",
    )
    distinct_cohort_reason = models.TextField(
        blank=True,
        help_text="Why the editor judged this a distinct cohort despite a shared registry id, DOI or centre; "
        "shown on the study page.",
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_reports",
        help_text="Linked as a report of this study: its data moved there, its patients are not added twice.",
    )
    status = models.CharField(max_length=12, choices=StudyStatus.choices, default=StudyStatus.EXTRACTION)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review", "year", "label"]
        verbose_name_plural = "studies"
        constraints = [
            models.UniqueConstraint(fields=["review", "label"], name="study_unique_label_per_review"),
            models.CheckConstraint(
                condition=Q(enrolment_n__isnull=True) | Q(enrolment_n__gte=1), name="study_enrolment_n_positive"
            ),
            models.CheckConstraint(
                condition=Q(age_sd__isnull=True) | Q(age_sd__gte=0), name="study_age_sd_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(recruitment_start_year__isnull=True)
                | Q(recruitment_end_year__isnull=True)
                | Q(recruitment_start_year__lte=models.F("recruitment_end_year")),
                name="study_recruitment_years_ordered",
            ),
            models.CheckConstraint(condition=~Q(merged_into=models.F("id")), name="study_not_merged_into_itself"),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if (
            self.reports_no_adverse_events
            and self.pk
            and self.adverse_events.filter(patients_with_event__gt=0).exists()
        ):
            raise ValidationError(
                {
                    "reports_no_adverse_events": "This study has adverse events with patients affected; remove them first."
                }
            )


class StudyReport(models.Model):
    """A report (citation) of a study; one study can have several, one is its main report."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="reports")
    citation = models.ForeignKey("evidence.Citation", on_delete=models.PROTECT, related_name="study_reports")
    is_main_report = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["study", "-is_main_report", "citation__publication_year"]
        constraints = [
            models.UniqueConstraint(fields=["study", "citation"], name="study_report_unique"),
            models.UniqueConstraint(fields=["study"], condition=Q(is_main_report=True), name="study_one_main_report"),
        ]

    def __str__(self) -> str:
        return f"{self.study} ← {self.citation}"


class ArmRole(models.TextChoices):
    INTERVENTION = "intervention", "Intervention (cell therapy)"
    COMPARATOR = "comparator", "Comparator (placebo, usual care…)"


class StudyArm(models.Model):
    """One arm of a study. A before–after study has one intervention arm; a controlled study adds a comparator.

    Measurements and adverse events belong to an arm; the before–after synthesis reads intervention arms
    only, the controlled comparison contrasts an intervention arm with the comparator arm.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="arms")
    label = models.CharField(max_length=80, help_text="As the report names it, e.g. 'ADRC' or 'placebo'.")
    role = models.CharField(max_length=12, choices=ArmRole.choices, default=ArmRole.INTERVENTION)
    description = models.TextField(blank=True)
    n_randomized = models.PositiveIntegerField(null=True, blank=True, help_text="Allocated (or enrolled).")
    n_analysed = models.PositiveIntegerField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "role", "label"]
        constraints = [
            models.UniqueConstraint(fields=["study", "label"], name="study_arm_unique_label"),
            models.CheckConstraint(
                condition=(Q(n_randomized__isnull=True) | Q(n_randomized__gte=1))
                & (Q(n_analysed__isnull=True) | Q(n_analysed__gte=1)),
                name="study_arm_n_positive",
            ),
            models.CheckConstraint(
                condition=Q(n_analysed__isnull=True)
                | Q(n_randomized__isnull=True)
                | Q(n_analysed__lte=models.F("n_randomized")),
                name="study_arm_analysed_within_randomized",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.label} ({self.get_role_display()})"

    @property
    def n(self) -> int | None:
        """The arm's n for pooling: analysed when reported, else randomized."""
        return self.n_analysed or self.n_randomized


class CellSource(models.TextChoices):
    ADIPOSE_SVF = "adipose_svf", "Adipose stromal vascular fraction (SVF)"
    ADIPOSE_MSC = "adipose_msc", "Adipose-derived MSC (ADSC)"
    BONE_MARROW_MSC = "bone_marrow_msc", "Bone-marrow MSC"
    UMBILICAL_CORD_MSC = "umbilical_cord_msc", "Umbilical-cord MSC"
    OTHER = "other", "Other / mixed"


class Donor(models.TextChoices):
    AUTOLOGOUS = "autologous", "Autologous"
    ALLOGENEIC = "allogeneic", "Allogeneic"
    UNKNOWN = "unknown", "Not reported"


class Route(models.TextChoices):
    LOCAL_INJECTION = "local_injection", "Local injection (subcutaneous / hypodermic)"
    INTRAVENOUS = "intravenous", "Intravenous"
    OTHER = "other", "Other"


class Intervention(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="interventions")
    arm = models.CharField(max_length=80, default="MSC")
    cell_source = models.CharField(max_length=20, choices=CellSource.choices, blank=True)  # blank: not a cell review
    cell_source_detail = models.TextField(blank=True, help_text="As reported.")
    donor = models.CharField(max_length=10, choices=Donor.choices, default=Donor.UNKNOWN)
    donor_basis = models.TextField(blank=True)
    route = models.CharField(max_length=20, choices=Route.choices, blank=True)
    route_detail = models.TextField(blank=True)
    dose = models.CharField(max_length=300, blank=True, help_text="As reported; blank = not reported.")
    co_interventions = models.JSONField(
        default=list, blank=True, help_text="e.g. platelet-rich plasma, plasmapheresis."
    )
    # The review's own intervention fields (Review.intervention_fields) that are not columns above, by key.
    details = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "arm"]
        constraints = [models.UniqueConstraint(fields=["study", "arm"], name="intervention_unique_arm")]

    def __str__(self) -> str:
        return f"{self.study}: {self.get_cell_source_display()}, {self.get_route_display()}"


class OverlapStrength(models.TextChoices):
    STRONG = "strong", "Same registry id or DOI"
    WEAK = "weak", "Same first author or centre, overlapping recruitment years"


class StudyOverlapFlag(models.Model):
    """A citation that may report a study already in the review, raised when the search ingests it.

    The screening, extraction and approval pages recompute the flags live (a study may gain a registry id
    later); this row records that the search saw the overlap, for the run's counts and the audit trail.
    """

    review_citation = models.ForeignKey(
        "evidence.ReviewCitation", on_delete=models.CASCADE, related_name="overlap_flags"
    )
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="overlap_flags")
    strength = models.CharField(max_length=6, choices=OverlapStrength.choices)
    reason = models.CharField(max_length=300)
    raised_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review_citation", "study"]
        constraints = [
            models.UniqueConstraint(fields=["review_citation", "study"], name="study_overlap_flag_unique"),
        ]

    def __str__(self) -> str:
        return self.reason
