"""The embedded stack as `make run` starts it: web server, a real Celery worker and beat, in processes."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def _wait_for_page(url: str, stack: subprocess.Popen, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert stack.poll() is None, "the stack exited early"
        try:
            return _get(url)[1]
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _stack_environment(folder: Path) -> dict:
    """A private SQLite file and var dir in ``folder``; the broker is whatever this run uses (filesystem or Redis)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(EVIDENCE_VAR_DIR=str(folder / "var"), DATABASE_URL=f"sqlite:///{folder / 'stack.sqlite3'}")
    if env.get("CELERY_BROKER_URL", "").startswith("redis"):
        env["CELERY_BROKER_URL"] = env["CELERY_BROKER_URL"].rsplit("/", 1)[0] + "/14"  # keep off the suite's db
    return env


@pytest.fixture(scope="module")
def stack_template(tmp_path_factory) -> Path:
    """The database `make run` builds (migrated, seeded), built once for this module: ~17 s each time."""
    folder = tmp_path_factory.mktemp("stack-template")
    env = _stack_environment(folder)
    for command in (["migrate", "--noinput", "-v0"], ["load_seed"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=180)
    return folder


@pytest.fixture
def stack_env(stack_template, tmp_path):
    """A test's own copy of the template: its database file and var dir."""
    shutil.copy2(stack_template / "stack.sqlite3", tmp_path / "stack.sqlite3")
    if (stack_template / "var").exists():
        shutil.copytree(stack_template / "var", tmp_path / "var")
    return _stack_environment(tmp_path)


@pytest.mark.slow
def test_it_serves_the_home_page_and_runs_a_task_on_a_real_worker(stack_env):
    port = _free_port()
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--addrport", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = _wait_for_page(f"http://127.0.0.1:{port}/", stack)
        assert "Mesenchymal stem cell therapy for systemic sclerosis" in page
        sent = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from evidence.operations.tasks import ping; print(ping.delay('round-trip').get(timeout=60))",
            ],
            cwd=ROOT,
            env=stack_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "'token': 'round-trip'" in sent.stdout, sent.stdout + sent.stderr
        assert "'database': 'sqlite'" in sent.stdout
    finally:
        stack.terminate()
        output = stack.communicate(timeout=30)[0]
    assert "beat: Starting" in output, output[-3000:]


def test_compose_runs_db_redis_web_worker_and_beat():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert all("healthcheck" in services[name] for name in ("db", "redis", "web", "worker"))
    assert "pgdata" in compose["volumes"]
    assert "gunicorn" in services["web"]["command"]
    app_env = services["worker"]["environment"]
    assert app_env["DATABASE_URL"].startswith("postgres://") and app_env["CELERY_BROKER_URL"].startswith("redis://")


def test_it_refuses_a_taken_port_in_one_line_and_starts_nothing(stack_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        ran = subprocess.run(
            [sys.executable, "manage.py", "runstack", "--addrport", f"127.0.0.1:{port}"],
            cwd=ROOT, env=stack_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert ran.returncode != 0
    assert "Running on" not in ran.stdout
    errors = ran.stderr.strip().splitlines()
    assert len(errors) == 1 and f"Port {port}" in errors[0] and "in use" in errors[0], ran.stderr
    assert "beat: Starting" not in ran.stdout + ran.stderr


def test_make_run_passes_the_port_and_tells_how_to_reset_the_admin_password(stack_env):
    makefile = (ROOT / "Makefile").read_text()
    assert "--addrport 127.0.0.1:$(PORT)" in makefile and "PORT ?= 8000" in makefile
    for _ in range(2):
        said = subprocess.run(
            [sys.executable, "manage.py", "ensure_superuser"], cwd=ROOT, env=stack_env, capture_output=True, text=True, timeout=60
        )  # fmt: skip
    assert "manage.py changepassword admin" in said.stdout, said.stdout
