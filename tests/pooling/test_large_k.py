"""A large-k answer without scipy (issue 16, point 5: importing scipy.stats cost more than the whole answer at
k = 10,000), with the replacements checked against scipy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

from pooling.distributions import chi2_isf, chi2_sf
from pooling.smallstudy import _kendall_knight, _kendall_tau_b

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_it_answers_a_z_test_request_at_k_300_without_importing_scipy():
    # given a REML z-test request with more studies than the pairwise Kendall tau and the finite chi-square sum take
    rng = np.random.default_rng(2)
    vi = rng.uniform(0.01, 0.1, 300)
    studies = [{"yi": float(y), "vi": float(v)} for y, v in zip(rng.normal(0.3, np.sqrt(vi + 0.1)), vi)]
    request = json.dumps({"measure": "GEN", "method": "REML", "test": "z", "level": 95, "studies": studies})
    code = "import json, sys; from pooling.api import answer; a = answer(json.loads(sys.stdin.read())); "
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'), 'error' in a)"
    # when answered in a fresh interpreter
    run = subprocess.run([sys.executable, "-c", code], input=request, capture_output=True, text=True, cwd=ROOT)
    # then scipy was never imported
    assert run.stdout.split() == ["[]", "False"], run.stderr


@pytest.mark.parametrize("df", [101, 1000, 9999, 99999])
def test_the_chi_square_of_a_large_df_matches_scipy(df):
    for x in df * np.array([0.5, 0.9, 0.99, 1.0, 1.01, 1.1, 1.5, 2.0]):
        assert chi2_sf(df, float(x)) == pytest.approx(special.chdtrc(df, x), rel=1e-11, abs=1e-300)
    for p in (0.975, 0.5, 0.025, 1e-8):
        assert chi2_isf(df, p) == pytest.approx(special.chdtri(df, p), rel=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_knights_kendall_tau_matches_pairwise_counting_and_scipy(ties):
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=600), rng.normal(size=600)
    if ties:
        x, y = np.round(x, 1), np.round(3 * y)
    got = _kendall_knight(x, y)
    pairwise = _kendall_tau_b(x[:200], y[:200])  # the pairwise path, on a part
    assert got[0] == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-14)
    assert _kendall_knight(x[:200], y[:200]) == pytest.approx(pairwise, abs=1e-14)
