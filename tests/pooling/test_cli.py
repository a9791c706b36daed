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


IDENTICAL = {
    "measure": "GEN",
    "method": "REML",
    "test": "knha",
    "level": 95,
    "studies": [{"yi": 0.3, "vi": 0.01}, {"yi": 0.3, "vi": 0.02}, {"yi": 0.3, "vi": 0.05}],
}


def test_it_reports_an_infinite_statistic_as_metafor_does():
    # given identical effects under Hartung-Knapp: the adjusted SE is 0
    from pooling.api import analyse_request

    core = analyse_request(IDENTICAL).core
    # then, as metafor: statistic +Inf and p = 0 (not NaN)
    assert core.se == 0.0
    assert core.statistic == float("inf") and core.pval == 0.0


@pytest.mark.slow
def test_it_writes_valid_json_with_a_null_statistic_and_a_flag():
    # when the identical-effects request goes through the CLI
    run = run_cli(json.dumps(IDENTICAL))
    # then the output is strict JSON (no bare NaN/Infinity), the statistic is null and flagged
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout, parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"))
    assert got["statistic"] is None
    assert got["non_finite"]["statistic"] == "Infinity"
    assert got["pval"] == 0.0


def test_it_imports_no_numpy_with_the_package_so_the_cli_can_choose_its_blas_threads_first():
    # given a fresh interpreter
    code = "import sys, pooling; print('numpy' in sys.modules); pooling.pool_arrays; print('numpy' in sys.modules)"
    # when it imports the package, then resolves one of its names
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    # then numpy arrives only with the name: python -m pooling sets OPENBLAS_NUM_THREADS before that
    assert run.stdout.split() == ["False", "True"], run.stderr


def test_a_small_z_test_answer_imports_neither_scipy_nor_statistics():
    # given a k = 10 REML z-test request, the CLI's common case
    studies = [{"yi": 0.1 * i, "vi": 0.01 * (i + 1)} for i in range(10)]
    request = json.dumps({"measure": "GEN", "method": "REML", "test": "z", "level": 95, "studies": studies})
    code = "import json, sys; from pooling.api import answer; answer(json.loads(sys.stdin.read())); "
    code += "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'statistics', 'random', 'pandas'}))"
    # when answered in a fresh interpreter
    run = subprocess.run([sys.executable, "-c", code], input=request, capture_output=True, text=True, cwd=ROOT)
    # then none of the slow-to-import modules was loaded (each costs start-up the 100 ms target cannot spare)
    assert run.stdout.strip() == "[]", run.stderr


@pytest.mark.parametrize("p", [1e-300, 1e-12, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-12])
def test_the_normal_quantile_matches_the_standard_librarys(p):
    from statistics import NormalDist

    from pooling.distributions import norm_ppf

    assert norm_ppf(p) == pytest.approx(NormalDist().inv_cdf(p), rel=1e-13, abs=1e-15)
