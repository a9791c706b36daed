"""Shared fixtures. With EVIDENCE_REQUIRE_SERVICES=1 (CI's PostgreSQL + Redis run) a test skipped because a
service is unavailable fails instead, so the second CI run cannot pass by skipping."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("EVIDENCE_REQUIRE_SERVICES") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and "unavailable" in str(report.longrepr).lower():
        report.outcome = "failed"
        report.longrepr = f"EVIDENCE_REQUIRE_SERVICES=1 but the test was skipped: {report.longrepr}"


@pytest.fixture
def seeded(db):
    """The MSC–SSc review as `make run` loads it."""
    from evidence.seed.load import seed_load

    seed_load()
    from evidence.models import Review

    return Review.objects.get(slug="msc-ssc")


def _test_database_url() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


@contextlib.contextmanager
def celery_process(*arguments: str):
    """A real ``celery -A evidence <arguments>`` process on this run's broker, reading the test database."""
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "evidence", *arguments, "--loglevel=INFO"],
        cwd=Path(__file__).resolve().parents[1], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker (one process, no prefork) consuming this run's broker."""
    with celery_process(
        "worker", "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"
    ) as worker:
        time.sleep(1)
        yield worker


def throttle_counters_clear() -> None:
    """The API quota counters live in a shared store (files in var/, Redis on the CI's second stack) that outlives
    a test. Only the counters are deleted (the broker may share the Redis db)."""
    from django.core.cache import caches

    from evidence.api import quota

    quota.counters_for(caches["throttle"]).clear()


def process_memory_clear() -> None:
    """What a restarted web process has forgotten: the default cache (LocMemCache: the review stamp held for
    PAGES_STAMP_SECONDS, rendered pages, ETag first-seen times) and the large pages, exports and API answers held
    as they are.
    Between tests a held stamp would name an earlier test's review (same slug, and on SQLite the same ids) and
    serve its page."""
    from django.core.cache import cache

    from evidence.publishing import exports, http_cache

    cache.clear()
    http_cache._LARGE_PAGES.clear()
    http_cache._HELD_ANSWERS.clear()
    exports._STORED.clear()


@pytest.fixture(autouse=True)
def _throttle_counters_reset(monkeypatch):
    """Each test starts with no quota used, and its requests share one quota window: the throttles' clock holds
    still (a window turning between two requests would start the count afresh)."""
    from evidence.api import throttling

    throttle_counters_clear()
    now = time.time()
    monkeypatch.setattr(throttling._WindowThrottle, "timer", staticmethod(lambda: now))
    yield


@pytest.fixture(autouse=True)
def _process_memory_reset():
    """Each test starts with nothing held in this process's memory from an earlier one."""
    process_memory_clear()
    yield
