"""REML/ML return the highest likelihood peak (issue 16, point 1), in every fit and refit."""

from __future__ import annotations

import numpy as np
import pytest

from pooling.diagnostics import cumulative, leave_one_out, subgroups
from pooling.estimators import log_likelihood
from pooling.model import pool_arrays

# The case: leaving out study 4 leaves a likelihood with two peaks.
YI = np.array([0.1, 0.5, -3.0, 20.0, 0.2])
VI = np.array([1e-10, 1e-4, 1.0, 1e8, 0.01])
WITHOUT_4 = np.arange(5) != 3


def test_it_finds_the_higher_of_two_reml_peaks():
    # given the four studies left when study 4 goes: REML peaks at tau2 = 0.079 (ll -15.5586) and 1.1824 (-15.3813)
    yi, vi = YI[WITHOUT_4], VI[WITHOUT_4]
    # when pooled by REML
    fit = pool_arrays(yi, vi, method="REML", test="z", level=95)
    # then the fit is the higher peak, and no tau2 on a fine grid beats it
    assert fit.tau2 == pytest.approx(1.1824, abs=1e-4)
    grid = np.concatenate([[0.0], np.logspace(-8, 4, 4000)])
    best_on_grid = max(log_likelihood(yi, vi, t, "REML") for t in grid)
    assert log_likelihood(yi, vi, fit.tau2, "REML") >= best_on_grid - 1e-9


def test_the_lower_peak_is_a_real_stationary_point():
    # the old engine stopped at 0.079; it is a local maximum, lower than 1.1824 (so the test can fail)
    yi, vi = YI[WITHOUT_4], VI[WITHOUT_4]
    low, high = log_likelihood(yi, vi, 0.0790, "REML"), log_likelihood(yi, vi, 1.1824, "REML")
    assert low < high
    assert log_likelihood(yi, vi, 0.0790 * 1.05, "REML") < low > log_likelihood(yi, vi, 0.0790 / 1.05, "REML")


def test_leave_one_out_refits_reach_the_higher_peak():
    loo = leave_one_out(YI, VI, method="REML", test="z", level=95)
    assert loo.tau2[3] == pytest.approx(1.1824, abs=1e-4)


def test_cumulative_and_subgroup_refits_reach_the_higher_peak():
    order = [0, 1, 2, 4, 3]
    fits = cumulative(YI, VI, order, method="REML", test="z", level=95)
    assert fits[3].tau2 == pytest.approx(1.1824, abs=1e-4)
    sub = subgroups(YI, VI, ["a", "a", "a", "b", "a"], method="REML", test="z", level=95)
    assert sub.groups["a"].tau2 == pytest.approx(1.1824, abs=1e-4)


def test_ml_takes_the_global_peak_too():
    yi, vi = YI[WITHOUT_4], VI[WITHOUT_4]
    fit = pool_arrays(yi, vi, method="ML", test="z", level=95)
    grid = np.concatenate([[0.0], np.logspace(-8, 4, 4000)])
    assert log_likelihood(yi, vi, fit.tau2, "ML") >= max(log_likelihood(yi, vi, t, "ML") for t in grid) - 1e-9


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "ML", "PM"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_the_all_at_once_leave_one_out_equals_k_separate_fits(method, test):
    # given 90 studies (more than one block of the grid proof's direct path), one with a tiny variance
    rng = np.random.default_rng(11)
    vi = rng.uniform(0.01, 0.2, 90)
    vi[7] = 1e-9
    yi = rng.normal(0.2, np.sqrt(vi + 0.05))
    # when leave-one-out runs all refits at once
    loo = leave_one_out(yi, vi, method=method, test=test, level=95)
    # then each refit is the separate fit without that study
    for i in (0, 7, 45, 89):
        keep = np.arange(90) != i
        fit = pool_arrays(yi[keep], vi[keep], method=method, test=test, level=95)
        assert loo.tau2[i] == pytest.approx(fit.tau2, rel=1e-7, abs=1e-10)
        assert loo.estimate[i] == pytest.approx(fit.estimate, rel=1e-9)
        assert loo.se[i] == pytest.approx(fit.se, rel=1e-7)
        assert loo.ci_ub[i] == pytest.approx(fit.ci_ub, rel=1e-7)
        assert loo.pval[i] == pytest.approx(fit.pval, rel=1e-6, abs=1e-300)
        assert loo.q[i] == pytest.approx(fit.q, rel=1e-8)
        assert loo.i2[i] == pytest.approx(fit.i2, rel=1e-6, abs=1e-8)
