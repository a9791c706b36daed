"""Ranking orders the queue by predicted relevance; it never excludes."""

import pytest

from evidence.models import Decision, ReviewCitation, ScreeningStage, TriageStage
from evidence.screening import ranking
from evidence.screening import services as screening_services
from evidence.screening.services import screening_decision_record, screening_ranking_refresh
from evidence.screening.tasks import screening_ranking_refresh as ranking_task
from tests.evidence import screening_support
from tests.evidence.screening_support import make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

TA = ScreeningStage.TITLE_ABSTRACT
RELEVANT = "Mesenchymal stem cells for systemic sclerosis skin fibrosis mRSS trial"
IRRELEVANT = "Dietary fibre and colorectal cancer incidence in a cohort of nurses"


def test_pico_matching_scores_the_share_of_terms_found():
    terms = ["systemic sclerosis", "mesenchymal", "mRSS", "DLCO"]
    assert ranking.pico_score("MESENCHYMAL cells in Systemic Sclerosis", terms) == 0.5
    assert ranking.pico_score("Nothing relevant here", terms) == 0.0


def test_it_falls_back_to_pico_terms_until_both_classes_have_enough_decisions():
    labels = [1] * ranking.MIN_PER_CLASS + [0] * (ranking.MIN_PER_CLASS - 1) + [None]
    texts = [RELEVANT] * len(labels)
    assert ranking.relevance_scores(texts, labels, ["mesenchymal"]).method == "pico"


def test_the_model_ranks_unseen_relevant_records_above_irrelevant_ones():
    n = ranking.MIN_PER_CLASS
    texts = [f"{RELEVANT} {i}" for i in range(n)] + [f"{IRRELEVANT} {i}" for i in range(n)]
    texts += [
        "Umbilical cord mesenchymal stem cells improved mRSS in systemic sclerosis",
        "Colorectal cancer and fibre",
    ]
    labels = [1] * n + [0] * n + [None, None]
    result = ranking.relevance_scores(texts, labels, [])
    assert result.method == "model" and len(result.scores) == len(texts)
    assert result.scores[-2] > 0.5 > result.scores[-1]


def test_refreshing_scores_every_citation_and_excludes_none(review):
    make_citation(review, 1, title=RELEVANT)
    make_citation(review, 2, title=IRRELEVANT)
    result = ranking_task.run(review.pk)
    assert result["method"] == "pico" and result["n"] == 2
    scores = dict(ReviewCitation.objects.values_list("citation__title", "relevance_score"))
    assert scores[RELEVANT] > scores[IRRELEVANT]
    assert set(ReviewCitation.objects.values_list("stage", flat=True)) == {TriageStage.TITLE_ABSTRACT}
    assert ranking_task.run(review.pk) == result  # idempotent
    assert ranking_task.run(987654) is None  # a missing review is logged, not raised


def test_it_learns_from_decisions_once_there_are_enough(review, team):
    n = ranking.MIN_PER_CLASS
    rcs = [make_citation(review, i, title=f"{RELEVANT} {i}") for i in range(n)]
    rcs += [make_citation(review, 100 + i, title=f"{IRRELEVANT} {i}") for i in range(n)]
    for rc in rcs:
        decision = Decision.INCLUDE if RELEVANT in rc.citation.title else Decision.EXCLUDE
        screening_decision_record(review_citation=rc, reviewer=team["alice"], stage=TA, decision=decision)
    assert screening_ranking_refresh(review=review).method == "model"


def test_a_batch_of_decisions_enqueues_a_refresh_after_commit(
    review, team, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(screening_services, "_ranking_refresh_enqueue", enqueued.append)
    rcs = [make_citation(review, i) for i in range(screening_services.RANKING_BATCH)]
    with django_capture_on_commit_callbacks(execute=True):
        for rc in rcs:
            screening_decision_record(review_citation=rc, reviewer=team["alice"], stage=TA, decision="include")
    assert enqueued == [review.pk]


@pytest.mark.parametrize("bad", [(["a"], [1, 0])])
def test_mismatched_lengths_are_refused(bad):
    with pytest.raises(ValueError, match="same length"):
        ranking.relevance_scores(bad[0], bad[1], [])
