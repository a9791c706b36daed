"""The registry search ledger: the last-update window a run covers, claiming a run, and how it ended."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from evidence.models import RegistrySearchRun, Review

# ClinicalTrials.gov opened in February 2000: a review's first registry run covers every update since.
REGISTRY_EPOCH = dt.date(2000, 1, 1)
# The next window starts this long before the last successful one ended (late-posted updates); the upsert
# makes the overlap harmless.
WINDOW_OVERLAP = dt.timedelta(days=3)
STALE_RUN_AFTER = dt.timedelta(hours=6)


class RegistryRunAlreadyRunning(Exception):
    """The review already has a registry search in progress; this one was not started."""

    def __init__(self, review: Review) -> None:
        super().__init__(f"Review {review.slug!r} already has a registry search running; wait for it to finish.")


def registry_query(*, review: Review) -> dict[str, str]:
    """The review's ClinicalTrials.gov query; empty when it has none (no registry search then)."""
    parts = {
        "condition": review.registry_condition.strip(),
        "intervention": review.registry_intervention.strip(),
        "term": review.registry_term.strip(),
    }
    return {name: value for name, value in parts.items() if value}


def registry_run_last_succeeded(*, review: Review) -> RegistrySearchRun | None:
    return (
        RegistrySearchRun.objects.filter(review=review, status="succeeded")
        .order_by("-window_end", "-finished_at")
        .first()
    )


def registry_window(*, review: Review, today: dt.date, since: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """``[start, today]``: from ``since``, else a few days before the last successful window's end, else
    from :data:`REGISTRY_EPOCH`; a failed run's window is searched again, so the windows leave no gap."""
    if since is None:
        last = registry_run_last_succeeded(review=review)
        since = REGISTRY_EPOCH if last is None else last.window_end - WINDOW_OVERLAP
    if since > today:
        raise ValueError(f"the registry window would start on {since}, after its end {today}")
    return since, today


def registry_run_claim(
    *, review: Review, query: dict[str, str], triggered_by: str, window: tuple[dt.date, dt.date]
) -> RegistrySearchRun:
    """Create the review's running run; the one-running-per-review index refuses a second."""
    RegistrySearchRun.objects.filter(
        review=review, status="running", started_at__lt=timezone.now() - STALE_RUN_AFTER
    ).update(status="failed", finished_at=timezone.now(), error=f"Abandoned: still running after {STALE_RUN_AFTER}.")
    run = RegistrySearchRun(
        review=review,
        query=query,
        window_start=window[0],
        window_end=window[1],
        status="running",
        triggered_by=triggered_by[:100],
    )
    run.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError as exc:
        if RegistrySearchRun.objects.filter(review=review, status="running").exists():
            raise RegistryRunAlreadyRunning(review) from exc
        raise
    return run


def registry_run_finish(*, run: RegistrySearchRun, requests_made: int, error: str = "", **counts: int) -> None:
    """Mark the run succeeded (no error) or failed (with its reason), in its own transaction."""
    with transaction.atomic():
        RegistrySearchRun.objects.filter(pk=run.pk, status="running").update(
            status="failed" if error else "succeeded",
            finished_at=timezone.now(),
            error=error,
            requests_made=requests_made,
            **counts,
        )
    run.refresh_from_db()
