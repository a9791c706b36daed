"""An editor runs their review from the admin: search now, recompute now, pause, resume, and its schedule.

Thin: each action asks the policy for every selected review first (nothing is done half-way), then calls
one service per review; the services enqueue their tasks once the request commits.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from evidence.core import policy
from evidence.core.admin_mixins import ReviewScopedAdminMixin, _user
from evidence.core.policy import Action
from evidence.models import LivingStatus, ReviewSchedule
from evidence.operations.services import review_living_status_set, review_recompute_now
from evidence.surveillance.search.schedule import review_schedule_save, review_search_now


class ReviewOperationsMixin:
    """The review changelist's actions for its editors (and admins); each needs the editor role there."""

    actions = ["search_now", "recompute_now", "pause", "resume"]

    def has_operate_permission(self, request) -> bool:
        user = _user(request)
        return user.is_superuser or bool(policy.review_ids_allowing(user=user, roles=policy.OPERATE))

    def _operated(self, request, queryset) -> list:
        reviews = list(queryset)
        refused = [
            r.slug for r in reviews if not policy.user_has_role(user=_user(request), review=r, roles=policy.OPERATE)
        ]
        if refused:
            raise PermissionDenied(f"You need the editor role in {', '.join(refused)} to run it.")
        return reviews

    @admin.action(description="Search PubMed and ClinicalTrials.gov now", permissions=["operate"])
    def search_now(self, request, queryset) -> None:
        reviews = self._operated(request, queryset)
        for review in reviews:
            review_search_now(review=review, user=request.user)
        self.message_user(request, f"Search queued for {_names(reviews)}; each run will be in Search runs.")

    @admin.action(description="Recompute now", permissions=["operate"])
    def recompute_now(self, request, queryset) -> None:
        reviews = self._operated(request, queryset)
        for review in reviews:
            review_recompute_now(review=review, user=request.user)
        self.message_user(request, f"Recompute queued for {_names(reviews)}; see Recompute runs.")

    @admin.action(description="Pause (no scheduled searches)", permissions=["operate"])
    def pause(self, request, queryset) -> None:
        self._living_status(request, queryset, LivingStatus.PAUSED)

    @admin.action(description="Resume (searched on its schedule)", permissions=["operate"])
    def resume(self, request, queryset) -> None:
        self._living_status(request, queryset, LivingStatus.LIVING)

    def _living_status(self, request, queryset, status: str) -> None:
        reviews = self._operated(request, queryset)
        with transaction.atomic():
            for review in reviews:
                review_living_status_set(review=review, status=status, user=request.user)
        self.message_user(request, f"{_names(reviews)}: {LivingStatus(status).label}.", messages.SUCCESS)


def _names(reviews) -> str:
    return ", ".join(review.slug for review in reviews) or "no review"


@admin.register(ReviewSchedule)
class ReviewScheduleAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    """When each living review is searched; set by its editors. The next slot follows from the schedule."""

    list_display = ["review", "describe", "next_search_at", "last_dispatched_at", "living_status"]
    list_select_related = ["review"]
    fields = ["review", "frequency", "time_of_day", "weekday", "day_of_month", "next_search_at", "last_dispatched_at"]
    readonly_fields = ["next_search_at", "last_dispatched_at"]

    @admin.display(description="Schedule")
    def describe(self, schedule: ReviewSchedule) -> str:
        return schedule.describe()

    @admin.display(description="Living status")
    def living_status(self, schedule: ReviewSchedule) -> str:
        return schedule.review.get_living_status_display()

    def get_readonly_fields(self, request, obj=None):
        fixed = ["review"] if obj is not None else []  # a schedule stays with its review
        return [*super().get_readonly_fields(request, obj), *fixed]

    def save_model(self, request, obj, form, change) -> None:
        if not self._allows(request, Action.CHANGE if change else Action.ADD, obj):
            raise PermissionDenied(f"You may not {'change' if change else 'add'} this schedule.")
        obj._history_user = request.user
        review_schedule_save(schedule=obj, user=request.user)
