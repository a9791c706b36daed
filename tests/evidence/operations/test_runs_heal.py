"""Runs heal themselves (issue 15): a dead worker's run is taken over or failed with the reason, a delivered
task never answers "done" for an unfinished run, a broker outage loses no recompute, and the sweeper sends
what was missed."""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from evidence.models import RecomputeRun, RecomputeStatus, SearchRun, SearchRunStatus
from evidence.operations.sweep import runs_sweep
from evidence.surveillance.tasks import search_run_for_review
from evidence.synthesis.recompute import recompute_run_execute
from evidence.synthesis.recompute.runs import MAX_ATTEMPTS
from evidence.synthesis.tasks import RecomputeBusy, review_recompute
from tests.evidence import screening_support
from tests.evidence.extraction.test_extraction import payload
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set
from tests.evidence.screening_support import client_for, make_citation, make_outcomes

review = screening_support.review  # fixtures
team = screening_support.team
SILENT = dt.timedelta(minutes=3)  # longer than the heartbeat's STALE_AFTER


@pytest.fixture
def published(monkeypatch):
    """Every task handed to the broker, as (task name, args)."""
    sent = []

    def record(task):
        return lambda args=(), kwargs=None, countdown=0, **options: sent.append((task.name, list(args)))

    monkeypatch.setattr(review_recompute, "apply_async", record(review_recompute))
    monkeypatch.setattr(search_run_for_review, "apply_async", record(search_run_for_review))
    return sent


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(review_recompute, "apply_async", refuse)


def running_silent(review, **fields) -> RecomputeRun:
    """A run left running by a worker killed ``SILENT`` ago."""
    since = timezone.now() - SILENT
    return RecomputeRun.objects.create(
        review=review, status=RecomputeStatus.RUNNING, started_at=since, heartbeat_at=since, attempts=1, **fields
    )


# ---------------------------------------------------------------------- a lost worker


def test_a_redelivered_task_takes_over_its_dead_workers_run_and_publishes(seeded):
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    dead = running_silent(seeded, triggers=["approved Wang 2013"])

    status = review_recompute.run(dead.id)

    dead.refresh_from_db()
    assert status == RecomputeStatus.PUBLISHED and dead.status == RecomputeStatus.PUBLISHED
    assert dead.attempts == 2 and dead.version.number == 1 and dead.error == ""


def test_a_redelivered_task_waits_while_a_live_worker_runs_the_run(seeded):
    alive = RecomputeRun.objects.create(
        review=seeded, status=RecomputeStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )

    assert recompute_run_execute(run_id=alive.id) == "busy"
    with pytest.raises(RecomputeBusy):
        review_recompute.run(alive.id)
    alive.refresh_from_db()
    assert alive.status == RecomputeStatus.RUNNING


def test_a_run_that_kills_its_worker_every_time_is_failed_with_the_reason(seeded, published):
    dead = running_silent(seeded)
    RecomputeRun.objects.filter(pk=dead.pk).update(attempts=MAX_ATTEMPTS)

    report = runs_sweep()

    dead.refresh_from_db()
    assert dead.status == RecomputeStatus.FAILED and "worker lost: no heartbeat" in dead.error
    assert report.recomputes_recovered == 0 and published == []


def test_the_sweeper_requeues_a_dead_workers_run_and_sends_it(seeded, published):
    dead = running_silent(seeded)

    report = runs_sweep()

    dead.refresh_from_db()
    assert dead.status == RecomputeStatus.QUEUED and "worker lost" in dead.error
    assert report.recomputes_recovered == 1 and published == [("evidence.review_recompute", [dead.id])]
    assert dead.enqueued_at is not None


def test_the_sweeper_leaves_a_live_run_and_a_freshly_sent_one_alone(seeded, published):
    RecomputeRun.objects.create(review=seeded, status=RecomputeStatus.RUNNING, heartbeat_at=timezone.now())
    RecomputeRun.objects.create(review=seeded, enqueued_at=timezone.now())

    assert runs_sweep().as_dict() == dict.fromkeys(runs_sweep().as_dict(), 0)
    assert published == []


def test_the_sweeper_resends_a_queued_run_whose_message_was_lost(seeded, published):
    lost = RecomputeRun.objects.create(review=seeded, enqueued_at=timezone.now() - dt.timedelta(minutes=10))

    runs_sweep()

    assert published == [("evidence.review_recompute", [lost.id])]


# ---------------------------------------------------------------------- a broker outage


def approvable(review, team):
    from evidence.extraction.services import extraction_draft_save, extraction_reconcile
    from evidence.models import TriageStage

    make_outcomes()
    rc = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=rc, extractor=team[extractor], payload=payload(), submit=True)
    return extraction_reconcile(review_citation=rc, reconciler=team["senior"], payload=payload())


@pytest.mark.django_db(transaction=True)
def test_an_approval_with_the_broker_down_commits_and_the_sweeper_sends_its_recompute(
    client, review, team, broker_down, monkeypatch
):
    study = approvable(review, team)
    editor = client_for(client, team["editor"])

    response = editor.post(
        reverse("admin:approval_list", args=[review.pk]), {"study": study.pk, "action": "approve"}, follow=True
    )

    assert response.status_code == 200 and "will be recomputed" in response.content.decode()
    study.refresh_from_db()
    assert study.status == "included"
    run = RecomputeRun.objects.get(review=review)
    assert run.status == RecomputeStatus.QUEUED and run.enqueued_at is None

    monkeypatch.undo()  # the broker is back
    sent = []
    monkeypatch.setattr(review_recompute, "apply_async", lambda args, **options: sent.append(args))
    runs_sweep()

    run.refresh_from_db()
    assert sent == [[run.id]] and run.enqueued_at is not None


def test_the_sweeper_requests_a_recompute_an_approval_lost(review, team, published):
    from evidence.approval.services import study_approve

    study = approvable(review, team)
    study_approve(study=study, editor=team["editor"])  # in the test's transaction: its on-commit never runs
    study.approvals.update(created_at=timezone.now() - dt.timedelta(minutes=5))

    report = runs_sweep()

    run = RecomputeRun.objects.get(review=review)
    assert report.approvals_requested == 1 and run.triggers == ["sweeper: approval without a recompute"]
    assert runs_sweep().approvals_requested == 0  # requested once


def test_publishing_to_a_stopped_redis_fails_in_seconds_not_twenty():
    script = (
        "import time, django; django.setup()\n"
        "from evidence.core.dispatch import task_publish\n"
        "from evidence.synthesis.tasks import review_recompute\n"
        "start = time.monotonic()\n"
        "sent = task_publish(review_recompute, args=[1])\n"
        "print(sent, round(time.monotonic() - start, 2))\n"
    )
    env = {
        **os.environ,
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/5",
        "DJANGO_SETTINGS_MODULE": "evidence.config.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=Path(__file__).resolve().parents[3],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    sent, seconds = out.stdout.split()
    assert sent == "False" and float(seconds) < 3, out.stderr[-2000:]


# ---------------------------------------------------------------------- stale searches


def test_the_sweeper_fails_a_dead_search_and_searches_the_review_again(seeded, published):
    since = timezone.now() - SILENT
    dead = SearchRun.objects.create(
        review=seeded, query="q", window_start=dt.date(2025, 1, 1), window_end=dt.date(2025, 1, 2)
    )
    SearchRun.objects.filter(pk=dead.pk).update(started_at=since, heartbeat_at=since)

    report = runs_sweep()

    dead.refresh_from_db()
    assert dead.status == SearchRunStatus.FAILED and "no heartbeat" in dead.error
    assert report.searches_restarted == 1 and published == [("evidence.search_run_for_review", [seeded.pk])]


def test_a_running_searchs_heartbeat_keeps_it_alive(seeded, published):
    alive = SearchRun.objects.create(
        review=seeded, query="q", window_start=dt.date(2025, 1, 1), window_end=dt.date(2025, 1, 2)
    )
    SearchRun.objects.filter(pk=alive.pk).update(
        started_at=timezone.now() - dt.timedelta(hours=7), heartbeat_at=timezone.now()
    )

    assert runs_sweep().searches_restarted == 0
    alive.refresh_from_db()
    assert alive.status == SearchRunStatus.RUNNING


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_touching_a_long_run(seeded, monkeypatch):
    from evidence.core import heartbeat as beat

    run = RecomputeRun.objects.create(review=seeded, status=RecomputeStatus.RUNNING, started_at=timezone.now())
    with beat.heartbeat(RecomputeRun, run.pk, every=dt.timedelta(seconds=0.2)):
        first = RecomputeRun.objects.get(pk=run.pk).heartbeat_at
        time.sleep(1)
        later = RecomputeRun.objects.get(pk=run.pk).heartbeat_at
    assert later > first
