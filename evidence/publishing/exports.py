"""A version's exports, built once and kept as bytes (``VersionExport``), never built per request.

A 1,000-study review's FHIR bundle took 37 s to build and its study-level CSV two minutes: built per request,
three anonymous requests held every web worker. Now the downloads (pooled and study-level CSV and JSON, the
reports' RIS) and the FHIR bundle's pages (its URLs name EVIDENCE_PUBLIC_BASE_URL) are written once the version
is committed; every request serves the stored bytes.

A version is immutable, but two exports also read live data: the RIS lists the reports of the version's
studies that are *still* approved, and the FHIR bundle adds those reports and the review's ongoing trials.
Their rows carry ``export_stamp`` (when any of that last changed); a row with another stamp is built once more.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import itertools
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from evidence.models import Registration, ReviewVersion, Study, StudyReport, StudyResult
from evidence.models.extraction import StudyApproval
from evidence.models.version import VersionExport

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


# --- The version's FHIR Bundle, in stored pages -------------------------------------------------------------
# A 1,000-study version's Bundle is ~60,000 entries (~290 MB of JSON): built at a request it outlived gunicorn's
# 30 s timeout and was never stored. Its URLs now name EVIDENCE_PUBLIC_BASE_URL, not the request's host, so the
# worker writes it once at publication, cut into pages of EVIDENCE_FHIR_PAGE_SIZE entries linked first /
# previous / next / last, as FHIR servers page a large Bundle. A request only serves those bytes; a small version
# published before the pages existed is written at its first request; a large one by the worker (503 meanwhile).

FHIR_PAGES = "fhir.pages"  # the manifest, written after every page: its presence means the set is complete
FHIR_CLAIM = "fhir.claim"  # held while one process writes the pages, so two never build the same export
FHIR_INLINE_MAX_ENTRIES = 5_000  # ~25 MB of JSON, a few seconds: more than this is never built at a request
FHIR_CLAIM_STALE = datetime.timedelta(minutes=15)  # a claim this old was left by a process that died
FHIR_WAIT_SECONDS = 20.0  # how long a request waits for another process's write of a small version


def fhir_page_variant(number: int) -> str:
    return f"page-{number}"


def fhir_url(version: ReviewVersion, *, number: int = 1, count: int | None = None) -> str:
    """A page's public URL: the first page at the bare URL, as it was before pages."""
    from django.conf import settings
    from django.urls import reverse

    path = reverse("api:version-fhir", kwargs={"slug": version.review.slug, "number": str(version.number)})
    query = [f"_count={count}"] if count is not None and count != settings.EVIDENCE_FHIR_PAGE_SIZE else []
    query += [f"page={number}"] if number > 1 or query else []
    return settings.EVIDENCE_PUBLIC_BASE_URL + path + ("?" + "&".join(query) if query else "")


def fhir_page_links(version: ReviewVersion, *, number: int, pages: int, count: int | None = None) -> dict:
    links = {"first": fhir_url(version, count=count)}
    if number > 1:
        links["previous"] = fhir_url(version, number=number - 1, count=count)
    if number < pages:
        links["next"] = fhir_url(version, number=number + 1, count=count)
    links["last"] = fhir_url(version, number=pages, count=count)
    return links


def fhir_api_base() -> str:
    from django.conf import settings
    from django.urls import reverse

    return (settings.EVIDENCE_PUBLIC_BASE_URL + reverse("api:root")).rstrip("/")


def fhir_pages_write(*, version: ReviewVersion) -> int:
    """Write every page of the version's Bundle, then its manifest; returns the number of pages. The entries
    are rendered a page at a time: the whole Bundle is never held in memory."""
    from django.conf import settings

    from evidence.publishing.formats import fhir
    from evidence.publishing.formats.renderers import FHIRRenderer
    from evidence.publishing.selectors import api as selectors_api

    stamp = export_stamp(version=version)
    evidence = selectors_api.version_evidence(version=version)
    size, base, renderer = settings.EVIDENCE_FHIR_PAGE_SIZE, fhir_api_base(), FHIRRenderer()
    total = fhir.version_entry_count(evidence)
    pages = max(math.ceil(total / size), 1)
    entries = fhir.version_entries(evidence, base_url=base)
    for number in range(1, pages + 1):
        links = fhir_page_links(version, number=number, pages=pages) if pages > 1 else {}
        page = list(itertools.islice(entries, size))
        bundle = fhir.bundle_page(
            evidence, base_url=base, entries=page, self_url=fhir_url(version, number=number), links=links
        )
        built = BuiltExport(renderer.render(bundle, renderer.media_type), renderer.media_type)
        version_export_store(version=version, kind=FHIR, variant=fhir_page_variant(number), built=built, stamp=stamp)
    stale = VersionExport.objects.filter(version=version, kind=FHIR)
    stale.exclude(variant__in=[fhir_page_variant(n) for n in range(1, pages + 1)]).delete()  # a longer write's
    manifest = json.dumps({"pages": pages, "count": size, "entries": total}).encode()
    version_export_store(version=version, kind=FHIR_PAGES, built=BuiltExport(manifest, "application/json"), stamp=stamp)
    return pages


def fhir_manifest(*, version: ReviewVersion) -> VersionExport | None:
    return VersionExport.objects.filter(version=version, kind=FHIR_PAGES, variant="").first()


def fhir_manifest_data(row: VersionExport) -> dict:
    return json.loads(gzip.decompress(bytes(row.content)))


def fhir_page(*, version: ReviewVersion, number: int) -> VersionExport | None:
    rows = VersionExport.objects.filter(version=version, kind=FHIR, variant=fhir_page_variant(number))
    return rows.defer("content").first()


def fhir_claim(*, version: ReviewVersion) -> bool:
    """Take the version's write of its FHIR pages: True for the one process that may write them now. The unique
    (version, kind, variant) makes a second insert fail; a claim older than FHIR_CLAIM_STALE is taken over."""
    now = timezone.now()
    try:
        with transaction.atomic():
            VersionExport.objects.create(
                version=version, kind=FHIR_CLAIM, content_type="", content=b"", sha256="", size=0
            )
        return True
    except IntegrityError:
        stale = VersionExport.objects.filter(version=version, kind=FHIR_CLAIM, created_at__lt=now - FHIR_CLAIM_STALE)
        return stale.update(created_at=now) == 1  # a conditional UPDATE: of two takers, one changes the row


def fhir_claim_release(*, version: ReviewVersion) -> None:
    VersionExport.objects.filter(version=version, kind=FHIR_CLAIM).delete()


def fhir_pages_write_claimed(*, version: ReviewVersion) -> bool:
    """Write the pages unless another process is writing them; True if this call wrote them."""
    if not fhir_claim(version=version):
        return False
    try:
        fhir_pages_write(version=version)
    finally:
        fhir_claim_release(version=version)
    return True


def fhir_pages_current(*, version: ReviewVersion) -> bool:
    manifest = fhir_manifest(version=version)
    return manifest is not None and manifest.stamp == export_stamp(version=version)


def fhir_pages_small(*, version: ReviewVersion) -> bool:
    """Whether a request may write the pages itself (a version published before pages were written)."""
    results = StudyResult.objects.filter(pooled_result__version=version).count()
    return results + version.pooled_results.count() <= FHIR_INLINE_MAX_ENTRIES


def fhir_pages_ensure(*, version: ReviewVersion, enqueue: Callable[[int], object]) -> bool:
    """Make the stored pages current if a request may: True when current pages (or, for a large version, stale
    ones while the worker rewrites them) can be served. A small version is written here under the claim (or
    waited for while another process writes it); a large one only ever by the worker (``enqueue``)."""
    if fhir_pages_current(version=version):
        return True
    if not fhir_pages_small(version=version):
        if not VersionExport.objects.filter(version=version, kind=FHIR_CLAIM).exists():  # else one is writing
            enqueue(version.pk)
        return fhir_manifest(version=version) is not None  # stale pages are served meanwhile
    if fhir_pages_write_claimed(version=version):
        return True
    deadline = time.monotonic() + FHIR_WAIT_SECONDS
    while time.monotonic() < deadline:  # another process writes them: seconds for a small version
        time.sleep(0.1)
        if fhir_pages_current(version=version):
            return True
    return False
