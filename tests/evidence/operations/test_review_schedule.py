"""Each living review's own schedule (issue 20, point 5): the next slot, the dispatcher that searches due
reviews once per slot however often it runs, paused reviews left alone, the global nightly entries gone,
and every entry point's run in the ledger with its trigger."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from evidence.models import (
    Frequency,
    LivingStatus,
    RecomputeRun,
    RecomputeStatus,
    Review,
    ReviewSchedule,
    RunTrigger,
    Weekday,
)
from evidence.publishing.selectors.stamp import next_search_text
from evidence.surveillance.search.schedule import _claim_slot, review_schedule_ensure, search_schedule_dispatch_due
from evidence.surveillance.tasks import search_run_for_review, search_schedule_dispatch
from evidence.surveillance.tasks_registry import registry_run_for_review
from tests.evidence.screening_support import make_review

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday


def _schedule(**fields) -> ReviewSchedule:
    return ReviewSchedule(**fields)


# --- The next slot (no database) ----------------------------------------------------------------------------


def test_a_daily_slot_is_later_today_or_tomorrow():
    schedule = _schedule(frequency=Frequency.DAILY, time_of_day=dt.time(9, 30))

    assert schedule.next_slot(NOW) == dt.datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert schedule.next_slot(dt.datetime(2026, 11, 30, 9, 30, tzinfo=UTC)) == dt.datetime(
        2026, 12, 1, 9, 30, tzinfo=UTC
    )


def test_a_weekly_slot_falls_on_its_weekday():
    schedule = _schedule(frequency=Frequency.WEEKLY, weekday=Weekday.THURSDAY, time_of_day=dt.time(2, 30))

    assert schedule.next_slot(NOW) == dt.datetime(2026, 12, 3, 2, 30, tzinfo=UTC)
    assert schedule.describe() == "weekly on Thursday at 02:30 UTC"


def test_a_monthly_slot_falls_on_its_day_and_crosses_the_year():
    schedule = _schedule(frequency=Frequency.MONTHLY, day_of_month=28, time_of_day=dt.time(23, 0))

    assert schedule.next_slot(NOW) == dt.datetime(2026, 12, 28, 23, 0, tzinfo=UTC)
    assert schedule.next_slot(dt.datetime(2026, 12, 29, tzinfo=UTC)) == dt.datetime(2027, 1, 28, 23, 0, tzinfo=UTC)


# --- The dispatcher -------------------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    calls = []
    for task in (search_run_for_review, registry_run_for_review):
        monkeypatch.setattr(
            task, "apply_async", lambda *args, _name=task.name, **kwargs: calls.append((_name, tuple(kwargs["args"])))
        )
    return calls


def _due(review: Review, *, ago: dt.timedelta = dt.timedelta(minutes=1)) -> ReviewSchedule:
    schedule = review_schedule_ensure(review=review, now=NOW - dt.timedelta(days=10))
    ReviewSchedule.objects.filter(pk=schedule.pk).update(next_search_at=NOW - ago)
    schedule.refresh_from_db()
    return schedule


def _dispatch(capture, now=NOW) -> list[int]:
    with capture(execute=True):
        return search_schedule_dispatch_due(now=now)


def test_it_searches_a_due_review_once_per_slot(db, sent, django_capture_on_commit_callbacks):
    review = make_review("alpha")
    schedule = _due(review)

    first = _dispatch(django_capture_on_commit_callbacks)
    second = _dispatch(django_capture_on_commit_callbacks)

    assert (first, second) == ([review.pk], [])
    assert sent == [(search_run_for_review.name, (review.pk,)), (registry_run_for_review.name, (review.pk,))]
    schedule.refresh_from_db()
    assert (schedule.next_search_at, schedule.last_dispatched_at) == (schedule.next_slot(NOW), NOW)


def test_a_slot_taken_by_another_dispatcher_is_not_searched_again(db, sent, django_capture_on_commit_callbacks):
    review = make_review("alpha")
    read_by_the_second = _due(review)  # two dispatchers read the same due row

    _dispatch(django_capture_on_commit_callbacks)

    assert _claim_slot(read_by_the_second, NOW) is False
    assert len([call for call in sent if call[0] == search_run_for_review.name]) == 1


def test_slots_missed_while_beat_was_down_are_searched_once(db, sent, django_capture_on_commit_callbacks):
    review = make_review("alpha")
    _due(review, ago=dt.timedelta(days=5))

    assert _dispatch(django_capture_on_commit_callbacks) == [review.pk]
    assert _dispatch(django_capture_on_commit_callbacks, now=NOW + dt.timedelta(minutes=5)) == []


def test_it_leaves_paused_retired_and_not_yet_due_reviews_alone(db, sent, django_capture_on_commit_callbacks):
    paused, retired, later = make_review("paused"), make_review("retired"), make_review("later")
    for review in (paused, retired):
        _due(review)
    Review.objects.filter(pk=paused.pk).update(living_status=LivingStatus.PAUSED)
    Review.objects.filter(pk=retired.pk).update(living_status=LivingStatus.RETIRED)
    _due(later, ago=-dt.timedelta(minutes=1))

    assert _dispatch(django_capture_on_commit_callbacks) == []
    assert sent == []


def test_a_living_review_without_a_schedule_gets_the_default_one(db, sent, django_capture_on_commit_callbacks):
    review = make_review("alpha")

    assert _dispatch(django_capture_on_commit_callbacks) == []

    schedule = ReviewSchedule.objects.get(review=review)
    assert schedule.next_search_at == dt.datetime(2026, 12, 1, 2, 30, tzinfo=UTC)


def test_the_dispatch_task_run_twice_searches_once(db, sent, django_capture_on_commit_callbacks):
    review = make_review("alpha")
    schedule = review_schedule_ensure(review=review)
    ReviewSchedule.objects.filter(pk=schedule.pk).update(next_search_at=dt.datetime(2020, 1, 1, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        assert search_schedule_dispatch() == [review.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert search_schedule_dispatch() == []

    assert sent.count((search_run_for_review.name, (review.pk,))) == 1


# --- Beat entries -------------------------------------------------------------------------------------------


def test_the_migration_removed_the_nightly_entries_and_added_the_dispatcher(db):
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))

    assert not tasks & {"evidence.search_runs_nightly", "evidence.registry_runs_nightly"}
    dispatcher = PeriodicTask.objects.get(task="evidence.search_schedule_dispatch")
    assert dispatcher.enabled and (dispatcher.interval.every, dispatcher.interval.period) == (5, "minutes")


def test_the_public_page_states_the_review_schedule(db):
    review = make_review("alpha")
    ReviewSchedule.objects.create(review=review, frequency=Frequency.MONTHLY, day_of_month=3)

    assert next_search_text(review=review) == "monthly on day 3 at 02:30 UTC"
    Review.objects.filter(pk=review.pk).update(living_status=LivingStatus.PAUSED)
    review.refresh_from_db()
    assert next_search_text(review=review) == "none: the review is paused"


# --- Every entry point is in the ledger ---------------------------------------------------------------------


def test_a_command_line_recompute_is_a_run_in_the_ledger(seeded):
    call_command("recompute", "--review", "msc-ssc")
    call_command("recompute", "--review", "msc-ssc")

    first, second = RecomputeRun.objects.filter(review=seeded).order_by("pk")
    assert (first.trigger, first.triggers, first.status) == (
        RunTrigger.COMMAND,
        ["manage.py recompute"],
        RecomputeStatus.PUBLISHED,
    )
    assert (second.trigger, second.status, second.version_id) == (
        RunTrigger.COMMAND,
        RecomputeStatus.UNCHANGED,
        first.version_id,
    )


def test_a_command_line_recompute_joins_a_queued_run(seeded):
    from evidence.synthesis.recompute import review_recompute_request

    queued = review_recompute_request(review=seeded, trigger="study approved: Keyszer 2011", enqueue=False)

    call_command("recompute", "--review", "msc-ssc")

    queued.refresh_from_db()
    assert queued.status == RecomputeStatus.PUBLISHED
    assert queued.triggers == ["study approved: Keyszer 2011", "manage.py recompute"]
    assert RecomputeRun.objects.count() == 1
