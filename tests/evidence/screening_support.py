"""Shared arrangements for the reviewer-workflow tests: a small review, its citations and its team."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model

from evidence.core.roles import review_membership_create
from evidence.models import Citation, CitationOrigin, Outcome, Review, ReviewCitation, ReviewRole

PASSWORD = "pw-for-tests-only"


def make_review(slug: str = "msc-test") -> Review:
    return Review.objects.create(
        slug=slug,
        title=f"Review {slug}",
        pubmed_query="scleroderma AND mesenchymal",
        search_start_date=datetime.date(2021, 2, 1),
        pico_terms=["systemic sclerosis", "mesenchymal", "mRSS"],
        exclusion_reasons=["Not systemic sclerosis", "Not MSC / cell therapy", "Animal or in-vitro study"],
        arm_label="MSC",  # an MSC review, as the seeded one: its single arm is "MSC"
    )


def make_citation(review: Review, n: int, *, title: str | None = None, **fields) -> ReviewCitation:
    citation = Citation.objects.create(
        pmid=str(90000000 + n + review.pk * 1000),
        doi=f"10.1000/test.{review.pk}.{n}",
        pmcid=f"PMC{700000 + n}",
        title=title or f"Mesenchymal stem cells in systemic sclerosis: trial {n}",
        abstract_sections=[
            {"label": "BACKGROUND", "category": "BACKGROUND", "text": "Systemic sclerosis is a fibrosing disease."},
            {"label": "METHODS", "category": "METHODS", "text": f"We measured mRSS in {10 + n} patients."},
        ],
        abstract=f"Systemic sclerosis is a fibrosing disease. We measured mRSS in {10 + n} patients.",
        journal="Stem Cell Research & Therapy",
        publication_year=2023,
        publication_types=["Journal Article", "Clinical Trial"],
        registry_ids=[f"NCT0{n:07d}"],
        first_author=f"Author{n}",
        origin=CitationOrigin.SEARCH,
    )
    return ReviewCitation.objects.create(review=review, citation=citation, **fields)


def make_member(username: str, review: Review, *roles: str):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.org", None
    )  # hashing is slow; tests force_login
    for role in roles:
        review_membership_create(review=review, user=user, role=role)
    user.refresh_from_db()
    return user


def make_outcomes(review: Review | None = None) -> dict[str, Outcome]:
    """mRSS of ``review`` (default: the first review, the one a single-review test made)."""
    mrss, _ = Outcome.objects.get_or_create(
        review=review or Review.objects.order_by("pk").first(),
        code="mrss",
        defaults=dict(
            name="Modified Rodnan skin score (mRSS)",
            unit="points (0–51)",
            direction="lower_is_better",
            outcome_type="continuous",
            plausible_min=0,
            plausible_max=51,
        ),
    )
    return {"mrss": mrss}


@pytest.fixture
def review(db) -> Review:
    return make_review()


@pytest.fixture
def team(review):
    return {
        "alice": make_member("alice", review, ReviewRole.SCREENER),
        "bob": make_member("bob", review, ReviewRole.SCREENER),
        "carol": make_member("carol", review, ReviewRole.SCREENER),
        "senior": make_member("senior", review, ReviewRole.SENIOR_REVIEWER),
        "ext1": make_member("ext1", review, ReviewRole.EXTRACTOR),
        "ext2": make_member("ext2", review, ReviewRole.EXTRACTOR),
        "editor": make_member("editor", review, ReviewRole.EDITOR),
    }


def client_for(client, user):
    client.force_login(user)
    return client


def records_screened_out(review: Review, numbers: range, *, screeners: tuple) -> list[ReviewCitation]:
    """Records identified and then excluded at title/abstract by two agreeing screeners (PRISMA counts each
    as identified, screened and excluded)."""
    from evidence.models import Decision, ScreeningStage
    from evidence.screening.services import screening_decision_record

    records = [make_citation(review, n) for n in numbers]
    for record in records:
        for screener in screeners:
            screening_decision_record(
                review_citation=record,
                reviewer=screener,
                stage=ScreeningStage.TITLE_ABSTRACT,
                decision=Decision.EXCLUDE,
            )
    return records


def two_screeners(review: Review) -> tuple:
    return tuple(make_member(f"{review.slug}-{name}", review, ReviewRole.SCREENER) for name in ("alice", "bob"))
