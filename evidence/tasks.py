"""Celery tasks: thin interfaces that load by id and call one service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


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
)
def review_recompute(self, run_id: int) -> str:
    """Run a queued recompute. Idempotent: a finished run returns 'done' without work."""
    from evidence.models import RecomputeRun
    from evidence.services.recompute import recompute_run_execute

    if not RecomputeRun.objects.filter(id=run_id).exists():
        logger.warning("recompute run %s not found; nothing to do", run_id)
        return "missing"
    status = recompute_run_execute(run_id=run_id)
    if status == "busy":
        raise RecomputeBusy(f"review of run {run_id} has a recompute running")
    return status
