"""Who may act in a review: the check every service makes before a write, and granting a role.

A role in one review gives no power in another (``evidence.core.policy`` decides); a service asks here before it
writes, so a forged request from a member of another review is refused with nothing written.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction

from evidence.core.policy import GRANT_ROLES, user_has_role
from evidence.models import Review, ReviewMembership


def review_role_require(*, user: AbstractBaseUser, review: Review, roles: tuple[str, ...], action: str) -> None:
    if not user_has_role(user=user, review=review, roles=roles):
        raise PermissionDenied(f"You need the {' or '.join(roles)} role in “{review.slug}” to {action}.")


@transaction.atomic
def review_membership_create(
    *, review: Review, user: AbstractBaseUser, role: str, granted_by: AbstractBaseUser | None = None
) -> ReviewMembership:
    """Give a user a role in one review (and access to the admin site); the role is the only power it gives.

    ``granted_by`` is the person granting it: an admin of this review or a superuser. None only for code that
    runs without a person (seeding, management commands, tests' arrangements).
    """
    if granted_by is not None:
        review_role_require(user=granted_by, review=review, roles=GRANT_ROLES, action="grant roles")
    membership = ReviewMembership(review=review, user=user, role=role)
    membership.full_clean()
    membership.save()
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership
