"""Registrations upserted from parsed ClinicalTrials.gov studies, linked to the reports and studies that cite
their NCT id, with the status history and the reviewer tasks their changes raise."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from evidence.models import (
    Citation,
    Registration,
    RegistrationStatusChange,
    RegistrySearchRun,
    RegistryTask,
    RegistryTaskKind,
    Review,
    Study,
)
from evidence.surveillance.ctgov_parse import ParsedRegistration
from evidence.surveillance.search.flags import registry_ids_in

logger = logging.getLogger(__name__)

# The fields a registry update may change; screening and links are the reviewers' and the linker's.
REGISTRY_FIELDS = (
    "aliases",
    "brief_title",
    "official_title",
    "overall_status",
    "phases",
    "study_type",
    "enrolment_count",
    "enrolment_type",
    "arms",
    "interventions",
    "primary_outcomes",
    "start_date",
    "primary_completion_date",
    "completion_date",
    "completion_date_type",
    "sponsor",
    "has_results",
    "last_update_posted",
    "raw",
)
_ENROLMENT_TYPES = {"ACTUAL", "ESTIMATED"}


@dataclass
class UpsertTally:
    new: int = 0
    updated: int = 0
    status_changes: int = 0
    tasks: int = 0
    notes: list[str] = field(default_factory=list)


def _values(parsed: ParsedRegistration) -> dict:
    values = {name: getattr(parsed, name) for name in REGISTRY_FIELDS}
    values["aliases"], values["phases"] = list(parsed.aliases), list(parsed.phases)
    values["enrolment_type"] = parsed.enrolment_type if parsed.enrolment_type in _ENROLMENT_TYPES else ""
    values["sponsor"] = parsed.sponsor[:300]
    return values


def registry_task_raise(
    *, registration: Registration, kind: str, key: str, message: str, run=None, citation=None
) -> bool:
    """Raise a task once per event (the unique key makes a second run's attempt a no-op); True if new."""
    _, created = RegistryTask.objects.get_or_create(
        registration=registration,
        key=key,
        defaults={
            "review_id": registration.review_id,
            "kind": kind,
            "message": message[:300],
            "run": run,
            "citation": citation,
        },
    )
    return created


def registrations_known(*, review: Review) -> dict[str, Registration]:
    """The review's registrations by NCT id, locked for the run: one query instead of one per study."""
    return {r.nct_id: r for r in Registration.objects.select_for_update().filter(review=review)}


def _find_existing(known: dict[str, Registration], parsed: ParsedRegistration, tally: UpsertTally):
    """The review's row for this id; or the row stored under an id the registry has since merged into it."""
    existing = known.get(parsed.nct_id)
    if existing is not None or not parsed.aliases:
        return existing
    merged = next((known[alias] for alias in parsed.aliases if alias in known), None)
    if merged is not None:
        tally.notes.append(f"{merged.nct_id} was merged into {parsed.nct_id} (an alias); the row now uses the new id")
        known.pop(merged.nct_id)
        merged.nct_id = parsed.nct_id
        known[parsed.nct_id] = merged
    return merged


def _changes(
    registration: Registration, parsed: ParsedRegistration, run: RegistrySearchRun | None, tally: UpsertTally
) -> None:
    """Record a status change and raise the tasks a completed status or newly posted results call for."""
    nct = parsed.nct_id
    if registration.overall_status != parsed.overall_status:
        RegistrationStatusChange.objects.create(
            registration=registration,
            run=run,
            from_status=registration.overall_status,
            to_status=parsed.overall_status,
            last_update_posted=parsed.last_update_posted,
        )
        tally.status_changes += 1
        if parsed.overall_status == "COMPLETED":
            message = f"{nct} is now completed — check for results and data"
            tally.tasks += registry_task_raise(
                registration=registration, kind=RegistryTaskKind.COMPLETED, key="completed", message=message, run=run
            )
    if parsed.has_results and not registration.has_results:
        message = f"Results posted for {nct} — check for data"
        tally.tasks += registry_task_raise(
            registration=registration, kind=RegistryTaskKind.RESULTS_POSTED, key="results", message=message, run=run
        )


def registration_upsert(
    *,
    review: Review,
    parsed: ParsedRegistration,
    run: RegistrySearchRun | None,
    tally: UpsertTally,
    known: dict[str, Registration],
) -> Registration:
    """One row per review and NCT id: created once, updated only when the registry changed something.

    ``known`` is :func:`registrations_known` of the review, kept up to date here; the unique constraint on
    (review, NCT id) is the database's to enforce, so validation skips its query.
    """
    values = _values(parsed)
    registration = _find_existing(known, parsed, tally)
    if parsed.overall_status == "WITHDRAWN":
        tally.notes.append(f"{parsed.nct_id} is withdrawn (no participants enrolled); kept, never public as ongoing")
    if registration is None:
        registration = Registration(review=review, nct_id=parsed.nct_id, first_run=run, **values)
        registration.full_clean(validate_unique=False, validate_constraints=False)
        registration._change_reason = f"registry search run {run.pk if run else '-'}: new"
        registration.save()
        known[parsed.nct_id] = registration
        tally.new += 1
        if parsed.has_results:
            message = f"Results posted for {parsed.nct_id} — check for data"
            tally.tasks += registry_task_raise(
                registration=registration, kind=RegistryTaskKind.RESULTS_POSTED, key="results", message=message, run=run
            )
        return registration
    changed = [name for name, value in values.items() if getattr(registration, name) != value]
    if not changed:
        return registration
    _changes(registration, parsed, run, tally)
    for name in changed:
        setattr(registration, name, values[name])
    registration.full_clean(validate_unique=False, validate_constraints=False)
    registration._change_reason = f"registry run {run.pk if run else '-'}: {', '.join(changed)}"[:100]
    registration.save()
    tally.updated += 1
    return registration


@transaction.atomic
def registrations_link(*, review: Review, run: RegistrySearchRun | None, tally: UpsertTally) -> None:
    """Link each registration to the review's reports and studies citing its NCT id (or a merged alias); a
    newly linked report raises a task ("a publication cites NCT… — check for data")."""
    registrations = {}
    for registration in Registration.objects.filter(review=review).prefetch_related("citations", "studies"):
        for nct_id in [registration.nct_id, *registration.aliases]:
            registrations[nct_id] = registration
    if not registrations:
        return
    citations = Citation.objects.filter(review_citations__review=review).exclude(registry_ids=[]).order_by("pk")
    for citation in citations:
        for nct_id in sorted(registry_ids_in(citation.registry_ids)):
            registration = registrations.get(nct_id)
            if registration is None or citation in registration.citations.all():
                continue
            registration.citations.add(citation)
            who = f"PMID {citation.pmid}" if citation.pmid else f"citation {citation.pk}"
            tally.tasks += registry_task_raise(
                registration=registration,
                kind=RegistryTaskKind.PUBLICATION_LINKED,
                key=f"citation:{citation.pk}",
                message=f"{who} cites {registration.nct_id} — check for data",
                run=run,
                citation=citation,
            )
    for study in Study.objects.filter(review=review).exclude(trial_registration="").order_by("pk"):
        for nct_id in registry_ids_in(study.trial_registration):
            registration = registrations.get(nct_id)
            if registration is not None and study not in registration.studies.all():
                registration.studies.add(study)
