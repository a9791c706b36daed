"""What ``/healthz`` checks: the database answers, the broker answers, and a public page renders.

The page check catches what a bare ``SELECT 1`` misses: an image whose static manifest is missing or stale
answers 500 on every page while the database is fine.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def database_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def broker_check() -> str:
    url = settings.CELERY_BROKER_URL
    if settings.USES_REDIS:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    if url.startswith("filesystem"):
        from evidence.config.celery import ensure_broker_folders

        ensure_broker_folders()  # as the first publish would: a fresh var/ has none yet
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]
        if not os.access(folder, os.W_OK):
            raise OSError(f"broker folder {folder} is missing or not writable")
    return "ok"


def public_page_check(request: HttpRequest) -> str:
    """Render the home page (templates, static manifest, selectors) as a visitor would get it."""
    from evidence.publishing.views import home

    page = HttpRequest()
    page.method, page.path, page.path_info = "GET", "/", "/"
    page.META = {
        key: value for key, value in request.META.items() if key in {"SERVER_NAME", "SERVER_PORT", "HTTP_HOST"}
    }
    response = home(page)
    if response.status_code != 200:
        raise RuntimeError(f"the home page answered {response.status_code}")
    return "ok"


def health_checks(request: HttpRequest) -> tuple[bool, dict[str, str]]:
    """Each check's result ("ok" or its error in one line) and whether all passed."""
    checks: dict[str, Callable[[], str]] = {
        "database": database_check,
        "broker": broker_check,
        "page": lambda: public_page_check(request),
    }
    results = {}
    for name, check in checks.items():
        try:
            results[name] = check()
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return all(value == "ok" for value in results.values()), results


def healthz(request: HttpRequest) -> JsonResponse:
    """The container health check: the database and the broker answer and a public page renders (else 503)."""
    healthy, checks = health_checks(request)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)
