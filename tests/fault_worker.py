"""A Celery app for fault tests: the real ``evidence`` app, whose recompute first sleeps
``FAULT_RECOMPUTE_SLEEP`` seconds inside its run (after the claim, with the heartbeat beating), so a test
can ``kill -9`` the worker mid-recompute. With ``FAULT_SLEEP_ONCE`` (a file path) only the first attempt
sleeps: it creates the file, and a later attempt that finds it runs at once.
Start it with ``celery -A tests.fault_worker worker``."""

import os
import time

import django

django.setup()

from evidence.config.celery import app  # noqa: E402
from evidence.synthesis import recompute  # noqa: E402

_real = recompute._review_recompute


def _slow_review_recompute(**kwargs):
    once = os.environ.get("FAULT_SLEEP_ONCE")
    if not (once and os.path.exists(once)):
        if once:
            open(once, "w").close()
        time.sleep(float(os.environ.get("FAULT_RECOMPUTE_SLEEP", "0")))
    return _real(**kwargs)


recompute._review_recompute = _slow_review_recompute

__all__ = ["app"]
