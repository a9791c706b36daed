"""Quotas: anonymous clients by address, registries by token with a higher rate; 429 with Retry-After."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from evidence.api import quota, throttling

URL = "/api/v1/outcomes/"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "registry": "4/minute"},
    }


@pytest.fixture
def registry_token(db):
    user = get_user_model().objects.create_user(username="registry-bot")
    return Token.objects.create(user=user).key


def test_it_throttles_anonymous_clients_with_429_and_retry_after(api, db, low_rates):
    statuses = [api.get(URL).status_code for _ in range(3)]
    over = api.get(URL)

    assert statuses == [200, 200, 429]
    assert over.status_code == 429 and 0 < int(over["Retry-After"]) <= 60
    assert "throttled" in over.json()["detail"]


def test_it_gives_a_registry_token_a_higher_quota(api, registry_token, low_rates):
    api.credentials(HTTP_AUTHORIZATION=f"Token {registry_token}")

    statuses = [api.get(URL).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 200, 429]


def test_it_counts_a_registry_apart_from_anonymous_clients(api, registry_token, low_rates):
    for _ in range(2):
        api.get(URL)
    assert api.get(URL).status_code == 429

    api.credentials(HTTP_AUTHORIZATION=f"Token {registry_token}")

    assert api.get(URL).status_code == 200


def test_it_refuses_an_invalid_token_with_401(api, db):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api.get(URL)

    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_it_lets_an_administrator_create_tokens_in_the_admin(client, db):
    admin = get_user_model().objects.create_superuser(username="admin", email="admin@example.org", password="pw")
    client.force_login(admin)

    page = client.get("/admin/authtoken/tokenproxy/add/")

    assert page.status_code == 200


def test_it_refuses_a_malformed_throttle_rate_at_start_up():
    env = {**os.environ, "API_THROTTLE_ANON": "lots"}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "API_THROTTLE_ANON='lots' is not a rate like 60/minute" in result.stderr


def test_the_quota_holds_across_web_workers(api, db, low_rates):
    from django.core.cache import caches

    statuses = [api.get(URL).status_code for _ in range(2)]
    caches["default"].clear()  # another gunicorn worker: nothing of this process's own memory

    assert statuses == [200, 200] and api.get(URL).status_code == 429


def test_another_process_counts_on_the_same_quota_counters(api, db, low_rates):
    """A gunicorn worker is another process: it opens the quota store afresh and counts on from this one's count."""
    for _ in range(2):
        api.get(URL)
    now = throttling._WindowThrottle.timer()
    script = (
        "import django; django.setup(); from django.core.cache import caches; from evidence.api import quota; "
        f"print(quota.quota_take(quota.counters_for(caches['throttle']), 'anon:127.0.0.1', '3/minute', {now!r}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evidence.config.settings"}

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.stdout.strip().startswith("(True,"), result.stderr  # the third of 3/minute
    assert api.get(URL).status_code == 429


def test_retry_after_is_the_rest_of_the_clients_window(api, db, low_rates, monkeypatch):
    for _ in range(2):
        api.get(URL)
    now = throttling._WindowThrottle.timer()
    _, left = quota.window_of("anon:127.0.0.1", 60, now)

    over = api.get(URL)

    assert over.status_code == 429 and int(over["Retry-After"]) == math.ceil(left)


def test_a_client_is_served_again_once_its_window_turns(api, db, low_rates, monkeypatch):
    now = throttling._WindowThrottle.timer()
    _, left = quota.window_of("anon:127.0.0.1", 60, now)
    for _ in range(3):
        api.get(URL)
    assert api.get(URL).status_code == 429

    monkeypatch.setattr(throttling._WindowThrottle, "timer", staticmethod(lambda: now + left + 0.01))

    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 429]


def test_concurrent_workers_never_serve_past_the_quota(db):
    """Four processes ask 100 times each against one quota of 150 an hour: exactly 150 are served. (With a list of
    request times written back by each request, concurrent writers lost each other's times and served more.)"""
    script = """
import sys, django
django.setup()
from django.conf import settings
from django.test import RequestFactory, override_settings
from evidence.api.throttling import AnonThrottle

request = RequestFactory().get("/api/v1/", REMOTE_ADDR="10.9.8.7")
request.user = None
sys.stdin.read()
with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "150/hour"}}):
    print(sum(AnonThrottle().allow_request(request, None) for _ in range(100)))
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evidence.config.settings"}
    workers = [
        subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    time.sleep(3)  # every process set up, waiting on its stdin
    for worker in workers:  # then they ask at once
        worker.stdin.close()
    outputs = [(worker.stdout.read(), worker.stderr.read()) for worker in workers]

    served = [int(out.split()[-1]) for out, _ in outputs if out.split()]

    assert len(served) == 4, [err[-2000:] for _, err in outputs]
    assert sum(served) == 150
