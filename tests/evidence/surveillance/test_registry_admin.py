"""Reviewers screen registrations and close registry tasks from the admin; the actions call the services."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import Registration, RegistryTask, Review, ReviewRole
from tests.evidence.screening_support import make_member


@pytest.fixture
def review(db):
    return Review.objects.create(slug="adm", title="Admin", pubmed_query="q", search_start_date=dt.date(2021, 1, 1))


def _client(user) -> Client:
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_a_screener_includes_a_registration_as_ongoing_from_the_changelist(review):
    registration = Registration.objects.create(review=review, nct_id="NCT07360808", overall_status="RECRUITING")
    client = _client(make_member("adm-screener", review, ReviewRole.SCREENER))

    response = client.post(
        reverse("admin:evidence_registration_changelist"),
        {"action": "include_ongoing", "_selected_action": [registration.pk]},
    )

    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.screening == "ongoing" and registration.screened_by.username == "adm-screener"


def test_an_extractor_cannot_screen_and_nothing_changes(review):
    registration = Registration.objects.create(review=review, nct_id="NCT07360808", overall_status="RECRUITING")
    client = _client(make_member("adm-extractor", review, ReviewRole.EXTRACTOR))

    client.post(
        reverse("admin:evidence_registration_changelist"),
        {"action": "include_ongoing", "_selected_action": [registration.pk]},
    )

    registration.refresh_from_db()
    assert registration.screening == "pending"


def test_a_member_marks_a_task_done(review):
    registration = Registration.objects.create(review=review, nct_id="NCT07360808", overall_status="RECRUITING")
    task = RegistryTask.objects.create(
        review=review, registration=registration, kind="results_posted", key="results", message="m"
    )
    client = _client(make_member("adm-extractor", review, ReviewRole.EXTRACTOR))

    client.post(
        reverse("admin:evidence_registrytask_changelist"), {"action": "mark_done", "_selected_action": [task.pk]}
    )

    task.refresh_from_db()
    assert task.done_at is not None and task.done_by.username == "adm-extractor"
