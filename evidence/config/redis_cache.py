"""Django's Redis cache with one redis-py client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every operation, and redis-py fills
~170 response callbacks in each constructor: ~0.18 ms a call, on every API request (the quota counters live in
the "throttle" cache's Redis). A client is thread-safe and holds no connection of its own (the pool
does), so one per pool serves every operation.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class _PooledClientRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # connection pool -> its one client

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        if pool not in self._clients:
            self._clients[pool] = self._client(connection_pool=pool)
        return self._clients[pool]


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _PooledClientRedisCacheClient
