"""Two reviewers deciding the same citation at the same moment: no lost update, never a third decision.

Real threads, each with its own database connection, released together by a barrier. On PostgreSQL
the second transaction waits on the ReviewCitation row lock and then sees the first decision. SQLite
serialises writers with a database lock instead; a writer that finds the database locked gets an
OperationalError, as a browser would, and submits again — so the test asserts the same end state on both.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, close_old_connections, connection

from evidence.models import Decision, ScreeningDecision, ScreeningResolution, ScreeningStage, TriageStage
from evidence.screening.services import screening_decision_record
from tests.evidence.screening_support import make_citation, make_member, make_review

TA = ScreeningStage.TITLE_ABSTRACT
pytestmark = pytest.mark.django_db(transaction=True)


def race(rc, reviewers, decision) -> list[object]:
    """Each reviewer records a decision in their own thread, all at once; returns each outcome."""
    barrier = threading.Barrier(len(reviewers))
    outcomes: list[object] = [None] * len(reviewers)

    def work(index, reviewer):
        try:
            barrier.wait(timeout=10)
            for _attempt in range(50):  # a locked SQLite database is retried, as a user would resubmit
                try:
                    outcomes[index] = screening_decision_record(
                        review_citation=rc, reviewer=reviewer, stage=TA, decision=decision
                    )
                    return
                except OperationalError as error:
                    outcomes[index] = error
                    threading.Event().wait(0.02)
        except ValidationError as error:
            outcomes[index] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(i, r)) for i, r in enumerate(reviewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def arrange(n_screeners: int):
    review = make_review("race")
    screeners = [make_member(f"s{i}", review, "screener") for i in range(n_screeners)]
    return review, screeners, make_citation(review, 1)


def test_two_simultaneous_includes_both_count_and_move_the_citation_once():
    _review, (alice, bob), rc = arrange(2)
    outcomes = race(rc, [alice, bob], Decision.INCLUDE)
    assert all(isinstance(outcome, ScreeningDecision) for outcome in outcomes), outcomes
    rc.refresh_from_db()
    assert rc.stage == TriageStage.FULL_TEXT  # neither decision was lost: the second saw the first
    assert ScreeningResolution.objects.filter(review_citation=rc).count() == 1


def test_two_simultaneous_second_decisions_never_make_a_third():
    _review, (alice, bob, carol), rc = arrange(3)
    screening_decision_record(review_citation=rc, reviewer=alice, stage=TA, decision=Decision.INCLUDE)
    outcomes = race(rc, [bob, carol], Decision.EXCLUDE)
    recorded = [outcome for outcome in outcomes if isinstance(outcome, ScreeningDecision)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert (len(recorded), len(refused)) == (1, 1), outcomes
    assert "Two reviewers have already decided" in refused[0].messages[0]
    assert ScreeningDecision.objects.filter(review_citation=rc).count() == 2


def test_one_reviewer_submitting_twice_at_once_records_one_decision():
    _review, (alice,), rc = arrange(1)
    outcomes = race(rc, [alice, alice], Decision.INCLUDE)
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ScreeningDecision", "ValidationError"]
    assert ScreeningDecision.objects.filter(review_citation=rc).count() == 1
