"""Core pooling: options, convergence reporting, and small k."""

from __future__ import annotations

import numpy as np
import pytest

from pooling.api import answer
from pooling.model import pool_arrays

YI = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02])
VI = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07])


def test_it_reports_convergence_of_iterative_estimators():
    fit = pool_arrays(YI, VI, method="REML", test="z", level=95)
    assert fit.converged and fit.iterations > 1
    stopped = pool_arrays(YI, VI, method="REML", max_iter=1, test="z", level=95)
    assert not stopped.converged and stopped.iterations == 1


def test_it_names_the_allowed_values_of_an_unknown_option():
    with pytest.raises(ValueError, match="allowed: FE, DL, REML, PM, ML, HS, SJ, EB"):
        pool_arrays(YI, VI, method="GENQ", test="z", level=95)
    with pytest.raises(ValueError, match="allowed: z, knha"):
        pool_arrays(YI, VI, test="t", method="REML", level=95)
    assert "allowed" in answer({"measure": "SMCC", "studies": [{"yi": 1, "vi": 1}]})["error"]


def test_it_uses_the_z_test_for_a_single_study_even_when_knha_is_asked():
    fit = pool_arrays([0.5], [0.04], method="REML", test="knha", level=95)
    assert fit.test == "z" and fit.tau2 == 0.0 and fit.se_tau2 is None
    assert (fit.ci_lb, fit.ci_ub) == pytest.approx((0.5 - 1.959964 * 0.2, 0.5 + 1.959964 * 0.2), rel=1e-6)


def test_it_answers_two_studies_without_egger_or_leave_one_out():
    got = answer(
        {"measure": "GEN", "method": "DL", "level": 95, "studies": [{"yi": 0.1, "vi": 0.02}, {"yi": 0.6, "vi": 0.03}]}
    )
    assert got["k"] == 2 and "tau2_ci_lb" in got
    assert "egger" not in got and "leave1out" not in got


def test_it_uses_t_quantiles_with_k_minus_1_df_for_hartung_knapp_prediction_intervals():
    fit = pool_arrays(YI, VI, method="DL", test="knha", level=95)
    from scipy import stats

    crit = stats.t.ppf(0.975, len(YI) - 1)
    assert fit.pi_ub - fit.estimate == pytest.approx(crit * np.sqrt(fit.tau2 + fit.se**2))
