"""The quarantine in the admin: PubMed records a search set aside, with retry and dismiss actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from evidence.core import policy
from evidence.core.admin_mixins import ReadOnlyAdminMixin, ReviewScopedAdminMixin
from evidence.models import QuarantinedRecord, QuarantineStatus
from evidence.surveillance.search.quarantine import quarantined_record_dismiss, quarantined_record_retry


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Held records first; retry once the cause is fixed, or dismiss a record not worth storing."""

    list_display = ["pmid", "review", "status", "stage", "short_reason", "search_run", "created_at"]
    list_filter = ["status", "stage", "review"]
    search_fields = ["pmid", "reason"]
    list_select_related = ["review", "search_run"]
    actions = ["retry_records", "dismiss_records"]

    def has_curate_permission(self, request) -> bool:
        """Retry and dismiss are an editor's; the policy narrows each action to the reviews they edit."""
        return policy.allows_on_model(user=request.user, action=policy.Action.CHANGE, model=QuarantinedRecord)

    @staticmethod
    def _editable(request, queryset):
        return policy.visible(user=request.user, queryset=queryset, action=policy.Action.CHANGE)

    @admin.display(description="Reason")
    def short_reason(self, record: QuarantinedRecord) -> str:
        return record.reason[:160]

    @admin.action(description="Retry: parse and store the selected records again", permissions=["curate"])
    def retry_records(self, request, queryset) -> None:
        stored = 0
        for record in self._editable(request, queryset).filter(status=QuarantineStatus.HELD):
            try:
                quarantined_record_retry(record=record)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                continue
            stored += 1
        self.message_user(request, f"{stored} record(s) stored in the review.", messages.INFO)

    @admin.action(description="Dismiss the selected records (kept in the list, not stored)", permissions=["curate"])
    def dismiss_records(self, request, queryset) -> None:
        held = list(self._editable(request, queryset).filter(status=QuarantineStatus.HELD))
        for record in held:
            quarantined_record_dismiss(record=record)
        self.message_user(request, f"{len(held)} record(s) dismissed.", messages.INFO)
