"""PRISMA 2020's registers box: records identified by the registry search, and the registrations screened."""

import datetime as dt

import pytest

from evidence.models import Registration, RegistrySearchRun, Review, ReviewRole
from evidence.surveillance.registry.screening import registration_screen
from evidence.synthesis.prisma import prisma_counts, prisma_flow
from tests.evidence.screening_support import make_member


@pytest.fixture
def review(db):
    return Review.objects.create(
        slug="registers", title="Registers", pubmed_query="q", search_start_date=dt.date(2021, 1, 1)
    )


def test_the_registers_box_counts_registrations_the_search_found_and_screening_counts_them(review):
    run = RegistrySearchRun.objects.create(
        review=review, query={}, window_start=dt.date(2000, 1, 1), window_end=dt.date(2026, 11, 30), status="succeeded"
    )
    found = [
        Registration.objects.create(review=review, nct_id=f"NCT0736080{i}", overall_status="RECRUITING", first_run=run)
        for i in range(3)
    ]
    Registration.objects.create(review=review, nct_id="NCT01111111", overall_status="RECRUITING")  # by hand
    screener = make_member("registers-screener", review, ReviewRole.SCREENER)
    registration_screen(registration=found[0], decision="ongoing", user=screener)
    registration_screen(registration=found[1], decision="excluded", user=screener, reason="Not MSC")

    counts = prisma_counts(review=review)
    flow = prisma_flow(counts, previous=(0, 0), new=(0, 0), label="previous")

    assert counts.identified_by_source == {"registers": 3}
    assert (counts.records_screened, counts.records_excluded) == (2, 1)
    assert flow.identified_by_source == {"ClinicalTrials.gov (register)": 3}
    later = prisma_counts(review=review, since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert later.identified_by_source == {} and later.records_screened == 0
