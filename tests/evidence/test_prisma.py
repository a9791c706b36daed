"""PRISMA 2020 counts come from stored events, for the whole review and since a date."""

import datetime

from django.utils import timezone

from evidence.models import Citation, CitationOrigin, Decision, ReviewCitation, ScreeningResolution, ScreeningStage
from evidence.services.prisma import prisma_counts
from evidence.services.screening import adjudication_record, screening_decision_record
from tests.evidence import screening_support
from tests.evidence.screening_support import make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

TA, FT = ScreeningStage.TITLE_ABSTRACT, ScreeningStage.FULL_TEXT


def both(rc, team, decision, stage=TA, reason=""):
    for name in ("alice", "bob"):
        screening_decision_record(
            review_citation=rc, reviewer=team[name], stage=stage, decision=decision, exclusion_reason=reason
        )


def test_it_counts_the_flow_from_the_decisions(review, team):
    rcs = [make_citation(review, n) for n in range(5)]
    manual = Citation.objects.create(title="Hand-added", origin=CitationOrigin.MANUAL)
    duplicate = ReviewCitation.objects.create(
        review=review, citation=manual, possible_duplicate_of=rcs[0].citation, stage="excluded"
    )
    both(rcs[0], team, Decision.INCLUDE)
    both(rcs[1], team, Decision.INCLUDE)
    both(rcs[2], team, Decision.EXCLUDE, reason="Not systemic sclerosis")
    screening_decision_record(review_citation=rcs[3], reviewer=team["alice"], stage=TA, decision="include")
    screening_decision_record(review_citation=rcs[3], reviewer=team["bob"], stage=TA, decision="exclude")
    adjudication_record(review_citation=rcs[3], adjudicator=team["senior"], stage=TA, decision="exclude", reason="r")
    both(rcs[0], team, Decision.EXCLUDE, stage=FT, reason="wrong_outcome")
    both(rcs[1], team, Decision.INCLUDE, stage=FT)
    counts = prisma_counts(review=review)
    assert counts.identified_by_source == {"manual": 1, "search": 5} and counts.records_identified == 6
    assert counts.duplicates_removed == 1 and duplicate.pk
    assert (counts.records_screened, counts.records_excluded) == (4, 2)
    assert counts.full_texts_assessed == 2
    assert counts.full_texts_excluded_by_reason == {"wrong_outcome": 1}
    assert (counts.studies_included, counts.reports_included) == (0, 0)


def test_it_counts_only_what_happened_since_a_date(review, team):
    old, new = make_citation(review, 1), make_citation(review, 2)
    both(old, team, Decision.EXCLUDE)
    past = timezone.now() - datetime.timedelta(days=30)
    ReviewCitation.objects.filter(pk=old.pk).update(added_at=past)
    ScreeningResolution.objects.filter(review_citation=old).update(created_at=past)
    since = timezone.now() - datetime.timedelta(days=1)
    both(new, team, Decision.INCLUDE)
    counts = prisma_counts(review=review, since=since)
    assert (counts.records_identified, counts.records_screened, counts.records_excluded) == (1, 1, 0)
    whole = prisma_counts(review=review)
    assert (whole.records_identified, whole.records_screened, whole.records_excluded) == (2, 2, 1)


def test_the_seed_review_counts_its_included_studies(seeded):
    counts = prisma_counts(review=seeded)
    assert counts.studies_included == 9
    assert counts.reports_included >= 9
    assert counts.identified_by_source.get("seed", 0) >= 9


def test_records_found_by_search_runs_count_once_per_record_by_the_run_that_found_them(review):
    from evidence.models import SearchRun
    from evidence.services.prisma import identified_by_search_run

    runs = [
        SearchRun.objects.create(
            review=review,
            query="q",
            window_start=datetime.date(2026, 11, day),
            window_end=datetime.date(2026, 11, day + 3),
            status="succeeded",
        )
        for day in (1, 2)
    ]
    for n, run in enumerate([runs[0], runs[0], runs[1]]):
        citation = Citation.objects.create(pmid=str(90000 + n), title=f"Found {n}", origin=CitationOrigin.SEARCH)
        ReviewCitation.objects.create(review=review, citation=citation, search_run=run)
    counts = prisma_counts(review=review)
    assert counts.identified_by_source["pubmed"] == 3
    assert identified_by_search_run(review=review) == {runs[0].id: 2, runs[1].id: 1}
