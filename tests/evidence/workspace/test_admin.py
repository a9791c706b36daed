"""The admin shows the seeded review with its nine studies and their data."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from evidence.models import ReviewVersion, Study


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("editor", "editor@example.org", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_it_lists_the_nine_seeded_studies(admin_client, seeded):
    page = admin_client.get(reverse("admin:evidence_study_changelist"), {"review__id__exact": seeded.id})
    assert page.status_code == 200
    for study in Study.objects.filter(review=seeded):
        assert escape(study.label) in page.content.decode()
    assert "9 studies" in page.content.decode()


def test_a_study_page_shows_its_measurements_and_reports(admin_client, seeded):
    zhang = Study.objects.get(label="Zhang 2017")
    page = admin_client.get(reverse("admin:evidence_study_change", args=[zhang.id]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "20.1" in body and "13.8" in body and "28724445" in body


def test_versions_are_read_only(admin_client, seeded):
    version = ReviewVersion.objects.get(review=seeded, number=0)
    url = reverse("admin:evidence_reviewversion_change", args=[version.id])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"trigger": "tampered"})
    version.refresh_from_db()
    assert version.trigger != "tampered"


@pytest.mark.parametrize(
    "model",
    [
        "review",
        "citation",
        "reviewcitation",
        "intervention",
        "outcome",
        "outcomemeasurement",
        "adverseevent",
        "qualityassessment",
        "pooledresult",
    ],
)
def test_every_changelist_renders(admin_client, seeded, model):
    assert admin_client.get(reverse(f"admin:evidence_{model}_changelist"), {"q": "a"}).status_code == 200


def test_a_staff_member_sees_only_the_reviews_they_belong_to(client, seeded):
    from django.contrib.auth.models import Permission

    from evidence.models import Review

    other = Review.objects.create(
        slug="other", title="Another review", pubmed_query="x", search_start_date="2024-01-01"
    )
    user = get_user_model().objects.create_user("outsider", "o@example.org", "pw-for-tests-only", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_study", "view_review", "view_citation"]))
    from evidence.core.roles import review_membership_create

    review_membership_create(review=other, user=user, role="screener")
    client.force_login(user)
    studies = client.get(reverse("admin:evidence_study_changelist")).content.decode()
    reviews = client.get(reverse("admin:evidence_review_changelist")).content.decode()
    assert "Zhang 2017" not in studies and "0 studies" in studies
    assert "Another review" in reviews and seeded.title not in reviews
    assert client.get(reverse("admin:evidence_citation_changelist")).content.decode().count("28724445") == 0
