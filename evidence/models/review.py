"""The review: its question, its PubMed query and how it pools."""

from __future__ import annotations

import itertools
import re

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


class RobTool(models.TextChoices):
    """The risk-of-bias tools a review may assign to a study design (values as QualityInstrument's)."""

    NOS = "nos", "Newcastle–Ottawa Scale"
    ROB2 = "rob2", "Cochrane RoB 2"
    ROBINS_I = "robins_i", "ROBINS-I"


# The overall judgements of the tools that give one (stored lower case in QualityAssessment.domain_scores).
ROB_JUDGEMENTS = {
    "rob2": ("low", "some concerns", "high"),
    "robins_i": ("low", "moderate", "serious", "critical"),
}

# The columns of Intervention that a vocabulary entry of the same key reads; any other entry is kept in
# Intervention.details under its key.
INTERVENTION_COLUMNS = ("cell_source", "donor", "route", "dose")
DEFAULT_INTERVENTION_FIELDS = ("Cell source", "Donor", "Route", "Dose")


def vocabulary_key(label: str) -> str:
    """'Cell source' -> 'cell_source': the key an intervention field is stored under."""
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))


class Review(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    # The question, PICO.
    population = models.TextField(blank=True)
    intervention = models.TextField(blank=True)
    comparator = models.TextField(blank=True)
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
    # --- Wording, intervention vocabulary and risk of bias (issue 20) ---------------------------------------
    # Every public text about the intervention and the population reads these fields, never a template, so a
    # second review speaks of its own treatment and condition. The seed fills them with the MSC review's texts.
    intervention_name = models.CharField(
        max_length=120,
        blank=True,
        default="",
        help_text="Short name, e.g. 'MSC therapy' (page title, summary-of-findings caption).",
    )
    intervention_full = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="In full, lower case, e.g. 'mesenchymal stem cell therapy' (site header, page description).",
    )
    intervention_plain = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Plain language, read after 'treated with', e.g. 'mesenchymal stem (stromal) cells'.",
    )
    population_name = models.CharField(
        max_length=200, blank=True, default="", help_text="The condition, read after 'in', e.g. 'systemic sclerosis'."
    )
    population_plain = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Plain language, read after 'In', e.g. 'people with systemic sclerosis'.",
    )
    arm_label = models.CharField(
        max_length=80, default="Intervention", help_text="The intervention arm's label, e.g. 'MSC'."
    )
    intervention_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="What a study's intervention records, one per line, e.g. Conditioning regimen, Graft "
        "manipulation. Empty: Cell source, Donor, Route, Dose.",
    )
    # Before the first version: the public page shows the protocol, the question and the search status.
    protocol_public = models.BooleanField(
        default=False,
        help_text="Show the protocol, the question (PICO) and the search status publicly before the first version "
        "(the home page links to it). Studies and results stay private until a version is published.",
    )
    protocol_url = models.URLField(max_length=500, blank=True, help_text="The registered protocol, e.g. PROSPERO.")
    rob_tool_randomized = models.CharField(
        max_length=10, choices=RobTool.choices, default=RobTool.ROB2, help_text="Risk-of-bias tool for RCTs."
    )
    rob_tool_non_randomized = models.CharField(
        max_length=10,
        choices=RobTool.choices,
        default=RobTool.NOS,
        help_text="Risk-of-bias tool for every other design (single-arm, cohort, non-randomized controlled).",
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
        problem = self.slug_lock_problem()
        if problem:
            raise ValidationError({"slug": problem})
        keys = [vocabulary_key(label) for label in self.intervention_fields or []]
        if any(not key for key in keys) or len(set(keys)) != len(keys):
            raise ValidationError({"intervention_fields": "Each intervention field needs a distinct name."})

    def has_published_version(self) -> bool:
        return self.pk is not None and self.versions.filter(published_at__isnull=False).exists()

    def slug_lock_problem(self) -> str:
        """Why the slug may not change ('' when it may): once a version is published, its pages, feed, downloads
        and API are cited under the slug, so renaming would break every citation of them."""
        if self.pk is None:
            return ""
        stored = type(self).objects.filter(pk=self.pk).values_list("slug", flat=True).first()
        if stored is None or stored == self.slug or not self.has_published_version():
            return ""
        return f"The slug is locked: a version is published under /reviews/{stored}/, so it stays “{stored}”."

    def rob_tool_for(self, design: str) -> str:
        """The risk-of-bias tool this review assesses a study of ``design`` with."""
        return self.rob_tool_randomized if design == "rct" else self.rob_tool_non_randomized

    def intervention_vocabulary(self) -> list[tuple[str, str]]:
        """(key, label) of each intervention field, in the order the editor listed them; none listed: the
        built-in cell-therapy fields."""
        labels = self.intervention_fields or list(DEFAULT_INTERVENTION_FIELDS)
        return [(vocabulary_key(label), label) for label in labels]

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
