"""A version's exports (downloads, FHIR bundle) and public pages are built once and served as stored bytes."""

from __future__ import annotations

import gzip
import json

import pytest
import rispy
from django.core.cache import cache
from rest_framework.renderers import JSONRenderer

from evidence.models import RecomputeRun, RecomputeStatus, ReviewVersion, Study, StudyResult
from evidence.models.version import VersionExport
from evidence.publishing import downloads
from evidence.publishing.formats import fhir
from evidence.publishing.selectors.api import version_evidence
from evidence.synthesis.recompute import recompute_run_execute
from tests.conftest import process_memory_clear

FHIR_URL = "/api/v1/reviews/msc-ssc/versions/{n}/fhir/"


def _fail(*args, **kwargs):
    raise AssertionError("built per request: the stored export should have been served")


@pytest.fixture
def published(seeded) -> ReviewVersion:
    """Version 1 of the seed review, published by a recompute run as the worker runs it."""
    run = RecomputeRun.objects.create(review=seeded)
    assert recompute_run_execute(run_id=run.id) == RecomputeStatus.PUBLISHED
    return seeded.versions.get(number=1)


def _stored(version: ReviewVersion, kind: str) -> bytes:
    return gzip.decompress(bytes(VersionExport.objects.get(version=version, kind=kind).content))


def test_a_published_recompute_writes_every_download_once(client, published):
    kinds = list(VersionExport.objects.filter(version=published).values_list("kind", flat=True))

    # and the FHIR Bundle: the seed's fits one page, written with its manifest
    assert sorted(kinds) == sorted([*downloads.AVAILABLE, "fhir", "fhir.pages"])
    for kind in downloads.AVAILABLE:
        served = client.get(f"/reviews/msc-ssc/v/1/{kind}")
        assert served.status_code == 200 and served.content == _stored(published, kind), kind


def test_a_download_is_served_from_its_stored_bytes_without_building(client, published, monkeypatch):
    monkeypatch.setattr(downloads, "_content", _fail)

    served = {kind: client.get(f"/reviews/msc-ssc/v/1/{kind}") for kind in downloads.AVAILABLE}

    assert {kind: r.status_code for kind, r in served.items()} == dict.fromkeys(downloads.AVAILABLE, 200)
    assert served["pooled.csv"]["Content-Disposition"] == 'attachment; filename="msc-ssc-v1-pooled.csv"'
    assert served["pooled.csv"]["Content-Type"] == "text/csv; charset=utf-8"


def test_an_older_version_gets_its_download_built_once_then_served(client, seeded, monkeypatch):
    version = seeded.versions.get(number=0)
    assert not VersionExport.objects.filter(version=version).exists()

    first = client.get("/reviews/msc-ssc/v/0/pooled.csv")
    process_memory_clear()  # another worker, or a restart: nothing of this process's memory
    monkeypatch.setattr(downloads, "_content", _fail)
    again = client.get("/reviews/msc-ssc/v/0/pooled.csv")

    assert first.status_code == again.status_code == 200 and first.content == again.content
    assert VersionExport.objects.filter(version=version, kind="pooled.csv").count() == 1


def test_the_study_rows_are_the_rows_read_through_the_models(published):
    """studies.csv/json read plain values now (it was two minutes for 1,000 studies); the rows are the same."""
    results = StudyResult.objects.filter(pooled_result__version=published).select_related("pooled_result__outcome")
    expected = [
        {
            "outcome": s.pooled_result.outcome.code,
            "timepoint_months": float(s.pooled_result.timepoint_months),
            "subgroup_variable": s.pooled_result.subgroup_variable,
            "subgroup_value": s.pooled_result.subgroup_value,
            **{name: getattr(s, name) for name in downloads.STUDY_FIELDS[4:] if hasattr(s, name)},
            "scale": "log" if s.pooled_result.effect_measure == "ratio" else "natural",
        }
        for s in results.order_by("pooled_result_id", "publication_year", "study_label")
    ]

    rows = downloads._studies(published)

    assert len(rows) > 0 and json.dumps(rows) == json.dumps(expected)


def test_a_withdrawn_study_leaves_the_stored_ris(client, published):
    before = rispy.loads(client.get("/reviews/msc-ssc/v/1/reports.ris").content.decode())
    study = Study.objects.get(pk=published.studies[0]["id"])
    study.status = "excluded"
    study.save()
    process_memory_clear()

    after = rispy.loads(client.get("/reviews/msc-ssc/v/1/reports.ris").content.decode())

    assert len(after) < len(before)
    assert VersionExport.objects.filter(version=published, kind="reports.ris").count() == 1


def test_the_fhir_bundle_is_stored_at_its_first_request_and_served_after(client, published, monkeypatch):
    first = client.get(FHIR_URL.format(n=1))
    monkeypatch.setattr(fhir, "version_bundle", _fail)
    process_memory_clear()

    again = client.get(FHIR_URL.format(n=1))

    assert first.status_code == again.status_code == 200 and again.content == first.content
    assert again["Content-Type"] == "application/fhir+json" and again["ETag"] == first["ETag"]
    assert VersionExport.objects.filter(version=published, kind="fhir").count() == 1


def test_the_stored_fhir_bundle_has_the_bytes_the_endpoint_built_per_request(client, seeded, settings):
    """Its URLs name the site's public address, not the host the request came on (so the worker can write it)."""
    version = seeded.versions.get(number=0)
    bundle = fhir.version_bundle(
        version_evidence(version=version),
        base_url=settings.EVIDENCE_PUBLIC_BASE_URL + "/api/v1",
        self_url=settings.EVIDENCE_PUBLIC_BASE_URL + FHIR_URL.format(n=0),
    )

    served = client.get(FHIR_URL.format(n=0))

    assert served.content == JSONRenderer().render(bundle)


def test_a_client_accepting_gzip_gets_the_stored_gzip_and_304s(client, published):
    plain = client.get(FHIR_URL.format(n=1))

    zipped = client.get(FHIR_URL.format(n=1), HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
    again = client.get(FHIR_URL.format(n=1), HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=zipped["ETag"])
    refused = client.get(FHIR_URL.format(n=1), HTTP_ACCEPT_ENCODING="gzip;q=0")

    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(zipped.content) == plain.content
    assert zipped["ETag"] == f"W/{plain['ETag']}" and "Accept-Encoding" in zipped["Vary"]
    assert again.status_code == 304
    assert "Content-Encoding" not in refused and refused.content == plain.content


def test_the_first_page_render_after_a_restart_reads_the_stored_page(client, published, monkeypatch):
    from evidence.publishing import selectors as selectors_public

    first = client.get("/reviews/msc-ssc/")
    process_memory_clear()
    monkeypatch.setattr(selectors_public, "review_page", _fail)

    again = client.get("/reviews/msc-ssc/")

    assert first.status_code == again.status_code == 200 and again.content == first.content
    assert VersionExport.objects.filter(version=published, kind="page").count() == 1


def test_a_stored_page_is_not_served_once_a_new_version_is_published(client, seeded, settings):
    settings.PAGES_STAMP_SECONDS = 0
    before = client.get("/reviews/msc-ssc/").content.decode()
    run = RecomputeRun.objects.create(review=seeded)
    recompute_run_execute(run_id=run.id)
    process_memory_clear()

    after = client.get("/reviews/msc-ssc/").content.decode()

    assert after != before and "/reviews/msc-ssc/v/1/" in after and "/reviews/msc-ssc/v/1/" not in before
    pages = VersionExport.objects.filter(kind="page")
    assert list(pages.values_list("version__number", flat=True)) == [1]  # version 0's copy is gone


def test_a_large_page_goes_gzipped_to_a_client_that_takes_gzip_before_and_after_a_restart(
    client, published, monkeypatch
):
    from evidence.publishing import http_cache

    monkeypatch.setattr(http_cache, "GZIP_FROM", 0)  # the seed's page stands in for a 68 MB one
    plain = client.get("/reviews/msc-ssc/")
    zipped = client.get("/reviews/msc-ssc/", HTTP_ACCEPT_ENCODING="gzip")
    process_memory_clear()
    after_restart = client.get("/reviews/msc-ssc/", HTTP_ACCEPT_ENCODING="gzip")

    assert "Content-Encoding" not in plain and zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content == gzip.decompress(after_restart.content)
    assert zipped["ETag"] != plain["ETag"] and "Accept-Encoding" in zipped["Vary"]
    process_memory_clear()
    assert client.get("/reviews/msc-ssc/").content == plain.content  # a plain client of the stored gzip page


def test_a_stamp_naming_a_version_gone_stores_no_page(client, seeded, settings):
    """The stamp is held for PAGES_STAMP_SECONDS; a page is never stored under a version that is not there."""
    import dataclasses

    from evidence.publishing import http_cache
    from evidence.publishing.selectors import review_stamp

    settings.PAGES_STAMP_SECONDS = 60
    gone = dataclasses.replace(review_stamp(slug="msc-ssc"), latest_version_id=999_999)
    cache.set(f"stamp:{http_cache.PAGES_REVISION}:msc-ssc", (gone,), 60)

    response = client.get("/reviews/msc-ssc/")

    assert response.status_code == 200 and not VersionExport.objects.filter(kind="page").exists()
