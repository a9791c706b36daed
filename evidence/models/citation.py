"""Citations (reports) and their place in a review's triage queue."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords


class CitationOrigin(models.TextChoices):
    SEARCH = "search", "PubMed search run"
    MANUAL = "manual", "Added by hand"
    SEED = "seed", "Seed review"


class Citation(models.Model):
    """One report as PubMed (or a reviewer) describes it; shared by every review that finds it."""

    pmid = models.CharField(max_length=12, null=True, blank=True)
    pmcid = models.CharField(max_length=16, blank=True)
    doi = models.CharField(max_length=255, blank=True, db_index=True)  # upsert falls back to DOI
    title = models.TextField(blank=True)
    vernacular_title = models.TextField(blank=True)
    abstract = models.TextField(blank=True)
    abstract_sections = models.JSONField(default=list, blank=True, help_text="[{label, category, text}]")
    authors = models.JSONField(default=list, blank=True)
    first_author = models.CharField(max_length=200, blank=True)
    journal = models.CharField(max_length=500, blank=True)
    journal_citation = models.CharField(max_length=300, blank=True, help_text="Volume, issue and pages.")
    publication_year = models.PositiveSmallIntegerField(null=True, blank=True)
    publication_month = models.PositiveSmallIntegerField(null=True, blank=True)
    publication_date_text = models.CharField(max_length=100, blank=True)
    publication_types = models.JSONField(default=list, blank=True)
    mesh_terms = models.JSONField(default=list, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    registry_ids = models.JSONField(default=list, blank=True, help_text="Trial registry numbers (NCT…).")
    comments_corrections = models.JSONField(default=list, blank=True)
    is_retracted = models.BooleanField(default=False)
    has_erratum = models.BooleanField(default=False)
    has_update = models.BooleanField(default=False)
    has_expression_of_concern = models.BooleanField(default=False)
    origin = models.CharField(max_length=10, choices=CitationOrigin.choices)
    origin_note = models.TextField(blank=True, help_text="Where the record came from: search run, source URL…")
    search_run = models.ForeignKey(
        "evidence.SearchRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The run that first found this record.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-publication_year", "title"]
        constraints = [
            models.UniqueConstraint(fields=["pmid"], condition=Q(pmid__isnull=False), name="citation_unique_pmid"),
            models.CheckConstraint(condition=~Q(pmid=""), name="citation_pmid_null_not_blank"),
        ]
        indexes = [
            # The search's DOI fallback looks citations up by lower-cased DOI, a batch of 500 at a time.
            models.Index(Lower("doi"), name="citation_doi_lower"),
        ]

    def __str__(self) -> str:
        who = self.first_author or "Unknown"
        return f"{who} {self.publication_year or 'n.d.'}: {self.title[:80]}"

    @property
    def is_flagged(self) -> bool:
        return self.is_retracted or self.has_erratum or self.has_update or self.has_expression_of_concern


class TriageStage(models.TextChoices):
    TITLE_ABSTRACT = "title_abstract", "Title/abstract screening"
    FULL_TEXT = "full_text", "Full-text screening"
    EXTRACTION = "extraction", "Data extraction"
    INCLUDED = "included", "Included"
    EXCLUDED = "excluded", "Excluded"


class ReviewCitation(models.Model):
    """A citation's place in one review: where it is in triage and how it got there."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="review_citations")
    citation = models.ForeignKey(Citation, on_delete=models.PROTECT, related_name="review_citations")
    stage = models.CharField(max_length=20, choices=TriageStage.choices, default=TriageStage.TITLE_ABSTRACT)
    exclusion_reason = models.CharField(max_length=200, blank=True)
    relevance_score = models.FloatField(null=True, blank=True)
    search_run = models.ForeignKey(
        "evidence.SearchRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_citations",
        help_text="The run that put this record in the review's queue (PRISMA: records identified).",
    )
    possible_duplicate_of = models.ForeignKey(
        Citation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Near-duplicate (title, year, first author) for a reviewer to confirm; never merged silently.",
    )
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review", "-relevance_score", "added_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "citation"], name="review_citation_unique"),
        ]
        indexes = [
            # The screening queue: one review's citations at one stage.
            models.Index(fields=["review", "stage"], name="review_citation_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug}: {self.citation} [{self.get_stage_display()}]"
