"""Quotas: anonymous clients by IP address, registries (token holders) by token, with a higher rate.

Rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``anon``, ``registry``), read from the
environment by the settings. They are read per request rather than once at import, as DRF's own classes
do, so ``override_settings`` in a test (or a reload) takes effect. Over quota: 429 with ``Retry-After``.
"""

from __future__ import annotations

from django.core.cache import caches
from django.utils.connection import ConnectionProxy
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _RatesFromSettings:
    scope: str
    # Counters in the shared "throttle" cache (Redis, or the database on the embedded stack), not per process:
    # with a per-worker cache three gunicorn workers served three times the quota.
    cache = ConnectionProxy(caches, "throttle")

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RatesFromSettings, AnonRateThrottle):
    scope = "anon"


class RegistryThrottle(_RatesFromSettings, UserRateThrottle):
    """Token-authenticated clients; anonymous ones are left to ``AnonThrottle``."""

    scope = "registry"

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
