"""An editor changes a review's primary analysis; the change is recorded and makes a new version that says so."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from evidence.core.roles import review_role_require
from evidence.models import Review, ReviewRole

PRIMARY_ANALYSIS_FIELDS = (
    "continuous_measure",
    "binary_measure",
    "proportion_measure",
    "continuity_correction",
    "change_orientation",
    "estimator",
    "ci_method",
    "prepost_correlation",
    "prepost_independent",
    "primary_analysis_source",
    "timepoint_windows",
)


@transaction.atomic
def review_primary_analysis_update(*, review: Review, editor: AbstractBaseUser, **fields) -> Review:
    """Validate and save the new primary analysis (audited), then ask for a recompute once it commits.

    The recompute's inputs hash includes the settings, so the new version is made even when no study changed,
    and its "what changed" leads with "Primary analysis changed: … → …".
    """
    review_role_require(user=editor, review=review, roles=(ReviewRole.EDITOR,), action="change the primary analysis")
    unknown = sorted(set(fields) - set(PRIMARY_ANALYSIS_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "not a primary-analysis setting"))
    locked = Review.objects.select_for_update().get(pk=review.pk)
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    if not changed:
        return locked
    locked._history_user = editor
    locked.save()
    review_id = locked.pk
    transaction.on_commit(lambda: primary_analysis_changed(review_id))
    return locked


def primary_analysis_changed(review_id: int) -> None:
    from evidence.synthesis.recompute import review_recompute_request

    review_recompute_request(review=Review.objects.get(pk=review_id), trigger="primary analysis changed")
