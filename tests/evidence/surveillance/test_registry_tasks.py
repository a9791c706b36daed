"""The registry Celery tasks: idempotent, retry only transient errors (a run row per attempt), skip a missing
review, and a real worker running the registry search end to end (the schedule's fan-out: test_review_schedule)."""

import time

import pytest

from evidence.models import Registration, RegistrySearchRun, Review
from evidence.surveillance.ctgov import CtgovClient, CtgovConfig, CtgovPermanentError, CtgovTransientError
from evidence.surveillance.tasks_registry import registry_run_for_review
from tests import eutils_replay as replay
from tests.ctgov_replay import SyntheticCtgov, base_url
from tests.eutils_replay import Reply

eutils_replay = replay.eutils_replay


class Unlimited:
    def acquire(self) -> None:
        pass


@pytest.fixture
def review(seeded):
    Review.objects.filter(pk=seeded.pk).update(registry_condition="systemic sclerosis")
    seeded.refresh_from_db()
    return seeded


@pytest.fixture
def fast(monkeypatch):
    """Point the service's client factory at ``server``, without rate limit, backoff sleeps or retries."""

    def use(server):
        config = CtgovConfig(base_url=base_url(server), timeout=1.0, max_retries=0)
        monkeypatch.setattr(
            "evidence.surveillance.registry.ctgov_client_from_settings",
            lambda: CtgovClient(config, rate_limiter=Unlimited(), sleep=lambda _: None),
        )

    return use


def test_it_is_idempotent_when_run_twice(review, eutils_replay, fast):
    fast(eutils_replay(SyntheticCtgov.from_fixtures()))

    first = registry_run_for_review(review.id)
    second = registry_run_for_review(review.id)

    assert (first["status"], first["records_new"], second["records_new"]) == ("succeeded", 3, 0)
    assert Registration.objects.count() == 3


def test_it_retries_a_transient_error_with_a_run_row_per_attempt(review, eutils_replay, fast):
    fast(eutils_replay(lambda request: Reply(503, b"Service Unavailable")))

    result = registry_run_for_review.apply(args=[review.id])

    assert isinstance(result.result, CtgovTransientError)
    runs = RegistrySearchRun.objects.order_by("id")
    assert runs.count() == registry_run_for_review.max_retries + 1
    assert {r.status for r in runs} == {"failed"}


def test_it_does_not_retry_a_permanent_error(review, eutils_replay, fast):
    fast(eutils_replay(lambda request: Reply(body=b"<html>not json</html>")))

    result = registry_run_for_review.apply(args=[review.id])

    assert isinstance(result.result, CtgovPermanentError)
    assert RegistrySearchRun.objects.get().status == "failed"


def test_it_ignores_a_review_that_no_longer_exists(db):
    assert registry_run_for_review(987654) is None
    assert not RegistrySearchRun.objects.exists()


@pytest.fixture
def worker_ctgov(eutils_replay, monkeypatch, settings):
    """The replay server, set in the environment before the worker subprocess starts (fixture order)."""
    server = eutils_replay(SyntheticCtgov.from_fixtures())
    monkeypatch.setenv("CTGOV_BASE_URL", base_url(server))
    settings.CTGOV_BASE_URL = base_url(server)
    return server


@pytest.mark.slow
def test_a_celery_worker_runs_the_registry_search_end_to_end(worker_ctgov, celery_worker_process):
    from evidence.seed.load import seed_load

    seed_load()
    Review.objects.filter(slug="msc-ssc").update(registry_condition="systemic sclerosis")

    registry_run_for_review.delay(Review.objects.get(slug="msc-ssc").pk, triggered_by="schedule (daily at 02:30 UTC)")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not RegistrySearchRun.objects.exclude(status="running").exists():
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.3)
    run = RegistrySearchRun.objects.get()
    assert run.status == "succeeded", run.error
    assert (run.triggered_by, run.records_new) == ("schedule (daily at 02:30 UTC)", 3)
    assert Registration.objects.count() == 3 and len(worker_ctgov.requests) == 1
