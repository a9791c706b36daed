"""A reader during a recompute sees the old version or the new one, never half of one (PostgreSQL)."""

import threading
import time

import pytest
from django.db import connection, connections

from evidence.core.selectors import latest_published_version
from evidence.models import StudyResult
from evidence.synthesis.recompute import review_recompute
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set


@pytest.fixture
def postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("postgresql unavailable: this run uses SQLite (CI's second run uses PostgreSQL)")


def test_a_concurrent_reader_never_sees_a_partly_written_version(postgresql, monkeypatch):
    from evidence.models import Review
    from evidence.seed.load import seed_load

    seed_load()
    review = Review.objects.get(slug="msc-ssc")
    measurement_set(review, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    real_bulk_create = StudyResult.objects.bulk_create

    def slow_bulk_create(objs, *args, **kwargs):
        time.sleep(0.2)  # widen the window in which a half-written version would be visible
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(StudyResult.objects, "bulk_create", slow_bulk_create)
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                version = latest_published_version(review=Review.objects.get(pk=review.pk))
                seen.append((version.number, version.pooled_results.count()))
                time.sleep(0.005)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        final = review_recompute(review=review, trigger="concurrency test").version
        time.sleep(0.1)
    finally:
        done.set()
        reader.join(timeout=10)
    complete = {0: review.versions.get(number=0).pooled_results.count(), 1: final.pooled_results.count()}
    assert {number for number, _ in seen} == {0, 1}, "the reader should have seen both versions"
    assert all(rows == complete[number] for number, rows in seen), [s for s in seen if s[1] != complete[s[0]]][:5]
