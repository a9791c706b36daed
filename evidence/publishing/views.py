"""Public pages: thin; they read through selectors and render. Cached per review stamp, with 304s."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from evidence.models import Review, ReviewVersion
from evidence.publishing import downloads, http_cache
from evidence.publishing import selectors as selectors_public


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "evidence/home.html", {"reviews": selectors_public.home_rows()})


def _review(slug: str) -> Review:
    review = selectors_public.public_review(slug=slug)
    if review is None:
        raise Http404("No published review with that name.")
    return review


def _version(slug: str, number: int | None) -> tuple[Review, ReviewVersion]:
    review = _review(slug)
    version = selectors_public.published_version(review=review, number=number)
    if version is None:
        raise Http404("No published version with that number.")
    return review, version


def _page(request: HttpRequest, slug: str, number: int | None) -> HttpResponse:
    def build() -> HttpResponse:
        pending = selectors_public.pending_page(slug=slug) if number is None else None
        if pending is not None:  # before the first version: the protocol's page, not a 404
            return render(request, "evidence/review_pending.html", {"page": pending})
        review, version = _version(slug, number)
        # /reviews/<slug>/ is live; /v/<n>/ shows exactly what version n published, even for the latest.
        page = selectors_public.review_page(review=review, version=version, live=number is None)
        return render(request, "evidence/review.html", {"page": page})

    return http_cache.cached_page(request, slug, build)


@http_cache.conditional
def review_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, slug, None)


@http_cache.conditional
def version_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    return _page(request, slug, number)


@http_cache.conditional
def outcome_detail(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    def build() -> HttpResponse:
        review, version = _version(slug, None)
        page = selectors_public.review_page(review=review, version=version, outcome_code=code)
        if not page.rows and not page.narrative:
            raise Http404("This version reports nothing for that outcome.")
        return render(request, "evidence/outcome.html", {"page": page, "outcome_code": code})

    return http_cache.cached_page(request, slug, build)


@http_cache.conditional
def study_detail(request: HttpRequest, slug: str, study_id: int) -> HttpResponse:
    def build() -> HttpResponse:
        page = selectors_public.study_page(review=_review(slug), study_id=study_id)
        if page is None:
            raise Http404("No such study in the published review.")
        return render(request, "evidence/study.html", {"page": page})

    return http_cache.cached_page(request, slug, build)


@http_cache.conditional
def version_download(request: HttpRequest, slug: str, number: int, dataset: str, fmt: str) -> HttpResponse:
    def build() -> HttpResponse:
        _, version = _version(slug, number)
        response = downloads.version_download(version=version, dataset=dataset, fmt=fmt)
        if response is None:
            raise Http404(f"Downloads are {', '.join(downloads.AVAILABLE)}.")
        return response

    return http_cache.cached_page(request, slug, build)
