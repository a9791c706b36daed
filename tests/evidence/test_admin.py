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
