"""The search Celery tasks: run twice, retry only transient errors, a real worker running the scheduled search."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from evidence.models import (
    Review,
    ReviewCitation,
    ReviewSchedule,
    RunTrigger,
    SearchRun,
    SearchRunStatus,
    TriageStage,
)
from evidence.surveillance.pubmed import EutilsPermanentError, EutilsTransientError
from evidence.surveillance.tasks import search_run_for_review, search_schedule_dispatch
from tests import eutils_replay as replay
from tests.eutils_replay import Reply, SyntheticPubmed, msc_ssc_records
from tests.evidence.surveillance.test_search_run import fast_client

eutils_replay = replay.eutils_replay  # the fixture, bound in this module


@pytest.fixture
def fast(monkeypatch):
    """Point the service's client factory at ``server``, without backoff sleeps or retries."""

    def use(server, **config):
        monkeypatch.setattr(
            "evidence.surveillance.search.eutils_client_from_settings", lambda: fast_client(server, **config)
        )

    return use


def test_it_is_idempotent_when_run_twice(seeded, eutils_replay, fast):
    fast(eutils_replay(SyntheticPubmed(msc_ssc_records())))

    first = search_run_for_review(seeded.id)
    rows = sorted(ReviewCitation.objects.values_list("id", "citation_id", "stage"))
    second = search_run_for_review(seeded.id)

    assert first["status"] == second["status"] == SearchRunStatus.SUCCEEDED
    assert (first["records_new"], second["records_new"]) == (2, 0)
    assert sorted(ReviewCitation.objects.values_list("id", "citation_id", "stage")) == rows


def test_it_retries_a_transient_error_with_a_run_row_per_attempt(seeded, eutils_replay, fast):
    fast(eutils_replay(lambda request: Reply(503, b"Service Unavailable")), max_retries=0)

    result = search_run_for_review.apply(args=[seeded.id])

    assert isinstance(result.result, EutilsTransientError)
    runs = SearchRun.objects.order_by("id")
    assert runs.count() == search_run_for_review.max_retries + 1
    assert {r.status for r in runs} == {SearchRunStatus.FAILED}
    assert runs.last().triggered_by == f"celery (retry {search_run_for_review.max_retries})"


def test_it_does_not_retry_a_permanent_error(seeded, eutils_replay, fast):
    error = b"<eSearchResult><ERROR>Invalid db name specified</ERROR></eSearchResult>"
    fast(eutils_replay(lambda request: Reply(body=error)))

    result = search_run_for_review.apply(args=[seeded.id])

    assert isinstance(result.result, EutilsPermanentError)
    run = SearchRun.objects.get()
    assert run.status == SearchRunStatus.FAILED and "Invalid db name specified" in run.error


def test_it_ignores_a_review_that_no_longer_exists(db):
    assert search_run_for_review(987654) is None
    assert not SearchRun.objects.exists()


# ---------------------------------------------------------------------- a real worker


@pytest.fixture
def worker_eutils(eutils_replay, monkeypatch, settings):
    """The replay server, set in the environment before the worker subprocess starts (fixture order)."""
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    monkeypatch.setenv("EUTILS_BASE_URL", server.base_url)
    settings.EUTILS_BASE_URL = server.base_url
    return server


@pytest.mark.slow
def test_a_celery_worker_runs_the_scheduled_search_end_to_end(worker_eutils, celery_worker_process):
    from evidence.seed.load import seed_load
    from evidence.surveillance.search.schedule import review_schedule_ensure

    seed_load()
    review = Review.objects.get(slug="msc-ssc")
    schedule = review_schedule_ensure(review=review)
    ReviewSchedule.objects.filter(pk=schedule.pk).update(next_search_at=timezone.now() - dt.timedelta(minutes=1))

    search_schedule_dispatch.delay()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not SearchRun.objects.exclude(status=SearchRunStatus.RUNNING).exists():
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.3)
    run = SearchRun.objects.get()
    assert run.status == SearchRunStatus.SUCCEEDED, run.error
    assert (run.trigger, run.triggered_by) == (RunTrigger.SCHEDULE, "schedule (daily at 02:30 UTC)")
    queued = ReviewCitation.objects.filter(review=review, stage=TriageStage.TITLE_ABSTRACT, search_run=run)
    assert sorted(queued.values_list("citation__pmid", flat=True)) == ["35358372", "38206544"]
    assert len(worker_eutils.requests_to("esearch")) == 1
