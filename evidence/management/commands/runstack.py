"""Run the whole embedded stack in one terminal: web server, Celery worker and Celery beat. Ctrl-C stops all."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

BIND_WAIT_SECONDS = 60


class Command(BaseCommand):
    help = "Start the web server, a Celery worker and Celery beat (database scheduler); Ctrl-C stops all three."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        host, port = _parse_addrport(addrport)
        _check_port_free(host, port)  # before any process starts: a taken port is one clear line, nothing half-up
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
        processes = {"web": subprocess.Popen(commands.pop("web"), cwd=settings.BASE_DIR)}
        try:
            if not _wait_until_bound(host, port, processes["web"]):
                raise CommandError(f"The web server did not start on {host}:{port}; see its output above.")
            processes |= {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in commands.items()}
            self.stdout.write(
                self.style.SUCCESS(f"Running on http://{host}:{port}/ (admin at /admin/). Ctrl-C stops all.")
            )
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            stopped = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            pass
        finally:
            _stop_all(processes)


def _parse_addrport(addrport: str) -> tuple[str, int]:
    host, _, port = addrport.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--addrport must be host:port (e.g. 127.0.0.1:8000), not {addrport!r}.")
    return host or "127.0.0.1", int(port)


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver binds: only a listener blocks
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise CommandError(
                f"Port {port} on {host} is in use ({exc.strerror}); choose another with `make run PORT=8001`."
            ) from None


def _wait_until_bound(host: str, port: int, web: subprocess.Popen) -> bool:
    """True once the web server accepts connections; False if it exits or does not bind in time."""
    deadline = time.monotonic() + BIND_WAIT_SECONDS
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host.strip("[]")  # noqa: S104 (only compared)
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with socket.create_connection((target, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


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
