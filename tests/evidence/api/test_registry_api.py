"""Ongoing trials in the API: the JSON/CSV list and the FHIR bundle's ResearchStudy resources (validated with
fhir.resources); only registrations a reviewer included as ongoing, of a published review."""

from __future__ import annotations

import json

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.researchstudy import ResearchStudy

from evidence.models import Registration, ReviewRole
from evidence.surveillance.ctgov_parse import parse_registration
from evidence.surveillance.registry.screening import registration_screen
from evidence.surveillance.registry.upsert import UpsertTally, registration_upsert
from tests.ctgov_replay import fixture
from tests.evidence.screening_support import make_member

REVIEW = "/api/v1/reviews/msc-ssc"


@pytest.fixture
def trials(seeded):
    """The seeded review's three registrations; NCT07360808 included as ongoing, NCT00962923 excluded."""
    tally, known = UpsertTally(), {}
    for name in (
        "study_NCT07360808_recruiting.json",
        "study_NCT00962923_aliased.json",
        "study_NCT02396238_active.json",
    ):
        registration_upsert(review=seeded, parsed=parse_registration(fixture(name)), run=None, tally=tally, known=known)
    screener = make_member("api-screener", seeded, ReviewRole.SCREENER)
    registration_screen(registration=known["NCT07360808"], decision="ongoing", user=screener)
    registration_screen(registration=known["NCT00962923"], decision="excluded", user=screener, reason="Not MSC")
    return known


def test_the_list_has_only_ongoing_trials(api, trials):
    response = api.get(f"{REVIEW}/ongoing-trials/")

    (row,) = response.json()["results"]
    assert row["nct_id"] == "NCT07360808" and row["url"] == "https://clinicaltrials.gov/study/NCT07360808"
    assert (row["enrolment_count"], row["enrolment_type"], row["completion_date"]) == (48, "ESTIMATED", "2028-03")
    assert "raw" not in row
    csv = api.get(f"{REVIEW}/ongoing-trials/", {"format": "csv"}).content.decode()
    assert "NCT07360808" in csv and "NCT02396238" not in csv


def test_the_fhir_bundle_carries_ongoing_trials_as_research_studies(api, trials):
    response = api.get(f"{REVIEW}/versions/0/fhir/")

    bundle = Bundle.model_validate_json(response.content)
    studies = [e.resource for e in bundle.entry if e.resource.get_resource_type() == "ResearchStudy"]
    assert [s.id for s in studies] == ["NCT07360808"]
    study = ResearchStudy.model_validate(json.loads(response.content)["entry"][-1]["resource"])
    assert study.identifier[0].value == "NCT07360808" and study.recruitment.targetNumber == 48
    assert study.outcomeMeasure[0].name.startswith("Change in Cochin Hand Function Scale")
    assert study.period.end == "2028-03"


def test_nothing_of_a_pending_registration_is_public(api, seeded):
    registration_upsert(
        review=seeded,
        parsed=parse_registration(fixture("study_NCT07360808_recruiting.json")),
        run=None,
        tally=UpsertTally(),
        known={},
    )
    assert Registration.objects.count() == 1

    assert api.get(f"{REVIEW}/ongoing-trials/").json()["results"] == []
    assert b"ResearchStudy" not in api.get(f"{REVIEW}/versions/0/fhir/").content


def test_a_withdrawn_registration_never_shows_even_if_included(api, seeded):
    known = {}
    parsed = parse_registration(fixture("study_NCT05550001_withdrawn.json"))
    registration_upsert(review=seeded, parsed=parsed, run=None, tally=UpsertTally(), known=known)
    screener = make_member("api-screener", seeded, ReviewRole.SCREENER)
    registration_screen(registration=known["NCT05550001"], decision="ongoing", user=screener)

    assert api.get(f"{REVIEW}/ongoing-trials/").json()["results"] == []
