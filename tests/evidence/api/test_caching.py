"""Cheap polling: validators on every answer, 304 when nothing changed, 200 again when something did."""

from __future__ import annotations

import pytest
from django.utils import timezone

from evidence.models import ReviewVersion, VersionKind

REVIEW = "/api/v1/reviews/msc-ssc"
MRSS = f"{REVIEW}/pooled-results/?outcome=mrss&subgroup=overall"
EVERY_ENDPOINT = [
    "/api/v1/",
    "/api/v1/reviews/",
    f"{REVIEW}/",
    f"{REVIEW}/versions/",
    f"{REVIEW}/versions/0/",
    f"{REVIEW}/versions/0/?format=fhir",
    f"{REVIEW}/versions/0/fhir/",
    f"{REVIEW}/versions/0/pooled-results/",
    MRSS,
    f"{MRSS}&format=csv",
    f"{MRSS}&format=fhir",
    f"{REVIEW}/studies/",
    f"{REVIEW}/citations/?format=ris",
    "/api/v1/outcomes/",
    "/api/v1/outcomes/mrss/",
    "/api/schema/",
    "/api/docs/",
]


@pytest.mark.parametrize("url", EVERY_ENDPOINT)
def test_it_answers_304_to_if_none_match_on_every_endpoint(api, seeded, url):
    first = api.get(url)

    again = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]


def test_it_answers_304_to_if_modified_since(api, seeded):
    first = api.get(MRSS)

    again = api.get(MRSS, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert again.status_code == 304


def test_it_answers_200_when_the_etag_is_stale(api, seeded):
    assert api.get(MRSS, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_it_gives_each_format_its_own_etag(api, seeded):
    etags = {api.get(f"{MRSS}&format={f}")["ETag"] for f in ("json", "csv", "fhir")}

    assert len(etags) == 3


def test_it_answers_200_with_new_validators_once_a_new_version_is_published(api, seeded):
    first = api.get(MRSS)
    version = ReviewVersion.objects.create(
        review=seeded, number=1, kind=VersionKind.COMPUTED, published_at=timezone.now(), trigger="study approved"
    )
    for row in seeded.versions.get(number=0).pooled_results.all():
        row.pk, row.version = None, version
        row.save()

    again = api.get(MRSS, HTTP_IF_NONE_MATCH=first["ETag"], HTTP_IF_MODIFIED_SINCE="Thu, 01 Jan 1970 00:00:00 GMT")

    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert {r["version"] for r in again.json()["results"]} == {1}


def test_it_ignores_if_modified_since_when_if_none_match_is_stale(api, seeded):
    first = api.get(MRSS)

    again = api.get(MRSS, HTTP_IF_NONE_MATCH='"stale"', HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert again.status_code == 200


def test_it_tells_caches_to_revalidate_and_to_vary_by_accept(api, seeded):
    response = api.get(MRSS)

    assert response["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert "Accept" in response["Vary"]


def test_it_puts_no_validators_on_errors(api, seeded):
    response = api.get(f"{MRSS}&bogus=1")

    assert response.status_code == 400 and not response.has_header("ETag")
