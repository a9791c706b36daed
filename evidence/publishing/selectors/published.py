"""What the public may see at all: the one rule every public page, feed, download and API endpoint reads.

Public means published. A review is public once it has a published version; a study is public while it is
approved (``StudyStatus.INCLUDED``) and a published version of its review included it. So a study still in
screening, extraction or approval, a withdrawn study, a study approved since the last version was published
and everything of a review never published stay private, whichever page asks: a page that forgets to filter
finds nothing here to show, rather than everything.
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, QuerySet

from evidence.models import (
    AdverseEvent,
    Intervention,
    Outcome,
    OutcomeMeasurement,
    QualityAssessment,
    Review,
    ReviewVersion,
    Study,
    StudyStatus,
)


def published_reviews() -> QuerySet[Review]:
    """Reviews with at least one published version; a review never published is nobody's business yet."""
    published = ReviewVersion.objects.filter(review=OuterRef("pk"), published_at__isnull=False)
    return Review.objects.filter(Exists(published))


def public_review(*, slug: str) -> Review | None:
    return published_reviews().filter(slug=slug).first()


def announced_reviews() -> QuerySet[Review]:
    """Reviews before their first version whose editors made the protocol public: only the review's own
    fields (question, protocol, search status) are shown, never a study, a citation or a draft version."""
    published = ReviewVersion.objects.filter(review=OuterRef("pk"), published_at__isnull=False)
    return Review.objects.filter(protocol_public=True).exclude(Exists(published)).exclude(living_status="retired")


def announced_review(*, slug: str) -> Review | None:
    return announced_reviews().filter(slug=slug).first()


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


# --- A published study as its latest version read it ------------------------------------------------------

# What a recompute reads of a study besides the study itself; its reports (and their retraction flags) are
# read live, since a retraction must show at once.
PUBLISHED_RELATIONS = {
    "measurements": OutcomeMeasurement,
    "adverse_events": AdverseEvent,
    "interventions": Intervention,
    "quality_assessments": QualityAssessment,
}


def latest_publication(*, review: Review) -> datetime.datetime | None:
    latest = review.versions.filter(published_at__isnull=False).order_by("-number").first()
    return latest.published_at if latest else None


def studies_as_published(studies: list[Study], *, review: Review) -> list[Study]:
    """``studies`` (public ones) as they stood when the review's latest version was published: their own
    fields and their measurements, adverse events, interventions and quality assessments, read from the audit
    history. Numbers reconciled into a published study since then stay private until a version publishes
    them. (A study whose own history is missing, loaded without it, keeps its current fields; rows without
    history are not shown: the audit trail is what says they were published.)"""
    at = latest_publication(review=review)
    if at is None or not studies:
        return []
    ids = [s.pk for s in studies]
    then = {s.pk: s for s in Study.history.as_of(at).filter(pk__in=ids)}
    related = {
        name: _by_study(model.history.as_of(at).filter(study_id__in=ids).order_by(*model._meta.ordering))
        for name, model in PUBLISHED_RELATIONS.items()
    }
    outcomes = {o.pk: o for o in Outcome.objects.filter(review=review)}
    shown = []
    for live in studies:
        study = then.get(live.pk, live)
        cache = {"reports": live.reports.all()}
        cache.update({name: rows.get(live.pk, []) for name, rows in related.items()})
        for measurement in cache["measurements"]:
            measurement.outcome = outcomes[measurement.outcome_id]
        study._prefetched_objects_cache = cache
        shown.append(study)
    return shown


def _by_study(rows) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.study_id, []).append(row)
    return grouped
