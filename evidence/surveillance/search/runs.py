"""The SearchRun ledger: the window a run covers, claiming a run, and recording how it ended."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from evidence.core.heartbeat import stale_after, stale_filter
from evidence.core.selectors import search_run_last_succeeded
from evidence.models import Review, RunTrigger, SearchRun, SearchRunStatus

logger = logging.getLogger(__name__)

# The next window starts this long before the end of the last successful one, so a record whose
# creation date PubMed back-fills late still falls in a window; upserts make the overlap harmless.
WINDOW_OVERLAP = dt.timedelta(days=3)


class SearchRunAlreadyRunning(Exception):
    """The review already has a search run in progress; this one was not started."""

    def __init__(self, review: Review, running: SearchRun | None) -> None:
        self.review, self.running = review, running
        detail = f" (run {running.pk}, started {running.started_at:%Y-%m-%d %H:%M} UTC)" if running else ""
        super().__init__(
            f"Review {review.slug!r} already has a PubMed search running{detail}; wait for it to finish. "
            f"A run left running by a dead worker is marked failed {_silence()} after its last heartbeat."
        )


def _silence() -> str:
    return f"{int(stale_after().total_seconds())} s"


def search_window(*, review: Review, today: dt.date, since: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The creation-date window ``[start, today]`` of the review's next run.

    From ``since`` when given; else from a few days before the end of the last *successful* window
    (a failed run's window is searched again); else from the review's ``search_start_date``.
    """
    if since is None:
        last = search_run_last_succeeded(review=review)
        since = review.search_start_date if last is None else last.window_end - WINDOW_OVERLAP
    if since > today:
        raise ValueError(f"the search window would start on {since}, after its end {today}")
    return since, today


def search_runs_abandon_stale(*, review: Review | None = None) -> int:
    """Mark failed the runs (of ``review``, or of every review) whose heartbeat stopped ``stale_after()``
    ago. Their window is searched again by the next run: a failed run's window does not count as done."""
    runs = SearchRun.objects.filter(stale_filter())
    if review is not None:
        runs = runs.filter(review=review)
    return runs.update(
        status=SearchRunStatus.FAILED,
        finished_at=timezone.now(),
        error=f"Abandoned: no heartbeat for {_silence()} (its worker stopped).",
    )


def search_run_claim(
    *, review: Review, triggered_by: str, window: tuple[dt.date, dt.date], trigger: str = RunTrigger.SCHEDULE
) -> SearchRun:
    """Create the review's running run; the one-running-per-review index refuses a second.

    Raises
    ------
    SearchRunAlreadyRunning
        Another run of the review holds the claim.
    """
    search_runs_abandon_stale(review=review)
    run = SearchRun(
        review=review,
        query=review.pubmed_query,
        window_start=window[0],
        window_end=window[1],
        triggered_by=triggered_by[:100],
        trigger=trigger,
    )
    run.full_clean(validate_constraints=False)  # the running index is the database's to enforce
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError as exc:
        running = SearchRun.objects.filter(review=review, status=SearchRunStatus.RUNNING).first()
        if running is None:
            raise
        raise SearchRunAlreadyRunning(review, running) from exc
    return run


def search_run_progress(*, run: SearchRun, **counts: int) -> None:
    """Store counters of a running run (records found, requests made) as it goes; also a heartbeat."""
    SearchRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now(), **counts)


def search_run_succeed(*, run: SearchRun, requests_made: int) -> SearchRun:
    """Mark the window done: called only once every record of it is committed."""
    SearchRun.objects.filter(pk=run.pk, status=SearchRunStatus.RUNNING).update(
        status=SearchRunStatus.SUCCEEDED, finished_at=timezone.now(), requests_made=requests_made
    )
    run.refresh_from_db()
    return run


def search_run_fail(*, run: SearchRun, error: str, requests_made: int) -> None:
    """Record the failure in its own transaction; the batches committed before it stay."""
    with transaction.atomic():
        SearchRun.objects.filter(pk=run.pk, status=SearchRunStatus.RUNNING).update(
            status=SearchRunStatus.FAILED, finished_at=timezone.now(), error=error, requests_made=requests_made
        )
    run.refresh_from_db()
