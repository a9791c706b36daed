"""Nothing private leaves through the API: no reviewer's name, email, notes or decisions, no extraction
draft, no study still in extraction, no unpublished version, in any endpoint or format."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from evidence.models import (
    Adjudication,
    AdverseEvent,
    Citation,
    CitationOrigin,
    ExtractionDraft,
    OutcomeMeasurement,
    PooledResult,
    QualityAssessment,
    ReviewCitation,
    ReviewMembership,
    ReviewVersion,
    ScreeningDecision,
    Study,
    StudyApproval,
    StudyReport,
    StudyStatus,
    TriageStage,
    VersionKind,
)

REVIEW = "/api/v1/reviews/msc-ssc"
SECRETS = [
    "Zebedee",
    "Quonsetworth",
    "zq-reviewer",
    "zebedee.q@private.example",
    "NOTE-7f3a",
    "DRAFT-91bc",
    "UNPUBLISHED-5d2e",
    "INEXTRACTION-44aa",
    "REASON-0c1d",
]


@pytest.fixture
def private_things(computed):
    review = computed.review
    reviewer = get_user_model().objects.create_user(
        username="zq-reviewer", first_name="Zebedee", last_name="Quonsetworth", email="zebedee.q@private.example"
    )
    ReviewMembership.objects.create(review=review, user=reviewer, role="screener")
    included = ReviewCitation.objects.filter(review=review).first()
    ScreeningDecision.objects.create(
        review_citation=included, reviewer=reviewer, stage="title_abstract", decision="include", note="NOTE-7f3a"
    )
    Adjudication.objects.create(
        review_citation=included, stage="full_text", adjudicator=reviewer, decision="include", reason="NOTE-7f3a why"
    )
    ExtractionDraft.objects.create(
        review_citation=included, extractor=reviewer, payload={"study": {"label": "DRAFT-91bc"}}
    )
    # A pending citation one reviewer has voted to exclude: the public sees "pending", not the vote.
    pending_citation = Citation.objects.create(
        pmid="999001", title="Pending one", origin=CitationOrigin.SEARCH, origin_note="NOTE-7f3a"
    )
    pending = ReviewCitation.objects.create(review=review, citation=pending_citation, stage=TriageStage.FULL_TEXT)
    ScreeningDecision.objects.create(
        review_citation=pending,
        reviewer=reviewer,
        stage="full_text",
        decision="exclude",
        exclusion_reason="REASON-0c1d",
    )
    study = Study.objects.filter(review=review, status=StudyStatus.INCLUDED).first()
    StudyApproval.objects.create(study=study, editor=reviewer, action="send_back", comment="NOTE-7f3a comment")
    OutcomeMeasurement.objects.filter(study=study).update(notes="NOTE-7f3a")
    AdverseEvent.objects.filter(study__review=review).update(note="NOTE-7f3a")
    StudyReport.objects.filter(study__review=review).update(note="NOTE-7f3a")
    QualityAssessment.objects.filter(study__review=review).update(assessor=reviewer)
    Study.objects.filter(review=review).update(population_notes="NOTE-7f3a")
    Study.objects.create(review=review, label="INEXTRACTION-44aa", design="rct", status=StudyStatus.EXTRACTION)
    unpublished = ReviewVersion.objects.create(
        review=review, number=2, kind=VersionKind.COMPUTED, published_at=None, trigger="UNPUBLISHED-5d2e"
    )
    row = computed.pooled_results.first()
    row.pk, row.version, row.notes, row.carried_from = None, unpublished, "UNPUBLISHED-5d2e", None
    row.save()
    return reviewer


def _every_response(api) -> dict[str, bytes]:
    study = Study.objects.filter(status=StudyStatus.INCLUDED).first()
    urls = [
        "/api/v1/",
        "/api/v1/reviews/",
        "/api/v1/reviews/?format=csv",
        f"{REVIEW}/",
        f"{REVIEW}/versions/",
        f"{REVIEW}/versions/?format=csv",
        f"{REVIEW}/versions/latest/",
        f"{REVIEW}/versions/latest/?format=fhir",
        f"{REVIEW}/versions/0/",
        f"{REVIEW}/versions/1/fhir/",
        f"{REVIEW}/pooled-results/",
        f"{REVIEW}/pooled-results/?format=csv",
        f"{REVIEW}/pooled-results/?format=fhir",
        f"{REVIEW}/versions/0/pooled-results/?format=csv",
        f"{REVIEW}/studies/",
        f"{REVIEW}/studies/?format=csv",
        f"{REVIEW}/studies/{study.pk}/",
        f"{REVIEW}/citations/",
        f"{REVIEW}/citations/?format=csv",
        f"{REVIEW}/citations/?format=ris",
        "/api/v1/outcomes/",
        "/api/v1/outcomes/?format=csv",
        "/api/v1/outcomes/mrss/",
        "/api/schema/",
        "/api/docs/",
    ]
    responses = {url: api.get(url) for url in urls}
    assert {url: r.status_code for url, r in responses.items() if r.status_code != 200} == {}
    return {url: r.content for url, r in responses.items()}


def test_it_shows_no_private_text_in_any_endpoint_or_format(api, private_things):
    leaks = {
        (url, secret) for url, body in _every_response(api).items() for secret in SECRETS if secret.encode() in body
    }

    assert leaks == set(), "Private text in public responses; drop the field from the serializer or selector."


def test_it_never_shows_an_unpublished_version(api, private_things):
    assert [v["number"] for v in api.get(f"{REVIEW}/versions/").json()["results"]] == [0, 1]
    assert api.get(f"{REVIEW}/versions/2/").status_code == 404
    assert api.get(f"{REVIEW}/versions/2/fhir/").status_code == 404
    assert api.get(f"{REVIEW}/versions/2/pooled-results/").status_code == 404
    assert api.get(f"{REVIEW}/versions/latest/").json()["number"] == 1
    assert api.get("/api/v1/reviews/").json()["results"][0]["latest_version"] == 1
    assert {r["version"] for r in api.get(f"{REVIEW}/pooled-results/").json()["results"]} == {1}
    assert PooledResult.objects.filter(version__number=2).exists()


def test_it_does_not_list_a_citation_under_vote_and_shows_only_public_fields(api, private_things):
    # A citation still in screening is the team's work in progress: not listed at all, in any status.
    assert api.get(f"{REVIEW}/citations/", {"pmid": "999001"}).json()["results"] == []
    assert api.get(f"{REVIEW}/citations/", {"status": "pending"}).json()["results"] == []
    row = api.get(f"{REVIEW}/citations/").json()["results"][0]

    assert (row["status"], row["exclusion_reason"]) == ("included", "")
    assert set(row) == {
        "id", "pmid", "pmcid", "doi", "title", "authors", "first_author", "journal", "journal_citation",
        "publication_year", "abstract", "publication_types", "keywords", "registry_ids", "is_retracted",
        "has_erratum", "has_expression_of_concern", "status", "exclusion_reason", "changed_at", "pubmed_url",
    }  # fmt: skip
