"""Reads for the full-text column beside the full-text screening and extraction forms."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from evidence.core import policy
from evidence.models import FullText, Review, ReviewCitation


def full_text_context(
    *, user: AbstractBaseUser, review: Review, review_citation: ReviewCitation | None, show_abstract: bool
) -> dict:
    """What ``admin/screening/_full_text.html`` needs: the attached full text (or None), whether the user may
    attach one, the size limit, and whether to fall back to the abstract when no PDF is attached."""
    full_text = FullText.objects.filter(review_citation=review_citation).first() if review_citation else None
    return {
        "full_text": full_text,
        "can_attach_full_text": policy.user_has_role(user=user, review=review, roles=policy.FULL_TEXT),
        "full_text_max_mb": settings.FULL_TEXT_MAX_BYTES // (1024 * 1024),
        "show_abstract": show_abstract,
    }
