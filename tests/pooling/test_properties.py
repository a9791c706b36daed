"""Properties that must hold for any data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pooling.analysis import analyse
from pooling.diagnostics import leave_one_out
from pooling.effects import generic, mean_difference
from pooling.estimators import METHODS
from pooling.model import pool_arrays, study_weights

effects = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
variances = st.floats(0.01, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    yi = np.array(draw(st.lists(effects, min_size=k, max_size=k)))
    vi = np.array(draw(st.lists(variances, min_size=k, max_size=k)))
    return yi, vi


methods = st.sampled_from(METHODS)
FAST = settings(max_examples=40, deadline=None)


@FAST
@given(studies(), methods)
def test_it_gives_weights_summing_to_100(data, method):
    yi, vi = data
    fit = pool_arrays(yi, vi, method=method, test="z", level=95)
    assert study_weights(vi, fit.tau2).sum() == pytest.approx(100.0)
    rows = analyse(generic(yi, vi), method=method, test="z", level=95).rows
    assert sum(r.weight for r in rows) == pytest.approx(100.0)


@FAST
@given(studies(), st.sampled_from(["DL", "REML", "PM", "ML", "HS", "SJ", "EB"]))
def test_it_equals_the_fixed_effect_when_tau2_is_zero(data, method):
    yi, vi = data
    fit = pool_arrays(yi, vi, method=method, test="z", level=95)
    if fit.tau2 == 0.0:
        fe = pool_arrays(yi, vi, method="FE", test="z", level=95)
        assert (fit.estimate, fit.se) == pytest.approx((fe.estimate, fe.se), rel=1e-12)
        assert (fit.pi_lb, fit.pi_ub) == pytest.approx((fit.ci_lb, fit.ci_ub))


@FAST
@given(studies(), methods, st.randoms(use_true_random=False))
def test_it_does_not_depend_on_study_order(data, method, rnd):
    yi, vi = data
    perm = np.array(rnd.sample(range(len(yi)), len(yi)))
    a = pool_arrays(yi, vi, method=method, test="z", level=95)
    b = pool_arrays(yi[perm], vi[perm], method=method, test="z", level=95)
    assert (b.estimate, b.se, b.q) == pytest.approx((a.estimate, a.se, a.q), rel=1e-7, abs=1e-10)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-9)


@FAST
@given(
    st.integers(2, 8),
    st.floats(-100, 100),
    st.floats(0.1, 10),
    st.sampled_from(["FE", "DL", "REML", "PM"]),
    st.randoms(use_true_random=False),
)
def test_it_is_shift_and_scale_equivariant_for_md(k, shift, scale, method, rnd):
    # given two-arm means; when every mean moves by `shift` and everything is scaled by `scale`
    m1 = np.array([rnd.uniform(10, 30) for _ in range(k)])
    m2 = np.array([rnd.uniform(10, 30) for _ in range(k)])
    sd1 = np.array([rnd.uniform(2, 8) for _ in range(k)])
    sd2 = np.array([rnd.uniform(2, 8) for _ in range(k)])
    n = np.array([rnd.randint(5, 40) for _ in range(k)])
    base = mean_difference(m1, sd1, n, m2, sd2, n)
    moved = mean_difference(scale * (m1 + shift), scale * sd1, n, scale * (m2 + shift), scale * sd2, n)
    a = pool_arrays(base.yi, base.vi, method=method, test="z", level=95)
    b = pool_arrays(moved.yi, moved.vi, method=method, test="z", level=95)
    # then the pooled MD scales, its z does not change, and tau^2 scales with scale^2
    assert b.estimate == pytest.approx(scale * a.estimate, rel=1e-7, abs=1e-9)
    assert b.statistic == pytest.approx(a.statistic, rel=1e-6, abs=1e-9)
    assert b.tau2 == pytest.approx(scale**2 * a.tau2, rel=1e-6, abs=1e-9)


@FAST
@given(studies(min_k=2, max_k=9), methods)
def test_it_leaves_each_study_out_once(data, method):
    yi, vi = data
    loo = leave_one_out(yi, vi, method=method, test="z", level=95)
    assert len(loo.estimate) == len(yi) == len(loo.tau2) == len(loo.i2)
    assert np.isfinite(loo.estimate).all()
