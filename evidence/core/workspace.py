"""What every workspace page does first: find the review among the user's own (404 otherwise), check the role
(403 otherwise), and render inside the admin site's frame."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from evidence.core import policy
from evidence.models import Review, ReviewCitation


def _review(request: HttpRequest, review_id: int, roles: tuple[str, ...] | None = None) -> Review:
    review = get_object_or_404(policy.reviews_for_user(user=request.user), pk=review_id)
    if roles is not None and not policy.user_has_role(user=request.user, review=review, roles=roles):
        raise PermissionDenied(f"You need the {' or '.join(roles)} role in this review.")
    return review


def _context(request: HttpRequest, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def _error_messages(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _review_citation(review, review_citation_id: int) -> ReviewCitation:
    review_citation = get_object_or_404(ReviewCitation.objects.select_related("citation"), pk=review_citation_id)
    if review_citation.review_id != review.pk:
        raise PermissionDenied("This citation belongs to another review.")
    return review_citation
