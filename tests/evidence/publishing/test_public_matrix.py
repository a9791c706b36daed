"""Public means published: every public URL (pages, feed, downloads, API in every format) against a database
that also holds an unpublished review B, an unpublished version of A and A's studies in every workflow state.

Each URL answers the expected status, and no body names anything a reader must not see: no ``LEAK-`` marker
(titles, labels and notes of unpublished work, internal notes of published studies), no reviewer, and no link
to an unpublished study's page.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from evidence.models import Citation, ReviewCitation, ScreeningDecision, Study
from tests.conftest import throttle_counters_clear
from tests.evidence.public_world import LEAK_MARKERS, PublicWorld, public_world_build

A = "/reviews/msc-ssc"
B = "/reviews/other-review"
API_A = "/api/v1/reviews/msc-ssc"
API_B = "/api/v1/reviews/other-review"
DOWNLOADS = ("pooled.csv", "pooled.json", "studies.csv", "studies.json", "reports.ris")


def _pages(world: PublicWorld) -> list[tuple[str, int]]:
    urls = [("/", 200), (f"{A}/", 200), (f"{A}/v/0/", 200), (f"{A}/v/1/", 200), (f"{A}/v/2/", 404)]
    urls += [(f"{A}/outcomes/mrss/", 200), (f"{A}/feed/", 200), (f"{A}/studies/{world.published_study.pk}/", 200)]
    urls += [(f"{A}/studies/{study.pk}/", 404) for study in world.hidden_studies.values()]
    urls += [(f"{A}/studies/{world.other_study.pk}/", 404), (f"{B}/studies/{world.other_study.pk}/", 404)]
    urls += [(f"{B}/", 404), (f"{B}/v/0/", 404), (f"{B}/outcomes/mrss/", 404), (f"{B}/feed/", 404)]
    for number, status in ((0, 200), (1, 200), (2, 404)):
        urls += [(f"{A}/v/{number}/{name}", status) for name in DOWNLOADS]
    urls += [(f"{B}/v/0/{name}", 404) for name in DOWNLOADS]
    return urls


def _api(world: PublicWorld) -> list[tuple[str, int]]:
    urls = [("/api/v1/", 200), ("/api/v1/reviews/", 200), ("/api/v1/reviews/?format=csv", 200)]
    urls += [("/api/v1/outcomes/", 200), ("/api/v1/outcomes/mrss/", 200), ("/api/schema/", 200), ("/api/docs/", 200)]
    urls += [(f"{API_A}/", 200), (f"{API_A}/versions/", 200), (f"{API_A}/versions/?format=csv", 200)]
    for number, status in (("0", 200), ("1", 200), ("latest", 200), ("2", 404)):
        version = f"{API_A}/versions/{number}"
        urls += [(f"{version}/", status), (f"{version}/?format=fhir", status), (f"{version}/fhir/", status)]
        urls += [(f"{version}/pooled-results/{fmt}", status) for fmt in ("", "?format=csv", "?format=fhir")]
    urls += [(f"{API_A}/pooled-results/{fmt}", 200) for fmt in ("", "?format=csv", "?format=fhir")]
    urls += [(f"{API_A}/studies/", 200), (f"{API_A}/studies/?format=csv", 200)]
    urls += [(f"{API_A}/studies/{world.published_study.pk}/", 200)]
    urls += [(f"{API_A}/studies/{study.pk}/", 404) for study in world.hidden_studies.values()]
    urls += [(f"{API_A}/studies/{world.other_study.pk}/", 404)]
    citations = ["", "?format=csv", "?format=ris", "?status=pending", "?status=excluded", "?status=included"]
    urls += [(f"{API_A}/citations/{query}", 200) for query in citations]
    for path in ("", "versions/", "versions/0/", "versions/latest/", "versions/0/fhir/", "pooled-results/"):
        urls.append((f"{API_B}/{path}", 404))
    urls += [(f"{API_B}/studies/", 404), (f"{API_B}/studies/{world.other_study.pk}/", 404)]
    urls += [(f"{API_B}/citations/", 404), (f"{API_B}/citations/?format=ris", 404)]
    return urls


@pytest.fixture
def world(seeded) -> PublicWorld:
    return public_world_build(seeded)


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


def _leaks(world: PublicWorld, url: str, body: str) -> list[str]:
    hidden_ids = [s.pk for s in world.hidden_studies.values()] + [world.other_study.pk]
    links = [f"/studies/{pk}/" for pk in hidden_ids] + [f'"id": {pk},' for pk in hidden_ids]
    found = sorted(set(re.findall(r"LEAK-[A-Za-z0-9_-]+", body)))
    found += [thing for thing in [*LEAK_MARKERS[1:], *links] if thing in body]
    return [f"{url}: {', '.join(found)}"] if found else []


def test_it_shows_only_published_content_on_every_public_url(world):
    # given a database with unpublished work beside the published, when every public URL is read
    client, failures, checked, leaking = Client(), [], 0, 0
    for url, expected in [*_pages(world), *_api(world)]:
        cache.clear()  # no page cache or throttle state carried from one URL to the next
        throttle_counters_clear()
        response = client.get(url)
        body = _body(response)
        if response.status_code != expected:
            failures.append(f"{url}: status {response.status_code}, expected {expected}")
        if response.status_code == 404 and (response.has_header("ETag") or response.has_header("Last-Modified")):
            failures.append(f"{url}: a 404 dated by the unpublished work behind it")
        leaked = _leaks(world, url, body)
        failures += leaked
        checked += 1
        leaking += bool(leaked or response.status_code != expected)
    # then each answers as expected and none names anything unpublished or internal
    assert checked == len(_pages(world)) + len(_api(world))
    assert not failures, f"{leaking} of {checked} URLs leaked or answered wrongly:\n" + "\n".join(failures)


def test_it_lists_the_published_study_and_its_reports(world):
    """The filters keep what is published: the matrix above cannot pass by showing nothing."""
    client = Client()
    page = _body(client.get(f"{A}/studies/{world.published_study.pk}/"))
    api = client.get(f"{API_A}/studies/{world.published_study.pk}/").json()
    assert "Published 2024" in page and "Published 2024" in _body(client.get(f"{API_A}/studies/"))
    # its numbers as version 1 read them: the row edited since shows its old source, the new row is not there
    assert "Published 2024-table" in page
    assert [m["source_location"] for m in api["outcome_measurements"]] == ["Published 2024-table"]
    assert [e["term"] for e in api["adverse_events"]] == ["Published 2024 event"]
    citations = _body(client.get(f"{API_A}/citations/"))
    assert "Published 2024 report title" in citations
    seed_title = world.review.studies.get(label="Zhang 2017").reports.get(is_main_report=True).citation.title
    assert seed_title and seed_title in citations


def test_it_shows_the_public_note_and_never_the_internal_one(seeded):
    # given the seed: a curator's doubt about Almadori's country (internal), the paper's adverse-event count
    # that differs from Granel's own report (a caveat readers need)
    client = Client()
    almadori = seeded.studies.get(label__startswith="Almadori")
    granel = seeded.studies.get(label__startswith="Granel")
    # when their public study pages and API records are read
    almadori_page = _body(client.get(f"{A}/studies/{almadori.pk}/"))
    granel_page = _body(client.get(f"{A}/studies/{granel.pk}/"))
    granel_api = client.get(f"{API_A}/studies/{granel.pk}/").json()
    # then the internal note is nowhere and the caveat is shown, as the public note
    assert "questionable" in almadori.data_quality_notes
    assert "questionable" not in almadori_page and "Data-quality notes" not in almadori_page
    assert "questionable" not in _body(client.get(f"{API_A}/studies/"))
    assert "four minor adverse events" in granel_page
    assert "four minor adverse events" in granel_api["public_note"]
    assert "data_quality_notes" not in granel_api and "population_notes" not in granel_api


def test_it_answers_404_and_writes_nothing_for_tampered_ids(world):
    # given ids of unpublished objects, when a reader asks for them by id
    client = Client()
    counts = (Study.objects.count(), Citation.objects.count(), ReviewCitation.objects.count())
    decisions = ScreeningDecision.objects.count()
    statuses = dict(Study.objects.values_list("pk", "status"))
    tampered = [f"{A}/studies/{study.pk}/" for study in world.hidden_studies.values()]
    tampered += [f"{API_A}/studies/{study.pk}/" for study in world.hidden_studies.values()]
    tampered += [f"{A}/studies/{world.other_study.pk}/", f"{API_A}/studies/{world.other_study.pk}/"]
    tampered += [f"{A}/v/{world.draft_version.number}/", f"{API_A}/versions/{world.draft_version.number}/"]
    tampered += [f"{A}/studies/99999999/", f"{API_A}/studies/99999999/", f"{API_A}/studies/-1/"]
    # then each is a 404, even when posted to, and the database is unchanged
    for url in tampered:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"status": "included"}).status_code in (403, 404, 405), url
    assert (Study.objects.count(), Citation.objects.count(), ReviewCitation.objects.count()) == counts
    assert ScreeningDecision.objects.count() == decisions
    assert dict(Study.objects.values_list("pk", "status")) == statuses
