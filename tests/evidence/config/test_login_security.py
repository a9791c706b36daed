"""Admin sign-in is rate-limited per account and per address: after LOGIN_FAILURE_LIMIT failures in a row a
sign-in is refused, even with the right password, until the cool-off has passed."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "a-long-enough-test-password"
LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("editor-anna", password=PASSWORD, is_staff=True)


def _sign_in(username: str, password: str, address: str) -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client, response


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_it_signs_in_with_the_right_password(staff):
    client, response = _sign_in("editor-anna", PASSWORD, "10.0.0.1")

    assert response.status_code == 302 and _signed_in(client)


def test_it_locks_an_account_after_repeated_failures_from_any_address(staff):
    # given failures for one account, each from a different address
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in("editor-anna", "wrong", f"10.0.1.{n}")
    # when the right password comes from yet another address
    client, response = _sign_in("editor-anna", PASSWORD, "10.0.1.200")
    # then it is refused with a message that says why and for how long, and no session is opened
    body = response.content.decode()
    assert response.status_code == 429 and not _signed_in(client)
    assert "Sign-in locked" in body and "too many failed sign-ins" in body
    assert f"{settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in body
    assert response["Retry-After"] == str(settings.AXES_COOLOFF_TIME.seconds)
    # and another account signs in from that address as usual
    get_user_model().objects.create_user("editor-ben", password=PASSWORD, is_staff=True)
    other, response = _sign_in("editor-ben", PASSWORD, "10.0.1.200")
    assert response.status_code == 302 and _signed_in(other)


def test_it_locks_an_address_after_repeated_failures_across_accounts(staff):
    # given failures from one address, each guessing a different account
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(f"guess-{n}", "wrong", "10.0.2.7")
    # when a real account signs in from that address, and from another one
    locked, refused = _sign_in("editor-anna", PASSWORD, "10.0.2.7")
    elsewhere, accepted = _sign_in("editor-anna", PASSWORD, "10.0.2.8")
    # then only the address that failed is locked out
    assert refused.status_code == 429 and not _signed_in(locked)
    assert accepted.status_code == 302 and _signed_in(elsewhere)


def test_it_lets_the_account_in_again_after_the_cool_off(staff):
    from axes.models import AccessAttempt

    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in("editor-anna", "wrong", f"10.0.3.{n}")
    assert _sign_in("editor-anna", PASSWORD, "10.0.3.100")[1].status_code == 429
    # when the cool-off has passed since the failures
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME)
    client, response = _sign_in("editor-anna", PASSWORD, "10.0.3.100")
    # then the right password works again
    assert response.status_code == 302 and _signed_in(client)


def test_it_counts_the_address_behind_the_configured_proxy(staff, settings):
    # given one trusted proxy in front: every request arrives from the proxy's address
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for n in range(settings.AXES_FAILURE_LIMIT):
        client = Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        client.post(LOGIN, {"username": f"guess-{n}", "password": "wrong"})
    # when a user behind another client address signs in through the same proxy
    client = Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.5")
    response = client.post(LOGIN, {"username": "editor-anna", "password": PASSWORD, "next": "/admin/"})
    # then the proxy's address is not locked out for everyone
    assert response.status_code == 302 and _signed_in(client)


def test_it_signs_in_without_a_request_where_no_attacker_can_be(staff):
    # Client.login (tests, scripts) calls authenticate() without a request: not an HTTP sign-in, not counted.
    client = Client()

    assert client.login(username="editor-anna", password=PASSWORD) and _signed_in(client)
