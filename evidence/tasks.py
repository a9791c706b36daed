"""Celery tasks: thin interfaces that load by id and call one service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="evidence.ping")
def ping(token: str) -> dict:
    """Round trip through the broker: proves a worker is consuming and results come back."""
    from django.db import connection

    return {"token": token, "database": connection.vendor}
