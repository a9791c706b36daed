"""Admin registration: what reviewers and editors see. Thin: no business rules here."""

from django.contrib import admin
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from evidence.core.admin_mixins import (
    OutcomesOfItsReviewMixin,
    ReadOnlyAdminMixin,
    ReviewScopedAdminMixin,
    ReviewScopedInlineMixin,
    outcome_choices_narrow,
)
from evidence.models import (
    AccessRefusal,
    AdverseEvent,
    Citation,
    GradeAssessment,
    Intervention,
    Outcome,
    OutcomeMeasurement,
    PooledResult,
    QualityAssessment,
    RecomputeRun,
    Review,
    ReviewCitation,
    ReviewVersion,
    SearchRun,
    Study,
    StudyArm,
    StudyReport,
)
from evidence.operations.admin import ReviewOperationsMixin
from evidence.operations.forms import ReviewAdminForm
from evidence.operations.services import review_create
from evidence.publishing.selectors.stamp import next_search_text


@admin.register(Review)
class ReviewAdmin(ReviewOperationsMixin, ReviewScopedAdminMixin, SimpleHistoryAdmin):
    """A review's settings (its admins) and its operations (its editors: search now, recompute now, pause,
    resume). Any editor may create a review and becomes its admin (``evidence.core.policy.CREATE_REVIEW``)."""

    list_display = [
        "title",
        "slug",
        "living_status",
        "search_schedule",
        "estimator",
        "ci_method",
        "continuous_measure",
        "search_start_date",
    ]
    list_filter = ["living_status", "estimator", "ci_method"]
    search_fields = ["title", "slug", "pubmed_query"]
    prepopulated_fields = {"slug": ["title"]}
    list_select_related = ["schedule"]
    form = ReviewAdminForm

    @admin.display(description="Search schedule")
    def search_schedule(self, review: Review) -> str:
        return next_search_text(review=review)

    def get_readonly_fields(self, request, obj=None):
        locked = ["slug"] if obj is not None and obj.has_published_version() else []
        return [*super().get_readonly_fields(request, obj), *locked]

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None and obj.has_published_version() else super().get_prepopulated_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:  # the creator becomes the review's admin; a service writes both, audited
            obj._history_user = request.user
            review_create(review=obj, user=request.user)
            return
        super().save_model(request, obj, form, change)
        from evidence.synthesis.recompute.primary import PRIMARY_ANALYSIS_FIELDS, primary_analysis_changed

        if change and set(form.changed_data) & set(PRIMARY_ANALYSIS_FIELDS):  # a new version says so
            transaction.on_commit(lambda: primary_analysis_changed(obj.pk))


@admin.register(Citation)
class CitationAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "pmid",
        "first_author",
        "publication_year",
        "title",
        "journal",
        "origin",
        "is_retracted",
        "has_erratum",
    ]
    list_filter = ["origin", "is_retracted", "has_erratum", "has_update", "publication_year"]
    search_fields = ["pmid", "doi", "title", "first_author", "journal"]


@admin.register(ReviewCitation)
class ReviewCitationAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    publishing_fields = ("stage",)  # moved by screening and approval only
    list_display = [
        "citation",
        "review",
        "stage",
        "exclusion_reason",
        "relevance_score",
        "possible_duplicate_of",
        "added_at",
    ]
    list_filter = ["review", "stage"]
    search_fields = ["citation__title", "citation__pmid", "citation__doi"]
    raw_id_fields = ["citation", "possible_duplicate_of"]


class StudyReportInline(ReviewScopedInlineMixin, admin.TabularInline):
    model = StudyReport
    extra = 0
    raw_id_fields = ["citation"]
    fields = ["citation", "citation_pmid", "citation_title", "is_main_report", "note"]
    readonly_fields = ["citation_pmid", "citation_title"]

    @admin.display(description="PMID")
    def citation_pmid(self, report: StudyReport) -> str:
        return report.citation.pmid or "—"

    @admin.display(description="Title")
    def citation_title(self, report: StudyReport) -> str:
        return report.citation.title or "(not found)"


class StudyArmInline(ReviewScopedInlineMixin, admin.TabularInline):
    model = StudyArm
    extra = 0
    fields = ["label", "role", "description", "n_randomized", "n_analysed"]


class InterventionInline(ReviewScopedInlineMixin, admin.StackedInline):
    model = Intervention
    extra = 0


class OutcomeMeasurementInline(ReviewScopedInlineMixin, admin.StackedInline):
    model = OutcomeMeasurement
    extra = 0
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        outcome_choices_narrow(formset.form, obj.review_id if obj is not None else None)  # the study's review
        return formset


class AdverseEventInline(ReviewScopedInlineMixin, admin.TabularInline):
    model = AdverseEvent
    extra = 0
    fields = ["term", "study_arm", "category", "serious", "patients_with_event", "patients_at_risk", "origin"]


class QualityAssessmentInline(ReviewScopedInlineMixin, admin.TabularInline):
    model = QualityAssessment
    extra = 0
    fields = ["instrument", "total_score", "max_score", "assessor_label"]


@admin.register(Study)
class StudyAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    publishing_fields = ("status", "merged_into", "distinct_cohort_reason")  # set only by evidence.approval.services
    list_display = ["label", "review", "design", "country", "enrolment_n", "followup_months", "status"]
    list_filter = ["review", "design", "status", "interventions__cell_source", "interventions__route"]
    search_fields = ["label", "first_author", "country", "reports__citation__pmid"]
    inlines = [
        StudyReportInline,
        StudyArmInline,
        InterventionInline,
        OutcomeMeasurementInline,
        AdverseEventInline,
        QualityAssessmentInline,
    ]


@admin.register(Intervention)
class InterventionAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["study", "arm", "cell_source", "donor", "route", "dose"]
    list_filter = ["cell_source", "donor", "route"]
    search_fields = ["study__label", "cell_source_detail", "dose"]


@admin.register(Outcome)
class OutcomeAdmin(ReviewScopedAdminMixin, admin.ModelAdmin):
    """A review's outcomes: its members read them, its editors define them (the same code may exist in two reviews)."""

    list_display = ["code", "name", "review", "unit", "direction", "outcome_type", "display_order"]
    list_filter = ["review", "outcome_type", "direction"]
    actions = ["copy_to_review"]

    @admin.action(description="Copy the selected outcomes into another review")
    def copy_to_review(self, request, queryset):
        from django.contrib import messages
        from django.shortcuts import render

        from evidence.core import policy
        from evidence.operations.outcomes import outcomes_copy

        targets = [
            review
            for review in policy.reviews_for_user(user=request.user)
            if policy.allows(user=request.user, action=policy.Action.ADD, obj=Outcome(review=review))
        ]
        target = next((r for r in targets if str(r.pk) == request.POST.get("target")), None)
        if "apply" not in request.POST or target is None:
            context = {**self.admin_site.each_context(request), "outcomes": list(queryset), "targets": targets}
            return render(request, "admin/evidence/outcome/copy.html", {**context, "title": "Copy outcomes"})
        copies = outcomes_copy(outcomes=queryset, target=target)
        messages.success(request, f"Copied {len(copies)} outcome(s) into {target.title}.")
        return None

    search_fields = ["code", "name"]


@admin.register(OutcomeMeasurement)
class OutcomeMeasurementAdmin(OutcomesOfItsReviewMixin, ReviewScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["study", "outcome", "timepoint_months", "arm", "data_format", "origin"]
    list_filter = ["outcome", "data_format", "timepoint_months", "study__review"]
    search_fields = ["study__label", "outcome__code", "notes"]

    def outcome_review_id(self, obj: OutcomeMeasurement) -> int:
        return obj.study.review_id


@admin.register(AdverseEvent)
class AdverseEventAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["study", "term", "category", "serious", "patients_with_event", "patients_at_risk"]
    list_filter = ["serious", "category", "study__review"]
    search_fields = ["term", "study__label"]


@admin.register(QualityAssessment)
class QualityAssessmentAdmin(ReviewScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["study", "instrument", "total_score", "max_score", "assessor_label"]
    list_filter = ["instrument", "study__review"]
    search_fields = ["study__label", "assessor_label"]


class PooledResultInline(ReadOnlyAdminMixin, ReviewScopedInlineMixin, admin.TabularInline):
    model = PooledResult
    fields = [
        "outcome",
        "timepoint_label",
        "subgroup_value",
        "k",
        "n_participants",
        "estimate",
        "ci_lb",
        "ci_ub",
        "certainty",
    ]
    readonly_fields = fields


@admin.register(ReviewVersion)
class ReviewVersionAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["review", "number", "kind", "published_at", "trigger", "n_studies", "n_patients"]
    list_filter = ["review", "kind"]
    search_fields = ["review__slug", "trigger"]
    inlines = [PooledResultInline]


@admin.register(PooledResult)
class PooledResultAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "version",
        "outcome",
        "timepoint_label",
        "subgroup_value",
        "k",
        "estimate",
        "ci_lb",
        "ci_ub",
        "certainty",
    ]
    list_filter = ["version__review", "outcome", "certainty"]
    search_fields = ["outcome__code", "subgroup_value"]


# --- Screening, extraction and approval (reviewer workflow) -------------------------------------------
from evidence.workspace import admin as workspace_admin  # noqa: E402, F401  registers the workflow models and pages

# --- end screening ---------------------------------------------------------------------------------------


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every recompute attempt, failures included, so an editor sees why a version did not appear."""

    # The columns that fit a page; timings, attempts and inputs are on the run's own page.
    list_display = [
        "review", "status", "trigger", "requested_at", "finished_at", "version", "triggers_text", "short_error"
    ]  # fmt: skip
    list_filter = ["review", "status", "trigger"]
    search_fields = ["review__slug", "error"]
    exclude = ["triggers"]  # shown as text (triggers_text), not as JSON
    readonly_fields = ["triggers_text", "not_entered"]
    list_select_related = ["review", "version"]

    @admin.display(description="Requested by")
    def triggers_text(self, run: RecomputeRun) -> str:
        return "; ".join(str(trigger) for trigger in run.triggers or [])

    @admin.display(description="Inputs not entered, and why")
    def not_entered(self, run: RecomputeRun) -> str:
        return "; ".join(run.version.input_problems) if run.version_id else ""

    @admin.display(description="Error, or inputs not entered")
    def short_error(self, run: RecomputeRun) -> str:
        """The list keeps one column for what went wrong: the run's error, else the first input it could not enter."""
        if run.error:
            return run.error.strip().splitlines()[-1][:120]
        problems = run.version.input_problems if run.version_id else []
        more = f" (+{len(problems) - 1} more on the run's page)" if len(problems) > 1 else ""
        return f"{problems[0][:120]}{more}" if problems else ""


@admin.register(GradeAssessment)
class GradeAssessmentAdmin(OutcomesOfItsReviewMixin, ReviewScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["review", "outcome", "timepoint_months", "subgroup_value", "certainty", "updated_at"]
    list_filter = ["review", "certainty", "outcome"]
    search_fields = ["outcome__code", "subgroup_value"]

    def save_model(self, request, obj, form, change) -> None:
        obj.set_by = request.user
        super().save_model(request, obj, form, change)


# --- PubMed search runs ------------------------------------------------------------------------------------
@admin.register(SearchRun)
class SearchRunAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The search ledger: every run, failures included, with what it asked and what it found."""

    # The columns that fit a page; every count, the query and the full error are on the run's own page.
    list_display = ["started_at", "review", "status", "window", "trigger", "triggered_by", "records", "short_error"]
    list_filter = ["review", "status", "trigger"]
    search_fields = ["review__slug", "query", "error", "triggered_by"]
    date_hierarchy = "started_at"
    list_select_related = ["review"]

    @admin.display(description="Error")
    def short_error(self, run: SearchRun) -> str:
        return run.error.strip().splitlines()[-1][:120] if run.error else ""

    @admin.display(description="Window")
    def window(self, run: SearchRun) -> str:
        return f"{run.window_start} to {run.window_end}"

    @admin.display(description="Records")
    def records(self, run: SearchRun) -> str:
        held = f", {run.records_quarantined:,} quarantined" if run.records_quarantined else ""
        return f"{run.records_found:,} found, {run.records_new:,} new{held}"


# --- end PubMed search runs --------------------------------------------------------------------------------


@admin.register(AccessRefusal)
class AccessRefusalAdmin(ReviewScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Refused requests (forged posts, tampered ids, roles one may not grant): superusers read them."""

    list_display = ["created_at", "username", "method", "path", "model", "object_id", "status", "reason"]
    list_filter = ["status", "method", "model"]
    search_fields = ["username", "path", "reason"]
    date_hierarchy = "created_at"


from evidence.surveillance import admin_quarantine, admin_registry  # noqa: E402, F401  registers the search quarantine and the trial-registry models
