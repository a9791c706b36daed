"""One counter per client per window: atomic counts, windows that turn, stores that tidy themselves."""

from __future__ import annotations

import multiprocessing

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured

from evidence.api import quota

NOW = 1_800_000_000.0


@pytest.fixture(params=["files", "configured"])
def counters(request, tmp_path):
    """The file store on its own, and whichever store this run's throttle cache names (Redis on CI's second run)."""
    if request.param == "files":
        return quota.FileCounters(tmp_path / "windows")
    return quota.counters_for(caches["throttle"])


def test_it_reads_rates_as_drf_does():
    assert quota.rate_parse("60/minute") == (60, 60)
    assert quota.rate_parse("5/s") == (5, 1) and quota.rate_parse("1000/day") == (1000, 86400)


@pytest.mark.parametrize("rate", ["lots", "60/fortnight", "-1/minute", "60", "/minute"])
def test_it_refuses_a_rate_it_cannot_read_with_a_clear_error(rate):
    with pytest.raises(ValueError, match="is not a rate like 60/minute"):
        quota.rate_parse(rate)


def test_a_clients_window_is_one_period_long_and_shifted_by_its_key():
    index, left = quota.window_of("anon:10.0.0.1", 60, NOW)
    later, left_later = quota.window_of("anon:10.0.0.1", 60, NOW + left)

    assert 0 < left <= 60 and later == index + 1 and left_later == pytest.approx(60)
    shifts = {quota.window_of(f"anon:10.0.0.{n}", 60, NOW)[1] for n in range(50)}
    assert len(shifts) > 10  # clients' windows turn at different seconds


def test_it_counts_each_request_in_its_window(counters):
    counts = [counters.hit("anon:10.0.0.1", 60, 7) for _ in range(3)]

    assert counts == [1, 2, 3]
    assert counters.hit("anon:10.0.0.2", 60, 7) == 1 and counters.hit("anon:10.0.0.1", 60, 8) == 1
    assert counters.hit("anon:10.0.0.1", 3600, 7) == 1  # another rate's window is another counter


def test_it_refuses_past_the_limit_and_says_when_the_window_turns(counters):
    _, left = quota.window_of("anon:10.0.0.3", 60, NOW)

    taken = [quota.quota_take(counters, "anon:10.0.0.3", "2/minute", NOW) for _ in range(3)]

    assert [allowed for allowed, _ in taken] == [True, True, False]
    assert all(wait == pytest.approx(left) for _, wait in taken)
    assert quota.quota_take(counters, "anon:10.0.0.3", "2/minute", NOW + left)[0] is True


def test_clear_forgets_every_count(counters):
    counters.hit("anon:10.0.0.4", 60, 7)

    counters.clear()

    assert counters.hit("anon:10.0.0.4", 60, 7) == 1


def _hit_many(root, times, queue):
    store = quota.FileCounters(root)
    queue.put([store.hit("anon:10.0.0.5", 60, 7) for _ in range(times)])


def test_concurrent_processes_each_get_their_own_place_in_the_count(tmp_path):
    """The count a request gets back is its own: four processes asking at once never see the same number."""
    queue = multiprocessing.get_context("fork").Queue()
    processes = [
        multiprocessing.get_context("fork").Process(target=_hit_many, args=(tmp_path, 250, queue)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    counts = [count for _ in processes for count in queue.get(timeout=60)]
    for process in processes:
        process.join(timeout=60)

    assert sorted(counts) == list(range(1, 1001))


def test_the_file_store_keeps_only_the_windows_still_counted(tmp_path):
    store = quota.FileCounters(tmp_path)
    for window in range(10):
        store.hit("anon:10.0.0.6", 60, window)
    store.hit("anon:10.0.0.6", 3600, 1)

    kept = sorted(path.name for path in tmp_path.iterdir())

    assert kept == ["3600s-1", "60s-7", "60s-8", "60s-9"]


def test_it_refuses_a_throttle_cache_that_workers_would_not_share():
    with pytest.raises(ImproperlyConfigured, match="must be Redis or files"):
        quota.counters_for(LocMemCache("quota-test", {}))
