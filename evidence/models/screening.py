"""Who works on a review, and the screening events that move a citation through triage.

Every row here is an event: decisions and adjudications are recorded once, never edited
(an undo deletes the reviewer's own unresolved decision; its history row keeps the trace).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class ReviewRole(models.TextChoices):
    SCREENER = "screener", "Screener"
    SENIOR_REVIEWER = "senior_reviewer", "Senior reviewer"
    EXTRACTOR = "extractor", "Extractor"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Review admin"


class ReviewMembership(models.Model):
    """A user's role in one review; a user sees only the reviews they are a member of."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_memberships")
    role = models.CharField(max_length=20, choices=ReviewRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review", "user", "role"]
        constraints = [
            models.UniqueConstraint(fields=["review", "user", "role"], name="review_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.review.slug}"


class ScreeningStage(models.TextChoices):
    """The two dual-screened stages; values match TriageStage so a ReviewCitation's stage names its queue."""

    TITLE_ABSTRACT = "title_abstract", "Title/abstract screening"
    FULL_TEXT = "full_text", "Full-text screening"


class Decision(models.TextChoices):
    INCLUDE = "include", "Include"
    EXCLUDE = "exclude", "Exclude"
    MAYBE = "maybe", "Maybe"


class FullTextExclusionReason(models.TextChoices):
    """PRISMA 2020 reasons for excluding a report at full text."""

    WRONG_POPULATION = "wrong_population", "Wrong population"
    WRONG_INTERVENTION = "wrong_intervention", "Wrong intervention"
    WRONG_COMPARATOR = "wrong_comparator", "Wrong comparator"
    WRONG_OUTCOME = "wrong_outcome", "Wrong outcome"
    WRONG_STUDY_DESIGN = "wrong_study_design", "Wrong study design"
    WRONG_PUBLICATION_TYPE = "wrong_publication_type", "Wrong publication type"
    DUPLICATE_REPORT = "duplicate_report", "Duplicate report"
    # PRISMA 2020 counts it apart ("reports not retrieved"), before the reports assessed for eligibility.
    NOT_RETRIEVED = "not_retrievable", "Report not retrieved"
    OTHER = "other", "Other"


class ScreeningDecision(models.Model):
    """One reviewer's independent decision on one citation at one stage."""

    review_citation = models.ForeignKey(
        "evidence.ReviewCitation", on_delete=models.CASCADE, related_name="screening_decisions"
    )
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=20, choices=ScreeningStage.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    exclusion_reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_citation", "stage", "created_at"]
        constraints = [
            # Blinded dual screening: one decision per reviewer per citation per stage, whatever the code does.
            models.UniqueConstraint(
                fields=["review_citation", "reviewer", "stage"], name="screening_decision_one_per_reviewer"
            ),
            models.CheckConstraint(
                condition=~Q(decision="exclude") | ~Q(stage="full_text") | ~Q(exclusion_reason=""),
                name="screening_decision_full_text_exclusion_has_reason",
            ),
        ]
        indexes = [
            # The queue and progress selectors: decisions of one stage per citation, per reviewer.
            models.Index(fields=["stage", "reviewer"], name="screening_decision_by_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer}: {self.get_decision_display()} {self.review_citation_id} [{self.get_stage_display()}]"

    @property
    def exclusion_reason_label(self) -> str:
        """A full-text reason as PRISMA words it; a review's own title/abstract reason is already words."""
        return dict(FullTextExclusionReason.choices).get(self.exclusion_reason, self.exclusion_reason)


class Adjudication(models.Model):
    """A senior reviewer's final word on a conflict, with the reason for it."""

    review_citation = models.ForeignKey(
        "evidence.ReviewCitation", on_delete=models.CASCADE, related_name="adjudications"
    )
    stage = models.CharField(max_length=20, choices=ScreeningStage.choices)
    adjudicator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=[(Decision.INCLUDE, "Include"), (Decision.EXCLUDE, "Exclude")])
    exclusion_reason = models.CharField(max_length=200, blank=True)
    reason = models.TextField(help_text="Why the conflict was resolved this way.")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_citation", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["review_citation", "stage"], name="adjudication_one_per_stage"),
            models.CheckConstraint(condition=~Q(reason=""), name="adjudication_has_reason"),
            models.CheckConstraint(condition=Q(decision__in=["include", "exclude"]), name="adjudication_is_final"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.adjudicator}: {self.get_decision_display()} {self.review_citation_id} [{self.get_stage_display()}]"
        )


class ScreeningResolution(models.Model):
    """How a citation left a stage: by agreement of two reviewers or by adjudication. PRISMA counts these."""

    review_citation = models.ForeignKey(
        "evidence.ReviewCitation", on_delete=models.CASCADE, related_name="screening_resolutions"
    )
    stage = models.CharField(max_length=20, choices=ScreeningStage.choices)
    outcome = models.CharField(max_length=10, choices=[(Decision.INCLUDE, "Include"), (Decision.EXCLUDE, "Exclude")])
    exclusion_reason = models.CharField(max_length=200, blank=True)
    adjudication = models.OneToOneField(
        Adjudication, null=True, blank=True, on_delete=models.PROTECT, related_name="resolution"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_citation", "stage"]
        constraints = [
            # A citation leaves a stage once: a concurrent second resolution fails here.
            models.UniqueConstraint(fields=["review_citation", "stage"], name="screening_resolution_once"),
        ]
        indexes = [
            # PRISMA counts: resolutions of one stage since a date.
            models.Index(fields=["stage", "created_at"], name="screening_resolution_by_date"),
        ]

    def __str__(self) -> str:
        return f"{self.review_citation_id} {self.get_stage_display()}: {self.get_outcome_display()}"
