"""Arguments both search commands take (poll_pubmed, poll_registry): which reviews, and from when."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone

from evidence.models import LivingStatus, Review


def since_date(value: str | None) -> dt.date | None:
    """--since as a date; a malformed or future date is a one-line error."""
    if not value:
        return None
    try:
        start = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--since {value!r} is not a date; use YYYY-MM-DD, e.g. 2024-01-31.") from exc
    if start > timezone.localdate():
        raise CommandError(f"--since {start} is in the future.")
    return start


def reviews_to_search(slug: str | None) -> list[Review]:
    """The review named by --review, or every living review."""
    if slug is None:
        return list(Review.objects.filter(living_status=LivingStatus.LIVING).order_by("slug"))
    found = Review.objects.filter(slug=slug).first()
    if found is None:
        known = ", ".join(Review.objects.order_by("slug").values_list("slug", flat=True)) or "none"
        raise CommandError(f"No review with slug {slug!r}; known reviews: {known}.")
    return [found]
