"""Single proportions (exact, Wilson) and the random-effects logistic model; metafor cases are in cases/."""

from __future__ import annotations

import math

import pytest

from pooling.api import answer
from pooling.glmm import glmm_proportions
from pooling.proportions import proportion_interval


def test_it_gives_zero_of_161_an_exact_upper_bound_of_2_3_percent():
    # given no event in 161 patients; the exact upper bound solves (1 - p)^161 = 0.025
    got = proportion_interval(0, 161, level=95, method="exact")
    # then the interval is 0 to 1 - 0.025^(1/161) = 2.27%
    assert (got.estimate, got.ci_lb) == (0.0, 0.0)
    assert got.ci_ub == pytest.approx(1 - 0.025 ** (1 / 161), rel=1e-12)
    assert round(100 * got.ci_ub, 1) == 2.3


def test_the_wilson_interval_is_the_score_interval():
    # 7 of 41, z = 1.959964: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z, p, n = 1.959963984540054, 7 / 41, 41
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    got = proportion_interval(7, 41, level=95, method="wilson")
    assert got.ci_lb == pytest.approx((p + z * z / (2 * n) - half) / (1 + z * z / n), rel=1e-12)
    assert got.ci_ub == pytest.approx((p + z * z / (2 * n) + half) / (1 + z * z / n), rel=1e-12)


@pytest.mark.parametrize(
    ("events", "n", "kwargs", "field"),
    [(5, 4, {"level": 95, "method": "exact"}, "'xi'"), (1.5, 4, {"level": 95, "method": "exact"}, "'xi'"),
     (1, 0, {"level": 95, "method": "exact"}, "'ni'"), (1, 4, {"level": 100, "method": "exact"}, "'level'"),
     (1, 4, {"level": 95, "method": "wald"}, "exact")],
)  # fmt: skip
def test_it_names_the_field_of_bad_counts(events, n, kwargs, field):
    with pytest.raises(ValueError, match=field):
        proportion_interval(events, n, **kwargs)


def test_the_glmm_refuses_when_no_study_has_an_event():
    with pytest.raises(ValueError, match="no study has an event"):
        glmm_proportions([0, 0, 0], [41, 20, 100], level=95)
    with pytest.raises(ValueError, match="k >= 2"):
        glmm_proportions([3], [41], level=95)


def test_the_glmm_at_the_boundary_is_the_common_proportion_model():
    # given three studies with almost the same proportion, tau^2 has its maximum at 0 (metafor: "Cannot fit ML
    # model"; lme4 itself sets tau within 1e-5 of 0 to 0): then mu = logit(10/101), var = 1/(N p (1 - p))
    fit = glmm_proportions([3, 3, 4], [30, 31, 40], level=95)
    p = 10 / 101
    assert fit.tau2 == 0.0
    assert fit.estimate == pytest.approx(math.log(p / (1 - p)), rel=1e-9)
    assert fit.se == pytest.approx(1 / math.sqrt(101 * p * (1 - p)), rel=1e-6)


def test_it_leaves_out_i2_when_a_zero_study_has_no_stated_correction():
    studies = [{"xi": 0, "ni": 41}, {"xi": 3, "ni": 20}, {"xi": 9, "ni": 30}]
    bare = answer({"model": "glmm", "level": 95, "studies": studies})
    stated = answer({"model": "glmm", "level": 95, "add": 0.5, "studies": studies})
    assert "I2" not in bare and "error" not in bare
    assert stated["I2"] > 0 and stated["estimate"] == bare["estimate"]


def test_the_glmm_needs_a_level():
    got = answer({"model": "glmm", "studies": [{"xi": 1, "ni": 10}, {"xi": 2, "ni": 10}]})
    assert "'level'" in got["error"]
