"""The read-only API: each view parses the request, asks a selector, serializes and renders.

Shared behaviour sits in ``PublicApiMixin``: errors are always JSON (``{"detail": ...}``) whatever format
was asked for, and every successful GET carries ``ETag``/``Last-Modified`` and may be answered 304.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence.api import docs, filters, serializers
from evidence.api.caching import HeldAnswerMixin, conditional_get
from evidence.api.schema import FHIR_BUNDLE
from evidence.core.dispatch import task_publish
from evidence.models import Outcome, PooledResult, Review, ReviewCitation, ReviewVersion, Study
from evidence.publishing import exports, http_cache
from evidence.publishing.formats import fhir
from evidence.publishing.formats.renderers import CSVRenderer, FHIRRenderer, RISRenderer
from evidence.publishing.selectors import api as selectors_api

LIST_RENDERERS = [JSONRenderer, CSVRenderer]

SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The review's slug, e.g. msc-ssc.")
NUMBER = OpenApiParameter(
    "number",
    str,
    OpenApiParameter.PATH,
    pattern=r"^([0-9]+|latest)$",
    description="A published version number, or `latest`.",
)


class PublicApiMixin:
    """JSON errors, validators and 304s for every endpoint."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and isinstance(response, Response):
            # A CSV or RIS client still gets an error it can read, and the schema documents one shape.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return conditional_get(request, response)


class ParameterlessDetailMixin(PublicApiMixin):
    """A detail endpoint takes no filters: any query parameter but format is a 400, as on the lists."""

    def filter_queryset(self, queryset):
        filters.reject_unknown_parameters(self.request)
        return queryset


class ReviewScopedMixin(PublicApiMixin):
    """Views under /reviews/<slug>/: the review is looked up once; an unknown slug is a 404."""

    @cached_property
    def review(self) -> Review:
        return selectors_api.api_review(slug=self.kwargs["slug"])

    def schema_only(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


class ApiRoot(PublicApiMixin, APIView):
    """Where to start: the lists, the schema and the docs."""

    renderer_classes = [JSONRenderer]

    @extend_schema(responses={200: {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}})
    def get(self, request):
        filters.reject_unknown_parameters(request)
        names = {
            "reviews": "api:review-list",
            "outcomes": "api:outcome-list",
            "schema": "api:schema",
            "docs": "api:docs",
        }
        return Response({key: request.build_absolute_uri(reverse(name)) for key, name in names.items()})


class ReviewList(PublicApiMixin, generics.ListAPIView):
    """Reviews, each with its latest published version."""

    serializer_class = serializers.ReviewSerializer
    renderer_classes = LIST_RENDERERS

    def get_queryset(self):
        return selectors_api.api_reviews()


class ReviewDetail(ParameterlessDetailMixin, generics.RetrieveAPIView):
    """One review: its question, search, analysis settings and latest published version."""

    serializer_class = serializers.ReviewSerializer
    renderer_classes = [JSONRenderer]
    lookup_field = "slug"

    def get_queryset(self):
        return selectors_api.api_reviews()


@extend_schema_view(get=extend_schema(parameters=[SLUG]))
class VersionList(ReviewScopedMixin, generics.ListAPIView):
    """Published versions of a review, oldest first. Poll with `since` for the ones published since a date."""

    serializer_class = serializers.VersionSerializer
    renderer_classes = LIST_RENDERERS
    filterset_class = filters.VersionFilter
    ordering = "number"

    def get_queryset(self):
        if self.schema_only():
            return ReviewVersion.objects.none()
        return selectors_api.api_versions(review=self.review)


@extend_schema_view(get=extend_schema(parameters=[SLUG, NUMBER]))
class VersionDetail(ReviewScopedMixin, generics.GenericAPIView):
    """One published version; `?format=fhir` (or `Accept: application/fhir+json`) gives its FHIR R5 Bundle."""

    serializer_class = serializers.VersionDetailSerializer
    renderer_classes = [JSONRenderer, FHIRRenderer]
    pagination_class = None

    @extend_schema(responses={200: serializers.VersionDetailSerializer, (200, FHIRRenderer.media_type): FHIR_BUNDLE})
    def get(self, request, slug: str, number: str):
        fhir_wanted = request.accepted_renderer.format == "fhir"
        filters.reject_unknown_parameters(request, allowed=FHIR_PARAMETERS if fhir_wanted else {"format"})
        version = selectors_api.api_version(review=self.review, number=number, with_safety=not fhir_wanted)
        if fhir_wanted:
            return stored_version_bundle(request, version)
        return Response(self.get_serializer(version).data)


FHIR_PAGE = OpenApiParameter(
    "page",
    int,
    OpenApiParameter.QUERY,
    description="Page of the Bundle, from 1 (its `link` names first, previous, next, last).",
)
FHIR_COUNT = OpenApiParameter(
    "_count",
    int,
    OpenApiParameter.QUERY,
    description="Entries per page, up to the stored page size (1,000 by default).",
)


@extend_schema_view(get=extend_schema(parameters=[SLUG, NUMBER, FHIR_PAGE, FHIR_COUNT]))
class VersionFhir(HeldAnswerMixin, ReviewScopedMixin, generics.GenericAPIView):
    """The FHIR R5 Bundle of one published version: a Citation per included report, an EvidenceVariable per
    outcome, an Evidence per pooled result and per study-level result. A page served once is held as sent while
    the review's stamp holds (``HeldAnswerMixin``): 50 registries polling it cost their quota checks only."""

    renderer_classes = [FHIRRenderer, JSONRenderer]
    pagination_class = None

    @extend_schema(responses={200: FHIR_BUNDLE})
    def get(self, request, slug: str, number: str):
        # The row served to this URL under this stamp in the last PAGES_STAMP_SECONDS: an answer too large to be
        # held as sent (a plain body) costs no lookups either (version, manifest, page: ~15 ms a request).
        held = http_cache.held_answer_key(request, slug)
        key = "fhir-served:" + hashlib.sha256(held.encode()).hexdigest() if held else None
        row = cache.get(key) if key else None
        if row is not None:
            return exports.export_response(request, row)
        version = selectors_api.api_version(review=self.review, number=number)
        response = stored_version_bundle(request, version)
        if key and getattr(response, "version_export", None) is not None:
            cache.set(key, response.version_export, getattr(settings, "PAGES_STAMP_SECONDS", 2))
        return response


FHIR_PARAMETERS = frozenset({"format", "page", "_count"})


def stored_version_bundle(request, version: ReviewVersion) -> HttpResponse:
    """A page of the version's Bundle, served from the pages the worker wrote at publication (never built here
    for a large version: ~290 MB for 1,000 studies). ``page`` (from 1) and ``_count`` (up to the stored page
    size; fewer entries are cut from the stored pages) choose it; ``link`` names first/previous/next/last."""
    filters.reject_unknown_parameters(request, allowed=FHIR_PARAMETERS)
    size = settings.EVIDENCE_FHIR_PAGE_SIZE
    number = _positive_parameter(request, "page", default=1, maximum=None)
    count = _positive_parameter(request, "_count", default=size, maximum=size)
    enqueue = lambda pk: transaction.on_commit(lambda: task_publish("evidence.version_fhir_pages_write", args=[pk]))  # noqa: E731
    if not exports.fhir_pages_ensure(version=version, enqueue=enqueue):
        detail = "This version's FHIR Bundle is being written; try again in a minute."
        return Response({"detail": detail}, status=503, headers={"Retry-After": "60"})
    pages = exports.fhir_manifest_data(exports.fhir_manifest(version=version))
    last = max(math.ceil(pages["entries"] / count), 1)
    if number > last:
        raise Http404(f"page: this Bundle has {last} page(s) of {count} entries.")
    if count == pages["count"]:
        return exports.export_response(request, exports.fhir_page(version=version, number=number))
    return Response(_cut_page(version, number=number, count=count, pages=pages, last=last))


def _positive_parameter(request, name: str, *, default: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError({"detail": f"{name}: a whole number from 1, not {raw!r}."})
    return min(int(raw), maximum) if maximum else int(raw)  # FHIR: a server may return fewer than _count


def _cut_page(version: ReviewVersion, *, number: int, count: int, pages: dict, last: int) -> dict:
    """A page of ``count`` entries cut from the (at most two) stored pages that hold them."""
    start = (number - 1) * count
    first, offset = divmod(start, pages["count"])
    entries: list = []
    for stored in range(first + 1, min(first + 2, pages["pages"]) + 1):
        row = exports.fhir_page(version=version, number=stored)
        entries += json.loads(gzip.decompress(exports.stored_content(row)))["entry"]
    bundle = json.loads(gzip.decompress(exports.stored_content(exports.fhir_page(version=version, number=1))))
    links = exports.fhir_page_links(version, number=number, pages=last, count=count) if last > 1 else {}
    bundle["link"] = [{"relation": "self", "url": exports.fhir_url(version, number=number, count=count)}]
    bundle["link"] += [{"relation": rel, "url": url} for rel, url in links.items()]
    bundle["entry"] = entries[offset : offset + count]
    return bundle


def version_bundle(request, version: ReviewVersion, *, page=None, links=None) -> dict:
    evidence = selectors_api.version_evidence(version=version, pooled_results=page)
    return fhir.version_bundle(
        evidence,
        base_url=request.build_absolute_uri(reverse("api:root")).rstrip("/"),
        self_url=request.build_absolute_uri(),
        links=links,
    )


class PooledResultList(ReviewScopedMixin, generics.ListAPIView):
    """Pooled results of a version: ``number`` in the URL, or the latest published one without it."""

    serializer_class = serializers.PooledResultSerializer
    renderer_classes = [JSONRenderer, CSVRenderer, FHIRRenderer]
    filterset_class = filters.PooledResultFilter

    @cached_property
    def version(self) -> ReviewVersion:
        return selectors_api.api_version(review=self.review, number=self.kwargs.get("number", "latest"))

    def get_queryset(self):
        if self.schema_only():
            return PooledResult.objects.none()
        return selectors_api.api_pooled_results(version=self.version)

    def paginate_queryset(self, queryset):
        if self.request.accepted_renderer.format == "fhir":
            # A FHIR page holds each pooled row's study-level Evidence too: at most EVIDENCE_FHIR_PAGE_SIZE entries
            # (one pooled row a page for a 1,000-study review, whose 100 rows a page were the whole version).
            most = selectors_api.api_most_studies_per_result(version=self.version)
            fits = max(settings.EVIDENCE_FHIR_PAGE_SIZE // (1 + most), 1)
            self.paginator.max_page_size = min(self.paginator.max_page_size, fits)
            self.paginator.page_size = min(self.paginator.page_size, fits)
        page = super().paginate_queryset(queryset)
        if "number" not in self.kwargs:
            path = reverse(
                "api:version-pooled-result-list", kwargs={"slug": self.review.slug, "number": str(self.version.number)}
            )
            query = self.request.META.get("QUERY_STRING", "")
            self.paginator.base_url = self.request.build_absolute_uri(path) + (f"?{query}" if query else "")
        return page

    @extend_schema(
        responses={200: serializers.PooledResultSerializer(many=True), (200, FHIRRenderer.media_type): FHIR_BUNDLE}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format != "fhir":
            return super().list(request, *args, **kwargs)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        links = self.paginator.get_links()
        response = Response(version_bundle(request, self.version, page=page, links=links))
        if links:
            response["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
        return response


@extend_schema_view(get=extend_schema(operation_id="reviews_pooled_results_latest", parameters=[SLUG]))
class LatestPooledResultList(PooledResultList):
    """Pooled results of the latest published version, filtered by outcome, time point and subgroup.

    Formats: JSON, CSV, and FHIR R5 (a Bundle of the page's results). The `next` link names the version
    the first page came from, so a version published while paging never mixes into the pages.
    """


@extend_schema_view(get=extend_schema(parameters=[SLUG, NUMBER]))
class VersionPooledResultList(PooledResultList):
    """Pooled results of one published version, filtered by outcome, time point and subgroup.

    Formats: JSON, CSV, and FHIR R5 (a Bundle of the page's results).
    """


class PublishedStudiesMixin:
    """Serializes studies as the review's latest version read them, not as they are being edited now."""

    def get_serializer(self, *args, **kwargs):
        if args and not self.schema_only():
            many = kwargs.get("many", False)
            studies = selectors_api.api_studies_as_published(list(args[0]) if many else [args[0]], review=self.review)
            args = (studies if many else studies[0], *args[1:])
        return super().get_serializer(*args, **kwargs)


@extend_schema_view(get=extend_schema(parameters=[SLUG]))
class StudyList(PublishedStudiesMixin, ReviewScopedMixin, generics.ListAPIView):
    """Approved studies with their reports, interventions, outcome measurements, adverse events and quality."""

    serializer_class = serializers.StudySerializer
    renderer_classes = LIST_RENDERERS
    filterset_class = filters.StudyFilter

    def get_queryset(self):
        if self.schema_only():
            return Study.objects.none()
        return selectors_api.api_studies(review=self.review)


@extend_schema_view(
    get=extend_schema(parameters=[SLUG, OpenApiParameter("pk", int, OpenApiParameter.PATH, description="Study id.")])
)
class StudyDetail(PublishedStudiesMixin, ReviewScopedMixin, generics.RetrieveAPIView):
    """One approved study with its reports, interventions, measurements, adverse events and quality."""

    serializer_class = serializers.StudySerializer
    renderer_classes = [JSONRenderer]

    def get_queryset(self):
        if self.schema_only():
            return Study.objects.none()
        return selectors_api.api_studies(review=self.review)

    def get_object(self):
        filters.reject_unknown_parameters(self.request)
        return selectors_api.api_study(studies=self.get_queryset(), pk=self.kwargs["pk"])


@extend_schema_view(get=extend_schema(parameters=[SLUG]))
class CitationList(ReviewScopedMixin, generics.ListAPIView):
    """Every citation the review has found, with its public screening status: included, excluded (with the
    agreed reason) or pending. Individual reviewers' decisions are never shown. Formats: JSON, CSV, RIS."""

    serializer_class = serializers.CitationSerializer
    renderer_classes = [JSONRenderer, CSVRenderer, RISRenderer]
    filterset_class = filters.CitationFilter

    def get_queryset(self):
        if self.schema_only():
            return ReviewCitation.objects.none()
        return selectors_api.api_citations(review=self.review)


class OutcomeList(PublicApiMixin, generics.ListAPIView):
    """Outcome definitions: codes to filter pooled results by, units and which direction is better."""

    serializer_class = serializers.OutcomeSerializer
    renderer_classes = LIST_RENDERERS
    filterset_class = filters.OutcomeFilter

    def get_queryset(self):
        return selectors_api.api_outcomes()


class OutcomeDetail(ParameterlessDetailMixin, generics.RetrieveAPIView):
    """One outcome definition by its code (a code several reviews define: the review's own URL)."""

    serializer_class = serializers.OutcomeSerializer
    renderer_classes = [JSONRenderer]
    lookup_field = "code"

    def get_queryset(self):
        return selectors_api.api_outcomes()

    def get_object(self):
        self.filter_queryset(self.get_queryset())
        return selectors_api.api_outcome(code=self.kwargs["code"])


@extend_schema_view(get=extend_schema(parameters=[SLUG]))
class ReviewOutcomeList(ReviewScopedMixin, generics.ListAPIView):
    """The outcomes one review defines."""

    serializer_class = serializers.OutcomeSerializer
    renderer_classes = LIST_RENDERERS
    filterset_class = filters.OutcomeFilter

    def get_queryset(self):
        if self.schema_only():
            return Outcome.objects.none()
        return selectors_api.api_outcomes(review=self.review)


@extend_schema_view(get=extend_schema(parameters=[SLUG]))
class ReviewOutcomeDetail(ParameterlessDetailMixin, ReviewScopedMixin, generics.RetrieveAPIView):
    """One outcome of one review, by its code."""

    serializer_class = serializers.OutcomeSerializer
    renderer_classes = [JSONRenderer]
    lookup_field = "code"

    def get_queryset(self):
        if self.schema_only():
            return Outcome.objects.none()
        return selectors_api.api_outcomes(review=self.review)


class NotFound(PublicApiMixin, APIView):
    """Any other URL under /api/: a JSON 404 like the API's own."""

    renderer_classes = [JSONRenderer]
    schema = None

    def get(self, request, *args, **kwargs):
        raise Http404("No such API endpoint; the list is at /api/docs/.")


class SchemaView(PublicApiMixin, SpectacularAPIView):
    """The OpenAPI 3 schema (YAML; `?format=json` for JSON)."""


class DocsView(PublicApiMixin, APIView):
    """A server-rendered page listing every endpoint, its parameters and formats, from the schema."""

    renderer_classes = [StaticHTMLRenderer]
    schema = None

    def get(self, request):
        filters.reject_unknown_parameters(request, allowed=set())
        return Response(docs.render_docs(request))
