"""The Celery application; its tasks live in the modules that ``evidence.core.dispatch.TASK_MODULES`` names."""

import os

from celery import Celery

from evidence.core.dispatch import TASK_MODULES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evidence.config.settings")

app = Celery("evidence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = TASK_MODULES  # a worker registers every task at start


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
