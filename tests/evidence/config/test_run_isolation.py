"""`make test` beside `make run`: the suite's broker folder, result store and test database are its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, pytest, django
django.setup()
from django.conf import settings
from django.db import connection
print(json.dumps({
    "var": str(settings.VAR_DIR),
    "broker": settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"],
    "control": settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"],
    "results": settings.CELERY_RESULT_BACKEND,
    "test_db": settings.DATABASES["default"]["TEST"]["NAME"],
}))
"""


def test_it_gives_a_test_run_that_names_no_folder_its_own():
    env = {k: v for k, v in os.environ.items() if k not in ("EVIDENCE_VAR_DIR", "DATABASE_URL", "CELERY_BROKER_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "evidence.config.settings"

    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert probe.returncode == 0, probe.stderr
    paths = json.loads(probe.stdout)
    site_var = str(ROOT / "var")
    assert not paths["var"].startswith(site_var), paths
    assert all(paths[key].removeprefix("file://").startswith(paths["var"]) for key in paths), paths


def test_the_running_site_gets_nothing_of_what_the_suite_sends(celery_worker_process, tmp_path):
    from django.conf import settings

    from evidence.operations.tasks import ping

    site_var = tmp_path / "site-var"
    site_env = {"EVIDENCE_VAR_DIR": str(site_var), "CELERY_BROKER_URL": "filesystem://"}
    site_env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    with _site_worker(site_env) as site:
        time.sleep(1)
        token = uuid.uuid4().hex
        reply = ping.delay(token).get(timeout=60)
        assert reply["token"] == token
    site_log = site.stdout.read() if site.stdout else ""
    assert token not in site_log, site_log[-2000:]
    assert not str(settings.VAR_DIR).startswith(str(site_var))
    assert settings.VAR_DIR != ROOT / "var"


class _site_worker:
    """A worker as `make run` starts it, on another broker folder (the site's)."""

    def __init__(self, extra_env: dict[str, str]) -> None:
        self.extra_env = extra_env

    def __enter__(self) -> subprocess.Popen:
        env = {**os.environ, **self.extra_env}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=180
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "evidence", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        return self.process

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


pytestmark = pytest.mark.slow
