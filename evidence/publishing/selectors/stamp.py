"""The page stamp a cached page and its ETag depend on, and the home page's rows with their search lines."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import F, Max, OuterRef, Subquery
from django.utils import timezone

from evidence.models import (
    LivingStatus,
    Registration,
    Review,
    ReviewCitation,
    ReviewSchedule,
    ReviewVersion,
    SearchRun,
    SearchRunStatus,
    Study,
    StudyApproval,
)
from evidence.publishing.selectors.published import announced_reviews, published_reviews

# --- The page stamp: what a cached page and its ETag depend on ---------------------------------------


@dataclass(frozen=True)
class ReviewStamp:
    review_id: int
    latest_version_id: int | None
    latest_published_at: datetime.datetime | None
    last_search_id: int | None
    citations_changed_at: datetime.datetime | None
    approved_at: datetime.datetime | None
    studies_changed_at: datetime.datetime | None = None
    registrations_changed_at: datetime.datetime | None = None  # the ongoing-trials section
    # The "Next search" line: the review's living status (review row) and its schedule.
    review_changed_at: datetime.datetime | None = None
    schedule_changed_at: datetime.datetime | None = None

    @property
    def last_modified(self) -> datetime.datetime | None:
        moments = [
            m
            for m in (
                self.latest_published_at,
                self.citations_changed_at,
                self.approved_at,
                self.studies_changed_at,
                self.registrations_changed_at,
                self.review_changed_at,
                self.schedule_changed_at,
            )
            if m
        ]
        return max(moments) if moments else None

    def parts(self) -> str:
        changed = self.citations_changed_at.timestamp() if self.citations_changed_at else 0
        approved = self.approved_at.timestamp() if self.approved_at else 0
        studies = self.studies_changed_at.timestamp() if self.studies_changed_at else 0
        registrations = self.registrations_changed_at.timestamp() if self.registrations_changed_at else 0
        operations = max((m.timestamp() for m in (self.review_changed_at, self.schedule_changed_at) if m), default=0)
        return (
            f"{self.review_id}.{self.latest_version_id}.{self.last_search_id}.{changed}.{approved}.{studies}"
            f".{registrations}.{operations}"
        )


def review_stamp(*, slug: str) -> ReviewStamp | None:
    """One query: the latest published version, the last successful search, the last triage change and the
    last study approval (the last two move the live PRISMA counts of screening not yet in a version)."""
    published = ReviewVersion.objects.filter(review=OuterRef("pk"), published_at__isnull=False).order_by("-number")
    searches = _succeeded_searches().filter(review=OuterRef("pk"))
    changed = (
        ReviewCitation.objects.filter(review=OuterRef("pk")).order_by().values("review").annotate(m=Max("updated_at"))
    )
    approved = (
        StudyApproval.objects.filter(study__review=OuterRef("pk"))
        .order_by()
        .values("study__review")
        .annotate(m=Max("created_at"))
    )
    # A study withdrawn after publication leaves the public pages at once, not when the cache expires.
    studies = Study.objects.filter(review=OuterRef("pk")).order_by().values("review").annotate(m=Max("updated_at"))
    registrations = (
        Registration.objects.filter(review=OuterRef("pk")).order_by().values("review").annotate(m=Max("updated_at"))
    )
    row = (
        published_reviews()  # a review never published has no stamp: no ETag, no 304, nothing cached
        .filter(slug=slug)
        .annotate(
            latest_version_id=Subquery(published.values("id")[:1]),
            latest_published_at=Subquery(published.values("published_at")[:1]),
            last_search_id=Subquery(searches.values("id")[:1]),
            citations_changed_at=Subquery(changed.values("m")),
            approved_at=Subquery(approved.values("m")),
            studies_changed_at=Subquery(studies.values("m")),
            registrations_changed_at=Subquery(registrations.values("m")),
            review_changed_at=F("updated_at"),
            schedule_changed_at=F("schedule__updated_at"),
        )
        .values(
            "id",
            "latest_version_id",
            "latest_published_at",
            "last_search_id",
            "citations_changed_at",
            "approved_at",
            "studies_changed_at",
            "registrations_changed_at",
            "review_changed_at",
            "schedule_changed_at",
        )
        .first()
    )
    return ReviewStamp(row.pop("id"), **row) if row else None


# --- Home ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeRow:
    review: Review
    latest_version: ReviewVersion | None
    last_search: str
    n_studies: int
    n_patients: int


def home_rows() -> list[HomeRow]:
    from evidence.core.selectors import review_summaries

    # A review never published is listed only when its editors made its protocol public (with no counts:
    # its studies are its team's business until the first version).
    announced = [
        HomeRow(review=r, latest_version=None, last_search=last_search_text(review=r), n_studies=0, n_patients=0)
        for r in announced_reviews()
    ]
    return [
        HomeRow(
            review=s.review,
            latest_version=s.latest_version,
            last_search=last_search_text(review=s.review),
            n_studies=s.latest_version.n_studies,
            n_patients=s.latest_version.n_patients,
        )
        for s in review_summaries()
        if s.latest_version is not None
    ] + announced


def _succeeded_searches():
    return SearchRun.objects.filter(status=SearchRunStatus.SUCCEEDED).order_by("-window_end", "-finished_at")


def last_search_text(*, review: Review) -> str:
    run = _succeeded_searches().filter(review=review).first()
    if run is None:
        return "not yet searched"
    finished = f" (run {timezone.localtime(run.finished_at):%-d %b %Y %H:%M} UTC)" if run.finished_at else ""
    return f"PubMed searched up to {run.window_end:%-d %b %Y}{finished}"


def next_search_text(*, review: Review) -> str:
    """The review's own schedule in words ("daily at 02:30 UTC"), or why it is not searched."""
    if review.living_status != LivingStatus.LIVING:
        return f"none: the review is {review.get_living_status_display().lower()}"
    try:
        schedule = review.schedule
    except ReviewSchedule.DoesNotExist:  # created with the defaults at the next dispatch
        return ReviewSchedule(review=review).describe()
    return schedule.describe()
