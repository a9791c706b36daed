"""A living review's own search schedule, and how a run came to be (the ledgers' "trigger")."""

from __future__ import annotations

import calendar
import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class RunTrigger(models.TextChoices):
    """Which entry point started a search or recompute run; every one of them leaves a row in the ledger."""

    SCHEDULE = "schedule", "The review's schedule"
    BUTTON = "button", "An editor (search now / recompute now)"
    COMMAND = "command", "A command (manage.py)"
    CHANGE = "change", "A change to the review's data or settings"
    SWEEPER = "sweeper", "Recovery after a lost worker"


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class ReviewSchedule(models.Model):
    """When a living review is searched (PubMed, then ClinicalTrials.gov), set by its editors.

    The beat entry "Dispatch due review searches" looks every few minutes for living reviews whose
    ``next_search_at`` has passed and moves it to the next slot with a conditional UPDATE before it enqueues
    anything, so a slot is searched once however many beats or workers look at it.
    """

    review = models.OneToOneField("evidence.Review", on_delete=models.CASCADE, related_name="schedule")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    time_of_day = models.TimeField(default=dt.time(2, 30), help_text="Time of day, UTC.")
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="Weekly schedules only."
    )
    day_of_month = models.PositiveSmallIntegerField(
        default=1, help_text="Monthly schedules only: 1 to 28, so every month has the day."
    )
    next_search_at = models.DateTimeField(null=True, blank=True, help_text="Set from the schedule on save.")
    last_dispatched_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # the public page's stamp: its "Next search" line
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1) & Q(day_of_month__lte=28), name="review_schedule_day_1_to_28"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="review_schedule_weekday_0_to_6"),
        ]
        indexes = [
            # The dispatcher's query: schedules whose slot has passed.
            models.Index(fields=["next_search_at"], name="review_schedule_next_due"),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug}: {self.describe()}"

    def clean(self) -> None:
        super().clean()
        if not 1 <= (self.day_of_month or 0) <= 28:
            raise ValidationError({"day_of_month": "Day of month: give a day from 1 to 28."})

    def describe(self) -> str:
        """The schedule in words, as the public page and the admin show it."""
        at = f"{self.time_of_day:%H:%M} UTC"
        if self.frequency == Frequency.WEEKLY:
            return f"weekly on {Weekday(self.weekday).label} at {at}"
        if self.frequency == Frequency.MONTHLY:
            return f"monthly on day {self.day_of_month} at {at}"
        return f"daily at {at}"

    def next_slot(self, after: dt.datetime) -> dt.datetime:
        """The first slot strictly after ``after`` (aware, UTC)."""
        after = after.astimezone(dt.UTC)
        day = after.date()
        for _ in range(0, 370):  # a monthly slot is at most ~31 days away; bounded so a bad row cannot spin
            slot = dt.datetime.combine(day, self.time_of_day, tzinfo=dt.UTC)
            if slot > after and self._runs_on(day):
                return slot
            day += dt.timedelta(days=1)
        raise ValueError(f"no slot within a year for schedule {self.pk}")

    def _runs_on(self, day: dt.date) -> bool:
        if self.frequency == Frequency.WEEKLY:
            return day.weekday() == self.weekday
        if self.frequency == Frequency.MONTHLY:
            return day.day == min(self.day_of_month, calendar.monthrange(day.year, day.month)[1])
        return True
