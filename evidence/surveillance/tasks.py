"""Celery tasks of PubMed surveillance: thin interfaces that load by id and call one service."""

from __future__ import annotations

import logging

from celery import shared_task

from evidence.surveillance.pubmed import EutilsTransientError  # no Django, no models: safe at import

logger = logging.getLogger(__name__)


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
    from evidence.surveillance.search import SearchRunAlreadyRunning, search_run_execute

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
    from evidence.surveillance.search.schedule import search_schedule_dispatch_due

    return search_schedule_dispatch_due()
