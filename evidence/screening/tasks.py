"""Celery tasks of screening: thin interfaces that load by id and call one service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="evidence.screening_ranking_refresh")
def screening_ranking_refresh(review_id: int) -> dict | None:
    """Re-rank a review's screening queue from its decisions so far; enqueued every RANKING_BATCH decisions."""
    from evidence.models import Review
    from evidence.screening.services import screening_ranking_refresh as refresh

    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        logger.warning("screening_ranking_refresh: review %s no longer exists", review_id)
        return None
    result = refresh(review=review)
    return {"review_id": review_id, "method": result.method, "n": len(result.scores)}
