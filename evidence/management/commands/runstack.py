"""Run the whole embedded stack in one terminal: web server, Celery worker and Celery beat. Ctrl-C stops all."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server, a Celery worker and Celery beat (database scheduler); Ctrl-C stops all three."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        python = sys.executable
        commands = {
            "web": [python, "manage.py", "runserver", addrport, "--noreload"],
            "worker": [python, "-m", "celery", "-A", "evidence", "worker", "--loglevel=INFO", "--concurrency=2"],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "evidence",
                "beat",
                "--loglevel=INFO",
                f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}",
            ],
        }
        # SIGTERM (from a supervisor or a test) stops the children too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        processes = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"Running on http://{addrport}/ (admin at /admin/). Ctrl-C stops all."))
        try:
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            stopped = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            pass
        finally:
            _stop_all(processes)


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop_all(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
