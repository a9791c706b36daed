"""``/api/``: the versioned resources under ``v1/``, the OpenAPI schema and its docs page."""

from __future__ import annotations

from django.urls import path, re_path

from evidence.api import registry, views

app_name = "api"

# Path segments match anything but "/": a malformed slug or number reaches the view and gets the API's
# JSON 404, not the site's HTML one.
VERSION = r"(?P<number>[^/]+)"
REVIEW = r"(?P<slug>[^/]+)"

urlpatterns = [
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    path("v1/", views.ApiRoot.as_view(), name="root"),
    path("v1/outcomes/", views.OutcomeList.as_view(), name="outcome-list"),
    path("v1/outcomes/<str:code>/", views.OutcomeDetail.as_view(), name="outcome-detail"),
    path("v1/reviews/", views.ReviewList.as_view(), name="review-list"),
    path("v1/reviews/<str:slug>/", views.ReviewDetail.as_view(), name="review-detail"),
    path("v1/reviews/<str:slug>/versions/", views.VersionList.as_view(), name="version-list"),
    path("v1/reviews/<str:slug>/outcomes/", views.ReviewOutcomeList.as_view(), name="review-outcome-list"),
    path(
        "v1/reviews/<str:slug>/outcomes/<str:code>/", views.ReviewOutcomeDetail.as_view(), name="review-outcome-detail"
    ),
    re_path(rf"^v1/reviews/{REVIEW}/versions/{VERSION}/$", views.VersionDetail.as_view(), name="version-detail"),
    re_path(rf"^v1/reviews/{REVIEW}/versions/{VERSION}/fhir/$", views.VersionFhir.as_view(), name="version-fhir"),
    re_path(
        rf"^v1/reviews/{REVIEW}/versions/{VERSION}/pooled-results/$",
        views.VersionPooledResultList.as_view(),
        name="version-pooled-result-list",
    ),
    path(
        "v1/reviews/<str:slug>/pooled-results/",
        views.LatestPooledResultList.as_view(),
        name="latest-pooled-result-list",
    ),
    path("v1/reviews/<str:slug>/studies/", views.StudyList.as_view(), name="study-list"),
    path("v1/reviews/<str:slug>/studies/<str:pk>/", views.StudyDetail.as_view(), name="study-detail"),
    path("v1/reviews/<str:slug>/citations/", views.CitationList.as_view(), name="citation-list"),
    path("v1/reviews/<str:slug>/ongoing-trials/", registry.OngoingTrialList.as_view(), name="ongoing-trial-list"),
    # Anything else under /api/ ending in a slash: a JSON 404 (without the slash, APPEND_SLASH redirects first).
    re_path(r"^.*/$", views.NotFound.as_view(), name="not-found"),
]
