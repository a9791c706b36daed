"""Each living review's own search schedule, and the dispatcher that searches the reviews whose slot has come.

One beat entry ("Dispatch due review searches", every few minutes) calls :func:`search_schedule_dispatch_due`.
A review is due when it is living (not paused, not retired) and its ``next_search_at`` has passed. The
dispatcher moves ``next_search_at`` to the next slot with a conditional UPDATE (``WHERE next_search_at =
<the value it read>``) and enqueues the searches only if its UPDATE changed the row, so a slot runs once even
when two beats or two workers dispatch at the same moment. A slot missed while beat was down runs once, not
once per missed slot.

The ClinicalTrials.gov search follows the same schedule: a due review gets its PubMed search and its registry
search (when it has a registry query) from the same slot.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from evidence.core.dispatch import task_publish
from evidence.core.policy import OPERATE
from evidence.core.roles import review_role_require
from evidence.models import LivingStatus, Review, ReviewSchedule, RunTrigger

logger = logging.getLogger(__name__)


def review_schedule_ensure(*, review: Review, now: dt.datetime | None = None) -> ReviewSchedule:
    """The review's schedule, created with the defaults (daily at 02:30 UTC) when it has none."""
    schedule = ReviewSchedule.objects.filter(review=review).first()
    if schedule is not None:
        return schedule
    schedule = ReviewSchedule(review=review)
    schedule.next_search_at = schedule.next_slot(now or timezone.now())
    schedule.full_clean()
    schedule.save()
    return schedule


@transaction.atomic
def review_schedule_save(
    *, schedule: ReviewSchedule, user: AbstractBaseUser | None = None, now: dt.datetime | None = None
) -> ReviewSchedule:
    """Save an edited schedule; its next slot is computed from now, so a change takes effect at once."""
    if user is not None:
        review_role_require(user=user, review=schedule.review, roles=OPERATE, action="set its search schedule")
    schedule.full_clean()
    schedule.next_search_at = schedule.next_slot(now or timezone.now())
    schedule.save()
    return schedule


def review_schedule_restart(*, review: Review, now: dt.datetime | None = None) -> None:
    """A resumed review starts at its next slot from now, not at a slot that passed while it was paused."""
    schedule = review_schedule_ensure(review=review, now=now)
    schedule.next_search_at = schedule.next_slot(now or timezone.now())
    schedule.save(update_fields=["next_search_at"])


def _schedules_fill(now: dt.datetime) -> None:
    """A living review created without a schedule (the seed, a script) gets the default one, first due at
    its next slot: every living review is searched on a schedule of its own."""
    for review in Review.objects.filter(living_status=LivingStatus.LIVING, schedule__isnull=True):
        try:
            with transaction.atomic():
                review_schedule_ensure(review=review, now=now)
        except IntegrityError:  # another dispatcher created it at the same moment
            continue


def _due(now: dt.datetime):
    return ReviewSchedule.objects.filter(
        review__living_status=LivingStatus.LIVING, next_search_at__lte=now
    ).select_related("review")


def _claim_slot(schedule: ReviewSchedule, now: dt.datetime) -> bool:
    """Move the schedule to its next slot; True only for the one dispatcher whose UPDATE changed the row."""
    moved = ReviewSchedule.objects.filter(pk=schedule.pk, next_search_at=schedule.next_search_at).update(
        next_search_at=schedule.next_slot(now), last_dispatched_at=now
    )
    return moved == 1


@transaction.atomic
def search_schedule_dispatch_due(*, now: dt.datetime | None = None) -> list[int]:
    """Enqueue the searches of every living review whose slot has come; the ids of the reviews enqueued."""
    now = now or timezone.now()
    _schedules_fill(now)
    dispatched = []
    for schedule in _due(now).order_by("next_search_at", "pk"):
        if not _claim_slot(schedule, now):
            continue  # another dispatcher took this slot
        slot = f"schedule ({schedule.describe()})"
        review_searches_enqueue(review_id=schedule.review_id, trigger=RunTrigger.SCHEDULE, triggered_by=slot)
        dispatched.append(schedule.review_id)
    if dispatched:
        logger.info("search schedule: dispatched reviews %s", dispatched)
    return dispatched


def review_searches_enqueue(*, review_id: int, trigger: str, triggered_by: str) -> None:
    """After commit: the review's PubMed search and its ClinicalTrials.gov search."""
    kwargs = {"triggered_by": triggered_by, "trigger": trigger}
    transaction.on_commit(partial(task_publish, "evidence.search_run_for_review", args=[review_id], kwargs=kwargs))
    registry = {"triggered_by": triggered_by}
    transaction.on_commit(partial(task_publish, "evidence.registry_run_for_review", args=[review_id], kwargs=registry))


@transaction.atomic
def review_search_now(*, review: Review, user: AbstractBaseUser) -> None:
    """An editor's "search now": the review's searches are enqueued at once; the schedule is not moved."""
    review_role_require(user=user, review=review, roles=OPERATE, action="search it now")
    triggered_by = f"search now ({user.get_username()})"
    review_searches_enqueue(review_id=review.pk, trigger=RunTrigger.BUTTON, triggered_by=triggered_by)
