"""Celery tasks that keep the pipeline running: the broker round trip and the sweeper of lost runs."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="evidence.ping")
def ping(token: str) -> dict:
    """Round trip through the broker: proves a worker is consuming and results come back."""
    from django.db import connection

    return {"token": token, "database": connection.vendor}


@shared_task(name="evidence.runs_sweep", ignore_result=True)
def runs_sweep() -> dict:
    """Every minute (beat entry "Sweep lost runs"): re-run what a dead worker or a broker outage left behind."""
    from evidence.operations.sweep import runs_sweep as sweep

    return sweep().as_dict()
