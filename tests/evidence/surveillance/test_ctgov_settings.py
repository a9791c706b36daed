"""CTGOV_BASE_URL is validated at start-up: a bad value stops ``manage.py check`` with a message naming it."""

import pytest

from tests.evidence.config.test_settings import _django


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ftp://clinicaltrials.gov/api/v2/", "must start with one of"),
        ("https://clinicaltrials.gov/api/v2", "end with /"),
    ],
)
def test_it_refuses_a_bad_ctgov_base_url(value, message):
    result = _django({"CTGOV_BASE_URL": value}, "check")

    assert result.returncode != 0
    assert "CTGOV_BASE_URL" in result.stderr and message in result.stderr


def test_it_accepts_a_local_replay_url():
    result = _django({"CTGOV_BASE_URL": "http://127.0.0.1:8765/api/v2/"}, "check")

    assert result.returncode == 0, result.stderr
