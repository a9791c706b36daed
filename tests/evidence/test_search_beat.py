"""Celery beat (django-celery-beat's database scheduler) triggers the PubMed search on a real worker."""

import time
from pathlib import Path

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from evidence.models import Review, ReviewCitation, SearchRun, SearchRunStatus
from tests import eutils_replay as replay
from tests.conftest import celery_process
from tests.evidence.test_search_run_tasks import worker_eutils  # noqa: F401  (fixture)

eutils_replay = replay.eutils_replay  # the fixture, bound in this module
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def beat_process(celery_worker_process, tmp_path):
    """Celery beat with django-celery-beat's database scheduler (the project's setting), beside a worker."""
    with celery_process("beat", "--max-interval=1", f"--schedule={tmp_path / 'beat-schedule'}") as beat:
        yield beat


@pytest.mark.slow
def test_beat_triggers_the_search_and_the_worker_fills_the_queue_once(worker_eutils, beat_process):  # noqa: F811
    from evidence.services.seed import seed_load

    seed_load()
    review = Review.objects.get(slug="msc-ssc")
    # The nightly entry, made due every 2 s so the test need not wait for 02:30.
    every_two_seconds = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="PubMed search (test: every 2 s)",
        defaults={"task": "evidence.search_runs_nightly", "interval": every_two_seconds, "enabled": True},
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and SearchRun.objects.filter(status=SearchRunStatus.SUCCEEDED).count() < 2:
        assert beat_process.poll() is None, beat_process.stdout.read()
        time.sleep(0.5)
    runs = SearchRun.objects.filter(status=SearchRunStatus.SUCCEEDED)
    assert runs.count() >= 2, list(SearchRun.objects.values_list("status", "error"))
    assert set(runs.values_list("triggered_by", flat=True)) == {"beat (nightly)"}
    # Run after run, each record is queued once.
    queued = ReviewCitation.objects.filter(review=review, citation__pmid__in=["35358372", "38206544"])
    assert queued.count() == 2
