"""Filters, the `since` polling filter, strict parameters and cursor pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from evidence.models import Citation, CitationOrigin, ReviewCitation, ReviewVersion, StudyReport, TriageStage

REVIEW = "/api/v1/reviews/msc-ssc"


def _results(api, url, **params) -> list[dict]:
    response = api.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_it_filters_pooled_results_by_outcome_time_point_and_subgroup(api, seeded):
    url = f"{REVIEW}/pooled-results/"

    assert len(_results(api, url, outcome="mrss")) == 6
    assert len(_results(api, url, outcome="mrss", timepoint="6")) == 4
    assert len(_results(api, url, outcome="mrss", timepoint="6", subgroup="overall")) == 1
    rows = _results(api, url, subgroup="cell_source", subgroup_value="adipose_svf")
    assert [(r["outcome"], r["k"]) for r in rows] == [("mrss", 2)]


@pytest.mark.parametrize(
    "query, message",
    [
        ("outcomes=mrss", "Unknown query parameter(s): outcomes. Allowed: cursor, format, outcome, page_size"),
        ("outcome=nope", "outcome: Select a valid choice"),
        ("timepoint=twelve", "timepoint: Enter a number"),
        ("timepoint=-1", "timepoint: Ensure this value is greater than or equal to 0"),
        ("timepoint=1e400", "timepoint:"),
        ("page_size=0", "page_size must be a whole number from 1 to 1000"),
        ("page_size=abc", "page_size must be a whole number"),
        ("cursor=%%%", "Invalid cursor"),
        ("cursor=cD1hYmM=", "Invalid cursor"),  # a well-formed cursor whose position is not an id: p=abc
    ],
)
def test_it_answers_400_with_a_message_for_a_bad_query(api, seeded, query, message):
    response = api.get(f"{REVIEW}/pooled-results/?{query}")

    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.parametrize("url", [f"{REVIEW}/", f"{REVIEW}/versions/0/", f"{REVIEW}/versions/0/fhir/", "/api/v1/"])
def test_it_rejects_unknown_parameters_on_single_resources_too(api, seeded, url):
    assert api.get(url, {"verbose": "1"}).status_code == 400


def test_it_filters_versions_published_since_a_date(api, computed):
    ReviewVersion.objects.filter(number=0).update(published_at=timezone.now() - timedelta(days=30))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    assert [v["number"] for v in _results(api, f"{REVIEW}/versions/", since=since)] == [1]
    assert [v["number"] for v in _results(api, f"{REVIEW}/versions/", since="2000-01-01")] == [0, 1]


@pytest.mark.parametrize("since", ["yesterday", "2024-13-01", "0001-01-01T00:00:00+01:00"])
def test_it_answers_400_for_a_bad_since(api, seeded, since):
    response = api.get(f"{REVIEW}/versions/", {"since": since})

    assert response.status_code == 400 and "ISO 8601" in response.json()["detail"]


def test_it_filters_citations_by_status_and_change_since_a_date(api, seeded):
    ReviewCitation.objects.filter(review=seeded).update(updated_at=timezone.now() - timedelta(days=30))
    Citation.objects.update(updated_at=timezone.now() - timedelta(days=30))
    before = timezone.now()
    excluded = Citation.objects.create(pmid="111", title="Not MSC", origin=CitationOrigin.SEARCH)
    ReviewCitation.objects.create(
        review=seeded, citation=excluded, stage=TriageStage.EXCLUDED, exclusion_reason="wrong_intervention"
    )
    pending = Citation.objects.create(pmid="222", title="Maybe MSC", origin=CitationOrigin.SEARCH)
    ReviewCitation.objects.create(review=seeded, citation=pending, stage=TriageStage.FULL_TEXT)
    corrected = Citation.objects.get(pmid="31314805")  # a published study's report, corrected today
    corrected.has_erratum = True
    corrected.save()

    changed = _results(api, f"{REVIEW}/citations/", since=before.isoformat())
    # Only a published version's reports are public: the excluded and the pending citation are not listed.
    assert [(c["pmid"], c["status"], c["has_erratum"]) for c in changed] == [("31314805", "included", True)]
    assert _results(api, f"{REVIEW}/citations/", status="pending") == []
    assert _results(api, f"{REVIEW}/citations/", status="excluded") == []
    assert len(_results(api, f"{REVIEW}/citations/", status="included")) == 11


def test_it_pages_with_a_cursor_and_never_repeats_a_row_when_rows_are_inserted(api, seeded):
    first = api.get(f"{REVIEW}/citations/", {"page_size": 5}).json()
    # A companion report of a published study, recorded while a registry pages.
    companion = Citation.objects.create(pmid="333", title="New", origin=CitationOrigin.SEARCH)
    StudyReport.objects.create(study=seeded.studies.get(label="Zhang 2017"), citation=companion)
    ReviewCitation.objects.create(review=seeded, citation=companion, stage=TriageStage.INCLUDED)

    seen = [c["id"] for c in first["results"]]
    response = api.get(first["next"])
    while True:
        body = response.json()
        seen += [c["id"] for c in body["results"]]
        if not body["next"]:
            break
        assert response["Link"] == f'<{body["next"]}>; rel="next", <{body["previous"]}>; rel="previous"'
        response = api.get(body["next"])

    assert len(seen) == len(set(seen)) == 12


def test_it_pages_the_latest_results_by_the_version_it_started_on(api, computed):
    first = api.get(f"{REVIEW}/pooled-results/", {"page_size": 1}).json()

    assert "/versions/1/pooled-results/" in first["next"]
