"""The ``python -m pooling`` contract: errors, exit status, and no Django import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(payload: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pooling"], input=payload, capture_output=True, text=True, cwd=ROOT, timeout=60
    )


@pytest.mark.slow
def test_it_rejects_an_unknown_measure_with_exit_status_2():
    # given a request with a measure metafor does not know here
    request = {"measure": "HR", "studies": [{"yi": 0.1, "vi": 0.1}]}
    # when it goes through the CLI
    run = run_cli(json.dumps(request))
    # then the answer is an error naming the allowed measures, and the exit status is 2
    assert run.returncode == 2
    error = json.loads(run.stdout)["error"]
    assert "'HR'" in error and "SMCR" in error and "PFT" in error


@pytest.mark.slow
def test_it_rejects_an_unknown_method_and_malformed_json():
    run = run_cli(json.dumps({"measure": "GEN", "method": "BAYES", "studies": [{"yi": 0.1, "vi": 0.1}]}))
    assert run.returncode == 2
    assert "REML" in json.loads(run.stdout)["error"]
    bad = run_cli("{not json")
    assert bad.returncode == 2 and "JSON" in json.loads(bad.stdout)["error"]


@pytest.mark.slow
def test_it_imports_without_django():
    code = "import sys, pooling, pooling.api, pooling.__main__; print('django' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.stdout.strip() == "False", run.stderr
