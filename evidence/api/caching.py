"""Validators for cheap polling: ``ETag``, ``Last-Modified`` and 304 answers.

The ETag is a hash of the exact bytes served (so JSON, CSV, RIS and FHIR each have their own), which
stays right whatever changed underneath: a new version, an edited study, a deleted row.
A stored export (``evidence.publishing.exports``) brings its own: the hash of its bytes and when it was stored.
Otherwise ``Last-Modified`` is when the server first served those bytes at that URL, remembered in the cache; it
can only be later than the true change, so ``If-Modified-Since`` may cost a full answer but never hides
one. ``If-None-Match`` takes precedence over ``If-Modified-Since`` (RFC 9110), as Django implements it.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date, quote_etag
from rest_framework.exceptions import APIException

from evidence.api import throttling
from evidence.publishing import http_cache

# How long the first-seen time of a representation is remembered; after that it is simply seen afresh.
FIRST_SEEN_SECONDS = 30 * 24 * 3600
CACHE_CONTROL = "public, max-age=0, must-revalidate"


def etag_of(response: HttpResponse) -> str:
    digest = hashlib.sha256(response.get("Content-Type", "").encode() + b"\n" + response.content)
    return quote_etag(digest.hexdigest()[:40])


def stored_validators(response: HttpResponse, stored) -> tuple[str, int]:
    """A stored export's ETag (the hash ``etag_of`` gives its uncompressed bytes; weak when sent gzipped, as
    Django's GZipMiddleware marks a compressed body) and Last-Modified (when it was stored)."""
    etag = quote_etag(stored.sha256[:40])
    if response.get("Content-Encoding") == "gzip":
        etag = f"W/{etag}"
    return etag, int(stored.created_at.timestamp())


def first_seen(request: HttpRequest, etag: str) -> int:
    """The time (whole seconds) this URL first answered with this ETag."""
    url = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
    key = f"api:first-seen:{url}:{etag.strip(chr(34))}"
    now = int(time.time())
    seen = cache.get_or_set(key, now, FIRST_SEEN_SECONDS)
    return int(seen) if seen is not None else now


def conditional_get(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Set the validators on a successful GET/HEAD answer and turn it into a 304 when the client has it."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    stored = getattr(response, "version_export", None)
    if stored is not None:  # a stored export: its hash and its writing need no work and survive restarts
        etag, last_modified = stored_validators(response, stored)
    else:
        etag = etag_of(response)
        last_modified = first_seen(request, etag)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ["Accept"])
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)


class HeldAnswerMixin:
    """Serve a successful GET again from this process's memory (``http_cache.held_answer``) while the review's
    stamp holds, past DRF's negotiation, rendering and validators but never past its throttles.

    Only the quota checks run before a held answer: with no token, the anonymous quota alone; with one, DRF's
    authentication (a token names a registry's quota) and the throttle classes. Their counters are in the shared
    store. A request they refuse takes the full path, which refuses it again and answers the JSON 429 or 401
    (counting it twice changes nothing: a client past its limit stays refused until its window turns).
    Errors, 400s and 503s are never held.
    """

    def dispatch(self, request, *args, **kwargs):
        key = http_cache.held_answer_key(request, kwargs["slug"]) if request.method == "GET" else None
        held = http_cache.held_answer(request, key) if key is not None else None
        if held is not None and self._quota_allows(request, *args, **kwargs):
            return held
        response = super().dispatch(request, *args, **kwargs)
        if key is not None:
            http_cache.held_answer_keep(key, response)
        return response

    def _quota_allows(self, request, *args, **kwargs) -> bool:
        allowed = throttling.anonymous_quota_allows(request)
        if allowed is not None:  # no token: the anonymous quota, counted without DRF's request
            return allowed
        try:
            self.check_throttles(self.initialize_request(request, *args, **kwargs))
        except APIException:  # over quota, or a bad token
            return False
        return True
