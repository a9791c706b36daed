"""The throttle's Redis cache builds one redis-py client per connection pool, not one per operation.

Django's RedisCache makes a new ``redis.Redis`` for every get and set, and redis-py fills ~170 response
callbacks in each constructor: ~0.36 ms of the ~1.2 ms CPU a held FHIR page costs, on every API request (the
quota's read and write).
"""

from __future__ import annotations

import os

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from evidence.config.redis_cache import RedisCache

REDIS_URL = (
    os.environ.get("CELERY_BROKER_URL", "") if os.environ.get("CELERY_BROKER_URL", "").startswith("redis") else ""
)


def _cache(url: str = "redis://127.0.0.1:6379/13") -> RedisCache:
    return RedisCache(url, {"KEY_PREFIX": "test-redis-cache"})


def test_one_client_serves_every_operation_of_a_pool():
    cache = _cache()

    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=False)
    assert isinstance(cache, DjangoRedisCache)  # everything else is Django's


def test_it_reads_and_writes_as_djangos_backend_does():
    if not REDIS_URL:
        pytest.skip("redis unavailable: this run names no redis:// CELERY_BROKER_URL (CI's second run does)")
    cache = _cache(REDIS_URL)
    cache.delete("history")

    assert cache.get("history", []) == []
    cache.set("history", [1.5, 2.5], 60)
    assert cache.get("history") == [1.5, 2.5] and cache.add("history", [], 60) is False
    cache.delete("history")
