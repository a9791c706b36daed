"""Every metafor reference case, through the Python API and through ``python -m pooling``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pooling.api import answer
from tests.pooling.metafor_cases import CASE_FILES, load, mismatches

ROOT = Path(__file__).resolve().parents[2]


def test_it_has_the_shared_cases():
    assert len(CASE_FILES) >= 16, "copy /work/shared/metafor/cases/*.json into tests/data/metafor/cases/"


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_it_matches_metafor_through_the_api(path):
    # given a request that metafor answered
    case = load(path)
    # when the Python API answers it
    got = answer(case["request"])
    # then every field matches metafor within the README tolerances
    assert mismatches(got, case["expected"]) == []


@pytest.mark.slow
def test_it_matches_metafor_through_the_cli():
    # given all cases, each sent to its own `python -m pooling` process (started together to keep this fast)
    cases = {path.stem: load(path) for path in CASE_FILES}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "pooling"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for name in cases
    }
    failures = {}
    for name, proc in procs.items():
        out, err = proc.communicate(json.dumps(cases[name]["request"]), timeout=120)
        # then each exits 0 and prints metafor's answer
        problems = mismatches(json.loads(out), cases[name]["expected"]) if proc.returncode == 0 else [err]
        if problems:
            failures[name] = problems[:5]
    assert failures == {}
