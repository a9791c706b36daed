"""Writes of outcome definitions: a review copies outcomes from another review (the shared catalogue)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from evidence.models import Outcome, Review
from evidence.models.outcome import OUTCOME_DEFINITION_FIELDS as COPIED_FIELDS


@transaction.atomic
def outcomes_copy(*, outcomes: Iterable[Outcome], target: Review) -> list[Outcome]:
    """Copies of ``outcomes`` in ``target``; a code the target already defines is left as the target has it."""
    taken = set(target.outcomes.values_list("code", flat=True))
    copies = []
    for outcome in outcomes:
        if outcome.code in taken or outcome.review_id == target.pk:
            continue
        copy = Outcome(review=target, **{name: getattr(outcome, name) for name in COPIED_FIELDS})
        copy.full_clean()
        copy.save()
        taken.add(copy.code)
        copies.append(copy)
    return copies
