"""PubMed records a search could not parse or store, kept raw with the reason until an editor acts."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class QuarantineStatus(models.TextChoices):
    HELD = "held", "Held (not in the review)"
    RETRIED = "retried", "Retried and stored"
    DISMISSED = "dismissed", "Dismissed"


class QuarantinedRecord(models.Model):
    """One PubMed record set aside by a search run; the rest of its batch and window were ingested."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="quarantined_records")
    search_run = models.ForeignKey(
        "evidence.SearchRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="quarantined_records"
    )
    # As found in the XML, unchecked: the reason a record is here may be its PMID (kept whole, up to a limit).
    pmid = models.CharField(max_length=64, blank=True)
    stage = models.CharField(max_length=10, choices=[("parse", "Parse"), ("store", "Store")])
    reason = models.TextField()
    raw_xml = models.TextField(help_text="The record's <PubmedArticle> element as PubMed sent it.")
    status = models.CharField(max_length=10, choices=QuarantineStatus.choices, default=QuarantineStatus.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A record failing on every nightly rerun is held once per review, not once per night.
            models.UniqueConstraint(
                fields=["review", "pmid"], condition=Q(status="held") & ~Q(pmid=""), name="quarantine_one_held_per_pmid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug} PMID {self.pmid or '?'} [{self.status}]"
