"""Recompute a review's pooled results into a new, immutable, versioned snapshot."""

from __future__ import annotations

import time
from dataclasses import dataclass

from evidence.core.heartbeat import heartbeat
from evidence.models import RecomputeRun, RecomputeStatus, Review, ReviewVersion, RunTrigger
from evidence.synthesis.recompute.analyses import pooled_rows
from evidence.synthesis.recompute.carry import published_synthesis, synthesis_plan
from evidence.synthesis.recompute.contrasts import controlled_rows
from evidence.synthesis.recompute.effects import study_effects
from evidence.synthesis.recompute.inputs import recompute_inputs_load
from evidence.synthesis.recompute.proportions import proportion_rows
from evidence.synthesis.recompute.runs import (
    recompute_run_claim,
    recompute_run_fail,
    recompute_run_finish,
    recompute_run_is_waiting,
    recompute_run_unclaimed_status,
    review_recompute_lock,
    review_recompute_request,
)
from evidence.synthesis.recompute.safety import controlled_safety_rows, safety_rows, safety_table
from evidence.synthesis.recompute.signals import version_published
from evidence.synthesis.recompute.write import version_write

__all__ = [
    "RecomputeOutcome",
    "recompute_run_execute",
    "recompute_run_is_waiting",
    "review_recompute",
    "review_recompute_by_command",
    "review_recompute_request",
]


@dataclass(frozen=True)
class RecomputeOutcome:
    version: ReviewVersion
    created: bool
    inputs_hash: str


def review_recompute(*, review: Review, trigger: str) -> RecomputeOutcome:
    """Pool everything with the review's settings; write a new version unless the inputs are unchanged."""
    with review_recompute_lock(review_id=review.id):  # concurrent recomputes of one change: one version
        return _review_recompute(review=review, trigger=trigger)


def _review_recompute(*, review: Review, trigger: str) -> RecomputeOutcome:
    inputs = recompute_inputs_load(review=review)
    inputs_hash = inputs.inputs_hash()
    latest = review.versions.order_by("-number").first()
    if latest is not None and latest.inputs_hash == inputs_hash:
        return RecomputeOutcome(latest, False, inputs_hash)
    effects, missing = study_effects(inputs)
    published = published_synthesis(review.id)
    plan = synthesis_plan(inputs, effects, published)
    before_after, carried = pooled_rows(inputs, effects, missing, plan), plan.carried()
    proportions = proportion_rows(inputs, before_after, {row.key[:2] for row in carried if not row.key[2]})
    version = version_write(
        review=review,
        inputs=inputs,
        inputs_hash=inputs_hash,
        trigger=trigger,
        computed=before_after + proportions + controlled_rows(inputs),
        carried=carried,
        plan=plan,
        published=published,
        safety=safety_rows(inputs),
        safety_table=safety_table(inputs),
        controlled_safety=controlled_safety_rows(inputs),
    )
    return RecomputeOutcome(version, True, inputs_hash)


def review_recompute_by_command(*, review: Review, trigger: str, poll_seconds: float = 0.5) -> RecomputeRun:
    """``manage.py recompute``: a run in the ledger (trigger "command"), executed here and now.

    The request folds into a queued run if there is one; while another run of the review is running this
    waits for it (then finds the inputs unchanged, or recomputes what changed since).
    """
    run = review_recompute_request(review=review, trigger=trigger, kind=RunTrigger.COMMAND, enqueue=False)
    while recompute_run_execute(run_id=run.id) == "busy":
        time.sleep(poll_seconds)
    run.refresh_from_db()
    return run


def recompute_run_execute(*, run_id: int) -> str:
    """Run one queued recompute. Returns its final status, or 'busy' while it waits for another run."""
    run = recompute_run_claim(run_id=run_id)
    if run is None:  # never "done" for a run not finished: "busy" is retried until it is
        return recompute_run_unclaimed_status(run_id=run_id)
    try:
        with heartbeat(RecomputeRun, run.id):
            outcome = review_recompute(review=run.review, trigger="; ".join(run.triggers))
    except Exception as error:  # any failure keeps the previous version published and is recorded
        recompute_run_fail(run=run, error=error)
        raise
    status = RecomputeStatus.PUBLISHED if outcome.created else RecomputeStatus.UNCHANGED
    recompute_run_finish(run=run, status=status, version=outcome.version, inputs_hash=outcome.inputs_hash)
    if outcome.created:  # after publishing: the page shows the version while its files are written
        version_published.send(sender=ReviewVersion, version=outcome.version)
    return status
