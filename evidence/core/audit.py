"""Record refused access. Called after the refused request's own transaction has rolled back."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from evidence.models import AccessRefusal

logger = logging.getLogger(__name__)


@transaction.atomic
def access_refusal_record(
    *,
    user: AbstractBaseUser,
    method: str,
    path: str,
    status: int,
    model: str = "",
    object_id: str = "",
    reason: str = "",
) -> AccessRefusal:
    """Keep one refused request: who, what, which row, and the refusal's message."""
    authenticated = bool(user and user.is_authenticated)
    refusal = AccessRefusal(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        method=method[:10],
        path=path[:500],
        status=status,
        model=model[:100],
        object_id=str(object_id or "")[:64],
        reason=str(reason or "")[:500],
    )
    refusal.full_clean()
    refusal.save()
    logger.warning("access refused: %s", refusal)
    return refusal
