"""Conditional GET and page caching for the public pages.

A page depends on the review's latest published version, its last successful search, and its last triage
change and study approval (they move the live PRISMA counts of screening not yet in a version);
`selectors_public.review_stamp` reads all four in one query. The stamp keys the rendered page in the Django
cache and makes the ETag, so any of these invalidates both and nothing else does. A stamp is read once per
request, however many of these helpers ask, and is itself cached for PAGES_STAMP_SECONDS (default 2):
compiling its query costs more than serving a cached page, so a busy server asks the database about once a
second and a new version shows within that time.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition

from evidence.selectors_public import ReviewStamp, review_stamp

PAGES_REVISION = "pages-3"  # bump when a template change alters what a page shows
PAGE_TIMEOUT = 24 * 3600  # a stamp change makes a new key; the timeout only bounds memory


def stamp(request: HttpRequest, slug: str) -> ReviewStamp | None:
    memo = request.__dict__.setdefault("_review_stamps", {})
    if slug not in memo:
        memo[slug] = _shared_stamp(slug)
    return memo[slug]


def _shared_stamp(slug: str) -> ReviewStamp | None:
    seconds = getattr(settings, "PAGES_STAMP_SECONDS", 2)
    if not seconds:
        return review_stamp(slug=slug)
    key = f"stamp:{PAGES_REVISION}:{slug}"
    held = cache.get(key)  # a 1-tuple, so an unknown slug (None) is cached too
    if held is None:
        held = (review_stamp(slug=slug),)
        cache.set(key, held, seconds)
    return held[0]


def _key(request: HttpRequest, slug: str) -> str | None:
    found = stamp(request, slug)
    return None if found is None else f"{PAGES_REVISION}:{request.path}:{found.parts()}"


def etag(request: HttpRequest, slug: str, **kwargs) -> str | None:
    key = _key(request, slug)
    return None if key is None else hashlib.sha256(key.encode()).hexdigest()[:32]


def last_modified(request: HttpRequest, slug: str, **kwargs) -> datetime.datetime | None:
    found = stamp(request, slug)
    return None if found is None else found.last_modified


conditional = condition(etag_func=etag, last_modified_func=last_modified)


def cached_page(request: HttpRequest, slug: str, build: Callable[[], HttpResponse]) -> HttpResponse:
    """The stored bytes when this stamp's page was rendered before; otherwise build, store and return it."""
    key = _key(request, slug)
    hit = cache.get(f"page:{key}") if key else None
    if hit is not None:
        content, headers = hit
        response = HttpResponse(content, headers=headers)
    else:
        response = build()
        if key and response.status_code == 200:
            kept = {name: response[name] for name in ("Content-Type", "Content-Disposition") if name in response}
            cache.set(f"page:{key}", (response.content, kept), PAGE_TIMEOUT)
    patch_cache_control(response, public=True, max_age=0, must_revalidate=True)
    return response
