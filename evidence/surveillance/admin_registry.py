"""Admin pages of trial-registry surveillance: registrations (screened here by actions), the reviewers' task
queue, and the registry search ledger. Thin: the actions call services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from simple_history.admin import SimpleHistoryAdmin

from evidence.core.admin_mixins import ReadOnlyAdminMixin, ReviewScopedAdminMixin, ReviewScopedInlineMixin
from evidence.models import (
    Registration,
    RegistrationScreening,
    RegistrationStatusChange,
    RegistrySearchRun,
    RegistryTask,
)
from evidence.surveillance.registry.screening import registration_screen, registry_task_complete


class RegistrationStatusChangeInline(ReadOnlyAdminMixin, ReviewScopedInlineMixin, admin.TabularInline):
    model = RegistrationStatusChange
    fields = ["from_status", "to_status", "last_update_posted", "run", "recorded_at"]
    readonly_fields = fields


def _screen(modeladmin, request, queryset, decision: str, reason: str = "") -> None:
    done = 0
    for registration in queryset:
        try:
            registration_screen(registration=registration, decision=decision, user=request.user, reason=reason)
            done += 1
        except (PermissionDenied, ValidationError) as exc:
            modeladmin.message_user(request, f"{registration.nct_id}: {exc}", messages.ERROR)
    if done:
        label = RegistrationScreening(decision).label
        modeladmin.message_user(request, f"{done} registration(s): {label}.", messages.SUCCESS)


@admin.action(description="Include as ongoing study", permissions=["change"])
def include_ongoing(modeladmin, request, queryset):
    _screen(modeladmin, request, queryset, RegistrationScreening.ONGOING)


@admin.action(description="Include as awaiting classification", permissions=["change"])
def include_awaiting(modeladmin, request, queryset):
    _screen(modeladmin, request, queryset, RegistrationScreening.AWAITING)


@admin.action(description="Exclude (not eligible for this review)", permissions=["change"])
def exclude_registration(modeladmin, request, queryset):
    _screen(modeladmin, request, queryset, RegistrationScreening.EXCLUDED, reason="Not eligible for this review")


@admin.register(Registration)
class RegistrationAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    """What the registry says is read-only; reviewers screen a registration with the actions."""

    list_display = [
        "nct_id",
        "brief_title",
        "review",
        "overall_status",
        "enrolment_count",
        "enrolment_type",
        "completion_date",
        "has_results",
        "screening",
        "last_update_posted",
    ]
    list_filter = ["review", "screening", "overall_status", "has_results"]
    search_fields = ["nct_id", "brief_title", "official_title", "sponsor"]
    actions = [include_ongoing, include_awaiting, exclude_registration]
    inlines = [RegistrationStatusChangeInline]
    exclude = ["raw", "citations", "studies"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "raw"] + ["linked_reports", "linked_studies"]

    @admin.display(description="Reports citing it")
    def linked_reports(self, registration: Registration) -> str:
        return ", ".join(c.pmid or str(c.pk) for c in registration.citations.all()) or "—"

    @admin.display(description="Studies with this id")
    def linked_studies(self, registration: Registration) -> str:
        return ", ".join(s.label for s in registration.studies.all()) or "—"

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # registrations come from the registry search

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Mark done", permissions=["change"])
def mark_done(modeladmin, request, queryset):
    done = sum(registry_task_complete(task=task, user=request.user) for task in queryset)
    modeladmin.message_user(request, f"{done} task(s) marked done.", messages.SUCCESS)


@admin.register(RegistryTask)
class RegistryTaskAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    """The reviewers' queue: "results posted for NCT… — check for data"."""

    list_display = ["message", "review", "kind", "created_at", "done_at", "done_by"]
    list_filter = ["review", "kind", ("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "registration__nct_id"]
    actions = [mark_done]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RegistrySearchRun)
class RegistrySearchRunAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "review",
        "window_start",
        "window_end",
        "status",
        "records_found",
        "records_new",
        "records_updated",
        "status_changes",
        "tasks_raised",
        "requests_made",
        "started_at",
    ]
    list_filter = ["review", "status"]
    readonly_fields = [
        "review",
        "query",
        "window_start",
        "window_end",
        "status",
        "triggered_by",
        "started_at",
        "finished_at",
        "requests_made",
        "records_found",
        "records_new",
        "records_updated",
        "status_changes",
        "tasks_raised",
        "notes",
        "error",
    ]
