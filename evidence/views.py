"""Public pages: thin; they read through selectors and render."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from evidence import selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "evidence/home.html", {"reviews": selectors.review_summaries()})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the container health check: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
