"""Each break of issue 12 (admin side), tried as the attacker did: two reviews, accounts with roles in A only.

Every refused attempt answers 403 or 404, writes nothing and leaves an AccessRefusal row.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from evidence.core.roles import review_membership_create
from evidence.models import (
    AccessRefusal,
    Decision,
    DraftStatus,
    ExtractionDraft,
    ReviewMembership,
    ReviewRole,
    ScreeningDecision,
    ScreeningStage,
    Study,
    StudyStatus,
    TriageStage,
)
from evidence.screening.services import screening_decision_record
from tests.evidence.screening_support import client_for, make_citation, make_member, make_review

TA = ScreeningStage.TITLE_ABSTRACT


@pytest.fixture
def reviews(db):
    return make_review("alpha"), make_review("secretb")


def _study_form(review, **fields) -> dict:
    """The study add/change form's POST, with its six inline formsets empty."""
    data = {"review": review.pk, "label": "Forged 2024", "design": "case_series", **fields}
    for prefix in ["reports", "arms", "interventions", "measurements", "adverse_events", "quality_assessments"]:
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return data


def _refusals(user) -> int:
    return AccessRefusal.objects.filter(user=user).count()


def test_a_review_admin_is_offered_only_their_reviews_and_cannot_grant_a_role_in_another(client, reviews):
    a, b = reviews
    admin_a = make_member("admin-a", a, ReviewRole.ADMIN)
    client_for(client, admin_a)
    form = client.get(reverse("admin:evidence_reviewmembership_add")).content.decode()
    assert a.title in form and b.title not in form

    response = client.post(
        reverse("admin:evidence_reviewmembership_add"), {"review": b.pk, "user": admin_a.pk, "role": "admin"}
    )

    assert response.status_code == 403
    assert not ReviewMembership.objects.filter(review=b).exists()
    assert AccessRefusal.objects.get(user=admin_a).status == 403
    assert client.get(reverse("admin:evidence_study_changelist")).content.decode().count(b.title) == 0


def test_a_review_admin_grants_a_role_in_their_own_review(client, reviews):
    a, _ = reviews
    admin_a = make_member("admin-a", a, ReviewRole.ADMIN)
    newcomer = make_member("newcomer", make_review("gamma"), ReviewRole.SCREENER)
    ReviewMembership.objects.filter(user=newcomer).delete()  # an account in no review yet

    response = client_for(client, admin_a).post(
        reverse("admin:evidence_reviewmembership_add"), {"review": a.pk, "user": newcomer.pk, "role": "screener"}
    )

    assert response.status_code == 302
    assert ReviewMembership.objects.filter(review=a, user=newcomer, role="screener").exists()


def test_only_an_admin_of_the_review_may_grant_a_role_through_the_service(reviews):
    a, b = reviews
    admin_a = make_member("admin-a", a, ReviewRole.ADMIN)
    target = make_member("target", a, ReviewRole.SCREENER)
    with pytest.raises(PermissionDenied):
        review_membership_create(review=b, user=target, role=ReviewRole.ADMIN, granted_by=admin_a)
    assert not ReviewMembership.objects.filter(review=b).exists()


def test_a_senior_reviewer_cannot_create_an_included_study_in_either_review(client, reviews):
    a, b = reviews
    senior = make_member("senior-a", a, ReviewRole.SENIOR_REVIEWER)
    client_for(client, senior)
    url = reverse("admin:evidence_study_add")

    own = client.post(url, _study_form(a, status=StudyStatus.INCLUDED))
    other = client.post(url, _study_form(b, status=StudyStatus.INCLUDED, label="Forged B 2024"))

    assert own.status_code == 302
    assert Study.objects.get(review=a).status == StudyStatus.EXTRACTION  # status is the approval's alone
    assert other.status_code == 403
    assert not Study.objects.filter(review=b).exists()
    assert _refusals(senior) == 1


def test_an_editor_in_a_who_screens_in_b_cannot_edit_bs_study(client, reviews):
    a, b = reviews
    user = make_member("two-hats", a, ReviewRole.EDITOR)
    review_membership_create(review=b, user=user, role=ReviewRole.SCREENER)
    study_b = Study.objects.create(review=b, label="B study 2020", design="case_series")
    study_a = Study.objects.create(review=a, label="A study 2020", design="case_series")
    client_for(client, user)

    forged = client.post(
        reverse("admin:evidence_study_change", args=[study_b.pk]),
        _study_form(b, label="B study 2020", status=StudyStatus.INCLUDED, country="edited"),
    )
    own = client.post(
        reverse("admin:evidence_study_change", args=[study_a.pk]),
        _study_form(a, label="A study 2020", status=StudyStatus.INCLUDED, country="edited"),
    )

    assert forged.status_code == 403
    study_b.refresh_from_db()
    assert (study_b.status, study_b.country) == (StudyStatus.EXTRACTION, "")
    assert own.status_code == 302
    study_a.refresh_from_db()
    assert (study_a.status, study_a.country) == (StudyStatus.EXTRACTION, "edited")
    assert _refusals(user) == 1


def test_an_editor_cannot_move_a_study_into_another_review(client, reviews):
    a, b = reviews
    editor = make_member("editor-a", a, ReviewRole.EDITOR)
    study = Study.objects.create(review=a, label="A study 2020", design="case_series")

    response = client_for(client, editor).post(
        reverse("admin:evidence_study_change", args=[study.pk]), _study_form(b, label="A study 2020")
    )

    assert response.status_code == 403
    study.refresh_from_db()
    assert study.review == a and _refusals(editor) == 1


def test_a_tampered_id_of_another_reviews_row_is_a_404_and_is_audited(client, reviews):
    a, b = reviews
    editor = make_member("editor-a", a, ReviewRole.EDITOR)
    study_b = Study.objects.create(review=b, label="B study 2020", design="case_series")
    client_for(client, editor)

    for url in [
        reverse("admin:evidence_study_change", args=[study_b.pk]),
        reverse("admin:evidence_study_history", args=[study_b.pk]),
        reverse("admin:evidence_study_delete", args=[study_b.pk]),
    ]:
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert "B study" not in response.content.decode()
    deleted = client.post(reverse("admin:evidence_study_delete", args=[study_b.pk]), {"post": "yes"})

    assert deleted.status_code in (403, 404) and Study.objects.filter(pk=study_b.pk).exists()
    assert _refusals(editor) == 4


def test_screener_two_cannot_read_screener_ones_decision_before_deciding(client, reviews):
    a, _ = reviews
    s1, s2 = make_member("s1", a, ReviewRole.SCREENER), make_member("s2", a, ReviewRole.SCREENER)
    senior = make_member("senior", a, ReviewRole.SENIOR_REVIEWER)
    rc = make_citation(a, 1)
    first = screening_decision_record(
        review_citation=rc, reviewer=s1, stage=TA, decision=Decision.EXCLUDE,
        exclusion_reason="Not systemic sclerosis", note="note by s1",
    )  # fmt: skip
    change = reverse("admin:evidence_screeningdecision_change", args=[first.pk])
    history = reverse("admin:evidence_screeningdecision_history", args=[first.pk])

    for who in (s2, senior):  # before the second decision nobody but s1 sees it
        client_for(client, who)
        assert client.get(change).status_code == 404
        assert client.get(history).status_code in (403, 404)
        assert "note by s1" not in client.get(reverse("admin:evidence_screeningdecision_changelist")).content.decode()

    screening_decision_record(review_citation=rc, reviewer=s2, stage=TA, decision=Decision.INCLUDE)

    assert client_for(client, s2).get(change).status_code == 404  # a screener never reads another's
    senior_page = client_for(client, senior).get(change)
    assert senior_page.status_code == 200 and "note by s1" in senior_page.content.decode()
    assert client_for(client, s1).get(change).status_code == 200


def test_the_adjudication_page_does_not_show_a_lone_decision(client, reviews):
    a, _ = reviews
    s1 = make_member("s1", a, ReviewRole.SCREENER)
    senior = make_member("senior", a, ReviewRole.SENIOR_REVIEWER)
    rc = make_citation(a, 1)
    screening_decision_record(review_citation=rc, reviewer=s1, stage=TA, decision=Decision.EXCLUDE, note="lone note")

    page = client_for(client, senior).get(reverse("admin:screening_adjudicate", args=[a.pk, TA, rc.pk]))

    assert page.status_code == 200 and "lone note" not in page.content.decode()


def test_extractor_two_cannot_read_extractor_ones_draft_until_both_submitted(client, reviews):
    a, _ = reviews
    x1, x2 = make_member("x1", a, ReviewRole.EXTRACTOR), make_member("x2", a, ReviewRole.EXTRACTOR)
    senior = make_member("senior", a, ReviewRole.SENIOR_REVIEWER)
    rc = make_citation(a, 1, stage=TriageStage.EXTRACTION)
    draft = ExtractionDraft.objects.create(review_citation=rc, extractor=x1, payload={"note": "x1 numbers"})
    change = reverse("admin:evidence_extractiondraft_change", args=[draft.pk])

    assert client_for(client, x2).get(change).status_code == 404
    assert client_for(client, senior).get(change).status_code == 404

    draft.status = DraftStatus.SUBMITTED
    draft.save()
    ExtractionDraft.objects.create(review_citation=rc, extractor=x2, status=DraftStatus.SUBMITTED)

    assert client_for(client, x2).get(change).status_code == 404
    page = client_for(client, senior).get(change)
    assert page.status_code == 200 and "x1 numbers" in page.content.decode()


def test_members_of_a_get_no_history_of_bs_rows(client, reviews):
    a, b = reviews
    member = make_member("editor-a", a, ReviewRole.EDITOR, ReviewRole.SENIOR_REVIEWER)
    b_screener = make_member("b-screener-name", b, ReviewRole.SCREENER)
    rc = make_citation(b, 1, title="B's pending citation")
    decision = screening_decision_record(review_citation=rc, reviewer=b_screener, stage=TA, decision="include")
    client_for(client, member)

    for name, row in [("reviewcitation", rc), ("citation", rc.citation), ("screeningdecision", decision)]:
        response = client.get(reverse(f"admin:evidence_{name}_history", args=[row.pk]))
        body = response.content.decode()
        assert response.status_code in (403, 404), name
        assert "pending citation" not in body and "b-screener-name" not in body


def test_site_wide_groups_are_gone_and_a_membership_grants_no_model_permission(reviews):
    a, _ = reviews
    user = make_member("dora", a, ReviewRole.EXTRACTOR)
    assert not Group.objects.filter(name__in=["screener", "senior reviewer", "extractor", "editor", "admin"])
    assert user.is_staff and not user.groups.exists()
    assert not Permission.objects.filter(user=user).exists()


def test_the_refusal_log_is_for_superusers_only(client, reviews):
    a, _ = reviews
    admin_a = make_member("admin-a", a, ReviewRole.ADMIN)
    response = client_for(client, admin_a).get(reverse("admin:evidence_accessrefusal_changelist"))
    assert response.status_code == 403
    assert AccessRefusal.objects.filter(user=admin_a, status=403).exists()


def test_a_forged_decision_for_another_reviews_citation_is_refused_and_audited(client, reviews):
    a, b = reviews
    screener = make_member("s-a", a, ReviewRole.SCREENER)
    rc_b = make_citation(b, 1)
    client_for(client, screener)

    other_review = client.post(
        reverse("admin:screening_screen", args=[b.pk, TA]), {"review_citation": rc_b.pk, "decision": "include"}
    )
    tampered_id = client.post(
        reverse("admin:screening_screen", args=[a.pk, TA]), {"review_citation": rc_b.pk, "decision": "include"}
    )

    assert (other_review.status_code, tampered_id.status_code) == (404, 404)
    assert not ScreeningDecision.objects.exists()
    assert _refusals(screener) == 2


def test_an_editor_cannot_approve_another_reviews_study_through_their_own_page(client, reviews):
    a, b = reviews
    editor = make_member("editor-a", a, ReviewRole.EDITOR)
    study_b = Study.objects.create(review=b, label="B study 2020", design="case_series")

    response = client_for(client, editor).post(
        reverse("admin:approval_list", args=[a.pk]), {"study": study_b.pk, "action": "approve"}
    )

    assert response.status_code == 404
    study_b.refresh_from_db()
    assert study_b.status == StudyStatus.EXTRACTION and _refusals(editor) == 1


def test_not_even_a_superuser_includes_a_study_through_the_admin_form(admin_client, reviews):
    a, _ = reviews
    study = Study.objects.create(review=a, label="A study 2020", design="case_series")

    response = admin_client.post(
        reverse("admin:evidence_study_change", args=[study.pk]),
        _study_form(a, label="A study 2020", status=StudyStatus.INCLUDED),
    )

    assert response.status_code == 302
    study.refresh_from_db()
    assert study.status == StudyStatus.EXTRACTION  # only evidence.approval.services.study_approve includes
