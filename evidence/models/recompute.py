"""Recompute runs (a ledger of every attempt) and the editor's GRADE judgements carried between versions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from evidence.models.outcome import outcome_review_error, related_or_none
from evidence.models.schedule import RunTrigger
from evidence.models.version import Certainty


class RecomputeStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PUBLISHED = "published", "New version published"
    UNCHANGED = "unchanged", "Inputs unchanged: no new version"
    FAILED = "failed", "Failed (previous version stays published)"


class RecomputeRun(models.Model):
    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="recompute_runs")
    status = models.CharField(max_length=10, choices=RecomputeStatus.choices, default=RecomputeStatus.QUEUED)
    triggers = models.JSONField(default=list, help_text="Every request folded into this run (debounce).")
    # The entry point of the request that created the run (later requests fold into ``triggers``).
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.CHANGE)
    requested_at = models.DateTimeField(auto_now_add=True)
    # When its task was last handed to the broker; empty while the broker could not take it (the sweeper sends it).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched every few seconds by the worker running it: a running run whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed this run.")
    inputs_hash = models.CharField(max_length=64, blank=True)
    version = models.ForeignKey(
        "evidence.ReviewVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # Debounce: requests fold into the one queued run of a review.
            models.UniqueConstraint(fields=["review"], condition=Q(status="queued"), name="recompute_one_queued"),
            # At most one recompute per review runs at a time, whatever the number of workers.
            models.UniqueConstraint(fields=["review"], condition=Q(status="running"), name="recompute_one_running"),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug} recompute #{self.pk} [{self.status}]"


class GradeAssessment(models.Model):
    """An editor's certainty for one outcome, time point and subgroup; copied into every version until changed."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="grade_assessments")
    outcome = models.ForeignKey("evidence.Outcome", on_delete=models.PROTECT, related_name="+")
    timepoint_months = models.DecimalField(max_digits=6, decimal_places=2)
    subgroup_variable = models.CharField(max_length=40, blank=True)
    subgroup_value = models.CharField(max_length=80, blank=True)
    certainty = models.CharField(max_length=10, choices=Certainty.choices)
    risk_of_bias = models.CharField(max_length=200, blank=True)
    inconsistency = models.CharField(max_length=200, blank=True)
    indirectness = models.CharField(max_length=200, blank=True)
    imprecision = models.CharField(max_length=200, blank=True)
    publication_bias = models.CharField(max_length=200, blank=True)
    set_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review", "outcome", "timepoint_months"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "outcome", "timepoint_months", "subgroup_variable", "subgroup_value"],
                name="grade_assessment_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.outcome.code} {self.timepoint_months} m: {self.certainty}"

    def clean(self) -> None:
        super().clean()
        wrong_review = outcome_review_error(outcome=related_or_none(self, "outcome"), review_id=self.review_id)
        if wrong_review:
            raise ValidationError({"outcome": wrong_review})

    def reasons(self) -> dict:
        fields = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
        return {name: getattr(self, name) for name in fields if getattr(self, name)}
