"""Recompute requests and runs: debounced, one at a time per review, every attempt a row in the ledger.

Nothing is lost when a worker or the broker fails:

- A request commits its queued run before anything is published; if the broker is down the publish fails
  fast, is logged, and the run stays queued with ``enqueued_at`` empty for the sweeper to send later.
- A worker claims a run with a conditional UPDATE (queued → running) and keeps its heartbeat fresh
  (:mod:`evidence.core.heartbeat`). A run whose heartbeat stopped lost its worker: the next delivery of
  its task, or the sweeper, takes it over, up to :data:`MAX_ATTEMPTS` times, then fails it with the reason.
- A delivered task answers with the run's final status only once the run has one: while the run is queued
  behind another or running elsewhere it answers "busy" and is retried.
"""

from __future__ import annotations

import datetime
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from evidence.core.dispatch import task_publish
from evidence.core.heartbeat import stale_after, stale_filter
from evidence.models import RecomputeRun, RecomputeStatus, Review, RunTrigger

logger = logging.getLogger(__name__)

# A queued run whose message was never consumed (broker restarted or down) is enqueued again after this.
STALE_QUEUED = datetime.timedelta(minutes=2)
MAX_ATTEMPTS = 3  # a run that kills its worker every time (out of memory) is failed, not retried for ever
FINISHED = (RecomputeStatus.PUBLISHED, RecomputeStatus.UNCHANGED, RecomputeStatus.FAILED)


def _debounce_seconds() -> int:
    return getattr(settings, "RECOMPUTE_DEBOUNCE_SECONDS", 10)


@transaction.atomic
def review_recompute_request(
    *,
    review: Review,
    trigger: str,
    kind: str = RunTrigger.CHANGE,
    countdown: int | None = None,
    enqueue: bool = True,
) -> RecomputeRun:
    """Ask for a recompute. Requests made while one is queued fold into it (debounce).

    ``kind`` is the entry point (a data change, an editor's button, a command); a request folded into a
    queued run is listed in its ``triggers``. ``enqueue=False``: the caller runs it now (``manage.py
    recompute``); if the caller dies first, the sweeper sends the queued run to a worker.
    """
    queued = RecomputeRun.objects.select_for_update().filter(review=review, status=RecomputeStatus.QUEUED).first()
    if queued:
        queued.triggers = [*queued.triggers, trigger]
        queued.save(update_fields=["triggers"])
        stale = timezone.now() - (queued.enqueued_at or queued.requested_at) > STALE_QUEUED
        if enqueue and (stale or countdown == 0):  # a duplicate message is harmless
            transaction.on_commit(lambda: recompute_run_enqueue(run_id=queued.id, countdown=countdown))
        return queued
    try:
        with transaction.atomic():
            run = RecomputeRun.objects.create(review=review, triggers=[trigger], trigger=kind)
    except IntegrityError:  # a concurrent request created the queued run first: join it
        return review_recompute_request(review=review, trigger=trigger, kind=kind, countdown=countdown, enqueue=enqueue)
    if enqueue:
        transaction.on_commit(lambda: recompute_run_enqueue(run_id=run.id, countdown=countdown))
    return run


def recompute_run_enqueue(*, run_id: int, countdown: int | None = None) -> bool:
    """Publish the run's task; False (logged, never raised) when the broker cannot take it now.

    Called after the request's transaction committed, so an approval never fails because of the broker:
    the run stays queued with ``enqueued_at`` empty and the sweeper publishes it when the broker is back.
    """
    delay = _debounce_seconds() if countdown is None else countdown
    if not task_publish("evidence.review_recompute", args=[run_id], countdown=delay):
        return False
    RecomputeRun.objects.filter(id=run_id, status=RecomputeStatus.QUEUED).update(enqueued_at=timezone.now())
    return True


def recompute_run_claim(*, run_id: int) -> RecomputeRun | None:
    """queued → running, only if no other run of the review is running. None: nothing to do or busy."""
    recompute_runs_recover(review_id=_review_id(run_id))
    busy = RecomputeRun.objects.filter(review=OuterRef("review"), status=RecomputeStatus.RUNNING)
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = (
                RecomputeRun.objects.filter(id=run_id, status=RecomputeStatus.QUEUED)
                .exclude(Exists(busy))
                .update(status=RecomputeStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1)
            )
    except IntegrityError:  # the partial unique index caught a concurrent claim
        claimed = 0
    return RecomputeRun.objects.select_related("review").get(id=run_id) if claimed else None


def _review_id(run_id: int) -> int | None:
    return RecomputeRun.objects.filter(id=run_id).values_list("review_id", flat=True).first()


def recompute_runs_recover(*, review_id: int | None = None) -> list[int]:
    """Runs whose worker died (heartbeat stopped): queued again to be re-run, or failed with the reason
    after :data:`MAX_ATTEMPTS`. The ids of the runs queued again (their task must be published)."""
    stale = RecomputeRun.objects.filter(stale_filter())
    if review_id is not None:
        stale = stale.filter(review_id=review_id)
    requeued = []
    for run in stale.only("id", "review_id", "attempts"):
        if _requeue_or_fail(run):
            requeued.append(run.id)
    return requeued


def _requeue_or_fail(run: RecomputeRun) -> bool:
    lost = f"worker lost: no heartbeat for {int(stale_after().total_seconds())} s (attempt {run.attempts})"
    silent = RecomputeRun.objects.filter(Q(pk=run.pk) & stale_filter())
    if run.attempts < MAX_ATTEMPTS:
        try:
            with transaction.atomic():
                if silent.update(status=RecomputeStatus.QUEUED, enqueued_at=None, error=lost):
                    logger.warning("recompute run %s: %s; queued again", run.pk, lost)
                    return True
                return False
        except IntegrityError:  # another run of the review is queued: it recomputes the same inputs
            lost += "; superseded by the review's queued run"
    failed = silent.update(status=RecomputeStatus.FAILED, finished_at=timezone.now(), error=lost)
    if failed:
        logger.error("recompute run %s failed: %s", run.pk, lost)
    return False


def recompute_run_is_waiting(*, run_id: int) -> bool:
    return RecomputeRun.objects.filter(id=run_id, status=RecomputeStatus.QUEUED).exists()


def recompute_run_unclaimed_status(*, run_id: int) -> str:
    """What a delivered task answers when it could not claim its run: the run's final status when it has one,
    else "busy" (queued behind another run, or running on a live worker) so the task is retried."""
    status = RecomputeRun.objects.filter(id=run_id).values_list("status", flat=True).first()
    return status if status in FINISHED else "busy"


def recompute_run_finish(*, run: RecomputeRun, status: str, version=None, inputs_hash: str = "") -> None:
    run.status, run.version, run.inputs_hash, run.finished_at = status, version, inputs_hash, timezone.now()
    run.error = ""  # a reason left by a lost attempt no longer applies
    run.save(update_fields=["status", "version", "inputs_hash", "finished_at", "error"])


def recompute_run_fail(*, run: RecomputeRun, error: BaseException) -> None:
    """Record the failure; the previously published version stays the public one."""
    logger.error("recompute run %s failed: %s", run.id, error, exc_info=error)
    run.status, run.finished_at = RecomputeStatus.FAILED, timezone.now()
    run.error = "".join(traceback.format_exception(error))[-5000:]
    run.save(update_fields=["status", "finished_at", "error"])


# First key of the PostgreSQL advisory lock that serialises a review's recomputes (second key: the review id).
_RECOMPUTE_LOCK_SPACE = 15_001


@contextmanager
def review_recompute_lock(*, review_id: int) -> Iterator[None]:
    """One recompute of a review at a time, whoever starts it (a worker, ``manage.py recompute``): the
    second waits, then sees the first's version and its unchanged inputs, so one change makes one version.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the transaction itself, which takes the
    database's write lock at BEGIN (``transaction_mode = IMMEDIATE`` in the database settings).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_RECOMPUTE_LOCK_SPACE, review_id])
        yield
