"""An editor runs their review: creates it (becoming its admin), pauses or resumes it, recomputes it now.

Each function asks the policy first (never a superuser flag alone) and writes in one transaction.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from evidence.core import policy
from evidence.core.roles import review_membership_create, review_role_require
from evidence.models import LivingStatus, RecomputeRun, Review, ReviewMembership, ReviewRole, RunTrigger
from evidence.surveillance.search.schedule import review_schedule_ensure, review_schedule_restart
from evidence.synthesis.recompute.runs import review_recompute_request


@transaction.atomic
def review_create(*, review: Review, user: AbstractBaseUser) -> Review:
    """Save a new review; its creator becomes its admin (a membership row, kept in its history with the
    reason) and it gets the default search schedule, which its editors then set."""
    if not policy.may_create_review(user=user):
        raise PermissionDenied("Creating a review needs the editor role in a review you already work on.")
    review.full_clean()
    review.save()
    membership = review_membership_create(review=review, user=user, role=ReviewRole.ADMIN)
    _history_reason(membership, f"{user.get_username()} created the review")
    review_schedule_ensure(review=review)
    policy.forget_roles(user=user)  # the request's remembered roles now miss the new review
    return review


def _history_reason(membership: ReviewMembership, reason: str) -> None:
    record = membership.history.order_by("-history_id").first()
    if record is not None:
        membership.history.filter(pk=record.pk).update(history_change_reason=reason)


@transaction.atomic
def review_living_status_set(*, review: Review, status: str, user: AbstractBaseUser) -> Review:
    """Pause, resume or retire a review. Paused or retired, the schedule searches nothing; resumed, it starts
    again at its next slot from now."""
    review_role_require(user=user, review=review, roles=policy.OPERATE, action="pause or resume it")
    if status not in LivingStatus.values:
        allowed = ", ".join(LivingStatus.labels)
        raise ValidationError({"living_status": f"Living status must be one of: {allowed}."})
    was = review.living_status
    review.living_status = status
    review.save(update_fields=["living_status", "updated_at"])
    if status == LivingStatus.LIVING and was != LivingStatus.LIVING:
        review_schedule_restart(review=review)
    return review


def review_recompute_now(*, review: Review, user: AbstractBaseUser) -> RecomputeRun:
    """An editor's "recompute now": a queued run in the ledger, sent to a worker once this commits."""
    review_role_require(user=user, review=review, roles=policy.OPERATE, action="recompute it now")
    return review_recompute_request(
        review=review, trigger=f"recompute now ({user.get_username()})", kind=RunTrigger.BUTTON, countdown=0
    )
