"""Recompute runs: debounced, one at a time per review, idempotent, failures recorded and harmless."""

import time

import pytest
from django.db import IntegrityError, transaction

from evidence.models import RecomputeRun, RecomputeStatus
from evidence.synthesis.recompute import recompute_run_execute, review_recompute_request
from evidence.synthesis.tasks import RecomputeBusy, review_recompute
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        review_recompute, "apply_async", lambda args, countdown, **options: calls.append((args, countdown))
    )
    return calls


def test_requests_within_the_debounce_window_fold_into_one_run(seeded, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = review_recompute_request(review=seeded, trigger="approved Wang 2013")
        second = review_recompute_request(review=seeded, trigger="approved Zhang 2017")
    assert first.id == second.id
    assert RecomputeRun.objects.get().triggers == ["approved Wang 2013", "approved Zhang 2017"]
    assert len(enqueued) == 1 and enqueued[0][0] == [first.id]


def test_the_task_is_enqueued_only_after_commit(seeded, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        review_recompute_request(review=seeded, trigger="t")
    assert enqueued == [] and len(callbacks) == 1


def test_the_database_allows_one_queued_and_one_running_run_per_review(seeded):
    RecomputeRun.objects.create(review=seeded, status=RecomputeStatus.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        RecomputeRun.objects.create(review=seeded, status=RecomputeStatus.RUNNING)
    RecomputeRun.objects.create(review=seeded)
    with pytest.raises(IntegrityError), transaction.atomic():
        RecomputeRun.objects.create(review=seeded)


def test_a_run_waits_while_another_of_the_same_review_runs(seeded):
    RecomputeRun.objects.create(review=seeded, status=RecomputeStatus.RUNNING)
    queued = RecomputeRun.objects.create(review=seeded)
    assert recompute_run_execute(run_id=queued.id) == "busy"
    queued.refresh_from_db()
    assert queued.status == RecomputeStatus.QUEUED
    with pytest.raises(RecomputeBusy):
        review_recompute.run(queued.id)


def test_the_task_run_twice_publishes_one_version(seeded):
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    run = RecomputeRun.objects.create(review=seeded, triggers=["test"])
    assert review_recompute.run(run.id) == RecomputeStatus.PUBLISHED
    assert review_recompute.run(run.id) == RecomputeStatus.PUBLISHED  # its recorded status, no new work
    assert seeded.versions.count() == 2
    run.refresh_from_db()
    assert run.status == RecomputeStatus.PUBLISHED and run.version.number == 1


def test_a_second_run_with_the_same_inputs_is_recorded_as_unchanged(seeded):
    review_recompute.run(RecomputeRun.objects.create(review=seeded).id)
    again = RecomputeRun.objects.create(review=seeded)
    assert review_recompute.run(again.id) == RecomputeStatus.UNCHANGED
    assert seeded.versions.count() == 2


def test_a_failure_keeps_the_previous_version_and_records_the_error(seeded, monkeypatch):
    from evidence.synthesis.recompute import write

    def explode(**kwargs):
        raise RuntimeError("disk full while writing forest plots")

    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    monkeypatch.setattr("evidence.synthesis.recompute.version_write", explode)
    run = RecomputeRun.objects.create(review=seeded)
    with pytest.raises(RuntimeError):
        review_recompute.run(run.id)
    run.refresh_from_db()
    assert run.status == RecomputeStatus.FAILED and "disk full" in run.error
    assert list(seeded.versions.values_list("number", flat=True)) == [0]
    assert write  # the real writer is untouched


def test_a_missing_run_is_logged_and_ignored(db):
    assert review_recompute.run(987654) == "missing"


def test_a_running_worker_publishes_a_new_version_within_seconds(celery_worker_process, settings):
    from evidence.seed.load import seed_load

    settings.RECOMPUTE_DEBOUNCE_SECONDS = 1
    seed_load()
    from evidence.models import Review

    review = Review.objects.get(slug="msc-ssc")
    measurement_set(review, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    with transaction.atomic():
        review_recompute_request(review=review, trigger="approved Wang 2013")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not review.versions.filter(number=1).exists():
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.3)
    version = review.versions.get(number=1)
    assert version.trigger == "approved Wang 2013"
    assert version.pooled_results.get(outcome__code="mrss", timepoint_months=12, subgroup_value="").computed


def test_a_queued_run_whose_message_was_lost_is_enqueued_again(seeded, enqueued, django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    lost = RecomputeRun.objects.create(review=seeded, triggers=["approved A"])
    RecomputeRun.objects.filter(pk=lost.pk).update(requested_at=timezone.now() - datetime.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        run = review_recompute_request(review=seeded, trigger="approved B")
    assert run.id == lost.id and enqueued == [([lost.id], 10)]


def test_a_run_that_lost_its_worker_is_failed_and_no_longer_blocks(seeded):
    import datetime

    from django.utils import timezone

    dead = RecomputeRun.objects.create(
        review=seeded, status=RecomputeStatus.RUNNING, started_at=timezone.now() - datetime.timedelta(hours=2)
    )
    queued = RecomputeRun.objects.create(review=seeded)
    assert recompute_run_execute(run_id=queued.id) == RecomputeStatus.PUBLISHED
    dead.refresh_from_db()
    assert dead.status == RecomputeStatus.FAILED and "worker lost" in dead.error
