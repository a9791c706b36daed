"""A version's FHIR Bundle in stored pages (issue 15): written by the worker at publication, served as stored,
linked first/previous/next/last, every resource on exactly one page; never built at a request for a large
version; one writer at a time."""

from __future__ import annotations

import datetime
import itertools
import threading
import time

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from fhir.resources.bundle import Bundle

from evidence.api import views as api_views
from evidence.models import RecomputeRun, RecomputeStatus
from evidence.models.version import VersionExport
from evidence.publishing import exports
from evidence.publishing.formats import fhir
from evidence.publishing.selectors.api import version_evidence
from evidence.publishing.tasks import version_fhir_pages_write
from evidence.synthesis.recompute import recompute_run_execute

FHIR_URL = "/api/v1/reviews/msc-ssc/versions/{n}/fhir/"


def _fail(*args, **kwargs):
    raise AssertionError("built at a request: the stored pages should have been served")


def _path(url: str, settings) -> str:
    assert url.startswith(settings.EVIDENCE_PUBLIC_BASE_URL), "page links name the site's public address"
    return url[len(settings.EVIDENCE_PUBLIC_BASE_URL) :]


def _links(bundle: dict) -> dict:
    return {link["relation"]: link["url"] for link in bundle["link"]}


def _walk(api, first: str, settings) -> list[dict]:
    """Every page, following `next` from the first; each page checked against its neighbours' links."""
    pages, url = [], first
    while url:
        response = api.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json", response.content
        Bundle.model_validate_json(response.content)
        pages.append(response.json())
        nxt = _links(pages[-1]).get("next")
        url = _path(nxt, settings) if nxt else None
    return pages


def _whole(version, settings) -> list[str]:
    evidence = version_evidence(version=version)
    return [
        e["fullUrl"] for e in fhir.version_entries(evidence, base_url=settings.EVIDENCE_PUBLIC_BASE_URL + "/api/v1")
    ]


def test_it_pages_the_bundle_with_links_and_every_resource_on_exactly_one_page(api, seeded, settings):
    settings.EVIDENCE_FHIR_PAGE_SIZE = 10
    version = seeded.versions.get(number=0)

    pages = _walk(api, FHIR_URL.format(n=0), settings)

    whole = _whole(version, settings)
    served = [e["fullUrl"] for page in pages for e in page["entry"]]
    assert len(whole) > 20 and served == whole and len(set(served)) == len(served)
    assert len(pages) == -(-len(whole) // 10) and all(len(p["entry"]) == 10 for p in pages[:-1])
    last = _links(pages[-1])
    assert "next" not in last and last["self"] == last["last"] and "previous" not in _links(pages[0])
    for before, after in itertools.pairwise(pages):
        assert _links(after)["previous"] == _links(before)["self"] and _links(before)["next"] == _links(after)["self"]
    assert {_links(p)["first"] for p in pages} == {settings.EVIDENCE_PUBLIC_BASE_URL + FHIR_URL.format(n=0)}


def test_a_smaller_count_is_cut_from_the_stored_pages(api, seeded, settings):
    settings.EVIDENCE_FHIR_PAGE_SIZE = 10
    version = seeded.versions.get(number=0)

    pages = _walk(api, FHIR_URL.format(n=0) + "?_count=7", settings)

    served = [e["fullUrl"] for page in pages for e in page["entry"]]
    assert served == _whole(version, settings)
    assert all(len(p["entry"]) == 7 for p in pages[:-1]) and all("_count=7" in _links(p)["next"] for p in pages[:-1])
    assert api.get(FHIR_URL.format(n=0) + "?_count=500").json()["entry"].__len__() == 10  # never more than stored


@pytest.mark.parametrize(
    ("query", "status", "names"),
    [("?page=0", 400, "page"), ("?page=x", 400, "page"), ("?_count=-3", 400, "_count"), ("?page=99", 404, "page")],
)
def test_a_bad_page_or_count_is_a_clear_error(api, seeded, query, status, names):
    response = api.get(FHIR_URL.format(n=0) + query)

    assert response.status_code == status and response.json()["detail"].startswith(names)


def test_the_version_endpoint_pages_too(api, seeded, settings):
    settings.EVIDENCE_FHIR_PAGE_SIZE = 10

    second = api.get("/api/v1/reviews/msc-ssc/versions/0/?format=fhir&page=2")

    assert second.status_code == 200 and len(second.json()["entry"]) == 10


def test_the_worker_writes_the_pages_at_publication_and_a_request_only_serves_them(api, seeded, monkeypatch):
    run = RecomputeRun.objects.create(review=seeded)
    assert recompute_run_execute(run_id=run.id) == RecomputeStatus.PUBLISHED
    monkeypatch.setattr(fhir, "version_entries", _fail)
    monkeypatch.setattr(exports, "fhir_pages_write", _fail)

    served = api.get(FHIR_URL.format(n=1))

    assert served.status_code == 200 and served.json()["id"] == "msc-ssc-v1"
    assert VersionExport.objects.filter(version__number=1, kind="fhir.pages").count() == 1


def test_a_large_version_is_never_built_at_a_request_but_by_the_worker(
    api, seeded, monkeypatch, django_capture_on_commit_callbacks
):
    version = seeded.versions.get(number=0)
    monkeypatch.setattr(exports, "FHIR_INLINE_MAX_ENTRIES", 5)  # the seed version stands in for 1,000 studies
    sent = []
    monkeypatch.setattr(api_views, "task_publish", lambda task, *, args: sent.append((task, args)))
    real_entries = fhir.version_entries
    monkeypatch.setattr(fhir, "version_entries", _fail)

    with django_capture_on_commit_callbacks(execute=True):
        pending = api.get(FHIR_URL.format(n=0))
    monkeypatch.setattr(fhir, "version_entries", real_entries)
    assert version_fhir_pages_write(version.pk) is True  # as the worker runs it
    assert version_fhir_pages_write(version.pk) is False  # and again: nothing left to do
    served = api.get(FHIR_URL.format(n=0))

    assert pending.status_code == 503 and pending["Retry-After"] == "60" and "being written" in pending.json()["detail"]
    assert sent == [("evidence.version_fhir_pages_write", [version.pk])]
    assert served.status_code == 200 and served.json()["id"] == "msc-ssc-v0"


def test_a_claim_is_held_by_one_process_and_taken_over_once_stale(seeded):
    version = seeded.versions.get(number=0)

    assert exports.fhir_claim(version=version) is True
    assert exports.fhir_claim(version=version) is False
    VersionExport.objects.filter(kind="fhir.claim").update(created_at=timezone.now() - datetime.timedelta(hours=1))
    assert exports.fhir_claim(version=version) is True  # its writer died
    assert exports.fhir_claim(version=version) is False


@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_requests_write_the_pages_once(monkeypatch):
    from evidence.seed.load import seed_load

    seed_load()
    writes = []
    real_write = exports.fhir_pages_write

    def slow_write(*, version):
        writes.append(version.pk)
        time.sleep(0.5)  # both requests are in flight while the first writes
        return real_write(version=version)

    monkeypatch.setattr(exports, "fhir_pages_write", slow_write)
    barrier, answers = threading.Barrier(3), []

    def request():
        try:
            barrier.wait(timeout=10)
            answers.append(Client().get(FHIR_URL.format(n=0)))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(writes) == 1
    assert [a.status_code for a in answers] == [200, 200, 200] and len({a.content for a in answers}) == 1


def test_a_pooled_results_fhir_page_holds_at_most_a_page_of_entries(api, seeded, settings):
    """Each pooled row brings its study-level Evidence: the page holds as many rows as fit in a FHIR page
    (for a 1,000-study review one row, where 100 rows a page were the whole version, built per request)."""
    settings.EVIDENCE_FHIR_PAGE_SIZE = 10
    version = seeded.versions.get(number=0)
    most = max(row.study_results.count() for row in version.pooled_results.all())
    fits = max(10 // (1 + most), 1)

    first = api.get("/api/v1/reviews/msc-ssc/versions/0/pooled-results/?format=fhir")
    too_many = api.get(f"/api/v1/reviews/msc-ssc/versions/0/pooled-results/?format=fhir&page_size={fits + 1}")

    pooled = [e for e in first.json()["entry"] if e["resource"]["id"].startswith("pooled-result-")]
    assert first.status_code == 200 and len(pooled) == fits < version.pooled_results.count()
    assert "next" in _links(first.json())
    assert too_many.status_code == 400 and too_many.json()["detail"].startswith("page_size")
