"""Reads for the public REST API: ready querysets that show published evidence only.

Every queryset here is what a registry may see: what a published version contains. The rule of what is
public lives in ``evidence.publishing.selectors.published``; four consequences hold for every queryset here:

- a review without a published version does not exist here (404), nor anything of it;
- a ReviewVersion without ``published_at`` never appears, nor anything hanging from it;
- a study appears only once approved (``StudyStatus.INCLUDED``) and included by a published version:
  studies in screening, extraction or approval, withdrawn ones and ones approved since the last version
  stay private, and so do the citations of all of them (pending and excluded citations included);
- nothing that names a reviewer (users, screening decisions, notes, adjudications) is ever selected.

Each queryset fetches its related rows up front, so a page costs the same number of queries whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Greatest
from django.http import Http404

from evidence.models import (
    Outcome,
    PooledResult,
    Review,
    ReviewCitation,
    ReviewVersion,
    Study,
    StudyReport,
    StudyResult,
    TriageStage,
)
from evidence.publishing.selectors.published import (
    public_review,
    public_studies,
    published_reviews,
    studies_as_published,
    version_study_ids,
)
from evidence.publishing.selectors.registry import public_registrations
from evidence.synthesis.recompute.analyses import CONTROLLED_VARIABLE

# The largest id or version number a URL may name; beyond it SQLite refuses the integer before the query runs.
MAX_ID = 2**31 - 1

# What a pooled row is, for registries: the stored subgroup_variable marks a between-arm row with
# CONTROLLED_VARIABLE, which is not a subgroup and must not read as one.
ANALYSIS_KINDS = {
    "before_after": "single-arm (before–after) change, or proportion of patients with an event",
    "controlled": "between-arm contrast of controlled studies",
    "subgroup": "subgroup of the before–after studies",
}


def analysis_kind(subgroup_variable: str) -> str:
    if subgroup_variable == CONTROLLED_VARIABLE:
        return "controlled"
    return "subgroup" if subgroup_variable else "before_after"


class PublicStatus:
    """A citation's screening status as the public sees it: the outcome, never who decided it."""

    INCLUDED = "included"
    EXCLUDED = "excluded"
    PENDING = "pending"
    CHOICES = (INCLUDED, EXCLUDED, PENDING)


def public_status(stage: str) -> str:
    """Map a triage stage to included / excluded / pending; every stage before a final one is pending."""
    if stage == TriageStage.INCLUDED:
        return PublicStatus.INCLUDED
    if stage == TriageStage.EXCLUDED:
        return PublicStatus.EXCLUDED
    return PublicStatus.PENDING


def published_versions() -> QuerySet[ReviewVersion]:
    return ReviewVersion.objects.filter(published_at__isnull=False)


def api_reviews() -> QuerySet[Review]:
    """Reviews with the number and date of their latest published version (None before the first)."""
    latest = published_versions().filter(review=OuterRef("pk")).order_by("-number")
    return published_reviews().annotate(
        latest_version_number=Subquery(latest.values("number")[:1]),
        latest_published_at=Subquery(latest.values("published_at")[:1]),
    )


def api_review(*, slug: str) -> Review:
    review = public_review(slug=slug)
    if review is None:
        raise Http404(f"No published review with the slug {slug!r}.")
    return review


def api_versions(*, review: Review) -> QuerySet[ReviewVersion]:
    return published_versions().filter(review=review).select_related("review", "source_citation")


def api_version(*, review: Review, number: str, with_safety: bool = False) -> ReviewVersion:
    """A published version by number, or the latest published one for ``number='latest'``."""
    versions = api_versions(review=review)
    if with_safety:
        versions = versions.prefetch_related("safety_results")
    if number == "latest":
        version = versions.order_by("-number").first()
    elif _is_id(number):
        version = versions.filter(number=int(number)).first()
    else:
        version = None
    if version is None:
        raise Http404(f"Review {review.slug!r} has no published version {number!r}.")
    return version


def api_pooled_results(*, version: ReviewVersion) -> QuerySet[PooledResult]:
    """One version's pooled rows with their per-study rows; the version is published (see ``api_version``)."""
    return (
        PooledResult.objects.filter(version=version)
        .select_related("outcome", "version", "carried_from__version")
        .prefetch_related(Prefetch("study_results", queryset=StudyResult.objects.order_by("publication_year", "id")))
    )


def api_most_studies_per_result(*, version: ReviewVersion) -> int:
    """The most study-level rows any one pooled row of the version has (each is an entry of its FHIR page)."""
    counts = PooledResult.objects.filter(version=version).annotate(rows=Count("study_results")).aggregate(m=Max("rows"))
    return counts["m"] or 0


def api_studies(*, review: Review) -> QuerySet[Study]:
    """Published studies with their reports; ``api_studies_as_published`` adds the rest of a page of them."""
    return (
        public_studies(review=review)
        .select_related("review")
        .prefetch_related(Prefetch("reports", queryset=StudyReport.objects.select_related("citation")))
    )


def api_studies_as_published(studies: list[Study], *, review: Review) -> list[Study]:
    """A page of ``api_studies`` as the review's latest version read them (fields, interventions,
    measurements, adverse events, quality), in the same number of queries whatever the page size."""
    return studies_as_published(studies, review=review)


def api_study(*, studies: QuerySet[Study], pk: str) -> Study:
    study = studies.filter(pk=int(pk)).first() if _is_id(pk) else None
    if study is None:
        raise Http404(f"No published study with the id {pk!r} in this review.")
    return study


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def api_citations(*, review: Review) -> QuerySet[ReviewCitation]:
    """The reports of the review's published studies (so every one is ``included``); ``changed_at`` is the
    later of the record's and the status's last change, which is what ``since`` filters on. Citations still
    in screening, excluded or of studies not yet published are the team's work in progress, not public."""
    reports = StudyReport.objects.filter(study__in=public_studies(review=review)).values("citation_id")
    return (
        ReviewCitation.objects.filter(review=review, stage=TriageStage.INCLUDED, citation_id__in=reports)
        .select_related("citation")
        .annotate(changed_at=Greatest("updated_at", "citation__updated_at"))
    )


def citations_with_status(queryset: QuerySet[ReviewCitation], status: str) -> QuerySet[ReviewCitation]:
    if status == PublicStatus.INCLUDED:
        return queryset.filter(stage=TriageStage.INCLUDED)
    if status == PublicStatus.EXCLUDED:
        return queryset.filter(stage=TriageStage.EXCLUDED)
    return queryset.exclude(stage__in=[TriageStage.INCLUDED, TriageStage.EXCLUDED])


def citations_changed_since(queryset: QuerySet[ReviewCitation], since: datetime) -> QuerySet[ReviewCitation]:
    return queryset.filter(Q(updated_at__gte=since) | Q(citation__updated_at__gte=since))


def api_outcomes(*, review: Review | None = None) -> QuerySet[Outcome]:
    """Outcomes of published reviews (of ``review`` alone when given): each review defines its own."""
    outcomes = Outcome.objects.filter(review__in=published_reviews()).select_related("review")
    return outcomes.filter(review=review) if review is not None else outcomes


def api_outcome(*, code: str) -> Outcome:
    """The published outcome with this code. A code a later review defines too keeps answering what it answered
    before (the outcome that first had it; the body names its review), so a published URL does not turn into a
    404 when a second review is set up; the other review's outcome is at /api/v1/reviews/<slug>/outcomes/<code>/.
    """
    found = api_outcomes().filter(code=code).order_by("pk").first()
    if found is None:
        raise Http404(f"No published outcome with the code {code!r}.")
    return found


@dataclass(frozen=True)
class VersionEvidence:
    """Everything the FHIR bundle of one published version is made of."""

    version: ReviewVersion
    pooled_results: list[PooledResult]
    outcomes: list[Outcome]
    reports: list[StudyReport]
    registrations: list = field(default_factory=list)  # ongoing trials (whole bundle only, not a page)


def version_evidence(*, version: ReviewVersion, pooled_results: list[PooledResult] | None = None) -> VersionEvidence:
    """The version's pooled rows (or the given page of them), their outcomes and the reports of the studies
    the version included (``version.studies``, as it saw them) that are still public."""
    paged = pooled_results is not None
    if pooled_results is None:
        pooled_results = list(api_pooled_results(version=version))
    outcomes = list({row.outcome_id: row.outcome for row in pooled_results}.values())
    public = public_studies(review=version.review).filter(pk__in=version_study_ids(version))
    reports = list(
        StudyReport.objects.filter(study__in=public)
        .select_related("citation", "study")
        .order_by("study__year", "study__label", "-is_main_report", "citation_id")
    )
    registrations = [] if paged else list(public_registrations(review=version.review))
    return VersionEvidence(
        version=version, pooled_results=pooled_results, outcomes=outcomes, reports=reports, registrations=registrations
    )
