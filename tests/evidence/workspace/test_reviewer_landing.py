"""A reviewer lands on their work: the admin index lists their queues with counts; refusals say why and where."""

import pytest
from django.urls import reverse

from evidence.models import Decision, ScreeningStage
from evidence.screening.services import screening_decision_record
from tests.evidence import screening_support
from tests.evidence.screening_support import client_for, make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

TA = ScreeningStage.TITLE_ABSTRACT


def test_a_screener_sees_their_queue_with_its_count_on_the_admin_index(client, review, team):
    make_citation(review, 1), make_citation(review, 2)

    body = client_for(client, team["alice"]).get(reverse("admin:index")).content.decode()

    assert "Your work" in body and review.title in body
    screen = reverse("admin:screening_screen", args=[review.pk, TA])
    assert f'<a href="{screen}">To screen (title/abstract)</a>: <strong>2</strong>' in body
    assert "To adjudicate" not in body and "To approve" not in body  # not a screener's work
    assert reverse("admin:screening_home") in body


def test_a_senior_reviewer_sees_conflicts_to_adjudicate(client, review, team):
    record = make_citation(review, 1)
    for screener, decision in (("alice", Decision.INCLUDE), ("bob", Decision.EXCLUDE)):
        screening_decision_record(
            review_citation=record, reviewer=team[screener], stage=TA, decision=decision,
            exclusion_reason="Not systemic sclerosis" if decision == Decision.EXCLUDE else "",
        )  # fmt: skip

    body = client_for(client, team["senior"]).get(reverse("admin:index")).content.decode()

    conflicts = reverse("admin:screening_conflicts", args=[review.pk, TA])
    assert f'<a href="{conflicts}">To adjudicate (title/abstract)</a>: <strong>1</strong>' in body
    assert "To reconcile" in body


def test_the_workspace_home_lists_the_same_queues(client, review, team):
    make_citation(review, 1)
    body = client_for(client, team["alice"]).get(reverse("admin:screening_home")).content.decode()
    assert "To screen (title/abstract)</a>: <strong>1</strong>" in body


def test_a_refusal_is_a_styled_page_saying_why_and_where_to_go(client, review, team):
    response = client_for(client, team["alice"]).get(reverse("admin:screening_conflicts", args=[review.pk, TA]))

    assert response.status_code == 403
    body = response.content.decode()
    assert "evidence/pages.css" in body and "<h1>You cannot open this page</h1>" in body
    assert "You need the senior_reviewer role in this review." in body
    assert f'href="{reverse("admin:index")}"' in body and f'href="{reverse("admin:screening_home")}"' in body


def test_kappa_has_a_hand_computed_confidence_interval():
    from evidence.screening.selectors import kappa_interval

    # The 10-item example of test_kappa_matches_a_hand_computed_example: po = 0.7, pe = 0.5, kappa = 0.4;
    # SE = sqrt(0.7 * 0.3 / (10 * 0.5**2)) = 0.289828, so 0.4 ± 1.959964 * SE = (-0.168052, 0.968052).
    pairs = [("include", "include")] * 4 + [("exclude", "exclude")] * 3
    pairs += [("include", "exclude")] * 2 + [("exclude", "include")]
    low, high = kappa_interval(pairs)
    assert (low, high) == (pytest.approx(-0.168052, abs=1e-6), pytest.approx(0.968052, abs=1e-6))
    assert kappa_interval([("include", "include")] * 3) is None
    assert kappa_interval([("include", "exclude"), ("exclude", "include")]) == (-1.0, pytest.approx(-1.0))


def test_the_kappa_page_names_the_stage_and_n_and_warns_below_twenty(client, review, team):
    for n, (a, b) in enumerate([(Decision.INCLUDE, Decision.INCLUDE), (Decision.EXCLUDE, Decision.INCLUDE)]):
        record = make_citation(review, n)
        for screener, decision in (("alice", a), ("bob", b)):
            screening_decision_record(
                review_citation=record, reviewer=team[screener], stage=TA, decision=decision,
                exclusion_reason="Not systemic sclerosis" if decision == Decision.EXCLUDE else "",
            )  # fmt: skip

    body = (
        client_for(client, team["senior"]).get(reverse("admin:screening_agreement", args=[review.pk])).content.decode()
    )

    assert "<td>Title/abstract screening</td>" in body and "title_abstract" not in body
    assert "Only 2 citations: too few to judge agreement" in body
    assert "95% CI" in body


def test_the_prisma_counts_show_records_awaiting_each_stage(client, review, team):
    for n in range(3):
        make_citation(review, n)

    body = client_for(client, team["alice"]).get(reverse("admin:screening_prisma", args=[review.pk])).content.decode()

    assert "<tr><th>Awaiting title/abstract screening</th><td>3</td></tr>" in body
    assert "<tr><th>Awaiting full-text screening</th><td>0</td></tr>" in body
