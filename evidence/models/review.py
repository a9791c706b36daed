"""The review: its question, its PubMed query and how it pools."""

from __future__ import annotations

import itertools

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class LivingStatus(models.TextChoices):
    LIVING = "living", "Living (searched on its schedule)"
    PAUSED = "paused", "Paused"
    RETIRED = "retired", "Retired"


class Estimator(models.TextChoices):
    FE = "FE", "Fixed effect (inverse variance)"
    DL = "DL", "DerSimonian–Laird"
    REML = "REML", "Restricted maximum likelihood"
    PM = "PM", "Paule–Mandel"
    ML = "ML", "Maximum likelihood"
    HS = "HS", "Hunter–Schmidt"
    SJ = "SJ", "Sidik–Jonkman"
    EB = "EB", "Empirical Bayes"


class CiMethod(models.TextChoices):
    Z = "z", "Wald (normal)"
    KNHA = "knha", "Hartung–Knapp (t, k−1 df)"


class ContinuousMeasure(models.TextChoices):
    MC = "MC", "Raw mean change (pre–post)"
    SMCR = "SMCR", "Standardized mean change (raw-score standardization)"
    MD = "MD", "Mean difference (two arms)"
    SMD = "SMD", "Standardized mean difference, Hedges' g (two arms)"


class BinaryMeasure(models.TextChoices):
    OR = "OR", "Odds ratio"
    RR = "RR", "Risk ratio"
    RD = "RD", "Risk difference"


class ProportionMeasure(models.TextChoices):
    PR = "PR", "Raw proportion"
    PLO = "PLO", "Logit proportion"
    PAS = "PAS", "Arcsine proportion"
    PFT = "PFT", "Freeman–Tukey double arcsine"


class ChangeOrientation(models.TextChoices):
    FOLLOWUP_MINUS_BASELINE = "followup_minus_baseline", "Follow-up − baseline (negative = score fell)"
    BASELINE_MINUS_FOLLOWUP = "baseline_minus_followup", "Baseline − follow-up (positive = score fell)"


class Review(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    # The question, PICO.
    population = models.TextField(blank=True)
    intervention = models.TextField(blank=True)
    comparator = models.TextField(blank=True)
    outcomes_of_interest = models.TextField(blank=True)
    pico_terms = models.JSONField(default=list, blank=True, help_text="Terms highlighted on the screening page.")
    exclusion_reasons = models.JSONField(default=list, blank=True, help_text="Title/abstract exclusion reasons.")
    # The search.
    pubmed_query = models.TextField()
    search_start_date = models.DateField(
        help_text="Records created before this date were covered by the original search."
    )
    living_status = models.CharField(max_length=10, choices=LivingStatus.choices, default=LivingStatus.LIVING)
    # The ClinicalTrials.gov search (query.cond / query.intr / query.term); all blank: no registry search.
    registry_condition = models.CharField(max_length=300, blank=True)
    registry_intervention = models.CharField(max_length=500, blank=True)
    registry_term = models.CharField(max_length=500, blank=True)
    # Analysis settings: which pooling every computed version uses.
    continuous_measure = models.CharField(max_length=5, choices=ContinuousMeasure.choices, default=ContinuousMeasure.MC)
    binary_measure = models.CharField(max_length=3, choices=BinaryMeasure.choices, default=BinaryMeasure.OR)
    proportion_measure = models.CharField(
        max_length=3, choices=ProportionMeasure.choices, default=ProportionMeasure.PLO
    )
    continuity_correction = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=0.5,
        help_text="Added to every cell of a study with a zero cell (events or non-events) before an RR, OR, RD or "
        "proportion is computed; a study with no event in either arm is not pooled.",
    )
    estimator = models.CharField(max_length=4, choices=Estimator.choices, default=Estimator.REML)
    ci_method = models.CharField(max_length=4, choices=CiMethod.choices, default=CiMethod.KNHA)
    prepost_correlation = models.DecimalField(
        max_digits=4, decimal_places=3, default=0.5, help_text="Pre–post correlation r used when a study reports none."
    )
    change_orientation = models.CharField(
        max_length=30, choices=ChangeOrientation.choices, default=ChangeOrientation.FOLLOWUP_MINUS_BASELINE
    )
    # The primary analysis is the fields above plus these two; sensitivity analyses (REML with Hartung–Knapp,
    # r = 0.2/0.5/0.8) are shown beside it. Changing any of them makes a new version that says so.
    prepost_independent = models.BooleanField(
        default=False,
        help_text="Treat before and after as independent groups (r = 0 for every study, even one reporting its "
        "own r), as many published pre–post meta-analyses did.",
    )
    timepoint_windows = models.JSONField(
        default=list,
        blank=True,
        help_text='Time-point windows, e.g. [{"months": 12, "from": 9, "to": 18}]: a measurement is pooled at the '
        "window's time point; one outside every window is named on the version, not pooled. Empty: every time "
        "point is its own row.",
    )
    primary_analysis_source = models.CharField(
        max_length=300, blank=True, help_text="Where the primary analysis comes from, e.g. the published review's."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(prepost_correlation__gte=-1) & Q(prepost_correlation__lte=1),
                name="review_prepost_correlation_between_minus1_and_1",
            ),
            models.CheckConstraint(condition=Q(continuity_correction__gte=0), name="review_continuity_not_negative"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        problem = timepoint_windows_problem(self.timepoint_windows)
        if problem:
            raise ValidationError({"timepoint_windows": problem})

    def analysis_settings(self) -> dict:
        """The settings a computed version records, so its page can say how it pooled."""
        return {
            "continuous_measure": self.continuous_measure,
            "binary_measure": self.binary_measure,
            "proportion_measure": self.proportion_measure,
            "continuity_correction": float(self.continuity_correction),
            "estimator": self.estimator,
            "ci_method": self.ci_method,
            "prepost_correlation": float(self.prepost_correlation),
            "change_orientation": self.change_orientation,
            "prepost_independent": self.prepost_independent,
            "primary_analysis_source": self.primary_analysis_source,
            "timepoint_windows": self.timepoint_windows,
        }


def timepoint_windows_problem(windows) -> str:
    """What is wrong with a list of time-point windows, or '' when it is sound."""
    if not isinstance(windows, list):
        return "a list of windows, each {months, from, to}"
    spans = []
    for index, window in enumerate(windows, start=1):
        if not isinstance(window, dict) or set(window) != {"months", "from", "to"}:
            return f"window {index}: give exactly months, from and to"
        values = [window[name] for name in ("from", "months", "to")]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return f"window {index}: months, from and to must be numbers"
        if not 0 <= values[0] <= values[1] <= values[2]:
            return f"window {index}: needs 0 ≤ from ≤ months ≤ to (got {values[0]}, {values[1]}, {values[2]})"
        spans.append(values)
    spans.sort()
    for before, after in itertools.pairwise(spans):
        if after[0] <= before[2]:
            return f"the windows around {before[1]:g} and {after[1]:g} months overlap"
    return ""
