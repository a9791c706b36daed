"""FHIR R5 ``ResearchStudy`` for an ongoing registered trial (a registration a reviewer included as ongoing).

Plain dicts, no queries: the bundle hands in the registrations. R5 fields used: ``identifier`` (the NCT id
under ClinicalTrials.gov's system), ``title``, ``status`` (the resource's own publication status),
``progressStatus`` (the registry's overall status as text), ``phase``, ``recruitment`` (target or actual
number), ``period``, ``outcomeMeasure`` (primary outcomes) and ``associatedParty`` (the lead sponsor).
"""

from __future__ import annotations

CTGOV = "https://clinicaltrials.gov"
RESEARCH_STUDY_PARTY_ROLE = "http://hl7.org/fhir/research-study-party-role"


def _period(start: str, end: str) -> dict | None:
    period = {key: value for key, value in (("start", start), ("end", end)) if value}
    return period or None


def research_study(registration) -> dict:
    """One registration as a ResearchStudy; ``id`` is the NCT id, so the same row gives the same bytes."""
    recruitment = {}
    if registration.enrolment_count is not None:
        key = "actualNumber" if registration.enrolment_type == "ACTUAL" else "targetNumber"
        recruitment[key] = registration.enrolment_count
    resource = {
        "resourceType": "ResearchStudy",
        "id": registration.nct_id,
        "url": f"{CTGOV}/study/{registration.nct_id}",
        "identifier": [{"system": CTGOV, "value": registration.nct_id}],
        "title": registration.brief_title or registration.official_title or registration.nct_id,
        "status": "active",
        "progressStatus": [{"state": {"text": registration.overall_status}, "actual": True}],
        "phase": {"text": ", ".join(registration.phases)} if registration.phases else None,
        "recruitment": recruitment or None,
        "period": _period(registration.start_date, registration.completion_date),
        "outcomeMeasure": [
            {
                "name": str(outcome.get("measure", "")),
                "type": [{"text": "primary"}],
                "description": str(outcome.get("timeFrame", "")) or None,
            }
            for outcome in registration.primary_outcomes
            if outcome.get("measure")
        ]
        or None,
        "associatedParty": [
            {
                "name": registration.sponsor,
                "role": {"coding": [{"system": RESEARCH_STUDY_PARTY_ROLE, "code": "sponsor"}]},
            }
        ]
        if registration.sponsor
        else None,
    }
    return _clean(resource)


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
