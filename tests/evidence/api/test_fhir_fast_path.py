"""A stored FHIR page is answered again from this process's memory while the review's stamp holds (issue 15: 330
req/s, p99 290 ms through the full DRF path on the 1,000-study review): the same bytes and headers, 304s, a plain
body for a client without gzip, the anonymous quota still counted, and nothing held past a new version or a reset."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from django.core.cache import cache

from evidence.api import views as api_views
from evidence.models import RecomputeRun, RecomputeStatus
from evidence.publishing import http_cache
from evidence.synthesis.recompute import recompute_run_execute
from tests.conftest import process_memory_clear

LATEST = "/api/v1/reviews/msc-ssc/versions/latest/fhir/"
GZIP = {"HTTP_ACCEPT_ENCODING": "gzip"}


@pytest.fixture
def full_path_refused(monkeypatch):
    """From now on the view's own GET fails: only a held answer can be served."""

    def refuse():
        def fail(*args, **kwargs):
            raise AssertionError("the full DRF path ran: the held answer should have been served")

        monkeypatch.setattr(api_views.VersionFhir, "get", fail)

    return refuse


def _bundle(response) -> dict:
    body = gzip.decompress(response.content) if response.get("Content-Encoding") == "gzip" else response.content
    return json.loads(body)


def test_it_serves_the_held_answer_with_the_same_bytes_and_headers(api, seeded, full_path_refused):
    first = api.get(LATEST, **GZIP)
    full_path_refused()

    again = api.get(LATEST, **GZIP)

    assert first.status_code == again.status_code == 200 and first["Content-Encoding"] == "gzip"
    assert again.content == first.content and dict(again.items()) == dict(first.items())


def test_it_answers_304_from_the_held_answer(api, seeded, full_path_refused):
    first = api.get(LATEST, **GZIP)
    full_path_refused()

    again = api.get(LATEST, HTTP_IF_NONE_MATCH=first["ETag"], **GZIP)

    assert again.status_code == 304 and again["ETag"] == first["ETag"] and not again.content


def test_a_client_without_gzip_gets_a_plain_body_held_apart(api, seeded, full_path_refused):
    zipped = api.get(LATEST, **GZIP)
    plain = api.get(LATEST)
    full_path_refused()

    assert "Content-Encoding" not in api.get(LATEST) and api.get(LATEST).content == plain.content
    assert json.loads(plain.content) == _bundle(zipped) and plain["ETag"] != zipped["ETag"]
    assert "Accept-Encoding" in plain["Vary"] and api.get(LATEST, **GZIP).content == zipped.content


def test_held_answers_still_count_against_the_anonymous_quota(api, seeded, settings, full_path_refused):
    api.get(LATEST)  # held before the quota is lowered: the next answers come from memory
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "3/minute"}}
    second = api.get(LATEST)
    full_path_refused()

    statuses = [api.get(LATEST).status_code for _ in range(3)]

    assert second.status_code == 200 and statuses == [200, 429, 429]


def test_an_answer_over_quota_is_the_json_429(api, seeded, settings):
    api.get(LATEST)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1/minute"}}
    api.get(LATEST)

    over = api.get(LATEST)

    assert over.status_code == 429 and 0 < int(over["Retry-After"]) <= 60 and "throttled" in over.json()["detail"]


def test_unknown_parameters_are_still_a_400_after_a_held_answer(api, seeded):
    api.get(LATEST)

    refused = api.get(LATEST + "?colour=blue")

    assert refused.status_code == 400 and "colour" in refused.json()["detail"]


def test_a_new_version_is_served_in_place_of_the_held_one_once_the_stamp_is_read_again(api, seeded, settings):
    settings.PAGES_STAMP_SECONDS = 60
    assert _bundle(api.get(LATEST, **GZIP))["id"] == "msc-ssc-v0"
    run = RecomputeRun.objects.create(review=seeded)
    assert recompute_run_execute(run_id=run.id) == RecomputeStatus.PUBLISHED

    cache.delete(f"stamp:{http_cache.PAGES_REVISION}:msc-ssc")  # as when the held stamp expires

    assert _bundle(api.get(LATEST, **GZIP))["id"] == "msc-ssc-v1"


def test_a_held_answer_expires_with_pages_stamp_seconds(api, seeded, settings, monkeypatch, full_path_refused):
    settings.PAGES_STAMP_SECONDS = 5
    api.get(LATEST)
    full_path_refused()
    later = time.monotonic() + 6
    monkeypatch.setattr(http_cache.time, "monotonic", lambda: later)

    with pytest.raises(AssertionError, match="full DRF path ran"):
        api.get(LATEST)


def test_a_bad_token_is_still_refused_with_401_after_a_held_answer(api, seeded):
    api.get(LATEST)
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    refused = api.get(LATEST)

    assert refused.status_code == 401 and "detail" in refused.json()


def test_a_memory_reset_forgets_the_held_answer(api, seeded, full_path_refused):
    api.get(LATEST)
    full_path_refused()
    process_memory_clear()

    with pytest.raises(AssertionError, match="full DRF path ran"):
        api.get(LATEST)
