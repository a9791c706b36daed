"""Admin registration of the reviewer workflow: its event models (read-only, with history) and its pages.

Imported at the end of ``evidence.admin``. Events (decisions, adjudications, resolutions, approvals) are
never edited here: their history is visible and cannot be reverted.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from evidence.approval import views as approval_views
from evidence.core.admin_mixins import ReadOnlyAdminMixin, ReviewScopedAdminMixin, audited
from evidence.core.roles import review_membership_create
from evidence.extraction import views as extraction_views
from evidence.models import (
    Adjudication,
    ExtractionDraft,
    FullText,
    ReviewMembership,
    ScreeningDecision,
    ScreeningResolution,
    StudyApproval,
)
from evidence.screening import full_text_views, views
from evidence.workspace import views as prisma_views


class AuditedReadOnlyAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """An event log: visible with its history, never added, changed, deleted or reverted here."""

    def has_change_history_permission(self, request, obj=None) -> bool:
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        return True


@admin.register(ReviewMembership)
class ReviewMembershipAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    """A role is granted by an admin of that review (or a superuser) and only for reviews they administer."""

    list_display = ["user", "review", "role", "created_at"]
    list_filter = ["review", "role"]
    search_fields = ["user__username", "review__slug"]
    change_list_template = "admin/screening/membership_change_list.html"

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a role is granted or removed, never edited into another

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def save_model(self, request, obj, form, change) -> None:
        granted = review_membership_create(review=obj.review, user=obj.user, role=obj.role, granted_by=request.user)
        obj.pk = granted.pk

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(audited(view, model="evidence.review"))

        workflow = [
            path("workspace/", wrap(views.screening_home), name="screening_home"),
            path("workspace/<int:review_id>/agreement/", wrap(views.screening_agreement), name="screening_agreement"),
            path("workspace/<int:review_id>/prisma/", wrap(prisma_views.screening_prisma), name="screening_prisma"),
            path(
                "workspace/<int:review_id>/extraction/",
                wrap(extraction_views.extraction_list),
                name="extraction_list",
            ),
            path(
                "workspace/<int:review_id>/extraction/<int:review_citation_id>/draft/",
                wrap(extraction_views.extraction_draft),
                name="extraction_draft",
            ),
            path(
                "workspace/<int:review_id>/extraction/<int:review_citation_id>/compare/",
                wrap(extraction_views.extraction_compare),
                name="extraction_compare",
            ),
            path(
                "workspace/<int:review_id>/full-text/<int:review_citation_id>/pdf/",
                wrap(full_text_views.full_text_file),
                name="full_text_file",
            ),
            path(
                "workspace/<int:review_id>/full-text/<int:review_citation_id>/attach/",
                wrap(full_text_views.full_text_upload),
                name="full_text_upload",
            ),
            path("workspace/<int:review_id>/approval/", wrap(approval_views.approval_list), name="approval_list"),
            path("workspace/<int:review_id>/<str:stage>/", wrap(views.screening_screen), name="screening_screen"),
            path("workspace/<int:review_id>/<str:stage>/undo/", wrap(views.screening_undo), name="screening_undo"),
            path(
                "workspace/<int:review_id>/<str:stage>/conflicts/",
                wrap(views.screening_conflicts),
                name="screening_conflicts",
            ),
            path(
                "workspace/<int:review_id>/<str:stage>/conflicts/<int:review_citation_id>/",
                wrap(views.screening_adjudicate),
                name="screening_adjudicate",
            ),
        ]
        return workflow + super().get_urls()


@admin.register(ScreeningDecision)
class ScreeningDecisionAdmin(AuditedReadOnlyAdmin):
    list_display = ["review_citation", "reviewer", "stage", "decision", "exclusion_reason", "created_at"]
    list_filter = ["stage", "decision", "review_citation__review"]
    search_fields = ["review_citation__citation__title", "reviewer__username"]


@admin.register(Adjudication)
class AdjudicationAdmin(AuditedReadOnlyAdmin):
    list_display = ["review_citation", "stage", "adjudicator", "decision", "exclusion_reason", "created_at"]
    list_filter = ["stage", "decision", "review_citation__review"]
    search_fields = ["review_citation__citation__title", "reason"]


@admin.register(ScreeningResolution)
class ScreeningResolutionAdmin(AuditedReadOnlyAdmin):
    list_display = ["review_citation", "stage", "outcome", "exclusion_reason", "adjudication", "created_at"]
    list_filter = ["stage", "outcome", "review_citation__review"]


@admin.register(ExtractionDraft)
class ExtractionDraftAdmin(AuditedReadOnlyAdmin):
    list_display = ["review_citation", "extractor", "status", "study", "updated_at"]
    list_filter = ["status", "review_citation__review"]


@admin.register(StudyApproval)
class StudyApprovalAdmin(AuditedReadOnlyAdmin):
    list_display = ["study", "action", "editor", "comment", "created_at"]
    list_filter = ["action", "study__review"]


@admin.register(FullText)
class FullTextAdmin(AuditedReadOnlyAdmin):
    """The audit trail of attached full texts: who attached which PDF (its SHA-256) or link, and when."""

    list_display = ["review_citation", "pdf_name", "pdf_bytes", "url", "updated_by", "updated_at"]
    list_filter = ["review_citation__review"]
    exclude = ["pdf"]  # never the storage's name or URL: the PDF is read through the access-checked page
    readonly_fields = ["pdf_link"]

    @admin.display(description="PDF")
    def pdf_link(self, obj: FullText) -> str:
        if not obj.pdf:
            return "—"
        url = reverse("admin:full_text_file", args=[obj.review_citation.review_id, obj.review_citation_id])
        return format_html('<a href="{}">Open the PDF</a>', url)
