"""Celery tasks: thin interfaces that load by id and call one service."""

from __future__ import annotations

import logging

from celery import shared_task

from evidence.pubmed import EutilsTransientError  # no Django, no models: safe at import

logger = logging.getLogger(__name__)


def task_publish(task, *, args: list | None = None, kwargs: dict | None = None, countdown: int = 0) -> bool:
    """Hand a task to the broker once, fast; False (logged) if the broker cannot take it now.

    No publish retries (a request must not hang while Redis is down); the work it stands for is a row in
    the database (a queued run) that the sweeper publishes again, so nothing is lost.
    """
    from kombu.exceptions import OperationalError

    try:
        task.apply_async(args=args or [], kwargs=kwargs or {}, countdown=countdown, retry=False)
    except (OperationalError, OSError) as exc:
        logger.warning("broker unavailable, %s not sent now (the sweeper sends it later): %s", task.name, exc)
        return False
    return True


@shared_task(name="evidence.ping")
def ping(token: str) -> dict:
    """Round trip through the broker: proves a worker is consuming and results come back."""
    from django.db import connection

    return {"token": token, "database": connection.vendor}


# --- Screening (reviewer workflow) ---------------------------------------------------------------------
@shared_task(name="evidence.screening_ranking_refresh")
def screening_ranking_refresh(review_id: int) -> dict | None:
    """Re-rank a review's screening queue from its decisions so far; enqueued every RANKING_BATCH decisions."""
    from evidence.models import Review
    from evidence.services.screening import screening_ranking_refresh as refresh

    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        logger.warning("screening_ranking_refresh: review %s no longer exists", review_id)
        return None
    result = refresh(review=review)
    return {"review_id": review_id, "method": result.method, "n": len(result.scores)}


# --- end screening ---------------------------------------------------------------------------------------


class RecomputeBusy(Exception):
    """Another recompute of the same review is running; try again shortly."""


@shared_task(
    name="evidence.review_recompute",
    bind=True,
    autoretry_for=(RecomputeBusy,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=60,
    ignore_result=True,
)
def review_recompute(self, run_id: int) -> str:
    """Run a queued recompute. Idempotent: a finished run returns its recorded status without work; a run
    queued behind another, or running on a live worker, raises RecomputeBusy and is retried."""
    from evidence.models import RecomputeRun
    from evidence.services.recompute import recompute_run_execute

    if not RecomputeRun.objects.filter(id=run_id).exists():
        logger.warning("recompute run %s not found; nothing to do", run_id)
        return "missing"
    status = recompute_run_execute(run_id=run_id)
    if status == "busy":
        raise RecomputeBusy(f"review of run {run_id} has a recompute running")
    return status


# --- PubMed search runs ------------------------------------------------------------------------------------
@shared_task(
    name="evidence.search_run_for_review",
    bind=True,
    autoretry_for=(EutilsTransientError,),
    retry_backoff=60,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=4,
    ignore_result=True,
)
def search_run_for_review(self, review_id: int, triggered_by: str = "celery", trigger: str = "schedule") -> dict | None:
    """Run the review's PubMed search. Each attempt is its own SearchRun row; only a transient E-utilities
    error (429, 5xx, timeout) is retried: a permanent or XML error leaves the run failed with its reason."""
    from evidence.models import Review
    from evidence.services.search import SearchRunAlreadyRunning, search_run_execute

    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        logger.warning("search_run_for_review: review %s no longer exists", review_id)
        return None
    attempt = f" (retry {self.request.retries})" if self.request.retries else ""
    try:
        run = search_run_execute(review=review, triggered_by=f"{triggered_by}{attempt}", trigger=trigger)
    except SearchRunAlreadyRunning as exc:
        logger.info("search_run_for_review: %s", exc)
        return {"review_id": review_id, "status": "already running"}
    return {"review_id": review_id, "run_id": run.pk, "status": run.status, "records_new": run.records_new}


@shared_task(name="evidence.search_schedule_dispatch", ignore_result=True)
def search_schedule_dispatch() -> list[int]:
    """Every few minutes (beat entry "Dispatch due review searches"): search each living review whose own
    schedule's slot has come. Idempotent: a slot is claimed by a conditional UPDATE before anything is sent."""
    from evidence.services.search.schedule import search_schedule_dispatch_due

    return search_schedule_dispatch_due()


# --- end PubMed search runs --------------------------------------------------------------------------------


# --- Sweeper -------------------------------------------------------------------------------------------------
@shared_task(name="evidence.runs_sweep", ignore_result=True)
def runs_sweep() -> dict:
    """Every minute (beat entry "Sweep lost runs"): re-run what a dead worker or a broker outage left behind."""
    from evidence.services.sweep import runs_sweep as sweep

    return sweep().as_dict()


# --- Exports -----------------------------------------------------------------------------------------------
@shared_task(name="evidence.version_fhir_pages_write", acks_late=True)
def version_fhir_pages_write(version_id: int) -> bool:
    """Write a version's FHIR pages (a large version's are never written at a request); idempotent: current
    pages, or another process writing them, leave it with nothing to do."""
    from evidence.models import ReviewVersion
    from evidence.services import exports

    version = ReviewVersion.objects.filter(pk=version_id).select_related("review").first()
    if version is None:
        logger.warning("version %s is gone; its FHIR pages are not written", version_id)
        return False
    if exports.fhir_pages_current(version=version):
        return False
    return exports.fhir_pages_write_claimed(version=version)
