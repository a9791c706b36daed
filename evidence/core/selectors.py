"""Reads: ready querysets and small read models for views, API and admin."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet, Sum

from evidence.models import LivingStatus, Review, ReviewVersion, SearchRun, SearchRunStatus, Study, StudyStatus


@dataclass(frozen=True)
class ReviewSummary:
    review: Review
    latest_version: ReviewVersion | None
    n_studies: int
    n_patients: int


def latest_published_version(*, review: Review) -> ReviewVersion | None:
    return review.versions.filter(published_at__isnull=False).order_by("-number").first()


def review_summaries() -> list[ReviewSummary]:
    """Each review with its latest published version and its included studies and patients."""
    versions = ReviewVersion.objects.filter(published_at__isnull=False).order_by("-number")
    reviews = Review.objects.prefetch_related(Prefetch("versions", queryset=versions, to_attr="published_versions"))
    totals = {
        row["review"]: row
        for row in Study.objects.filter(status=StudyStatus.INCLUDED)
        .values("review")
        .annotate(n_studies=Count("id"), n_patients=Sum("enrolment_n"))
    }
    return [
        ReviewSummary(
            review=review,
            latest_version=review.published_versions[0] if review.published_versions else None,
            n_studies=totals.get(review.id, {}).get("n_studies", 0),
            n_patients=totals.get(review.id, {}).get("n_patients") or 0,
        )
        for review in reviews
    ]


def included_studies(*, review: Review) -> QuerySet[Study]:
    return (
        Study.objects.filter(review=review, status=StudyStatus.INCLUDED)
        .prefetch_related("reports__citation", "interventions", "quality_assessments")
        .order_by("year", "label")
    )


# --- PubMed search runs ----------------------------------------------------------------------------------
def search_run_last_succeeded(*, review: Review) -> SearchRun | None:
    """The review's latest successful search run: "last searched" and the start of the next window."""
    return (
        SearchRun.objects.filter(review=review, status=SearchRunStatus.SUCCEEDED)
        .order_by("-window_end", "-finished_at")
        .first()
    )


def living_review_ids() -> list[int]:
    """The reviews the nightly search covers."""
    return list(Review.objects.filter(living_status=LivingStatus.LIVING).order_by("id").values_list("id", flat=True))
