"""The Celery application; tasks live in ``evidence.tasks``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evidence.settings")

app = Celery("evidence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["evidence"])
app.autodiscover_tasks(["evidence"], related_name="tasks_registry")  # registry surveillance


def ensure_broker_folders() -> None:
    """The filesystem transport needs its folders before the first message."""
    from django.conf import settings

    if settings.USES_REDIS or not settings.CELERY_BROKER_URL.startswith("filesystem"):
        return
    for key in ("data_folder_out", "processed_folder", "control_folder"):
        os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
    backend = settings.CELERY_RESULT_BACKEND
    if backend.startswith("file://"):
        os.makedirs(backend.removeprefix("file://"), exist_ok=True)
