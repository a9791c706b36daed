"""Query-string filters, and a backend that answers a typo with a 400 instead of ignoring it.

A registry that misspells ``outcome`` as ``outcomes`` would otherwise get every row back and never know.
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from evidence.models import Outcome, OutcomeType, PooledResult, ReviewCitation, ReviewVersion, Study, StudyDesign
from evidence.publishing.selectors import api as selectors_api

# Parameters every list understands, whatever its filters.
COMMON_PARAMETERS = frozenset({"format", "cursor", "page_size"})


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, plus: any query parameter that is neither a filter of the view nor a common one
    (format, cursor, page_size) is a 400 naming the parameters the endpoint accepts."""

    raise_exception = True

    def filter_queryset(self, request, queryset, view):
        reject_unknown_parameters(request, allowed=COMMON_PARAMETERS | set(self.filter_names(request, queryset, view)))
        filterset = self.get_filterset(request, queryset, view)
        if filterset is not None and not filterset.is_valid():
            errors = {field: [str(m) for m in messages] for field, messages in filterset.errors.items()}
            raise ValidationError({"detail": _first_error(errors), "errors": errors})
        return filterset.qs if filterset is not None else queryset

    def filter_names(self, request, queryset, view) -> list[str]:
        filterset_class = self.get_filterset_class(view, queryset)
        return list(filterset_class.base_filters) if filterset_class else []


def reject_unknown_parameters(request, *, allowed: frozenset[str] | set[str] = frozenset({"format"})) -> None:
    """400 for a query parameter the endpoint does not understand; the message lists those it does."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise ValidationError(
            {"detail": f"Unknown query parameter(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}."}
        )


def _first_error(errors: dict[str, list[str]]) -> str:
    field, messages = next(iter(errors.items()))
    return f"{field}: {' '.join(messages)}"


class SinceField(IsoDateTimeField):
    """An ISO 8601 datetime (UTC if no offset is given) that the database can compare."""

    default_error_messages = {"invalid": "Enter an ISO 8601 datetime, e.g. 2024-05-01T00:00:00Z."}

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            # e.g. 0001-01-01T00:00:00+01:00 has no UTC equivalent.
            raise DjangoValidationError(self.error_messages["invalid"], code="invalid") from None


class SinceFilter(django_filters.IsoDateTimeFilter):
    field_class = SinceField


def since_filter(field_name: str, help_text: str) -> SinceFilter:
    return SinceFilter(field_name=field_name, lookup_expr="gte", label=help_text)


class VersionFilter(django_filters.FilterSet):
    since = since_filter("published_at", "Versions published at or after this ISO 8601 datetime.")

    class Meta:
        model = ReviewVersion
        fields = ["since"]


def _review_outcomes(request):
    """The outcomes of the review in the URL: a code names one outcome only within its review."""
    slug = ((getattr(request, "parser_context", None) or {}).get("kwargs") or {}).get("slug")
    return Outcome.objects.filter(review__slug=slug) if slug else Outcome.objects.none()


class PooledResultFilter(django_filters.FilterSet):
    outcome = django_filters.ModelChoiceFilter(
        queryset=_review_outcomes, to_field_name="code", label="Outcome code, e.g. mrss (see /api/v1/outcomes/)."
    )
    timepoint = django_filters.NumberFilter(
        field_name="timepoint_months",
        max_digits=6,
        decimal_places=2,
        min_value=0,
        label="Time point in months, e.g. 12.",
    )
    subgroup = django_filters.CharFilter(
        method="filter_subgroup",
        max_length=40,
        label="'overall' for the overall rows, or a subgroup variable such as cell_source.",
    )
    subgroup_value = django_filters.CharFilter(max_length=80, label="A subgroup value, e.g. adipose_svf.")

    class Meta:
        model = PooledResult
        fields = ["outcome", "timepoint", "subgroup", "subgroup_value"]

    def filter_subgroup(self, queryset, name, value):
        return queryset.filter(subgroup_variable="" if value == "overall" else value)


class StudyFilter(django_filters.FilterSet):
    design = django_filters.ChoiceFilter(choices=StudyDesign.choices, label="Study design.")

    class Meta:
        model = Study
        fields = ["design"]


class CitationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in selectors_api.PublicStatus.CHOICES],
        method="filter_status",
        label="Public screening status: included, excluded or pending.",
    )
    since = SinceFilter(
        method="filter_since", label="Citations whose record or status changed at or after this ISO 8601 datetime."
    )
    pmid = django_filters.CharFilter(field_name="citation__pmid", max_length=12, label="PubMed id.")

    class Meta:
        model = ReviewCitation
        fields = ["status", "since", "pmid"]

    def filter_status(self, queryset, name, value):
        return selectors_api.citations_with_status(queryset, value)

    def filter_since(self, queryset, name, value):
        return selectors_api.citations_changed_since(queryset, value)


class OutcomeFilter(django_filters.FilterSet):
    outcome_type = django_filters.ChoiceFilter(choices=OutcomeType.choices, label="continuous, count or binary.")
    review = django_filters.CharFilter(field_name="review__slug", label="A review's slug, e.g. msc-ssc.")

    class Meta:
        model = Outcome
        fields = ["outcome_type", "review"]
