"""Screening a registration (its own record type): a reviewer includes it as an ongoing study or as awaiting
classification, or excludes it with a reason; and marking a registry task done."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from evidence.core import policy
from evidence.models import Registration, RegistrationScreening, RegistryTask

SCREEN_REGISTRATIONS = (policy.SCREENER, policy.SENIOR)
DECISIONS = (RegistrationScreening.ONGOING, RegistrationScreening.AWAITING, RegistrationScreening.EXCLUDED)


@transaction.atomic
def registration_screen(
    *, registration: Registration, decision: str, user: AbstractBaseUser, reason: str = ""
) -> Registration:
    """Record the reviewer's decision on a registration (a later decision replaces it; history keeps both).

    Raises
    ------
    PermissionDenied
        The user is neither a screener nor a senior reviewer (nor a review admin) of its review.
    ValidationError
        An unknown decision (``screening``), or an exclusion without a reason (``screening_reason``).
    """
    if decision not in DECISIONS:
        allowed = ", ".join(DECISIONS)
        raise ValidationError({"screening": f"{decision!r} is not a decision; use one of {allowed}."})
    if not policy.user_has_role(user=user, review=registration.review, roles=SCREEN_REGISTRATIONS):
        raise PermissionDenied(f"You may not screen registrations of {registration.review.slug}.")
    if decision == RegistrationScreening.EXCLUDED and not reason.strip():
        raise ValidationError({"screening_reason": "Give the reason for excluding this registration."})
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    registration.screening = decision
    registration.screening_reason = reason.strip()
    registration.screened_by, registration.screened_at = user, timezone.now()
    registration.full_clean()
    registration._change_reason = f"screened: {decision}"
    registration.save(update_fields=["screening", "screening_reason", "screened_by", "screened_at", "updated_at"])
    return registration


@transaction.atomic
def registry_task_complete(*, task: RegistryTask, user: AbstractBaseUser) -> bool:
    """Mark the task done (once); False if it already was."""
    if not policy.user_has_role(user=user, review=task.review, roles=policy.MEMBER):
        raise PermissionDenied(f"You may not work on registry tasks of {task.review.slug}.")
    done = RegistryTask.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=timezone.now(), done_by=user)
    return bool(done)
