from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from evidence.config import health
from evidence.publishing import feeds, http_cache, views


class FaviconRedirect(RedirectView):
    """Resolved per request: the hashed static name exists only once collectstatic wrote its manifest."""

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("evidence/favicon.svg")


urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says; send them to the static icon.
    path("favicon.ico", FaviconRedirect.as_view(permanent=True)),
    path("admin/", admin.site.urls),
    path("api/", include("evidence.api.urls")),
    # Public evidence pages (no account needed).
    path("reviews/<slug:slug>/", views.review_detail, name="review"),
    path("reviews/<slug:slug>/v/<int:number>/", views.version_detail, name="review_version"),
    path(
        "reviews/<slug:slug>/v/<int:number>/<slug:dataset>.<slug:fmt>",
        views.version_download,
        name="review_download",
    ),
    path("reviews/<slug:slug>/studies/<int:study_id>/", views.study_detail, name="review_study"),
    path("reviews/<slug:slug>/outcomes/<slug:code>/", views.outcome_detail, name="review_outcome"),
    path("reviews/<slug:slug>/feed/", http_cache.conditional(feeds.VersionFeed()), name="review_feed"),
]
