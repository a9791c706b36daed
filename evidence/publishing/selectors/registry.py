"""Ongoing and unpublished trials: the registrations a reviewer included as ongoing, of a published review.

Public means curated: a registration the registry search found is private until a reviewer includes it as an
ongoing study (``RegistrationScreening.ONGOING``); one still pending, awaiting classification, excluded or
withdrawn never shows, and nothing of a review never published does.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.models import Registration, RegistrationScreening, Review
from evidence.publishing.selectors.published import published_reviews

STATUS_WORDS = {
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "RECRUITING": "Recruiting",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
    "COMPLETED": "Completed",
    "UNKNOWN": "Unknown status",
}


@dataclass(frozen=True)
class OngoingTrial:
    nct_id: str
    url: str
    title: str
    status: str
    planned_n: str
    primary_outcome: str
    expected_completion: str
    has_results: bool


def public_registrations(*, review: Review):
    """Registrations of a published review that a reviewer included as ongoing (never a withdrawn one)."""
    return (
        Registration.objects.filter(review__in=published_reviews(), review=review)
        .filter(screening=RegistrationScreening.ONGOING)
        .exclude(overall_status="WITHDRAWN")
        .order_by("completion_date", "nct_id")
    )


def _planned_n(registration: Registration) -> str:
    if registration.enrolment_count is None:
        return "Not stated"
    kind = {"ESTIMATED": "planned", "ACTUAL": "enrolled"}.get(registration.enrolment_type, "")
    return f"{registration.enrolment_count} {kind}".strip()


def _primary_outcome(registration: Registration) -> str:
    parts = []
    for outcome in registration.primary_outcomes:
        measure, when = str(outcome.get("measure", "")).strip(), str(outcome.get("timeFrame", "")).strip()
        parts.append(f"{measure} ({when})" if measure and when else measure)
    return "; ".join(p for p in parts if p) or "Not stated"


def _completion(registration: Registration) -> str:
    if not registration.completion_date:
        return "Not stated"
    kind = {"ESTIMATED": " (expected)", "ACTUAL": " (actual)"}.get(registration.completion_date_type, "")
    return f"{registration.completion_date}{kind}"


def ongoing_trials(*, review: Review) -> list[OngoingTrial]:
    return [
        OngoingTrial(
            nct_id=r.nct_id,
            url=r.url,
            title=r.brief_title or r.official_title,
            status=STATUS_WORDS.get(r.overall_status, r.overall_status.replace("_", " ").capitalize()),
            planned_n=_planned_n(r),
            primary_outcome=_primary_outcome(r),
            expected_completion=_completion(r),
            has_results=r.has_results,
        )
        for r in public_registrations(review=review)
    ]
