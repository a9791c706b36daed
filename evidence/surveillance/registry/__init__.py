"""The nightly ClinicalTrials.gov search of a living review: one RegistrySearchRun per run.

A run claims the review, pages through every study of the review's registry query last updated in the
window, parses them all, then upserts them, links them to the reports and studies citing their NCT id and
raises the reviewer tasks in ONE transaction: a page that is not JSON, a looping page token or a study
missing a module fails the run with the reason and stores nothing of it; the window is searched again
next time. Withdrawn and merged (alias) registrations are handled and noted on the run.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evidence.models import RegistrySearchRun, Review
from evidence.surveillance.ctgov import CtgovClient, CtgovConfig
from evidence.surveillance.ctgov_parse import parse_registration
from evidence.surveillance.registry.runs import (
    RegistryRunAlreadyRunning,
    registry_query,
    registry_run_claim,
    registry_run_finish,
    registry_window,
)
from evidence.surveillance.registry.upsert import (
    UpsertTally,
    registration_upsert,
    registrations_known,
    registrations_link,
)

__all__ = ["RegistryRunAlreadyRunning", "ctgov_client_from_settings", "registrations_store", "registry_run_execute"]

logger = logging.getLogger(__name__)


def ctgov_client_from_settings() -> CtgovClient:
    """A client configured from settings; the rate limit is shared through Redis when Celery uses it."""
    config = CtgovConfig(
        base_url=settings.CTGOV_BASE_URL,
        timeout=float(settings.CTGOV_TIMEOUT_SECONDS),
        redis_url=settings.CELERY_BROKER_URL if settings.USES_REDIS else None,
    )
    return CtgovClient(config)


def registry_run_execute(
    *,
    review: Review,
    triggered_by: str,
    client: CtgovClient | None = None,
    since: dt.date | None = None,
    today: dt.date | None = None,
) -> RegistrySearchRun | None:
    """Search ClinicalTrials.gov for the review's registrations updated in the window and store them.

    Returns None when the review has no registry query.

    Raises
    ------
    RegistryRunAlreadyRunning
        The review has a registry run in progress; nothing was done.
    CtgovError, DatabaseError
        After recording the run as failed with the error text (transient errors are the caller's to retry).
    """
    query = registry_query(review=review)
    if not query:
        logger.info("registry search: review %s has no registry query", review.slug)
        return None
    window = registry_window(review=review, today=today or timezone.localdate(), since=since)
    client = client or ctgov_client_from_settings()
    run = registry_run_claim(review=review, query=query, triggered_by=triggered_by, window=window)
    baseline = client.requests_made
    try:
        studies = list(client.iter_studies(**query, updated_from=window[0], updated_to=window[1]))
        # Parsed whole before anything is written: one malformed study stores nothing of the run.
        parsed = [parse_registration(study) for study in studies]
        tally = registrations_store(review=review, run=run, parsed=parsed)
    except BaseException as exc:  # an interrupted command is recorded too
        registry_run_finish(run=run, requests_made=client.requests_made - baseline, error=_error_text(exc))
        logger.exception("registry run %s of %s failed", run.pk, review.slug)
        raise
    registry_run_finish(
        run=run,
        requests_made=client.requests_made - baseline,
        records_found=len(parsed),
        records_new=tally.new,
        records_updated=tally.updated,
        status_changes=tally.status_changes,
        tasks_raised=tally.tasks,
    )
    logger.info("registry run %s: %d found, %d new, %d tasks", run.pk, len(parsed), tally.new, tally.tasks)
    return run


@transaction.atomic
def registrations_store(*, review: Review, run: RegistrySearchRun, parsed: list) -> UpsertTally:
    """Upsert the parsed registrations, link them and raise their tasks, all or nothing; the tally."""
    tally = UpsertTally()
    known = registrations_known(review=review)
    for registration in parsed:
        registration_upsert(review=review, parsed=registration, run=run, tally=tally, known=known)
    registrations_link(review=review, run=run, tally=tally)
    RegistrySearchRun.objects.filter(pk=run.pk).update(notes=tally.notes)
    return tally


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip() or type(exc).__name__
