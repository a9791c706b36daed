"""The workspace's PRISMA 2020 page: the review's flow so far, and the records that still wait at each step."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from evidence.core.workspace import _context, _review
from evidence.synthesis import prisma
from evidence.workspace.work import records_awaiting


def screening_prisma(request: HttpRequest, review_id: int) -> HttpResponse:
    review = _review(request, review_id)
    since = request.GET.get("since")
    from django.utils.dateparse import parse_datetime

    since_dt = parse_datetime(since) if since else None
    counts = prisma.prisma_counts(review=review, since=since_dt)
    return render(
        request,
        "admin/screening/prisma.html",
        _context(
            request,
            title="PRISMA 2020 flow",
            review=review,
            counts=counts,
            full_text_reasons=prisma.reasons_in_words(counts.full_texts_excluded_by_reason),
            since=since_dt,
            awaiting=records_awaiting(review=review),
        ),
    )
