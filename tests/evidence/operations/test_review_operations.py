"""An editor who is not a superuser runs their review through the admin (issue 20, point 1): creates a review
and becomes its admin, defines an outcome, rates GRADE, searches and recomputes now, pauses and resumes, sees
the ledgers and sets the schedule; and can do none of it in a review where they are not an editor."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.models import (
    GradeAssessment,
    LivingStatus,
    Outcome,
    RecomputeRun,
    Review,
    ReviewMembership,
    ReviewRole,
    ReviewSchedule,
    RunTrigger,
    SearchRun,
)
from evidence.surveillance.search.schedule import review_schedule_ensure
from evidence.surveillance.tasks import search_run_for_review
from evidence.surveillance.tasks_registry import registry_run_for_review
from evidence.synthesis.tasks import review_recompute
from tests.evidence.screening_support import make_member, make_outcomes, make_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Review ``alpha`` where ``ed`` is an editor, ``gamma`` where ``ed`` only screens, ``secretb`` of others."""
    alpha, gamma, other = make_review("alpha"), make_review("gamma"), make_review("secretb")
    editor = make_member("ed", alpha, ReviewRole.EDITOR)
    make_member("b-editor", other, ReviewRole.EDITOR)
    from evidence.core.roles import review_membership_create

    review_membership_create(review=gamma, user=editor, role=ReviewRole.SCREENER)
    return {"alpha": alpha, "gamma": gamma, "other": other, "editor": editor}


@pytest.fixture
def sent(monkeypatch):
    """Every task handed to the broker: (task name, args, kwargs)."""
    calls = []
    for task in (search_run_for_review, registry_run_for_review, review_recompute):

        def record(*args, _name=task.name, **kwargs):
            calls.append((_name, tuple(kwargs.get("args") or ()), kwargs.get("kwargs") or {}))

        monkeypatch.setattr(task, "apply_async", record)
    return calls


@pytest.fixture
def ed(client, world):
    client.force_login(world["editor"])
    return client


def _form_data(client, url: str, **changes) -> dict:
    """The admin form's own values (as its page would post them), with ``changes``."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = value
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _action(client, name: str, *reviews: Review):
    return client.post(
        reverse("admin:evidence_review_changelist"),
        {"action": name, "_selected_action": [review.pk for review in reviews]},
    )


# --- Creating a review --------------------------------------------------------------------------------------


def test_it_lets_an_editor_create_a_review_and_makes_them_its_admin(ed, world):
    url = reverse("admin:evidence_review_add")
    data = _form_data(
        ed,
        url,
        slug="ahsct-ssc",
        title="Autologous haematopoietic stem cell transplantation for systemic sclerosis",
        pubmed_query="scleroderma AND transplantation",
        search_start_date="2024-01-01",
        intervention_name="AHSCT",
        intervention_full="autologous haematopoietic stem cell transplantation",
        intervention_plain="their own blood stem cells after chemotherapy",
        population_name="systemic sclerosis",
        population_plain="people with systemic sclerosis",
    )

    response = ed.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    review = Review.objects.get(slug="ahsct-ssc")
    membership = ReviewMembership.objects.get(review=review, user=world["editor"])
    assert membership.role == ReviewRole.ADMIN
    assert membership.history.get().history_change_reason == "ed created the review"
    assert review.history.get().history_user == world["editor"]
    assert ReviewSchedule.objects.get(review=review).next_search_at > timezone.now()
    assert not world["editor"].is_superuser
    assert ed.get(reverse("admin:evidence_review_change", args=[review.pk])).status_code == 200


def test_it_refuses_a_review_to_a_user_who_is_no_editor_anywhere(client, world):
    screener = make_member("only-screens", world["alpha"], ReviewRole.SCREENER)
    client.force_login(screener)
    url = reverse("admin:evidence_review_add")

    assert client.get(url).status_code == 403
    assert client.post(url, {"slug": "x", "title": "X"}).status_code == 403
    assert not Review.objects.filter(slug="x").exists()


# --- Outcomes and GRADE --------------------------------------------------------------------------------------


def test_it_lets_an_editor_define_an_outcome(ed, world):
    url = reverse("admin:evidence_outcome_add")
    data = _form_data(
        ed, url, code="efs", name="Event-free survival", direction="higher_is_better", outcome_type="binary"
    )
    data["review"] = world["alpha"].pk  # once outcomes belong to a review (issue 20, point 2)

    assert ed.post(url, data).status_code == 302
    assert Outcome.objects.filter(code="efs").exists()


def test_it_lets_an_editor_rate_grade_in_their_review_and_not_in_another(ed, world):
    outcome = make_outcomes()["mrss"]
    url = reverse("admin:evidence_gradeassessment_add")
    data = _form_data(ed, url, outcome=outcome.pk, timepoint_months="6", certainty="moderate")

    assert ed.post(url, {**data, "review": world["alpha"].pk}).status_code == 302
    assert GradeAssessment.objects.get(review=world["alpha"]).certainty == "moderate"
    for elsewhere in ("gamma", "other"):  # a screener there; no member there
        assert ed.post(url, {**data, "review": world[elsewhere].pk}).status_code == 403
    assert GradeAssessment.objects.count() == 1


# --- Search now, recompute now, pause, resume ---------------------------------------------------------------


def test_it_lets_an_editor_search_their_review_now(ed, world, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(ed, "search_now", world["alpha"])

    assert response.status_code == 302
    expected = {"triggered_by": "search now (ed)", "trigger": RunTrigger.BUTTON}
    assert (search_run_for_review.name, (world["alpha"].pk,), expected) in sent
    assert (registry_run_for_review.name, (world["alpha"].pk,), {"triggered_by": "search now (ed)"}) in sent


def test_it_refuses_search_now_where_the_editor_only_screens(ed, world, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(ed, "search_now", world["alpha"], world["gamma"])

    assert response.status_code == 403
    assert sent == []  # nothing done half-way: alpha was not searched either


def test_it_ignores_a_review_the_editor_cannot_see(ed, world, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _action(ed, "search_now", world["other"])

    assert sent == []


def test_it_lets_an_editor_recompute_their_review_now(ed, world, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(ed, "recompute_now", world["alpha"])

    assert response.status_code == 302
    run = RecomputeRun.objects.get(review=world["alpha"])
    assert (run.trigger, run.triggers) == (RunTrigger.BUTTON, ["recompute now (ed)"])
    assert sent == [(review_recompute.name, (run.pk,), {})]
    assert _action(ed, "recompute_now", world["gamma"]).status_code == 403
    assert not RecomputeRun.objects.filter(review=world["gamma"]).exists()


def test_it_lets_an_editor_pause_and_resume_their_review(ed, world):
    schedule = review_schedule_ensure(review=world["alpha"])
    ReviewSchedule.objects.filter(pk=schedule.pk).update(next_search_at=timezone.now() - dt.timedelta(days=3))

    assert _action(ed, "pause", world["alpha"]).status_code == 302
    world["alpha"].refresh_from_db()
    assert world["alpha"].living_status == LivingStatus.PAUSED

    assert _action(ed, "resume", world["alpha"]).status_code == 302
    world["alpha"].refresh_from_db()
    schedule.refresh_from_db()
    assert world["alpha"].living_status == LivingStatus.LIVING
    assert schedule.next_search_at > timezone.now()  # a slot missed while paused is not searched on resume

    assert _action(ed, "pause", world["gamma"]).status_code == 403
    world["gamma"].refresh_from_db()
    assert world["gamma"].living_status == LivingStatus.LIVING


# --- Ledgers and schedule --------------------------------------------------------------------------------


def test_it_shows_an_editor_the_ledgers_of_their_review_only(ed, world):
    for key in ("alpha", "other"):
        RecomputeRun.objects.create(review=world[key], error=f"{key} recompute error")
        SearchRun.objects.create(
            review=world[key], query=f"{key} query", window_start=dt.date(2024, 1, 1), window_end=dt.date(2024, 1, 2)
        )

    for ledger in ("recomputerun", "searchrun"):
        response = ed.get(reverse(f"admin:evidence_{ledger}_changelist"))
        body = response.content.decode()
        assert response.status_code == 200
        assert "alpha" in body and "secretb" not in body, ledger


def test_it_lets_an_editor_set_their_review_schedule(ed, world):
    schedule = review_schedule_ensure(review=world["alpha"])
    url = reverse("admin:evidence_reviewschedule_change", args=[schedule.pk])
    data = _form_data(ed, url, frequency="weekly", weekday="3", time_of_day="06:45")

    assert ed.post(url, data).status_code == 302
    schedule.refresh_from_db()
    assert schedule.describe() == "weekly on Thursday at 06:45 UTC"
    assert schedule.next_search_at.weekday() == 3 and schedule.next_search_at > timezone.now()
    assert schedule.history.latest().history_user == world["editor"]


def test_it_refuses_the_schedule_of_another_review(ed, world):
    screened = review_schedule_ensure(review=world["gamma"])
    hidden = review_schedule_ensure(review=world["other"])
    data = {"frequency": "monthly", "time_of_day": "01:00", "weekday": "0", "day_of_month": "5"}

    assert ed.post(reverse("admin:evidence_reviewschedule_change", args=[screened.pk]), data).status_code == 403
    assert ed.post(reverse("admin:evidence_reviewschedule_change", args=[hidden.pk]), data).status_code == 404
    add = reverse("admin:evidence_reviewschedule_add")
    ReviewSchedule.objects.filter(review=world["gamma"]).delete()
    assert ed.post(add, {**data, "review": world["gamma"].pk}).status_code == 403
    assert ReviewSchedule.objects.get(pk=hidden.pk).frequency == "daily"


def test_it_refuses_a_day_of_month_past_28_by_name(ed, world):
    schedule = review_schedule_ensure(review=world["alpha"])
    url = reverse("admin:evidence_reviewschedule_change", args=[schedule.pk])

    response = ed.post(url, _form_data(ed, url, frequency="monthly", day_of_month="31"))

    assert response.status_code == 200
    assert "Day of month: give a day from 1 to 28." in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.frequency == "daily"
