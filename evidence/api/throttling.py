"""Quotas: anonymous clients by IP address, registries (token holders) by token, with a higher rate.

Rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``anon``, ``registry``), read from the
environment by the settings. They are read per request rather than once at import, as DRF's own classes
do, so ``override_settings`` in a test (or a reload) takes effect. Over quota: 429 with ``Retry-After``.
Counting is ``evidence.api.quota``'s: one counter per client per window, shared by every web worker.
"""

from __future__ import annotations

import time

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from evidence.api import quota


class _WindowThrottle(BaseThrottle):
    scope: str
    timer = time.time  # the clock, as in DRF's throttles; a test holds it still so its requests share a window

    def get_cache_key(self, request, view) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        key = self.get_cache_key(request, view)
        return True if key is None else self.take(key)

    def take(self, key: str) -> bool:
        """Count one request of ``key``; whether it is within the quota (no rate set: always)."""
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        # Counters in the shared "throttle" store (Redis, or files on the embedded stack), not per process:
        # with a per-worker cache three gunicorn workers served three times the quota.
        allowed, self._wait = quota.quota_take(quota.counters_for(caches["throttle"]), key, rate, self.timer())
        return allowed

    def wait(self) -> float:
        return self._wait


class AnonThrottle(_WindowThrottle):
    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.address_key(request)

    def address_key(self, request) -> str:
        return f"anon:{self.get_ident(request)}"


class RegistryThrottle(_WindowThrottle):
    """Token-authenticated clients; anonymous ones are left to ``AnonThrottle``."""

    scope = "registry"

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return f"registry:{request.user.pk}"


def anonymous_quota_allows(request) -> bool | None:
    """The anonymous quota for a request with no ``Authorization`` header (the API authenticates by token only),
    without building DRF's request: True or False, or None when only DRF's authentication can tell."""
    if "HTTP_AUTHORIZATION" in request.META:
        return None
    throttle = AnonThrottle()
    return throttle.take(throttle.address_key(request))
