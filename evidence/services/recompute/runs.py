"""Recompute requests and runs: debounced, one at a time per review, every attempt a row in the ledger."""

from __future__ import annotations

import datetime
import logging
import traceback

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from evidence.models import RecomputeRun, RecomputeStatus, Review

logger = logging.getLogger(__name__)


# A queued run whose task message never ran (a broker restart) is enqueued again by the next request;
# a run "running" this long lost its worker and is failed so the review is not blocked for ever.
STALE_QUEUED = datetime.timedelta(minutes=5)
STALE_RUNNING = datetime.timedelta(minutes=30)


def _debounce_seconds() -> int:
    return getattr(settings, "RECOMPUTE_DEBOUNCE_SECONDS", 10)


@transaction.atomic
def review_recompute_request(*, review: Review, trigger: str) -> RecomputeRun:
    """Ask for a recompute. Requests made while one is queued fold into it (debounce)."""
    queued = RecomputeRun.objects.select_for_update().filter(review=review, status=RecomputeStatus.QUEUED).first()
    if queued:
        queued.triggers = [*queued.triggers, trigger]
        queued.save(update_fields=["triggers"])
        if timezone.now() - queued.requested_at > STALE_QUEUED:
            transaction.on_commit(lambda: _enqueue(queued.id))  # claiming is conditional: a duplicate is harmless
        return queued
    try:
        with transaction.atomic():
            run = RecomputeRun.objects.create(review=review, triggers=[trigger])
    except IntegrityError:  # a concurrent request created the queued run first: join it
        return review_recompute_request(review=review, trigger=trigger)
    transaction.on_commit(lambda: _enqueue(run.id))
    return run


def _enqueue(run_id: int) -> None:
    from evidence.tasks import review_recompute

    review_recompute.apply_async(args=[run_id], countdown=_debounce_seconds())


def recompute_run_claim(*, run_id: int) -> RecomputeRun | None:
    """queued → running, only if no other run of the review is running. None: nothing to do or busy."""
    _stale_runs_fail(run_id)
    busy = RecomputeRun.objects.filter(review=OuterRef("review"), status=RecomputeStatus.RUNNING)
    try:
        with transaction.atomic():
            claimed = (
                RecomputeRun.objects.filter(id=run_id, status=RecomputeStatus.QUEUED)
                .exclude(Exists(busy))
                .update(status=RecomputeStatus.RUNNING, started_at=timezone.now())
            )
    except IntegrityError:  # the partial unique index caught a concurrent claim
        claimed = 0
    return RecomputeRun.objects.select_related("review").get(id=run_id) if claimed else None


def _stale_runs_fail(run_id: int) -> None:
    review_id = RecomputeRun.objects.filter(id=run_id).values_list("review_id", flat=True).first()
    RecomputeRun.objects.filter(
        review_id=review_id, status=RecomputeStatus.RUNNING, started_at__lt=timezone.now() - STALE_RUNNING
    ).update(status=RecomputeStatus.FAILED, finished_at=timezone.now(), error="worker lost: running for over 30 min")


def recompute_run_is_waiting(*, run_id: int) -> bool:
    return RecomputeRun.objects.filter(id=run_id, status=RecomputeStatus.QUEUED).exists()


def recompute_run_finish(*, run: RecomputeRun, status: str, version=None, inputs_hash: str = "") -> None:
    run.status, run.version, run.inputs_hash, run.finished_at = status, version, inputs_hash, timezone.now()
    run.save(update_fields=["status", "version", "inputs_hash", "finished_at"])


def recompute_run_fail(*, run: RecomputeRun, error: BaseException) -> None:
    """Record the failure; the previously published version stays the public one."""
    logger.exception("recompute run %s failed", run.id, exc_info=error)
    run.status, run.finished_at = RecomputeStatus.FAILED, timezone.now()
    run.error = "".join(traceback.format_exception(error))[-5000:]
    run.save(update_fields=["status", "finished_at", "error"])
