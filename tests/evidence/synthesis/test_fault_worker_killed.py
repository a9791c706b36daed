"""Fault: ``kill -9`` of the worker mid-recompute (issue 15). A real worker is killed while its run is running;
a second worker and the sweeper finish the change: one version, the run published, nothing stuck."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction

from evidence.models import RecomputeRun, RecomputeStatus, Review
from evidence.operations.sweep import runs_sweep
from evidence.synthesis.recompute import review_recompute_request
from tests.conftest import _test_database_url
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set

ROOT = Path(__file__).resolve().parents[3]
FAST_HEARTBEAT = {"RUN_HEARTBEAT_SECONDS": "1", "RUN_STALE_AFTER_SECONDS": "4", "RECOMPUTE_DEBOUNCE_SECONDS": "0"}


def worker(**env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.fault_worker", "worker", "--pool=solo", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": _test_database_url(), **FAST_HEARTBEAT, **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_for(condition, seconds: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited while waiting for {what}: {process.stdout.read()[-3000:]}")
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_recompute_is_recovered_by_the_sweeper_with_one_version(settings):
    from evidence.seed.load import seed_load

    settings.RECOMPUTE_DEBOUNCE_SECONDS, settings.RUN_HEARTBEAT_SECONDS, settings.RUN_STALE_AFTER_SECONDS = 0, 1, 4
    seed_load()
    review = Review.objects.get(slug="msc-ssc")
    measurement_set(review, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    before = review.versions.count()
    doomed = worker(FAULT_RECOMPUTE_SLEEP="120")
    rescuer = None
    try:
        time.sleep(1)
        with transaction.atomic():
            run = review_recompute_request(review=review, trigger="approved Wang 2013")
        wait_for(lambda: RecomputeRun.objects.get(pk=run.pk).status == RecomputeStatus.RUNNING, 60, "the claim", doomed)

        os.kill(doomed.pid, signal.SIGKILL)  # kill -9 of the whole worker, mid-recompute
        doomed.wait(timeout=10)
        rescuer = worker()
        wait_for(lambda: runs_sweep().recomputes_recovered == 1, 30, "the sweeper to find the lost run")
        wait_for(lambda: review.versions.count() > before, 90, "the version", rescuer)
    finally:
        stop(doomed)
        if rescuer is not None:
            stop(rescuer)

    run.refresh_from_db()
    assert run.status == RecomputeStatus.PUBLISHED and run.attempts == 2
    assert review.versions.count() == before + 1
    assert not RecomputeRun.objects.filter(status__in=[RecomputeStatus.QUEUED, RecomputeStatus.RUNNING]).exists()


def pool_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


@pytest.mark.django_db(transaction=True)
def test_a_pool_child_killed_mid_recompute_is_redelivered_and_finishes_the_run(settings, tmp_path):
    """kill -9 of the prefork child: the message comes back (acks_late, reject_on_worker_lost), and the
    redelivered task takes the silent run over and publishes instead of answering "done"."""
    from evidence.seed.load import seed_load

    settings.RECOMPUTE_DEBOUNCE_SECONDS, settings.RUN_HEARTBEAT_SECONDS, settings.RUN_STALE_AFTER_SECONDS = 0, 1, 4
    seed_load()
    review = Review.objects.get(slug="msc-ssc")
    measurement_set(review, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    before = review.versions.count()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.fault_worker", "worker", "--pool=prefork", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": _test_database_url(), **FAST_HEARTBEAT,
                       "FAULT_RECOMPUTE_SLEEP": "120", "FAULT_SLEEP_ONCE": str(tmp_path / "slept")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: pool_children(process.pid), 30, "the pool child", process)
        with transaction.atomic():
            run = review_recompute_request(review=review, trigger="approved Wang 2013")
        wait_for(
            lambda: RecomputeRun.objects.get(pk=run.pk).status == RecomputeStatus.RUNNING, 60, "the claim", process
        )
        # the claim is seen before the first attempt marks its sleep: killed in between, the redelivered attempt
        # would find no mark and sleep the 120 s out
        wait_for(lambda: (tmp_path / "slept").exists(), 30, "the first attempt's sleep", process)
        (child,) = pool_children(process.pid)
        os.kill(child, signal.SIGKILL)  # kill -9 of the pool child, mid-recompute
        wait_for(lambda: review.versions.count() > before, 120, "the version", process)
    finally:
        stop(process)

    run.refresh_from_db()
    assert run.status == RecomputeStatus.PUBLISHED and run.attempts == 2
    assert review.versions.count() == before + 1
