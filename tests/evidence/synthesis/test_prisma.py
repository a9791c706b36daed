"""PRISMA 2020 counts come from stored events, for the whole review and since a date."""

import datetime

import pytest
from django.utils import timezone

from evidence.models import (
    ApprovalAction,
    Citation,
    CitationOrigin,
    Decision,
    PooledResult,
    ReviewCitation,
    ReviewVersion,
    ScreeningResolution,
    ScreeningStage,
    Study,
    StudyApproval,
    StudyDesign,
    StudyReport,
    StudyStatus,
)
from evidence.screening.services import adjudication_record, screening_decision_record
from evidence.synthesis.prisma import prisma_counts, prisma_in_progress, prisma_panels, prisma_snapshot_panels
from evidence.synthesis.recompute import review_recompute
from tests.evidence import screening_support
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set, version_between_screenings
from tests.evidence.screening_support import make_citation, records_screened_out, two_screeners

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
    from evidence.synthesis.prisma import identified_by_search_run

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


# --- What a version stores: its flows as published ---------------------------------------------------------


def _panels(version):
    return {panel.key: panel for panel in prisma_snapshot_panels(version.prisma)}


def _approved_study(review, editor, label="Newfound 2026"):
    """A study found by the living review and approved by an editor (as PRISMA counts new studies)."""
    study = Study.objects.create(
        review=review, label=label, design=StudyDesign.CASE_SERIES, status=StudyStatus.INCLUDED
    )
    citation = Citation.objects.create(title=f"{label} report", origin=CitationOrigin.SEARCH)
    StudyReport.objects.create(study=study, citation=citation, is_main_report=True)
    StudyApproval.objects.create(study=study, editor=editor, action=ApprovalAction.APPROVE)
    return study


def test_version_zero_of_the_seed_review_stores_the_whole_reviews_flow(seeded):
    version = seeded.versions.get(number=0)
    panels = _panels(version)
    assert list(panels) == ["all"], "version 0 has no previous version, so no update flow"
    flow = panels["all"].flow
    assert (flow.previous_studies, flow.new_studies, flow.total_studies) == (9, 0, 9)
    assert flow.previous_label.startswith("the published review (Cui")
    assert (flow.records_screened, flow.identified_by_source) == (0, {})
    assert panels["all"].title == "PRISMA 2020 flow: the whole review, as of version 0"


def test_a_new_version_stores_what_was_screened_up_to_it(seeded):
    version = version_between_screenings(seeded)
    version.refresh_from_db()
    panels = _panels(version)
    assert [panels["all"].flow.records_screened, panels["update"].flow.records_screened] == [2, 2]
    assert panels["update"].flow.identified_by_source == {"PubMed searches": 2}
    assert panels["update"].title.startswith("PRISMA 2020 flow: the update in version 1 (since version 0, ")
    assert prisma_in_progress(latest=version).flow.records_screened == 3


def test_the_stored_flows_read_back_as_they_were_counted(seeded):
    records_screened_out(seeded, range(3), screeners=two_screeners(seeded))
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    version = review_recompute(review=seeded, trigger="t").version
    version.refresh_from_db()
    assert prisma_snapshot_panels(version.prisma) == prisma_panels(version=version)
    assert prisma_snapshot_panels({}) == []


def test_the_snapshot_is_written_in_the_versions_transaction(seeded, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("counting failed")

    monkeypatch.setattr("evidence.synthesis.recompute.write.prisma_snapshot", fail)
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    with pytest.raises(RuntimeError, match="counting failed"):
        review_recompute(review=seeded, trigger="t")
    assert list(ReviewVersion.objects.filter(review=seeded).values_list("number", flat=True)) == [0]
    assert not PooledResult.objects.filter(version__review=seeded, version__number=1).exists()


def test_screening_alone_makes_no_new_version(seeded):
    first = review_recompute(review=seeded, trigger="a")
    records_screened_out(seeded, range(2), screeners=two_screeners(seeded))
    second = review_recompute(review=seeded, trigger="b")
    assert first.created and not second.created
    assert _panels(second.version)["all"].flow.records_screened == 0


def test_nothing_is_in_progress_until_something_is_identified_or_screened(seeded):
    latest = seeded.versions.get(number=0)
    assert prisma_in_progress(latest=latest) is None
    records_screened_out(seeded, range(1), screeners=two_screeners(seeded))
    progress = prisma_in_progress(latest=latest)
    assert progress.key == "progress" and progress.flow.records_excluded == 1
    assert progress.title == "PRISMA 2020 flow: screening since version 0 (not yet in a published version)"


def test_the_update_flow_totals_match_the_whole_review(seeded):
    review_recompute(review=seeded, trigger="a")
    measurement_set(seeded, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    editor = two_screeners(seeded)[0]
    _approved_study(seeded, editor)
    version = review_recompute(review=seeded, trigger="b").version
    panels = {panel.key: panel.flow for panel in prisma_panels(version=version)}
    assert (panels["update"].previous_studies, panels["update"].new_studies) == (9, 1)
    assert panels["update"].total_studies == panels["all"].total_studies == 10
