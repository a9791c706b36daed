"""Services hand work to Celery here, by task name: no service imports a tasks module, so the arrows run one
way (a tasks module imports the services it calls; services reach a task only through this module).
"""

from __future__ import annotations

import importlib
import logging

logger = logging.getLogger(__name__)

# Every module that defines tasks: the Celery app imports them at start (``imports``), and a process that has
# not imported one yet (a web request, a management command) imports them on its first lookup.
TASK_MODULES = (
    "evidence.surveillance.tasks",
    "evidence.surveillance.tasks_registry",
    "evidence.screening.tasks",
    "evidence.synthesis.tasks",
    "evidence.publishing.tasks",
    "evidence.operations.tasks",
)


def task_named(name: str):
    """The registered task called ``name`` (its ``name=`` in ``@shared_task``)."""
    from celery import current_app

    if name not in current_app.tasks:
        for module in TASK_MODULES:
            importlib.import_module(module)
    return current_app.tasks[name]


def task_publish(task, *, args: list | None = None, kwargs: dict | None = None, countdown: int = 0) -> bool:
    """Hand a task (or a task's name) to the broker once, fast; False (logged) if the broker cannot take it now.

    No publish retries (a request must not hang while Redis is down); the work it stands for is a row in
    the database (a queued run) that the sweeper publishes again, so nothing is lost.
    """
    from kombu.exceptions import OperationalError

    task = task_named(task) if isinstance(task, str) else task
    try:
        task.apply_async(args=args or [], kwargs=kwargs or {}, countdown=countdown, retry=False)
    except (OperationalError, OSError) as exc:
        logger.warning("broker unavailable, %s not sent now (the sweeper sends it later): %s", task.name, exc)
        return False
    return True
