"""Dual extraction drafts and the editor's approval of a reconciled study."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class DraftStatus(models.TextChoices):
    DRAFT = "draft", "Draft (being entered)"
    SUBMITTED = "submitted", "Submitted for reconciliation"
    RECONCILED = "reconciled", "Reconciled into the study"
    RETURNED = "returned", "Sent back by the editor"


class ExtractionDraft(models.Model):
    """One extractor's independent extraction of one included report; the payload is their own until reconciled.

    The payload holds ``study``, ``intervention``, ``measurements``, ``adverse_events`` and ``quality``
    (see ``evidence.extraction.services``); a senior reviewer reconciles two drafts into Study rows.
    """

    review_citation = models.ForeignKey(
        "evidence.ReviewCitation", on_delete=models.CASCADE, related_name="extraction_drafts"
    )
    extractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=DraftStatus.choices, default=DraftStatus.DRAFT)
    study = models.ForeignKey(
        "evidence.Study", null=True, blank=True, on_delete=models.SET_NULL, related_name="extraction_drafts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_citation", "extractor"]
        constraints = [
            models.UniqueConstraint(fields=["review_citation", "extractor"], name="extraction_draft_one_per_extractor"),
        ]

    def __str__(self) -> str:
        return f"{self.extractor} · {self.review_citation_id} [{self.get_status_display()}]"


class ApprovalAction(models.TextChoices):
    APPROVE = "approve", "Approved"
    SEND_BACK = "send_back", "Sent back"


class StudyApproval(models.Model):
    """An editor's approval or sending back of a study's reconciled extraction."""

    study = models.ForeignKey("evidence.Study", on_delete=models.CASCADE, related_name="approvals")
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=ApprovalAction.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action="send_back") | ~Q(comment=""), name="study_approval_send_back_has_comment"
            ),
        ]
        indexes = [
            # PRISMA counts: studies approved since a date.
            models.Index(fields=["action", "created_at"], name="study_approval_by_date"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.get_action_display()} by {self.editor}"
