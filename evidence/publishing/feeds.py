"""Atom feed of a review's published versions; each entry is what changed in that version."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from evidence.models import Review, ReviewVersion, VersionKind
from evidence.publishing.selectors import public_review, published_versions


def what_changed(version: ReviewVersion) -> list[str]:
    """The headline rows that moved come first (the diff orders them so); then what could not be entered."""
    if version.kind == VersionKind.PUBLISHED_PAPER and not version.change_summary:
        return [f"First version: the published synthesis, imported as printed. {version.attribution}"]
    lines = list(version.change_summary) or ["No change in the pooled results."]
    return lines + [f"Not entered in a pooled row: {problem}" for problem in version.input_problems]


class VersionFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, slug: str) -> Review:
        review = public_review(slug=slug)
        if review is None:
            raise Http404("No published review with that name.")
        return review

    def title(self, review: Review) -> str:
        return f"{review.title}: versions"

    def subtitle(self, review: Review) -> str:
        return "Each entry is one published version of the living review and what changed in it."

    def link(self, review: Review) -> str:
        return reverse("review", args=[review.slug])

    def items(self, review: Review) -> list[ReviewVersion]:
        return published_versions(review=review)

    def item_title(self, version: ReviewVersion) -> str:
        return f"Version {version.number} ({version.published_at:%-d %b %Y}): {version.n_studies} studies"

    def item_description(self, version: ReviewVersion) -> str:
        lines = format_html_join("", "<li>{}</li>", ((line,) for line in what_changed(version)))
        return format_html("<p>{}</p><ul>{}</ul>", version.trigger, lines)

    def item_link(self, version: ReviewVersion) -> str:
        return reverse("review_version", args=[version.review.slug, version.number])

    def item_guid(self, version: ReviewVersion) -> str:
        return f"tag:living-evidence,{version.published_at:%Y-%m-%d}:{version.review.slug}/v{version.number}"

    item_guid_is_permalink = False

    def item_pubdate(self, version: ReviewVersion):
        return version.published_at

    def item_updateddate(self, version: ReviewVersion):
        return version.published_at
