"""Settings come from the environment; a bad value stops start-up with a message that says what to fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from evidence.config.env import database_from_url, envbool, envint

ROOT = Path(__file__).resolve().parents[3]


def _django(env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_reads_sqlite_and_postgres_urls():
    assert database_from_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    assert database_from_url("sqlite:///var/x.db")["NAME"] == "var/x.db"
    pg = database_from_url("postgres://postgres:secret@127.0.0.1:5432/test")
    assert (pg["ENGINE"], pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "django.db.backends.postgresql",
        "test",
        "postgres",
        "secret",
        "127.0.0.1",
        "5432",
    )


@pytest.mark.parametrize("url", ["mysql://root@localhost/db", "postgres://host:5432/", "sqlite://"])
def test_it_refuses_a_bad_database_url(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)


def test_it_refuses_a_non_boolean(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        envbool("DEBUG", True)


def test_it_refuses_a_non_integer(monkeypatch):
    monkeypatch.setenv("EUTILS_TIMEOUT_SECONDS", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        envint("EUTILS_TIMEOUT_SECONDS", 30)


def test_production_requires_a_secret_key():
    result = _django({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_refuses_an_unknown_broker():
    result = _django({"CELERY_BROKER_URL": "amqp://guest@localhost//"}, "check")
    assert result.returncode != 0
    assert "CELERY_BROKER_URL" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-for-the-deploy-check-0123456789",
        "ALLOWED_HOSTS": "evidence.example.org",
    }
    result = _django(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_migrations_match_the_models():
    result = _django({}, "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
