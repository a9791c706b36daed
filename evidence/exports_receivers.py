"""Publishing's answer to a published version: its downloads and FHIR pages are written once, at once.

Connected when the app is ready (``EvidenceConfig.ready``); runs in the worker's recompute, after the run is
recorded as published, so the page shows the version while its files are written.
"""

from django.dispatch import receiver

from evidence.services.recompute.signals import version_published


@receiver(version_published, dispatch_uid="evidence.version_exports_write")
def version_exports_write_on_publish(sender, *, version, **kwargs) -> None:
    from evidence.services.exports import version_exports_write_safely  # DRF and the formats load only here

    version_exports_write_safely(version=version)
