"""Leave-one-out by closed-form downdates and warm starts equals k separate refits to 1e-9 (issue 16, point 5),
on random data and on data built to make a downdate cancel: a study that carries nearly all the weight, far
from the others; identical effects; effects with a large common offset."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pooling.diagnostics import leave_one_out
from pooling.model import pool_arrays


def _random(seed: int, k: int = 40):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    return rng.normal(0.2, np.sqrt(vi + 0.05)), vi


def _dominant_outlier():
    yi, vi = _random(1)
    yi[5], vi[5] = 250.0, 1e-10  # almost all the weight, 1,000 SDs away from the rest
    return yi, vi


def _two_dominant():
    yi, vi = _random(2)
    yi[[3, 30]], vi[[3, 30]] = (-40.0, 60.0), (1e-9, 1e-8)
    return yi, vi


def _identical():
    return np.full(12, 0.7), np.random.default_rng(3).uniform(0.01, 0.3, 12)


def _offset():
    yi, vi = _random(4)
    return yi + 1e6, vi


def _under_dispersed(k: int = 300):
    # the effects vary less than their variances say: tau^2 = 0, and every refit sits on the boundary
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.1, k)
    return 0.3 + 0.5 * rng.normal(0, np.sqrt(vi)), vi


def _near_identical():
    yi, vi = _random(5, k=30)
    return 1.0 + 1e-7 * yi, vi


CASES = {
    "random": _random(0), "large k": _random(6, k=700), "dominant outlier": _dominant_outlier(),
    "two dominant": _two_dominant(), "identical": _identical(), "offset": _offset(), "near identical": _near_identical(),
    "under-dispersed": _under_dispersed(),
    "issue 16 multi-peak": (np.array([0.1, 0.5, -3, 20, 0.2]), np.array([1e-10, 1e-4, 1, 1e8, 0.01])),
}  # fmt: skip


def _close(got, want, scale):
    return abs(got - want) <= 1e-9 * max(abs(want), scale) or (np.isnan(got) and np.isnan(want))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["FE", "DL", "REML", "ML"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_it_equals_naive_refits(case, method, test):
    # given a data set, and each refit computed the slow way
    yi, vi = CASES[case]
    k = yi.shape[0]
    naive = [pool_arrays(np.delete(yi, i), np.delete(vi, i), method=method, test=test, level=95) for i in range(k)]
    # when leave-one-out runs all refits at once
    loo = leave_one_out(yi, vi, method=method, test=test, level=95)
    # then every field agrees to 1e-9 (relative, or absolute on the scale of the quantity)
    spread = float(np.ptp(yi)) or 1.0
    for i, fit in enumerate(naive):
        assert _close(loo.estimate[i], fit.estimate, spread * 1e-3), (i, "estimate", loo.estimate[i], fit.estimate)
        assert _close(loo.se[i], fit.se, 0.0), (i, "se", loo.se[i], fit.se)
        assert _close(loo.tau2[i], fit.tau2, 1e-12 * spread**2), (i, "tau2", loo.tau2[i], fit.tau2)
        assert _close(loo.q[i], fit.q, 1e-6), (i, "Q", loo.q[i], fit.q)
        assert _close(loo.i2[i], fit.i2, 1e-6), (i, "I2", loo.i2[i], fit.i2)
        assert _close(loo.pval[i], fit.pval, 1e-300), (i, "pval", loo.pval[i], fit.pval)


@pytest.mark.parametrize("method", ["DL", "REML", "ML"])
def test_the_series_refits_at_large_k_equal_naive_refits(method):
    # given 3,000 studies with variances over five decades and one precise outlier: most refits go through the
    # power series about the full tau^2 (pooling/series.py), the outlier's directly
    rng = np.random.default_rng(9)
    vi = np.exp(rng.uniform(np.log(1e-4), np.log(10), 3000))
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    yi[17], vi[17] = 40.0, 1e-3
    loo = leave_one_out(yi, vi, method=method, test="knha", level=95)
    for i in [17, 0, 1, *rng.choice(3000, 8, replace=False)]:
        fit = pool_arrays(np.delete(yi, i), np.delete(vi, i), method=method, test="knha", level=95)
        for got, want in ((loo.tau2[i], fit.tau2), (loo.estimate[i], fit.estimate), (loo.se[i], fit.se),
                          (loo.pval[i], fit.pval), (loo.q[i], fit.q), (loo.i2[i], fit.i2)):  # fmt: skip
            assert got == pytest.approx(want, rel=1e-9), (i, got, want)


def test_a_homogeneous_large_k_leave_one_out_stays_fast():
    # given 3,000 under-dispersed studies: REML tau^2 = 0 in the full fit and in every refit
    yi, vi = _under_dispersed(3000)
    # when leave-one-out runs, then every refit is on the boundary, found by the series (the slow path refits
    # each study by the global search: about 20 s here, against a fraction of a second)
    started = time.perf_counter()
    loo = leave_one_out(yi, vi, method="REML", test="z", level=95)
    assert (loo.tau2 == 0).all()
    assert time.perf_counter() - started < 5.0
