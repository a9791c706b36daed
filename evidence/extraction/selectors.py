"""Reads for extraction: the queue (new reports and already-included studies) and the study a report belongs to."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from evidence.models import DraftStatus, Review, ReviewCitation, Study, StudyReport, StudyStatus, TriageStage

ACTIVE = (StudyStatus.INCLUDED, StudyStatus.EXTRACTION)


def reported_study(*, review_citation: ReviewCitation) -> Study | None:
    """The active study of the review this citation already reports (seeded or approved), if any."""
    return (
        Study.objects.filter(
            review_id=review_citation.review_id, status__in=ACTIVE, reports__citation_id=review_citation.citation_id
        )
        .order_by("id")
        .first()
    )


def extraction_queue(*, review: Review) -> QuerySet[ReviewCitation]:
    """Citations awaiting extraction, then the main reports of included studies (seeded ones among them), which
    an extractor may open to add the data they lack through the same dual extraction."""
    main_report = StudyReport.objects.filter(
        citation_id=OuterRef("citation_id"), is_main_report=True, study__review=review, study__status__in=ACTIVE
    )
    return (
        ReviewCitation.objects.filter(review=review)
        .annotate(is_already_included=Exists(main_report))
        .filter(Q(stage=TriageStage.EXTRACTION) | Q(stage=TriageStage.INCLUDED, is_already_included=True))
        .select_related("citation")
        .annotate(
            n_submitted=Count(
                "extraction_drafts",
                filter=Q(extraction_drafts__status__in=[DraftStatus.SUBMITTED, DraftStatus.RECONCILED]),
            )
        )
        .order_by("stage", "added_at", "id")  # awaiting extraction first, then already-included studies
    )
