"""What each resource shows, field by field. Fields are listed, never ``__all__``: a column added to a
model stays private until someone decides it is public. Left out on purpose: users (assessors,
reviewers, editors), free-text notes written during screening or extraction (``StudyReport.note``,
``OutcomeMeasurement.notes``, ``AdverseEvent.note`` (also inside a version's ``safety_table``),
``Study.population_notes``, ``Study.data_quality_notes``, ``Citation.origin_note``; ``Study.public_note`` is
the one note written for readers),
the screening queue's internals (relevance score, suspected duplicates, the stage before a final decision)
and rendered SVG."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evidence.models import (
    AdverseEvent,
    Citation,
    Intervention,
    Outcome,
    OutcomeMeasurement,
    PooledResult,
    QualityAssessment,
    Review,
    ReviewCitation,
    ReviewVersion,
    SafetyResult,
    Study,
    StudyReport,
    StudyResult,
)
from evidence.models.outcome import OUTCOME_DEFINITION_FIELDS
from evidence.publishing.selectors import api as selectors_api
from evidence.publishing.selectors.api import ANALYSIS_KINDS, analysis_kind


def _absolute(serializer: serializers.Serializer, name: str, **kwargs) -> str:
    path = reverse(f"api:{name}", kwargs=kwargs)
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class ReviewSerializer(serializers.ModelSerializer):
    latest_version = serializers.IntegerField(source="latest_version_number", read_only=True, allow_null=True)
    latest_published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    analysis_settings = serializers.SerializerMethodField()
    outcomes_url = serializers.SerializerMethodField()
    versions_url = serializers.SerializerMethodField()
    pooled_results_url = serializers.SerializerMethodField()
    studies_url = serializers.SerializerMethodField()
    citations_url = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "slug",
            "title",
            "population",
            "intervention",
            "comparator",
            "outcomes_url",
            "pubmed_query",
            "search_start_date",
            "living_status",
            "analysis_settings",
            "latest_version",
            "latest_published_at",
            "updated_at",
            "versions_url",
            "pooled_results_url",
            "studies_url",
            "citations_url",
        ]

    def get_outcomes_url(self, review: Review) -> str:
        """The outcomes of interest: the review's own outcome definitions."""
        return _absolute(self, "review-outcome-list", slug=review.slug)

    def get_analysis_settings(self, review: Review) -> dict:
        return review.analysis_settings()

    def get_versions_url(self, review: Review) -> str:
        return _absolute(self, "version-list", slug=review.slug)

    def get_pooled_results_url(self, review: Review) -> str:
        return _absolute(self, "latest-pooled-result-list", slug=review.slug)

    def get_studies_url(self, review: Review) -> str:
        return _absolute(self, "study-list", slug=review.slug)

    def get_citations_url(self, review: Review) -> str:
        return _absolute(self, "citation-list", slug=review.slug)


class CitationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Citation
        fields = ["pmid", "doi", "title", "first_author", "journal", "publication_year"]


class SafetyResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = SafetyResult
        fields = [
            "category",
            "is_serious_rate",
            "k",
            "events",
            "n",
            "measure",
            "proportion",
            "ci_lb",
            "ci_ub",
            "i2",
            "studies",
        ]


class VersionSerializer(serializers.ModelSerializer):
    review = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    safety_table = serializers.SerializerMethodField()
    source_citation = CitationBriefSerializer(read_only=True, allow_null=True)
    pooled_results_url = serializers.SerializerMethodField()
    fhir_url = serializers.SerializerMethodField()

    class Meta:
        model = ReviewVersion
        fields = [
            "review",
            "number",
            "kind",
            "published_at",
            "trigger",
            "attribution",
            "source_citation",
            "methods_note",
            "analysis_settings",
            "code_version",
            "inputs_hash",
            "n_studies",
            "n_patients",
            "studies",
            "narrative_findings",
            "safety_summary",
            "safety_table",
            "changes",
            "change_summary",
            "pooled_results_url",
            "fhir_url",
        ]

    @extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
    def get_safety_table(self, version: ReviewVersion) -> list[dict]:
        """Per-study adverse events as the version stored them, without the extractors' internal notes."""
        return [{k: v for k, v in row.items() if k != "note"} for row in version.safety_table or []]

    def get_pooled_results_url(self, version: ReviewVersion) -> str:
        return _absolute(self, "version-pooled-result-list", slug=version.review.slug, number=str(version.number))

    def get_fhir_url(self, version: ReviewVersion) -> str:
        return _absolute(self, "version-fhir", slug=version.review.slug, number=str(version.number))


class VersionDetailSerializer(VersionSerializer):
    safety_results = SafetyResultSerializer(many=True, read_only=True)

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "safety_results"]


class StudyResultSerializer(serializers.ModelSerializer):
    study_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = StudyResult
        fields = [
            "study_id",
            "study_label",
            "publication_year",
            "n",
            "yi",
            "vi",
            "ci_lb",
            "ci_ub",
            "weight",
            "derivation",
        ]


class PooledResultSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)
    outcome = serializers.CharField(source="outcome.code", read_only=True)
    outcome_name = serializers.CharField(source="outcome.name", read_only=True)
    outcome_unit = serializers.CharField(source="outcome.unit", read_only=True)
    carried_from_version = serializers.SerializerMethodField()
    analysis_kind = serializers.SerializerMethodField(
        help_text="before_after (single-arm change or proportion), controlled (between-arm contrast) or subgroup."
    )
    subgroup_variable = serializers.SerializerMethodField(help_text="Blank unless analysis_kind is subgroup.")
    subgroup_value = serializers.SerializerMethodField(help_text="Blank unless analysis_kind is subgroup.")
    study_results = StudyResultSerializer(many=True, read_only=True)

    class Meta:
        model = PooledResult
        fields = [
            "id",
            "version",
            "outcome",
            "outcome_name",
            "outcome_unit",
            "timepoint_months",
            "timepoint_label",
            "analysis_kind",
            "subgroup_variable",
            "subgroup_value",
            "k",
            "n_participants",
            "effect_measure",
            "effect_measure_note",
            "absolute_effect",
            "orientation",
            "model",
            "estimate",
            "ci_lb",
            "ci_ub",
            "pi_lb",
            "pi_ub",
            "se",
            "p_value",
            "p_value_reported",
            "i2",
            "tau2",
            "q",
            "q_pval",
            "h2",
            "se_tau2",
            "tau2_ci_lb",
            "tau2_ci_ub",
            "ci_method",
            "certainty",
            "certainty_reasons",
            "certainty_change",
            "contributing_studies",
            "computed",
            "carried_from_version",
            "awaiting",
            "subgroup_test",
            "sensitivity",
            "source",
            "notes",
            "study_results",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=list(ANALYSIS_KINDS)))
    def get_analysis_kind(self, row: PooledResult) -> str:
        return analysis_kind(row.subgroup_variable)

    def get_subgroup_variable(self, row: PooledResult) -> str:
        return row.subgroup_variable if analysis_kind(row.subgroup_variable) == "subgroup" else ""

    def get_subgroup_value(self, row: PooledResult) -> str:
        return row.subgroup_value if analysis_kind(row.subgroup_variable) == "subgroup" else ""

    def get_carried_from_version(self, row: PooledResult) -> int | None:
        return row.carried_from.version.number if row.carried_from_id else None


class StudyReportSerializer(serializers.ModelSerializer):
    citation = CitationBriefSerializer(read_only=True)

    class Meta:
        model = StudyReport
        fields = ["is_main_report", "citation"]


class InterventionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Intervention
        fields = [
            "arm",
            "cell_source",
            "cell_source_detail",
            "donor",
            "donor_basis",
            "route",
            "route_detail",
            "dose",
            "co_interventions",
        ]


class OutcomeMeasurementSerializer(serializers.ModelSerializer):
    outcome = serializers.CharField(source="outcome.code", read_only=True)

    class Meta:
        model = OutcomeMeasurement
        fields = [
            "outcome",
            "timepoint_months",
            "arm",
            "data_format",
            "baseline_mean",
            "baseline_sd",
            "baseline_n",
            "followup_mean",
            "followup_sd",
            "followup_n",
            "change_mean",
            "change_sd",
            "change_n",
            "median_of",
            "median",
            "q1",
            "q3",
            "range_min",
            "range_max",
            "events",
            "total",
            "effect_measure",
            "effect_estimate",
            "effect_ci_lb",
            "effect_ci_ub",
            "effect_se",
            "effect_n",
            "effect_orientation",
            "prepost_correlation",
            "percent_change",
            "p_value_reported",
            "conversion_method",
            "source_location",
            "source_url",
            "origin",
        ]


class AdverseEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdverseEvent
        fields = ["term", "category", "serious", "patients_with_event", "patients_at_risk", "source", "origin"]


class QualityAssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualityAssessment
        fields = ["instrument", "domain_scores", "total_score", "max_score", "assessor_label", "source"]


class StudySerializer(serializers.ModelSerializer):
    reports = StudyReportSerializer(many=True, read_only=True)
    interventions = InterventionSerializer(many=True, read_only=True)
    outcome_measurements = OutcomeMeasurementSerializer(source="measurements", many=True, read_only=True)
    adverse_events = AdverseEventSerializer(many=True, read_only=True)
    quality_assessments = QualityAssessmentSerializer(many=True, read_only=True)

    class Meta:
        model = Study
        fields = [
            "id",
            "label",
            "first_author",
            "year",
            "design",
            "design_detail",
            "country",
            "enrolment_n",
            "female_n",
            "male_n",
            "age_mean",
            "age_sd",
            "disease_duration_years",
            "disease_duration_sd_years",
            "baseline_characteristics",
            "ssc_subtype",
            "followup_months",
            "followup_note",
            "trial_registration",
            "public_note",
            "reports_no_adverse_events",
            "updated_at",
            "reports",
            "interventions",
            "outcome_measurements",
            "adverse_events",
            "quality_assessments",
        ]


class CitationSerializer(serializers.ModelSerializer):
    """A citation in one review, with its public status: included, excluded (with the reason) or pending."""

    id = serializers.IntegerField(source="citation.id", read_only=True)
    pmid = serializers.CharField(source="citation.pmid", read_only=True, allow_null=True)
    pmcid = serializers.CharField(source="citation.pmcid", read_only=True)
    doi = serializers.CharField(source="citation.doi", read_only=True)
    title = serializers.CharField(source="citation.title", read_only=True)
    authors = serializers.ListField(source="citation.authors", child=serializers.CharField(), read_only=True)
    first_author = serializers.CharField(source="citation.first_author", read_only=True)
    journal = serializers.CharField(source="citation.journal", read_only=True)
    journal_citation = serializers.CharField(source="citation.journal_citation", read_only=True)
    publication_year = serializers.IntegerField(source="citation.publication_year", read_only=True, allow_null=True)
    abstract = serializers.CharField(source="citation.abstract", read_only=True)
    publication_types = serializers.JSONField(source="citation.publication_types", read_only=True)
    keywords = serializers.JSONField(source="citation.keywords", read_only=True)
    registry_ids = serializers.JSONField(source="citation.registry_ids", read_only=True)
    is_retracted = serializers.BooleanField(source="citation.is_retracted", read_only=True)
    has_erratum = serializers.BooleanField(source="citation.has_erratum", read_only=True)
    has_expression_of_concern = serializers.BooleanField(source="citation.has_expression_of_concern", read_only=True)
    status = serializers.SerializerMethodField()
    exclusion_reason = serializers.SerializerMethodField()
    changed_at = serializers.DateTimeField(read_only=True)
    pubmed_url = serializers.SerializerMethodField()

    class Meta:
        model = ReviewCitation
        fields = [
            "id",
            "pmid",
            "pmcid",
            "doi",
            "title",
            "authors",
            "first_author",
            "journal",
            "journal_citation",
            "publication_year",
            "abstract",
            "publication_types",
            "keywords",
            "registry_ids",
            "is_retracted",
            "has_erratum",
            "has_expression_of_concern",
            "status",
            "exclusion_reason",
            "changed_at",
            "pubmed_url",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=selectors_api.PublicStatus.CHOICES))
    def get_status(self, row: ReviewCitation) -> str:
        return selectors_api.public_status(row.stage)

    def get_exclusion_reason(self, row: ReviewCitation) -> str:
        """The agreed reason, only once the citation is excluded; never a single reviewer's."""
        return row.exclusion_reason if selectors_api.public_status(row.stage) == "excluded" else ""

    def get_pubmed_url(self, row: ReviewCitation) -> str | None:
        return f"https://pubmed.ncbi.nlm.nih.gov/{row.citation.pmid}/" if row.citation.pmid else None


class OutcomeSerializer(serializers.ModelSerializer):
    review = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Outcome
        fields = ["review", *OUTCOME_DEFINITION_FIELDS]
