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
import gzip
import hashlib
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import parse_http_date_safe
from django.views.decorators.http import condition

from evidence.models import ReviewVersion
from evidence.models.version import VersionExport
from evidence.publishing import exports
from evidence.publishing.selectors import ReviewStamp, review_stamp

PAGES_REVISION = "pages-5"  # bump when a template change alters what a page shows
PAGE_TIMEOUT = 24 * 3600  # a stamp change makes a new key; the timeout only bounds memory
PAGE_KIND = "page"  # a rendered public page among a version's stored exports
GZIP_FROM = 256 * 1024  # smaller pages go as they are: compressing them saves less than it costs
_LARGE_PAGES = exports.ProcessMemo(entries=8)
# API answers held as sent (see held_answer): a 1,000-entry FHIR page is ~0.1 MB gzipped, ~1 MB plain; larger
# answers are not held, so this holds at most ~32 MB.
_HELD_ANSWERS = exports.ProcessMemo(entries=32)
HELD_ANSWER_MAX = 1024 * 1024


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
    if key is None:
        return None
    # A large page goes gzipped to a client that takes gzip: another representation, another ETag.
    return hashlib.sha256(key.encode()).hexdigest()[:32] + ("-gzip" if exports.accepts_gzip(request) else "")


def last_modified(request: HttpRequest, slug: str, **kwargs) -> datetime.datetime | None:
    found = stamp(request, slug)
    return None if found is None else found.last_modified


conditional = condition(etag_func=etag, last_modified_func=last_modified)


def cached_page(request: HttpRequest, slug: str, build: Callable[[], HttpResponse]) -> HttpResponse:
    """The stored bytes when this stamp's page was rendered before; otherwise build, store and return it.

    Two levels: this process's memory, then the database (``VersionExport``, one row per page, replaced when
    the stamp moves), which every web worker shares and a restart keeps: the first render of a 1,000-study
    review's page took 20-28 s in every worker after every restart. A page past GZIP_FROM bytes is kept
    gzipped too and sent so to a client that takes gzip (the 1,000-study page, capped at 25 studies an analysis: 4.9 MB, 0.25 MB gzipped).
    """
    key = _key(request, slug)
    hit = _memory_get(key) if key else None
    if hit is None and key:
        hit = _stored_page(request, slug, key)
        if hit is not None:
            _memory_set(key, hit)
    if hit is None:
        response = build()
        if not key or response.status_code != 200:
            patch_cache_control(response, public=True, max_age=0, must_revalidate=True)
            return response
        kept = {name: response[name] for name in ("Content-Type", "Content-Disposition") if name in response}
        hit = (response.content, kept, _gzipped(response.content))
        _memory_set(key, hit)
        _page_store(request, slug, key, hit)
    response = _page_response(request, *hit)
    patch_cache_control(response, public=True, max_age=0, must_revalidate=True)
    return response


def _memory_get(key: str) -> tuple | None:
    return _LARGE_PAGES.get(key) or cache.get(f"page:{key}")


def _memory_set(key: str, hit: tuple) -> None:
    if hit[2] is None:
        cache.set(f"page:{key}", hit, PAGE_TIMEOUT)
    else:  # a large page: held as it is, not pickled into the cache on every read
        _LARGE_PAGES.set(key, hit)


def _gzipped(content: bytes) -> bytes | None:
    # As the stored exports: the 1,000-study page (4.9 MB, capped at 25 studies an analysis) goes as 0.25 MB, not
    # the 0.36 MB of level 1, for ~30 ms once per stamp; every request sends it (issue 15: p99 under 100 ms).
    return gzip.compress(content, exports.GZIP_LEVEL, mtime=0) if len(content) >= GZIP_FROM else None


def _page_response(request: HttpRequest, content: bytes, headers: dict, gzipped: bytes | None) -> HttpResponse:
    if gzipped is None:
        return HttpResponse(content, headers=headers)
    if exports.accepts_gzip(request):
        response = HttpResponse(gzipped, headers={**headers, "Content-Encoding": "gzip"})
    else:
        response = HttpResponse(bytes(content), headers=headers)
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


class _Inflated:
    """A stored large page, uncompressed only if a client that does not take gzip asks for it."""

    def __init__(self, gzipped: bytes) -> None:
        self.gzipped = gzipped
        self._content: bytes | None = None

    def __bytes__(self) -> bytes:
        if self._content is None:
            self._content = gzip.decompress(self.gzipped)
        return self._content


def _page_row(request: HttpRequest, slug: str, key: str) -> tuple[int | None, str, str]:
    """The latest version the page belongs to, its row's variant (the path) and stamp (the cache key)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return stamp(request, slug).latest_version_id, hashlib.sha256(request.path.encode()).hexdigest(), digest


def _stored_page(request: HttpRequest, slug: str, key: str) -> tuple[bytes, dict, bytes | None] | None:
    version_id, variant, digest = _page_row(request, slug, key)
    row = VersionExport.objects.filter(version_id=version_id, kind=PAGE_KIND, variant=variant, stamp=digest).first()
    if row is None:
        return None
    stored = bytes(row.content)
    if row.size < GZIP_FROM:
        return gzip.decompress(stored), {"Content-Type": row.content_type}, None
    return _Inflated(stored), {"Content-Type": row.content_type}, stored


def _page_store(request: HttpRequest, slug: str, key: str, hit: tuple[bytes, dict, bytes | None]) -> None:
    """HTML pages only: a download is a stored export already (``evidence.publishing.downloads``)."""
    content, headers, gzipped = hit
    content_type = headers.get("Content-Type", "")
    version_id, variant, digest = _page_row(request, slug, key)
    if not content_type.startswith("text/html") or version_id is None:
        return
    if not ReviewVersion.objects.filter(pk=version_id).exists():  # a stamp held up to PAGES_STAMP_SECONDS
        return
    built = exports.BuiltExport(content, content_type)
    exports.version_export_store(
        version=ReviewVersion(pk=version_id), kind=PAGE_KIND, variant=variant, stamp=digest, built=built,
        gzipped=gzipped,
    )  # fmt: skip
    # Every page belongs to the latest version: the same page's row under an older one is never read again.
    VersionExport.objects.filter(kind=PAGE_KIND, variant=variant).exclude(version_id=version_id).delete()


# --- API answers held as sent --------------------------------------------------------------------------------
# A stored export's answer (the FHIR Bundle's pages) depends only on the URL, the Accept and Accept-Encoding
# headers and the review's stamp. Its full path through DRF (negotiation, renderers, validators) cost ~1.2 ms of
# CPU where the public page, held by stamp, costs ~0.4 ms: 330 req/s and p99 290 ms on the 1,000-study review.


def held_answer_key(request: HttpRequest, slug: str) -> str | None:
    """What a held answer is filed under: the stamp's parts (a new version, search or approval files a new one,
    and the stamp itself is read again every PAGES_STAMP_SECONDS) and what the client asked for."""
    found = stamp(request, slug) if getattr(settings, "PAGES_STAMP_SECONDS", 2) else None
    if found is None:  # nothing is held when nothing may be (PAGES_STAMP_SECONDS=0): no stamp query then
        return None
    asked = (request.get_full_path(), request.META.get("HTTP_ACCEPT", ""), exports.accepts_gzip(request))
    return f"{PAGES_REVISION}:{found.parts()}:{asked}"


def held_answer_keep(key: str, response: HttpResponse) -> None:
    """Hold a successful answer as it was sent (bytes, headers and validators; nothing that sets a cookie) for
    PAGES_STAMP_SECONDS, as the stamp is held: a review made private, say, moves no stamp."""
    last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
    if response.status_code != 200 or response.streaming or response.cookies or last_modified is None:
        return
    seconds = getattr(settings, "PAGES_STAMP_SECONDS", 2)
    if not seconds or "ETag" not in response or len(response.content) > HELD_ANSWER_MAX:
        return
    held = (response.content, tuple(response.items()), response["ETag"], last_modified)
    _HELD_ANSWERS.set(key, (time.monotonic() + seconds, held))


def held_answer(request: HttpRequest, key: str) -> HttpResponse | None:
    """The held answer as a fresh response (a 304 when the client has it), or None when none is held."""
    found = _HELD_ANSWERS.get(key)
    if found is None or found[0] < time.monotonic():
        return None
    content, headers, etag, last_modified = found[1]
    response = HttpResponse(content, headers=dict(headers))
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
