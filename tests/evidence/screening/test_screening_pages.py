"""The screening pages in the admin site, through the Django test client."""

from django.urls import reverse

from evidence.models import Decision, ScreeningDecision, ScreeningStage, TriageStage
from evidence.screening.services import screening_decision_record
from tests.evidence import screening_support
from tests.evidence.screening_support import client_for, make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

TA = ScreeningStage.TITLE_ABSTRACT


def screen_url(review, stage=TA):
    return reverse("admin:screening_screen", args=[review.pk, stage])


def test_it_shows_one_citation_with_its_details_pico_terms_and_keys(client, review, team):
    rc = make_citation(review, 1)
    body = client_for(client, team["alice"]).get(screen_url(review)).content.decode()
    assert f'data-review-citation="{rc.pk}"' in body
    assert '<mark class="pico">Mesenchymal</mark>' in body and '<mark class="pico">mRSS</mark>' in body
    assert "BACKGROUND:</strong>" in body and "METHODS:</strong>" in body
    assert "Stem Cell Research &amp; Therapy" in body and "2023" in body
    assert "Clinical Trial" in body and "NCT00000001" in body
    assert f"https://pubmed.ncbi.nlm.nih.gov/{rc.citation.pmid}/" in body
    assert "https://doi.org/10.1000/test" in body and "/pmc/articles/PMC700001/" in body
    assert "<kbd>i</kbd> include" in body and "<kbd>u</kbd> undo" in body
    assert "Not systemic sclerosis" in body  # the review's own exclusion reasons
    assert 'name="viewport"' in body  # phone-sized screens
    assert "evidence/screening.js" in body


def test_a_reviewer_never_sees_anothers_decision_before_recording_their_own(client, review, team):
    rc = make_citation(review, 1)
    screening_decision_record(
        review_citation=rc, reviewer=team["alice"], stage=TA, decision=Decision.EXCLUDE, note="ALICE-SECRET-NOTE"
    )
    body = client_for(client, team["bob"]).get(screen_url(review), {"rc": rc.pk}).content.decode()
    assert f'data-review-citation="{rc.pk}"' in body
    assert "ALICE-SECRET-NOTE" not in body and "alice" not in body
    conflicts = client.get(reverse("admin:screening_conflicts", args=[review.pk, TA]))
    assert conflicts.status_code == 403  # the conflict queue is the senior reviewer's


def test_it_records_a_decision_by_plain_post_and_moves_to_the_next(client, review, team):
    first, second = make_citation(review, 1), make_citation(review, 2)
    client_for(client, team["alice"])
    response = client.post(
        screen_url(review),
        {"review_citation": first.pk, "decision": "exclude", "exclusion_reason": "Not systemic sclerosis", "pos": 0},
    )
    assert response.status_code == 302
    decision = ScreeningDecision.objects.get(reviewer=team["alice"])
    assert (decision.review_citation, decision.decision, decision.exclusion_reason) == (
        first,
        "exclude",
        "Not systemic sclerosis",
    )
    assert f'data-review-citation="{second.pk}"' in client.get(response.url).content.decode()


def test_a_double_post_gives_a_clear_message_and_no_second_decision(client, review, team):
    rc = make_citation(review, 1)
    client_for(client, team["alice"])
    data = {"review_citation": rc.pk, "decision": "include", "pos": 0}
    client.post(screen_url(review), data)
    page = client.post(screen_url(review), data, follow=True)
    assert "already recorded a decision" in page.content.decode()
    assert ScreeningDecision.objects.filter(review_citation=rc).count() == 1


def test_undo_by_post_puts_the_citation_back_in_my_queue(client, review, team):
    rc = make_citation(review, 1)
    client_for(client, team["alice"])
    client.post(screen_url(review), {"review_citation": rc.pk, "decision": "maybe", "pos": 0})
    page = client.post(reverse("admin:screening_undo", args=[review.pk, TA]), follow=True)
    assert "Undone" in page.content.decode()
    assert f'data-review-citation="{rc.pk}"' in page.content.decode()
    assert not ScreeningDecision.objects.exists()


def test_next_and_previous_walk_the_queue(client, review, team):
    rcs = [make_citation(review, n) for n in range(3)]
    client_for(client, team["alice"])
    assert f'data-review-citation="{rcs[1].pk}"' in client.get(screen_url(review), {"pos": 1}).content.decode()
    assert "Nothing left for you" in client.get(screen_url(review), {"pos": 3}).content.decode()


def test_the_senior_reviewer_adjudicates_on_the_conflict_page(client, review, team):
    rc = make_citation(review, 1)
    screening_decision_record(review_citation=rc, reviewer=team["alice"], stage=TA, decision="include", note="RCT")
    screening_decision_record(review_citation=rc, reviewer=team["bob"], stage=TA, decision="exclude")
    client_for(client, team["senior"])
    listing = client.get(reverse("admin:screening_conflicts", args=[review.pk, TA])).content.decode()
    assert str(rc.citation.title) in listing
    url = reverse("admin:screening_adjudicate", args=[review.pk, TA, rc.pk])
    page = client.get(url).content.decode()
    assert "alice" in page and "bob" in page and "RCT" in page  # the adjudicator sees both decisions
    client.post(url, {"decision": "include", "reason": "Population is SSc; cell therapy"})
    rc.refresh_from_db()
    assert rc.stage == TriageStage.FULL_TEXT


def test_agreement_and_prisma_pages_render_for_the_senior_reviewer(client, review, team):
    make_citation(review, 1)
    client_for(client, team["senior"])
    assert client.get(reverse("admin:screening_agreement", args=[review.pk])).status_code == 200
    page = client.get(reverse("admin:screening_prisma", args=[review.pk]), {"since": "2020-01-01T00:00:00Z"})
    assert "Records identified" in page.content.decode()


def test_the_workspace_lists_only_my_reviews_with_progress(client, review, team):
    from tests.evidence.screening_support import make_review

    other = make_review("other-review")
    page = client_for(client, team["alice"]).get(reverse("admin:screening_home")).content.decode()
    assert review.title in page and other.title not in page


def test_decision_history_is_visible_and_cannot_be_reverted(client, review, team):
    from django.contrib.auth import get_user_model

    rc = make_citation(review, 1)
    decision = screening_decision_record(review_citation=rc, reviewer=team["alice"], stage=TA, decision="include")
    admin = get_user_model().objects.create_superuser("root", "root@example.org", None)
    client_for(client, admin)
    history = client.get(reverse("admin:evidence_screeningdecision_history", args=[decision.pk]))
    assert history.status_code == 200 and "alice" in history.content.decode()
    change = client.post(
        reverse("admin:evidence_screeningdecision_change", args=[decision.pk]), {"decision": "exclude"}
    )
    assert change.status_code == 403
    historical = decision.history.first()
    revert = client.post(
        reverse("admin:evidence_screeningdecision_simple_history", args=[decision.pk, historical.history_id]),
        {"decision": "exclude"},
    )
    assert revert.status_code in (403, 200)
    decision.refresh_from_db()
    assert decision.decision == "include"
