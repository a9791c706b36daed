"""The sweeper: every minute, pick up what a dead worker or a broker outage left behind.

Each step is idempotent and safe to run from two beats at once: claims and take-overs are conditional
UPDATEs, and a task sent twice finds its run claimed or finished.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from evidence.core.dispatch import task_publish
from evidence.core.heartbeat import stale_filter
from evidence.models import RecomputeRun, RecomputeStatus, Review, RunTrigger, SearchRun
from evidence.models.extraction import ApprovalAction
from evidence.surveillance.search.runs import search_runs_abandon_stale
from evidence.synthesis.recompute.runs import (
    STALE_QUEUED,
    recompute_run_enqueue,
    recompute_runs_recover,
    review_recompute_request,
)

logger = logging.getLogger(__name__)

# An approval's own request runs right after it commits; one older than this with no recompute after it
# lost its request (the process died between the two commits).
APPROVAL_GRACE = dt.timedelta(minutes=1)
SWEEPER_TRIGGER = "sweeper"


@dataclass(frozen=True)
class SweepReport:
    recomputes_recovered: int
    recomputes_sent: int
    approvals_requested: int
    searches_restarted: int

    def as_dict(self) -> dict:
        return asdict(self)


def runs_sweep() -> SweepReport:
    """Recover runs whose worker died, request recomputes that approvals lost, send queued runs whose message
    was lost or never sent, and restart searches whose worker died."""
    recovered = recompute_runs_recover()
    approvals = _approvals_without_recompute()
    sent = sum(recompute_run_enqueue(run_id=run_id, countdown=0) for run_id in _queued_runs_unsent())
    searches = _stale_searches_restart()
    report = SweepReport(len(recovered), sent, approvals, searches)
    if any(asdict(report).values()):
        logger.warning("sweeper: %s", report)
    return report


def _queued_runs_unsent() -> list[int]:
    """Queued runs never handed to the broker, or handed long enough ago that the message must be lost,
    except behind a running run of the same review (their task is retrying until that one ends)."""
    running = RecomputeRun.objects.filter(review=OuterRef("review"), status=RecomputeStatus.RUNNING)
    lost = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=timezone.now() - STALE_QUEUED)
    queued = RecomputeRun.objects.filter(lost, status=RecomputeStatus.QUEUED).exclude(Exists(running))
    return list(queued.order_by("id").values_list("id", flat=True))


def _approvals_without_recompute() -> int:
    """Reviews with an approval newer than their last recompute request: request one now."""
    cutoff = timezone.now() - APPROVAL_GRACE
    last_request = RecomputeRun.objects.filter(review=OuterRef("pk")).order_by("-requested_at").values("requested_at")
    reviews = Review.objects.annotate(
        last_approval=Max(
            "studies__approvals__created_at", filter=Q(studies__approvals__action=ApprovalAction.APPROVE)
        ),
        last_request=last_request[:1],
    ).filter(last_approval__lt=cutoff)
    missed = [r for r in reviews if r.last_request is None or r.last_request < r.last_approval]
    for review in missed:
        review_recompute_request(review=review, trigger=f"{SWEEPER_TRIGGER}: approval without a recompute")
    return len(missed)


def _stale_searches_restart() -> int:
    """Fail the search runs whose heartbeat stopped and search their reviews again."""
    review_ids = sorted(set(SearchRun.objects.filter(stale_filter()).values_list("review_id", flat=True)))
    if not review_ids:
        return 0
    search_runs_abandon_stale()
    for review_id in review_ids:
        task_publish(
            "evidence.search_run_for_review",
            args=[review_id],
            kwargs={"triggered_by": f"{SWEEPER_TRIGGER} (worker lost)", "trigger": RunTrigger.SWEEPER},
        )
    return len(review_ids)
