"""Celery beat (django-celery-beat's database scheduler) dispatches a review's due search to a real worker, once."""

import datetime as dt
import time
from pathlib import Path

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from evidence.models import Review, ReviewCitation, ReviewSchedule, RunTrigger, SearchRun, SearchRunStatus
from evidence.surveillance.search.schedule import review_schedule_ensure
from tests import eutils_replay as replay
from tests.conftest import celery_process
from tests.evidence.surveillance.test_search_run_tasks import worker_eutils  # noqa: F401  (fixture)

eutils_replay = replay.eutils_replay  # the fixture, bound in this module
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def beat_process(celery_worker_process, tmp_path):
    """Celery beat with django-celery-beat's database scheduler (the project's setting), beside a worker."""
    with celery_process("beat", "--max-interval=1", f"--schedule={tmp_path / 'beat-schedule'}") as beat:
        yield beat


@pytest.mark.slow
def test_beat_triggers_the_search_and_the_worker_fills_the_queue_once(worker_eutils, beat_process):  # noqa: F811
    from evidence.seed.load import seed_load

    seed_load()
    review = Review.objects.get(slug="msc-ssc")
    # The dispatcher's entry, made due every 2 s, and the review's slot made due now: one search per slot.
    every_two_seconds = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.SECONDS)
    # The migration's entry, made again: a transactional test starts from flushed tables. save() (not update())
    # tells the running beat of the change.
    PeriodicTask.objects.update_or_create(
        name="Dispatch due review searches (every 5 minutes)",
        defaults={"task": "evidence.search_schedule_dispatch", "interval": every_two_seconds, "enabled": True},
    )
    schedule = review_schedule_ensure(review=review)
    ReviewSchedule.objects.filter(pk=schedule.pk).update(next_search_at=timezone.now() - dt.timedelta(minutes=1))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not SearchRun.objects.filter(status=SearchRunStatus.SUCCEEDED).exists():
        assert beat_process.poll() is None, beat_process.stdout.read()
        time.sleep(0.5)
    time.sleep(6)  # three more beats of the dispatcher: the slot is taken, nothing more is searched
    runs = SearchRun.objects.filter(status=SearchRunStatus.SUCCEEDED)
    assert runs.count() == 1, list(SearchRun.objects.values_list("status", "error"))
    assert set(runs.values_list("trigger", "triggered_by")) == {(RunTrigger.SCHEDULE, "schedule (daily at 02:30 UTC)")}
    assert ReviewSchedule.objects.get(pk=schedule.pk).next_search_at > timezone.now()
    # Each record is queued once.
    queued = ReviewCitation.objects.filter(review=review, citation__pmid__in=["35358372", "38206544"])
    assert queued.count() == 2
