"""Celery tasks of trial-registry surveillance: thin interfaces that load by id and call one service.

Registered by ``evidence.config.celery`` (``autodiscover_tasks(..., related_name="tasks_registry")``).
"""

from __future__ import annotations

import logging

from celery import shared_task

from evidence.surveillance.ctgov import CtgovTransientError  # no Django, no models: safe at import

logger = logging.getLogger(__name__)


@shared_task(
    name="evidence.registry_run_for_review",
    bind=True,
    autoretry_for=(CtgovTransientError,),
    retry_backoff=60,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=4,
)
def registry_run_for_review(self, review_id: int, triggered_by: str = "celery") -> dict | None:
    """Run the review's ClinicalTrials.gov search. Each attempt is its own RegistrySearchRun; only a transient
    error (429, 5xx, timeout) is retried: a permanent one leaves the run failed with its reason."""
    from evidence.models import Review
    from evidence.surveillance.registry import RegistryRunAlreadyRunning, registry_run_execute

    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        logger.warning("registry_run_for_review: review %s no longer exists", review_id)
        return None
    attempt = f" (retry {self.request.retries})" if self.request.retries else ""
    try:
        run = registry_run_execute(review=review, triggered_by=f"{triggered_by}{attempt}")
    except RegistryRunAlreadyRunning as exc:
        logger.info("registry_run_for_review: %s", exc)
        return {"review_id": review_id, "status": "already running"}
    if run is None:
        return {"review_id": review_id, "status": "no registry query"}
    return {"review_id": review_id, "run_id": run.pk, "status": run.status, "records_new": run.records_new}
