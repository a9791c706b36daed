"""The scheduled PubMed search of a living review: one SearchRun per run, recorded in the ledger.

A run claims the review (one running run per review, enforced by the database), re-checks the
review's included reports for retractions and corrections, then searches the creation-date window,
fetches the records in batches and writes each batch in its own transaction. The window is marked
done only after its last batch commits, so a crash loses nothing: the next run searches the same
window again and the idempotent upserts add no duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from evidence.core.heartbeat import heartbeat
from evidence.models import Review, RunTrigger, SearchRun
from evidence.surveillance.pubmed import EutilsClient, EutilsConfig
from evidence.surveillance.search.batches import batch_ingest
from evidence.surveillance.search.flags import included_citations_recheck
from evidence.surveillance.search.ingest import DuplicateIndex
from evidence.surveillance.search.runs import (
    WINDOW_OVERLAP,
    SearchRunAlreadyRunning,
    search_run_claim,
    search_run_fail,
    search_run_progress,
    search_run_succeed,
    search_window,
)

__all__ = [
    "WINDOW_OVERLAP",
    "SearchRunAlreadyRunning",
    "eutils_client_from_settings",
    "search_run_execute",
    "search_window",
]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def eutils_client_from_settings() -> EutilsClient:
    """A client configured from settings; the rate limit is shared through Redis when Celery uses it."""
    config = EutilsConfig(
        base_url=settings.EUTILS_BASE_URL,
        tool=settings.NCBI_TOOL,
        email=settings.NCBI_EMAIL,
        api_key=settings.NCBI_API_KEY or None,
        timeout=float(settings.EUTILS_TIMEOUT_SECONDS),
        redis_url=settings.CELERY_BROKER_URL if settings.USES_REDIS else None,
    )
    return EutilsClient(config)


@dataclass
class _Context:
    run: SearchRun
    client: EutilsClient
    baseline: int  # client.requests_made before this run
    progress: Progress | None

    @property
    def requests_made(self) -> int:
        return self.client.requests_made - self.baseline


def search_run_execute(
    *,
    review: Review,
    triggered_by: str,
    trigger: str = RunTrigger.SCHEDULE,
    client: EutilsClient | None = None,
    since: dt.date | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> SearchRun:
    """Search PubMed for the review's new records and queue them for title/abstract screening.

    Raises
    ------
    SearchRunAlreadyRunning
        The review has a run in progress; nothing was done.
    EutilsError, PubmedXmlError, DatabaseError
        After recording the run as failed with the error text (transient errors are the caller's to retry).
        A single bad record does not fail the run: it is quarantined and counted in ``records_quarantined``.
    """
    window = search_window(review=review, today=today or timezone.localdate(), since=since)
    client = client or eutils_client_from_settings()
    run = search_run_claim(review=review, triggered_by=triggered_by, window=window, trigger=trigger)
    context = _Context(run=run, client=client, baseline=client.requests_made, progress=progress)
    logger.info("search run %s: %s %s..%s (%s)", run.pk, review.slug, *window, triggered_by)
    try:
        with heartbeat(SearchRun, run.pk):
            included_citations_recheck(run=run, client=client)
            _window_ingest(context)
    except BaseException as exc:  # an interrupted command is recorded too
        search_run_fail(run=run, error=_error_text(exc), requests_made=context.requests_made)
        # One line: the ledger keeps the reason; the traceback is for debugging only.
        logger.error("search run %s of %s failed: %s", run.pk, review.slug, run.error.splitlines()[-1:])
        logger.debug("search run %s traceback", run.pk, exc_info=True)
        raise
    run = search_run_succeed(run=run, requests_made=context.requests_made)
    logger.info(
        "search run %s: %d found, %d new, %d known, %d quarantined, %d possible duplicates, %d included flagged, "
        "%d requests",
        run.pk,
        run.records_found,
        run.records_new,
        run.records_known,
        run.records_quarantined,
        run.possible_duplicates,
        run.citations_flagged,
        run.requests_made,
    )
    return run


def _window_ingest(context: _Context) -> None:
    run, client = context.run, context.client
    pmids = list(client.iter_pmids(run.query, mindate=run.window_start, maxdate=run.window_end))
    search_run_progress(run=run, records_found=len(pmids), requests_made=context.requests_made)
    _report(context, 0, len(pmids))
    index = DuplicateIndex.for_review(run.review)
    size = client.config.efetch_batch_size
    for start in range(0, len(pmids), size):
        batch = pmids[start : start + size]
        # A record that cannot be read or stored is quarantined; the rest of the batch is written.
        batch_ingest(run=run, body=client.efetch(batch), requested=batch, index=index)
        search_run_progress(run=run, requests_made=context.requests_made)
        _report(context, start + len(batch), len(pmids))


def _report(context: _Context, done: int, total: int) -> None:
    if context.progress is not None:
        context.progress(done, total)


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip() or type(exc).__name__
