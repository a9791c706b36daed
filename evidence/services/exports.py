"""A version's exports, built once and kept as bytes (``VersionExport``), never built per request.

A 1,000-study review's FHIR bundle took 37 s to build and its study-level CSV two minutes: built per request,
three anonymous requests held every web worker. Now the downloads (pooled and study-level CSV and JSON, the
reports' RIS) are written once the version is committed, and the FHIR bundle, whose every URL names the host
it was asked on, at its first request on that host; every later request serves the stored bytes.

A version is immutable, but two exports also read live data: the RIS lists the reports of the version's
studies that are *still* approved, and the FHIR bundle adds those reports and the review's ongoing trials.
Their rows carry ``export_stamp`` (when any of that last changed); a row with another stamp is built once more.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from evidence.models import Registration, ReviewVersion, Study, StudyReport
from evidence.models.extraction import StudyApproval
from evidence.models.version import VersionExport

logger = logging.getLogger(__name__)

FHIR = "fhir"
# Kinds that read more than the immutable version (see the module's docstring).
LIVE_KINDS = frozenset({"reports.ris", FHIR})
GZIP_LEVEL = 6  # ~15:1 on these files, ~3 s for a 290 MB bundle; level 9 buys 5% for twice the time


@dataclass(frozen=True)
class BuiltExport:
    content: bytes
    content_type: str


def export_stamp(*, version: ReviewVersion) -> str:
    """When the live data a live export reads last changed: the review, its studies (a withdrawal), approvals,
    reports and their citations (a retraction flag), and registrations (ongoing trials)."""
    review = version.review
    studies = Study.objects.filter(review=review).aggregate(m=Max("updated_at"))["m"]
    approved = StudyApproval.objects.filter(study__review=review).aggregate(m=Max("created_at"))["m"]
    reports = StudyReport.objects.filter(study__review=review).aggregate(
        n=Count("id"), last=Max("id"), main=Sum("id", filter=Q(is_main_report=True)), cited=Max("citation__updated_at")
    )
    trials = Registration.objects.filter(review=review).aggregate(m=Max("updated_at"))["m"]
    parts = [review.updated_at, studies, approved, *reports.values(), trials]
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def export_stored(
    *, version: ReviewVersion, kind: str, build: Callable[[], BuiltExport], variant: str = ""
) -> VersionExport:
    """The stored export; built (once) and stored when missing or stale."""
    stamp = export_stamp(version=version) if kind in LIVE_KINDS else ""
    row = VersionExport.objects.filter(version=version, kind=kind, variant=variant).defer("content").first()
    if row is not None and row.stamp == stamp:
        return row  # its bytes are read by ``stored_content``, from this process's memory when it has them
    return version_export_store(version=version, kind=kind, variant=variant, stamp=stamp, built=build())


def version_export_store(
    *,
    version: ReviewVersion,
    kind: str,
    built: BuiltExport,
    variant: str = "",
    stamp: str = "",
    level: int = GZIP_LEVEL,
    gzipped: bytes | None = None,
) -> VersionExport:
    """Store (or replace) one export (``gzipped``: its bytes compressed already). Two workers building the same
    row at once both store the same bytes."""
    fields = {
        "stamp": stamp,
        "content_type": built.content_type,
        "content": gzipped or gzip.compress(built.content, level, mtime=0),  # mtime 0: same bytes, same gzip
        "sha256": content_sha256(built.content_type, built.content),
        "size": len(built.content),
        "created_at": timezone.now(),  # Last-Modified: a rebuilt row is new, even if its bytes are not
    }
    row, _ = VersionExport.objects.update_or_create(version=version, kind=kind, variant=variant, defaults=fields)
    return row


class ProcessMemo:
    """The last few large byte strings this process served, kept as they are (the cache framework pickles
    every value: unpickling a 68 MB page on each request cost more than sending it)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._held: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._held:
                self._held.move_to_end(key)
            return self._held.get(key)

    def set(self, key, value) -> None:
        with self._lock:
            self._held[key] = value
            self._held.move_to_end(key)
            while len(self._held) > self.entries:
                self._held.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()


_STORED = ProcessMemo(entries=8)


def stored_content(row: VersionExport) -> bytes:
    """A stored export's gzip bytes: from this process's memory, else (once) from the database."""
    key = (row.pk, row.sha256, row.created_at)
    held = _STORED.get(key)
    if held is None:
        held = bytes(row.content)  # deferred by export_stored: one query for the bytes
        _STORED.set(key, held)
    return held


def content_sha256(content_type: str, content: bytes) -> str:
    """The hash the API's ETag has always been: the content type, a newline, the bytes."""
    return hashlib.sha256(content_type.encode() + b"\n" + content).hexdigest()


def version_exports_write(*, version: ReviewVersion, builders: dict[str, Callable[[], BuiltExport]]) -> None:
    """Write every host-independent export of a version (the downloads) now."""
    stamp = export_stamp(version=version)
    for kind, build in builders.items():
        version_export_store(version=version, kind=kind, built=build(), stamp=stamp if kind in LIVE_KINDS else "")


def version_exports_write_safely(*, version: ReviewVersion) -> bool:
    """Write a new version's downloads in the recompute's worker, once it is published. A failure is logged,
    not raised: the run is done, and a missing file is built at its first request instead."""
    from evidence import downloads  # the builders; downloads imports models and selectors only

    try:
        version_exports_write(version=version, builders=downloads.builders(version))
    except Exception:
        logger.exception("the exports of %s were not written; each is built at its first request", version)
        return False
    return True


def export_response(request: HttpRequest, row: VersionExport, *, headers: dict | None = None) -> HttpResponse:
    """The stored bytes: as stored (gzip) to a client that accepts it, else uncompressed."""
    content = stored_content(row)
    response = HttpResponse(content_type=row.content_type, headers=headers)
    if accepts_gzip(request):
        response.content = content
        response["Content-Encoding"] = "gzip"
    else:
        response.content = gzip.decompress(content)
    response["Vary"] = "Accept-Encoding"
    response.version_export = row  # the validators come from the row (evidence.api.caching)
    return response


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether ``Accept-Encoding`` takes gzip (``gzip;q=0`` refuses it)."""
    for part in request.META.get("HTTP_ACCEPT_ENCODING", "").split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() != "gzip":
            continue
        quality = params.strip()
        try:
            return float(quality[2:]) > 0 if quality.startswith("q=") else True
        except ValueError:
            return False
    return False
