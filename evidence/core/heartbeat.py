"""Heartbeats of running runs: a worker that dies stops touching its run, and the sweeper notices.

A run (recompute or search) is ``running`` while its worker lives. The worker touches the run's
``heartbeat_at`` every :data:`HEARTBEAT_EVERY` from a small thread, so the run is seen alive however long
one step takes (a slow efetch with retries, a big version write). A running run whose heartbeat is older
than :data:`STALE_AFTER` lost its worker (``kill -9``, out of memory, a host gone): the sweeper re-runs or
fails it, within a minute or two instead of hours.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections
from django.db.models import Model, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = dt.timedelta(seconds=10)
STALE_AFTER = dt.timedelta(minutes=2)


def heartbeat_every() -> dt.timedelta:
    """How often a worker touches its run (settings.RUN_HEARTBEAT_SECONDS; a fault test shortens it)."""
    return dt.timedelta(seconds=getattr(settings, "RUN_HEARTBEAT_SECONDS", HEARTBEAT_EVERY.total_seconds()))


def stale_after() -> dt.timedelta:
    """How long a running run may stay silent before it counts as lost (settings.RUN_STALE_AFTER_SECONDS)."""
    return dt.timedelta(seconds=getattr(settings, "RUN_STALE_AFTER_SECONDS", STALE_AFTER.total_seconds()))


def heartbeat_touch(model: type[Model], pk: int) -> int:
    """Mark the run alive now; 0 if it is no longer running (another worker took it over, or it ended)."""
    return model.objects.filter(pk=pk, status="running").update(heartbeat_at=timezone.now())


def stale_filter() -> Q:
    """Running runs whose last heartbeat (before the first: their start) is older than :func:`stale_after`;
    also the condition of the UPDATE that takes one over, so two sweepers never both take it."""
    cutoff = timezone.now() - stale_after()
    return Q(status="running") & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))


@contextmanager
def heartbeat(model: type[Model], pk: int, *, every: dt.timedelta | None = None) -> Iterator[None]:
    """Touch the run now and then every ``every`` from a thread until the block ends.

    Inside a caller's transaction (a test, or a command run in ``atomic``) the thread could not see the
    uncommitted run and on SQLite would wait on the caller's write lock, so only the first touch is made.
    """
    heartbeat_touch(model, pk)
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat, args=(model, pk, every or heartbeat_every(), stop), name=f"heartbeat-{pk}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _beat(model: type[Model], pk: int, every: dt.timedelta, stop: threading.Event) -> None:
    try:
        while not stop.wait(every.total_seconds()):
            try:
                heartbeat_touch(model, pk)
            except DatabaseError as exc:  # a busy database: the next beat tries again
                logger.warning("heartbeat of %s %s failed: %s", model.__name__, pk, exc)
                close_old_connections()
    finally:
        connections["default"].close()
