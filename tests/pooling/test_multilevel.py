"""The multilevel model for repeated time points (metafor cases: tests/data/metafor/cases/multilevel_*.json)."""

from __future__ import annotations

import pytest

from pooling.api import answer
from pooling.multilevel import multilevel

ROWS = [
    {"study": "A", "time": 6, "yi": -5.1, "vi": 1.0},
    {"study": "A", "time": 12, "yi": -9.3, "vi": 1.2},
    {"study": "B", "time": 6, "yi": -2.2, "vi": 0.5},
    {"study": "B", "time": 12, "yi": -6.0, "vi": 0.6},
    {"study": "C", "time": 12, "yi": -12.4, "vi": 1.3},
]


def test_it_refuses_two_effects_of_one_study_at_one_time():
    rows = [*ROWS, {"study": "A", "time": 6, "yi": -4.0, "vi": 1.0}]
    got = answer({"model": "multilevel", "level": 95, "studies": rows})
    assert "'time'" in got["error"]


def test_it_names_a_missing_field_and_needs_a_level():
    rows = [*ROWS[:-1], {"study": "C", "yi": -12.4, "vi": 1.3, "label": "Cui 2022"}]
    assert "'time'" in answer({"model": "multilevel", "level": 95, "studies": rows})["error"]
    assert "Cui 2022" in answer({"model": "multilevel", "level": 95, "studies": rows})["error"]
    assert "'level'" in answer({"model": "multilevel", "studies": ROWS})["error"]


def test_one_study_cannot_separate_the_two_variances():
    with pytest.raises(ValueError, match=">= 2 studies"):
        multilevel([1.0, 2.0], [0.1, 0.1], ["A", "A"], level=95)


def test_each_variance_is_at_least_zero_and_the_estimate_inside_its_interval():
    fit = multilevel([r["yi"] for r in ROWS], [r["vi"] for r in ROWS], [r["study"] for r in ROWS], level=95)
    assert fit.sigma2_study >= 0 and fit.sigma2_time >= 0
    assert fit.ci_lb < fit.estimate < fit.ci_ub and fit.studies == 3
