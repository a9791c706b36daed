"""Celery tasks of publishing: a version's stored exports."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="evidence.version_fhir_pages_write", acks_late=True)
def version_fhir_pages_write(version_id: int) -> bool:
    """Write a version's FHIR pages (a large version's are never written at a request); idempotent: current
    pages, or another process writing them, leave it with nothing to do."""
    from evidence.models import ReviewVersion
    from evidence.publishing import exports

    version = ReviewVersion.objects.filter(pk=version_id).select_related("review").first()
    if version is None:
        logger.warning("version %s is gone; its FHIR pages are not written", version_id)
        return False
    if exports.fhir_pages_current(version=version):
        return False
    return exports.fhir_pages_write_claimed(version=version)
