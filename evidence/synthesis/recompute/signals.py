"""What synthesis announces: a version was published. Publishing listens (it writes the version's exports), so
synthesis never imports the rooms that read its outputs."""

from django.dispatch import Signal

# Sent after the run that wrote the version is recorded as published; keyword argument: ``version``.
version_published = Signal()
