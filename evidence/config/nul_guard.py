"""Refuse a NUL character in a request's path or query with a 400 before any view runs.

PostgreSQL cannot hold NUL in text: a lookup such as ``/api/v1/reviews/%00/`` would reach the database and
fail there with a 500 (SQLite just finds nothing). No URL of the site legitimately carries one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class NulRefusingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            # JSON, as the API documents its 400s ({"detail": ...}); a browser shows it as readable text too.
            return JsonResponse({"detail": "A URL may not contain a NUL character (%00)."}, status=400)
        return self.get_response(request)
