"""Publishing's answer to a published version: its downloads and FHIR pages are written once, at once.

Connected when the app is ready (``EvidenceConfig.ready``); runs in the worker's recompute, after the run is
recorded as published, so the page shows the version while its files are written.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from evidence.models import ReviewVersion
from evidence.synthesis.recompute.signals import version_published

logger = logging.getLogger(__name__)


@receiver(version_published, dispatch_uid="evidence.version_exports_write")
def version_exports_write_on_publish(sender, *, version, **kwargs) -> None:
    version_exports_write_safely(version=version)


def version_exports_write_safely(*, version: ReviewVersion) -> bool:
    """Write a new version's downloads and FHIR pages in the recompute's worker, once it is published. A failure
    is logged, not raised: the run is done, and a missing file is built at its first request (a large version's
    FHIR pages by the worker task a request enqueues)."""
    from evidence.publishing import downloads, exports  # DRF and the formats load here, not at start

    try:
        exports.version_exports_write(version=version, builders=downloads.builders(version))
        exports.fhir_pages_write_claimed(version=version)
    except Exception:
        logger.exception("the exports of %s were not written; each is built at its first request", version)
        return False
    return True
