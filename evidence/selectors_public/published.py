"""What the public may see at all: the one rule every public page, feed, download and API endpoint reads.

Public means published. A review is public once it has a published version; a study is public while it is
approved (``StudyStatus.INCLUDED``) and a published version of its review included it. So a study still in
screening, extraction or approval, a withdrawn study, a study approved since the last version was published
and everything of a review never published stay private, whichever page asks: a page that forgets to filter
finds nothing here to show, rather than everything.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from evidence.models import Review, ReviewVersion, Study, StudyStatus


def published_reviews() -> QuerySet[Review]:
    """Reviews with at least one published version; a review never published is nobody's business yet."""
    published = ReviewVersion.objects.filter(review=OuterRef("pk"), published_at__isnull=False)
    return Review.objects.filter(Exists(published))


def public_review(*, slug: str) -> Review | None:
    return published_reviews().filter(slug=slug).first()


def version_study_ids(version: ReviewVersion) -> set[int]:
    """The ids a version recorded in its ``studies`` snapshot (entries without an integer id are skipped)."""
    return {s["id"] for s in version.studies or [] if isinstance(s, dict) and isinstance(s.get("id"), int)}


def _listed_study_ids(review: Review) -> set[int]:
    snapshots = ReviewVersion.objects.filter(review=review, published_at__isnull=False).values_list(
        "studies", flat=True
    )
    return {i for studies in snapshots for i in version_study_ids(ReviewVersion(studies=studies))}


def public_studies(*, review: Review) -> QuerySet[Study]:
    """Approved studies a published version of ``review`` included."""
    return Study.objects.filter(review=review, status=StudyStatus.INCLUDED, pk__in=_listed_study_ids(review))


def public_study_ids(*, review: Review) -> set[int]:
    return set(public_studies(review=review).values_list("pk", flat=True))
