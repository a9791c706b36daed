"""Dual screening services: agreement moves a citation on, disagreement goes to the senior reviewer."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from evidence.models import (
    Adjudication,
    Decision,
    ScreeningDecision,
    ScreeningResolution,
    ScreeningStage,
    TriageStage,
)
from evidence.screening.selectors import (
    awaiting_adjudication,
    awaiting_second_reviewer,
    cohen_kappa,
    reviewer_pair_agreement,
    screening_progress,
    screening_queue,
)
from evidence.screening.services import adjudication_record, screening_decision_record, screening_decision_undo
from tests.evidence import screening_support
from tests.evidence.screening_support import make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

TA, FT = ScreeningStage.TITLE_ABSTRACT, ScreeningStage.FULL_TEXT


def decide(rc, user, decision, stage=TA, reason=""):
    return screening_decision_record(
        review_citation=rc, reviewer=user, stage=stage, decision=decision, exclusion_reason=reason
    )


def test_it_moves_a_citation_to_full_text_when_two_screeners_include(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    rc.refresh_from_db()
    assert rc.stage == TriageStage.TITLE_ABSTRACT
    assert list(awaiting_second_reviewer(review=review, stage=TA)) == [rc]
    decide(rc, team["bob"], Decision.INCLUDE)
    rc.refresh_from_db()
    assert rc.stage == TriageStage.FULL_TEXT
    assert ScreeningResolution.objects.get(review_citation=rc, stage=TA).outcome == Decision.INCLUDE


def test_it_excludes_with_the_reason_when_two_screeners_exclude(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.EXCLUDE, reason="Not systemic sclerosis")
    decide(rc, team["bob"], Decision.EXCLUDE, reason="Not systemic sclerosis")
    rc.refresh_from_db()
    assert (rc.stage, rc.exclusion_reason) == (TriageStage.EXCLUDED, "Not systemic sclerosis")


@pytest.mark.parametrize("second", [Decision.EXCLUDE, Decision.MAYBE])
def test_it_sends_a_disagreement_or_a_maybe_to_the_conflict_queue(review, team, second):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    decide(rc, team["bob"], second)
    rc.refresh_from_db()
    assert rc.stage == TriageStage.TITLE_ABSTRACT
    assert list(awaiting_adjudication(review=review, stage=TA)) == [rc]
    assert not ScreeningResolution.objects.exists()


def test_it_never_lets_a_reviewer_decide_twice(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    with pytest.raises(ValidationError, match="already recorded"):
        decide(rc, team["alice"], Decision.EXCLUDE)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database itself forbids it
        ScreeningDecision.objects.create(review_citation=rc, reviewer=team["alice"], stage=TA, decision="exclude")
    assert ScreeningDecision.objects.filter(review_citation=rc).count() == 1


def test_it_refuses_a_third_decision_and_keeps_the_conflict(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    decide(rc, team["bob"], Decision.EXCLUDE)
    with pytest.raises(ValidationError, match="Two reviewers have already decided"):
        decide(rc, team["carol"], Decision.INCLUDE)
    assert ScreeningDecision.objects.filter(review_citation=rc).count() == 2


def test_the_queue_skips_what_i_decided_and_what_two_others_decided(review, team):
    first, second, third = (make_citation(review, n) for n in (1, 2, 3))
    decide(first, team["alice"], Decision.INCLUDE)
    decide(second, team["bob"], Decision.INCLUDE)
    decide(second, team["carol"], Decision.EXCLUDE)
    assert list(screening_queue(review=review, reviewer=team["alice"], stage=TA)) == [third]
    assert set(screening_queue(review=review, reviewer=team["bob"], stage=TA)) == {first, third}


def test_it_orders_the_queue_by_relevance_and_never_drops_unscored(review, team):
    low, unscored, high = make_citation(review, 1), make_citation(review, 2), make_citation(review, 3)
    low.relevance_score, high.relevance_score = 0.1, 0.9
    low.save(), high.save()
    assert list(screening_queue(review=review, reviewer=team["alice"], stage=TA)) == [high, low, unscored]


def test_it_counts_progress_for_me_and_for_the_team(review, team):
    rcs = [make_citation(review, n) for n in range(4)]
    decide(rcs[0], team["alice"], Decision.INCLUDE)
    decide(rcs[0], team["bob"], Decision.INCLUDE)
    decide(rcs[1], team["alice"], Decision.INCLUDE)
    decide(rcs[2], team["bob"], Decision.INCLUDE)
    decide(rcs[2], team["carol"], Decision.EXCLUDE)
    progress = screening_progress(review=review, reviewer=team["alice"], stage=TA)
    assert (progress.mine_screened, progress.mine_remaining) == (2, 1)
    assert (progress.team_resolved, progress.team_remaining) == (1, 3)
    assert (progress.awaiting_second, progress.awaiting_adjudication) == (1, 1)


def test_an_adjudication_is_final_and_recorded_with_its_reason(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    decide(rc, team["bob"], Decision.MAYBE)
    adjudication_record(
        review_citation=rc, adjudicator=team["senior"], stage=TA, decision=Decision.INCLUDE, reason="MSC trial in SSc"
    )
    rc.refresh_from_db()
    assert rc.stage == TriageStage.FULL_TEXT
    resolution = ScreeningResolution.objects.get(review_citation=rc, stage=TA)
    assert resolution.adjudication.reason == "MSC trial in SSc"
    with pytest.raises(ValidationError):
        adjudication_record(
            review_citation=rc, adjudicator=team["senior"], stage=TA, decision=Decision.EXCLUDE, reason="again"
        )
    assert Adjudication.objects.count() == 1


def test_an_adjudication_needs_a_reason_a_conflict_and_the_senior_role(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    with pytest.raises(ValidationError, match="Only a conflict"):
        adjudication_record(review_citation=rc, adjudicator=team["senior"], stage=TA, decision="include", reason="x")
    decide(rc, team["bob"], Decision.EXCLUDE)
    with pytest.raises(ValidationError, match="Say why"):
        adjudication_record(review_citation=rc, adjudicator=team["senior"], stage=TA, decision="include", reason=" ")
    with pytest.raises(PermissionDenied):
        adjudication_record(review_citation=rc, adjudicator=team["carol"], stage=TA, decision="include", reason="x")
    assert not Adjudication.objects.exists()


def test_it_undoes_my_last_unresolved_decision_only(review, team):
    first, second = make_citation(review, 1), make_citation(review, 2)
    decide(first, team["alice"], Decision.INCLUDE)
    decide(first, team["bob"], Decision.INCLUDE)  # resolved: alice's decision on it stays
    decide(second, team["alice"], Decision.EXCLUDE)
    undone = screening_decision_undo(review=review, reviewer=team["alice"], stage=TA)
    assert undone.review_citation == second
    assert not ScreeningDecision.objects.filter(review_citation=second).exists()
    with pytest.raises(ValidationError, match="already been resolved"):
        screening_decision_undo(review=review, reviewer=team["alice"], stage=TA)
    assert ScreeningDecision.objects.filter(review_citation=first).count() == 2
    assert ScreeningDecision.history.filter(history_type="-", history_user=team["alice"]).count() == 1


def test_full_text_exclusion_needs_a_prisma_reason(review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    with pytest.raises(ValidationError, match="PRISMA reason"):
        decide(rc, team["alice"], Decision.EXCLUDE, stage=FT)
    with pytest.raises(ValidationError, match="PRISMA reason"):
        decide(rc, team["alice"], Decision.EXCLUDE, stage=FT, reason="Not systemic sclerosis")
    decide(rc, team["alice"], Decision.EXCLUDE, stage=FT, reason="wrong_population")
    decide(rc, team["bob"], Decision.EXCLUDE, stage=FT, reason="wrong_population")
    rc.refresh_from_db()
    assert (rc.stage, rc.exclusion_reason) == (TriageStage.EXCLUDED, "wrong_population")


def test_full_text_excludes_with_different_reasons_are_adjudicated(review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    decide(rc, team["alice"], Decision.EXCLUDE, stage=FT, reason="wrong_population")
    decide(rc, team["bob"], Decision.EXCLUDE, stage=FT, reason="wrong_study_design")
    assert list(awaiting_adjudication(review=review, stage=FT)) == [rc]
    adjudication_record(
        review_citation=rc,
        adjudicator=team["senior"],
        stage=FT,
        decision=Decision.EXCLUDE,
        exclusion_reason="wrong_study_design",
        reason="Case report of two patients",
    )
    rc.refresh_from_db()
    assert (rc.stage, rc.exclusion_reason) == (TriageStage.EXCLUDED, "wrong_study_design")


def test_two_full_text_includes_send_the_citation_to_extraction(review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    decide(rc, team["alice"], Decision.INCLUDE, stage=FT)
    decide(rc, team["bob"], Decision.INCLUDE, stage=FT)
    rc.refresh_from_db()
    assert rc.stage == TriageStage.EXTRACTION


def test_a_title_abstract_reason_must_come_from_the_review_list(review, team):
    rc = make_citation(review, 1)
    with pytest.raises(ValidationError, match="not one of this review's reasons"):
        decide(rc, team["alice"], Decision.EXCLUDE, reason="I do not like it")
    assert not ScreeningDecision.objects.exists()


def test_a_decision_on_a_citation_that_left_the_stage_is_refused(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    decide(rc, team["bob"], Decision.INCLUDE)
    with pytest.raises(ValidationError, match="no longer at"):
        decide(rc, team["carol"], Decision.EXCLUDE)


def test_kappa_matches_a_hand_computed_example():
    # 10 items: both include 4, both exclude 3, A include/B exclude 2, A exclude/B include 1.
    # po = 7/10 = 0.7; A includes 6, B includes 5: pe = 0.6*0.5 + 0.4*0.5 = 0.5; kappa = (0.7-0.5)/0.5 = 0.4
    pairs = [("include", "include")] * 4 + [("exclude", "exclude")] * 3
    pairs += [("include", "exclude")] * 2 + [("exclude", "include")]
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert cohen_kappa([]) is None
    assert cohen_kappa([("include", "include")] * 3) is None  # pe = 1: undefined


def test_it_computes_kappa_per_reviewer_pair_and_stage(review, team):
    rcs = [make_citation(review, n) for n in range(4)]
    for rc, (a, b) in zip(
        rcs, [("include", "include"), ("exclude", "exclude"), ("include", "exclude"), ("exclude", "exclude")]
    ):
        decide(rc, team["alice"], a, reason="")
        decide(rc, team["bob"], b, reason="")
    [pair] = reviewer_pair_agreement(review=review)
    # po = 3/4; alice includes 2/4, bob 1/4: pe = .5*.25 + .5*.75 = .5; kappa = .25/.5 = .5
    assert (pair.stage, pair.reviewer_a, pair.reviewer_b, pair.n) == (TA, "alice", "bob", 4)
    assert pair.kappa == pytest.approx(0.5)


def test_every_decision_is_in_the_audit_trail_with_its_author(review, team):
    rc = make_citation(review, 1)
    decide(rc, team["alice"], Decision.INCLUDE)
    decide(rc, team["bob"], Decision.INCLUDE)
    assert set(ScreeningDecision.history.values_list("history_user__username", flat=True)) == {"alice", "bob"}
    stage_changes = rc.history.filter(stage=TriageStage.FULL_TEXT)
    assert stage_changes.get().history_user == team["bob"]
