"""Every denial: the public writes nothing; non-members see nothing; each role does only its own work."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from evidence.approval.services import study_approve
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import (
    ReviewRole,
    ScreeningDecision,
    ScreeningStage,
    Study,
    TriageStage,
)
from evidence.screening.services import screening_decision_record
from tests.evidence import screening_support
from tests.evidence.screening_support import client_for, make_citation, make_member, make_review

review = screening_support.review  # fixture
team = screening_support.team  # fixture

TA = ScreeningStage.TITLE_ABSTRACT


def urls(review, rc):
    return {
        "home": reverse("admin:screening_home"),
        "screen": reverse("admin:screening_screen", args=[review.pk, TA]),
        "undo": reverse("admin:screening_undo", args=[review.pk, TA]),
        "conflicts": reverse("admin:screening_conflicts", args=[review.pk, TA]),
        "adjudicate": reverse("admin:screening_adjudicate", args=[review.pk, TA, rc.pk]),
        "agreement": reverse("admin:screening_agreement", args=[review.pk]),
        "prisma": reverse("admin:screening_prisma", args=[review.pk]),
        "extraction": reverse("admin:extraction_list", args=[review.pk]),
        "draft": reverse("admin:extraction_draft", args=[review.pk, rc.pk]),
        "compare": reverse("admin:extraction_compare", args=[review.pk, rc.pk]),
        "approval": reverse("admin:approval_list", args=[review.pk]),
    }


@pytest.mark.parametrize(
    "name",
    [
        "home",
        "screen",
        "undo",
        "conflicts",
        "adjudicate",
        "agreement",
        "prisma",
        "extraction",
        "draft",
        "compare",
        "approval",
    ],
)
def test_the_public_is_sent_to_the_login_page_and_writes_nothing(client, review, name):
    rc = make_citation(review, 1)
    url = urls(review, rc)[name]
    for response in (client.get(url), client.post(url, {"review_citation": rc.pk, "decision": "include"})):
        assert response.status_code == 302 and "/admin/login/" in response.url
    assert not ScreeningDecision.objects.exists()


@pytest.mark.parametrize("name", ["screen", "conflicts", "adjudicate", "agreement", "prisma", "draft", "approval"])
def test_a_non_member_cannot_even_see_the_review(client, review, name):
    rc = make_citation(review, 1)
    other = make_review("other")
    outsider = make_member("outsider", other, ReviewRole.SENIOR_REVIEWER, ReviewRole.EDITOR, ReviewRole.SCREENER)
    response = client_for(client, outsider).post(
        urls(review, rc)[name], {"review_citation": rc.pk, "decision": "include"}
    )
    assert response.status_code == 404
    assert not ScreeningDecision.objects.exists()


DENIED = {
    "ext1": ["screen", "undo", "conflicts", "adjudicate", "agreement", "compare", "approval"],
    "editor": ["screen", "undo", "conflicts", "adjudicate", "extraction", "draft", "compare"],
    "alice": ["conflicts", "adjudicate", "agreement", "extraction", "draft", "compare", "approval"],
    "senior": ["screen", "undo", "draft", "approval"],
}


@pytest.mark.parametrize(("who", "name"), [(who, name) for who, names in DENIED.items() for name in names])
def test_each_role_is_refused_the_others_pages(client, review, team, who, name):
    rc = make_citation(review, 1)
    response = client_for(client, team[who]).post(
        urls(review, rc)[name], {"review_citation": rc.pk, "decision": "include"}
    )
    assert response.status_code == 403
    assert not ScreeningDecision.objects.exists()


def test_services_refuse_the_wrong_role_too(review, team):
    rc = make_citation(review, 1)
    with pytest.raises(PermissionDenied):
        screening_decision_record(review_citation=rc, reviewer=team["editor"], stage=TA, decision="include")
    extraction = make_citation(review, 2, stage=TriageStage.EXTRACTION)
    with pytest.raises(PermissionDenied):
        extraction_draft_save(review_citation=extraction, extractor=team["alice"], payload={})
    with pytest.raises(PermissionDenied):
        extraction_reconcile(review_citation=extraction, reconciler=team["ext1"], payload={})
    study = Study.objects.create(review=review, label="X 2020", design="case_series")
    with pytest.raises(PermissionDenied):
        study_approve(study=study, editor=team["senior"])


def test_a_member_of_another_review_cannot_act_on_this_one_through_the_services(review):
    rc = make_citation(review, 1)
    outsider = make_member("outsider", make_review("other"), ReviewRole.SCREENER)
    with pytest.raises(PermissionDenied):
        screening_decision_record(review_citation=rc, reviewer=outsider, stage=TA, decision="include")


def test_no_site_wide_role_group_is_left(db):
    """0003 created one group per role; they granted a role's powers in every review, and 0009 removed them."""
    names = set(Group.objects.values_list("name", flat=True))
    assert not names & {"screener", "senior reviewer", "extractor", "editor", "admin"}


def test_a_membership_gives_admin_access_and_no_group(review):
    user = make_member("dora", review, ReviewRole.EXTRACTOR)
    assert user.is_staff and not user.groups.exists()
