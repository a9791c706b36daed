"""What an approval asks of synthesis once it has committed: the review's results recomputed."""

from __future__ import annotations

from evidence.models import Review
from evidence.synthesis.recompute import review_recompute_request


def on_study_approved(review_id: int) -> None:
    """Runs once the approval has committed: ask for the review's results to be recomputed.

    The request is debounced (approvals in a short window fold into one recompute) and enqueues
    ``evidence.synthesis.tasks.review_recompute`` when its own transaction commits.
    """
    review_recompute_request(review=Review.objects.get(pk=review_id), trigger="study approved")
