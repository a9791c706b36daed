"""The full text of a report in one review: an uploaded PDF, a link, or both.

The PDF lives on the configured media storage (STORAGES["default"]) under a name the code chooses, never the
uploader's file name, and is never given a public URL: the workspace streams it to members who may read it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


def full_text_path(instance: FullText, filename: str) -> str:
    """full_texts/<review>/<review citation>/<random>.pdf: unguessable, and free of the uploaded name."""
    review_citation = instance.review_citation
    return f"full_texts/{review_citation.review_id}/{review_citation.pk}/{uuid.uuid4().hex}.pdf"


class FullText(models.Model):
    """Where a reviewer reads a report: a PDF attached here, a link to the publisher's or PMC's page, or both."""

    review_citation = models.OneToOneField(
        "evidence.ReviewCitation", on_delete=models.CASCADE, related_name="full_text", verbose_name="report"
    )
    pdf = models.FileField(upload_to=full_text_path, blank=True, max_length=300, verbose_name="PDF")
    pdf_name = models.CharField(max_length=255, blank=True, verbose_name="uploaded file name")
    pdf_bytes = models.PositiveBigIntegerField(null=True, blank=True, verbose_name="PDF size (bytes)")
    pdf_sha256 = models.CharField(max_length=64, blank=True, verbose_name="PDF SHA-256")
    url = models.URLField(max_length=1000, blank=True, verbose_name="link to the full text")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()  # the audit trail: who attached which file (its SHA-256) or link, when

    class Meta:
        verbose_name = "full text"
        constraints = [
            models.CheckConstraint(condition=~Q(pdf="") | ~Q(url=""), name="full_text_has_pdf_or_link"),
        ]

    def __str__(self) -> str:
        return f"Full text of {self.review_citation.citation}"
