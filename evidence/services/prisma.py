"""PRISMA 2020 flow counts, derived from stored events only; nothing here is typed in.

Counts are for the whole review, or for what happened since a datetime (the previous version's).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from evidence.models import (
    ApprovalAction,
    Decision,
    Review,
    ReviewCitation,
    ScreeningResolution,
    ScreeningStage,
    Study,
    StudyApproval,
    StudyReport,
    StudyStatus,
    TriageStage,
)


@dataclass(frozen=True)
class PrismaCounts:
    identified_by_source: dict[str, int]
    duplicates_removed: int
    records_screened: int
    records_excluded: int
    full_texts_assessed: int
    full_texts_excluded_by_reason: dict[str, int] = field(default_factory=dict)
    studies_included: int = 0
    reports_included: int = 0

    @property
    def records_identified(self) -> int:
        return sum(self.identified_by_source.values())

    @property
    def full_texts_excluded(self) -> int:
        return sum(self.full_texts_excluded_by_reason.values())


def _since(queryset: QuerySet, since: datetime.datetime | None, field_name: str) -> QuerySet:
    return queryset if since is None else queryset.filter(**{f"{field_name}__gte": since})


def identified_by_source(*, review: Review, since: datetime.datetime | None = None) -> dict[str, int]:
    """Records identified, per source: 'pubmed' for records a search run put in the review's queue (counted
    once, by the run that first found them, so overlapping search windows never double-count), else the
    citation's origin (manual, seed)."""
    rows = (
        _since(ReviewCitation.objects.filter(review=review), since, "added_at")
        .values("search_run_id", "citation__origin")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, int] = {}
    for row in rows:
        source = row["citation__origin"] if row["search_run_id"] is None else "pubmed"
        counts[source] = counts.get(source, 0) + row["n"]
    return dict(sorted(counts.items()))


def identified_by_search_run(*, review: Review, since: datetime.datetime | None = None) -> dict[int, int]:
    """Records identified by each search run (run id -> records it added to the review's queue)."""
    rows = (
        _since(ReviewCitation.objects.filter(review=review, search_run__isnull=False), since, "added_at")
        .values("search_run_id")
        .annotate(n=Count("id"))
        .order_by("search_run_id")
    )
    return {row["search_run_id"]: row["n"] for row in rows}


def _duplicates_removed(review: Review, since: datetime.datetime | None) -> int:
    """A flagged near-duplicate counts as removed once a reviewer confirmed it by excluding the record."""
    confirmed = ReviewCitation.objects.filter(
        review=review, possible_duplicate_of__isnull=False, stage=TriageStage.EXCLUDED
    )
    return _since(confirmed, since, "updated_at").count()


def _resolutions(review: Review, stage: str, since: datetime.datetime | None) -> QuerySet[ScreeningResolution]:
    return _since(ScreeningResolution.objects.filter(review_citation__review=review, stage=stage), since, "created_at")


def _included(review: Review, since: datetime.datetime | None) -> tuple[int, int]:
    if since is None:
        studies = Study.objects.filter(review=review, status=StudyStatus.INCLUDED)
    else:
        approved = StudyApproval.objects.filter(
            study__review=review, action=ApprovalAction.APPROVE, created_at__gte=since
        ).values("study")
        studies = Study.objects.filter(pk__in=approved, status=StudyStatus.INCLUDED)
    return studies.count(), StudyReport.objects.filter(study__in=studies).count()


def prisma_counts(*, review: Review, since: datetime.datetime | None = None) -> PrismaCounts:
    title_abstract = _resolutions(review, ScreeningStage.TITLE_ABSTRACT, since)
    full_text = _resolutions(review, ScreeningStage.FULL_TEXT, since)
    reasons = (
        full_text.filter(outcome=Decision.EXCLUDE)
        .values("exclusion_reason")
        .annotate(n=Count("id"))
        .order_by("exclusion_reason")
    )
    studies, reports = _included(review, since)
    return PrismaCounts(
        identified_by_source=identified_by_source(review=review, since=since),
        duplicates_removed=_duplicates_removed(review, since),
        records_screened=title_abstract.count(),
        records_excluded=title_abstract.filter(outcome=Decision.EXCLUDE).count(),
        full_texts_assessed=full_text.count(),
        full_texts_excluded_by_reason={row["exclusion_reason"]: row["n"] for row in reasons},
        studies_included=studies,
        reports_included=reports,
    )
