"""Each endpoint: what it shows, and that it costs the same few queries however many rows it returns."""

from __future__ import annotations

import pytest

from evidence.models import Study, StudyStatus

REVIEW = "/api/v1/reviews/msc-ssc"


def test_it_lists_the_entry_points(api, db):
    body = api.get("/api/v1/").json()

    assert body["reviews"] == "http://testserver/api/v1/reviews/"
    assert body["docs"] == "http://testserver/api/docs/"


def test_it_lists_reviews_with_their_latest_published_version(api, computed, django_assert_num_queries):
    with django_assert_num_queries(1):
        body = api.get("/api/v1/reviews/").json()

    (review,) = body["results"]
    assert review["slug"] == "msc-ssc" and review["latest_version"] == 1
    assert review["analysis_settings"]["estimator"] == "FE"  # the published review's primary analysis
    assert review["pooled_results_url"] == "http://testserver/api/v1/reviews/msc-ssc/pooled-results/"


def test_it_shows_one_review(api, seeded):
    body = api.get(f"{REVIEW}/").json()

    assert body["title"] == seeded.title and body["latest_version"] == 0


def test_it_answers_404_in_json_for_an_unknown_review(api, seeded):
    response = api.get("/api/v1/reviews/no-such-review/versions/")

    assert response.status_code == 404
    assert "no-such-review" in response.json()["detail"]


def test_it_answers_404_in_json_for_an_unknown_api_path(api, db):
    response = api.get("/api/v1/nothing-here/")

    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_it_lists_published_versions_oldest_first(api, computed, django_assert_num_queries):
    with django_assert_num_queries(2):  # the review, the versions
        body = api.get(f"{REVIEW}/versions/").json()

    assert [v["number"] for v in body["results"]] == [0, 1]
    assert body["results"][0]["source_citation"]["pmid"] == "35313985"
    assert body["results"][1]["fhir_url"] == "http://testserver/api/v1/reviews/msc-ssc/versions/1/fhir/"


@pytest.mark.parametrize("number, expected", [("0", 0), ("1", 1), ("latest", 1)])
def test_it_shows_a_version_by_number_or_latest(api, computed, number, expected, django_assert_num_queries):
    with django_assert_num_queries(3):  # the review, the version, its safety results
        body = api.get(f"{REVIEW}/versions/{number}/").json()

    assert body["number"] == expected
    assert "safety_results" in body


@pytest.mark.parametrize("number", ["2", "99999999999999999999", "first"])
def test_it_answers_404_for_a_version_that_is_not_published(api, computed, number):
    assert api.get(f"{REVIEW}/versions/{number}/").status_code == 404


def test_it_shows_the_latest_pooled_results_with_their_study_rows(api, computed, django_assert_num_queries):
    with django_assert_num_queries(4):  # review, version, pooled rows, study rows
        body = api.get(f"{REVIEW}/pooled-results/").json()

    rows = body["results"]
    assert {r["version"] for r in rows} == {1}
    six_months = next(r for r in rows if r["timepoint_months"] == 6)
    assert six_months["estimate"] == -5.2 and six_months["i2"] == 41.5 and six_months["certainty"] == "low"
    assert [s["weight"] for s in six_months["study_results"]] == [55.0, 45.0]
    carried = next(r for r in rows if r["timepoint_months"] == 12)
    assert carried["carried_from_version"] == 0 and carried["awaiting"].startswith("awaiting")


def test_it_shows_the_seed_table_as_version_0(api, seeded):
    body = api.get(f"{REVIEW}/versions/0/pooled-results/?outcome=mrss&subgroup=overall").json()

    assert [(r["timepoint_months"], r["estimate"]) for r in body["results"]] == [(3, 4.11), (6, 5.09), (12, 6.49)]


def test_it_costs_the_same_queries_for_more_study_rows(api, computed, django_assert_num_queries):
    row = computed.pooled_results.get(computed=True)
    for extra in row.study_results.all():
        extra.pk = None
        extra.save()

    with django_assert_num_queries(4):
        api.get(f"{REVIEW}/pooled-results/")


def test_it_lists_approved_studies_with_everything_measured(api, seeded, django_assert_num_queries):
    # review, published versions' studies, studies, reports+citations; then as the latest version read them:
    # its date, the studies, interventions, measurements, adverse events, quality, the outcomes
    with django_assert_num_queries(11):
        body = api.get(f"{REVIEW}/studies/").json()

    studies = body["results"]
    assert len(studies) == 9
    first = studies[0]
    assert first["reports"][0]["citation"]["title"]
    assert first["interventions"] and first["quality_assessments"][0]["instrument"] == "nos"
    assert any(s["outcome_measurements"] for s in studies) and any(s["adverse_events"] for s in studies)


def test_it_hides_studies_that_are_not_approved(api, seeded):
    hidden = Study.objects.filter(review=seeded).first()
    hidden.status = StudyStatus.EXTRACTION
    hidden.save()

    labels = [s["label"] for s in api.get(f"{REVIEW}/studies/").json()["results"]]

    assert hidden.label not in labels and len(labels) == 8
    assert api.get(f"{REVIEW}/studies/{hidden.pk}/").status_code == 404


def test_it_shows_one_study(api, seeded):
    study = Study.objects.filter(review=seeded).first()

    body = api.get(f"{REVIEW}/studies/{study.pk}/").json()

    assert body["label"] == study.label


@pytest.mark.parametrize("pk", ["abc", "-1", "99999999999999999999"])
def test_it_answers_404_for_a_malformed_study_id(api, seeded, pk):
    assert api.get(f"{REVIEW}/studies/{pk}/").status_code == 404


def test_it_lists_citations_with_their_public_status(api, seeded, django_assert_num_queries):
    with django_assert_num_queries(3):  # review, published versions' studies, citations
        body = api.get(f"{REVIEW}/citations/").json()

    rows = body["results"]
    assert {r["status"] for r in rows} == {"included"}
    assert any(r["pubmed_url"] == f"https://pubmed.ncbi.nlm.nih.gov/{r['pmid']}/" for r in rows if r["pmid"])


def test_it_lists_outcomes_and_shows_one(api, seeded):
    codes = [o["code"] for o in api.get("/api/v1/outcomes/").json()["results"]]

    assert "mrss" in codes
    assert api.get("/api/v1/outcomes/mrss/").json()["unit"] == "points (0–51)"
    assert api.get("/api/v1/outcomes/nope/").status_code == 404


def test_it_is_read_only(api, seeded):
    assert api.post("/api/v1/reviews/", {}).status_code == 405
    assert api.delete(f"{REVIEW}/").status_code == 405
