"""Celery tasks of synthesis: run a queued recompute (thin: the service does the work)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


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
    from evidence.synthesis.recompute import recompute_run_execute

    if not RecomputeRun.objects.filter(id=run_id).exists():
        logger.warning("recompute run %s not found; nothing to do", run_id)
        return "missing"
    status = recompute_run_execute(run_id=run_id)
    if status == "busy":
        raise RecomputeBusy(f"review of run {run_id} has a recompute running")
    return status
