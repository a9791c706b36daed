"""The ledger of PubMed searches: one row per run, what it asked and what it found."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from evidence.models.schedule import RunTrigger


class SearchRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SearchRun(models.Model):
    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="search_runs")
    query = models.TextField(help_text="The exact query sent.")
    window_start = models.DateField(help_text="Creation date [crdt] from (inclusive).")
    window_end = models.DateField(help_text="Creation date [crdt] to (inclusive).")
    status = models.CharField(max_length=10, choices=SearchRunStatus.choices, default=SearchRunStatus.RUNNING)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE)
    triggered_by = models.CharField(max_length=100, blank=True, help_text="beat, poll_pubmed, admin…")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched as the run goes; a running run whose heartbeat stopped lost its worker (see STALE_SEARCH_AFTER).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    requests_made = models.PositiveIntegerField(default=0)
    records_found = models.PositiveIntegerField(default=0)
    records_new = models.PositiveIntegerField(default=0)
    records_known = models.PositiveIntegerField(default=0)
    possible_duplicates = models.PositiveIntegerField(default=0)
    records_quarantined = models.PositiveIntegerField(default=0, help_text="Records held in the quarantine.")
    citations_flagged = models.PositiveIntegerField(default=0, help_text="Included reports newly retracted/corrected.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        constraints = [
            # One run per review at a time: a second worker's claim fails on this index.
            models.UniqueConstraint(fields=["review"], condition=Q(status="running"), name="search_run_one_running"),
            models.CheckConstraint(condition=Q(window_start__lte=F("window_end")), name="search_run_window_ordered"),
        ]
        indexes = [
            # "Last searched" on the public page and the next window's start: a review's latest successful run.
            models.Index(fields=["review", "status", "-window_end"], name="search_run_last_success"),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug} {self.window_start}–{self.window_end} [{self.status}]"
