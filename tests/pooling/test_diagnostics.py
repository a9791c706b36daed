"""Cumulative, subgroup and sensitivity analyses, and Egger's test edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from pooling.diagnostics import cumulative, egger_test, subgroups
from pooling.model import pool_arrays
from pooling.sensitivity import sensitivity_over_r

YI = np.array([0.1, 0.5, 0.3, 0.9, -0.2])
VI = np.array([0.02, 0.05, 0.04, 0.1, 0.03])


def test_it_accumulates_studies_in_the_given_order():
    order = [4, 0, 3, 1, 2]
    fits = cumulative(YI, VI, order, method="DL", test="z", level=95)
    assert len(fits) == 5
    assert fits[0].estimate == pytest.approx(YI[4]) and fits[0].k == 1
    assert fits[-1].estimate == pytest.approx(pool_arrays(YI, VI, method="DL", test="z", level=95).estimate)
    with pytest.raises(ValueError, match="permutation"):
        cumulative(YI, VI, [0, 0, 1, 2, 3], method="REML", test="z", level=95)


def test_it_tests_subgroup_differences_from_separate_subgroup_fits():
    # two single-study subgroups: Q_between = (y1 - y2)^2 / (v1 + v2)
    got = subgroups(YI[:2], VI[:2], ["a", "b"], method="REML", test="z", level=95)
    assert got.q_between == pytest.approx((0.1 - 0.5) ** 2 / 0.07)
    assert got.df == 1 and 0 < got.pval < 1
    three = subgroups(YI, VI, ["x", "x", "y", "y", "y"], method="DL", test="z", level=95)
    assert set(three.groups) == {"x", "y"} and three.groups["y"].k == 3


def test_it_leaves_egger_undefined_when_all_variances_are_equal():
    assert egger_test(YI, np.full(5, 0.04), method="REML", test="z", level=95) is None
    assert egger_test(YI[:2], VI[:2], method="REML", test="z", level=95) is None
    assert egger_test(YI, VI, method="REML", test="z", level=95) is not None


def test_it_repeats_mean_change_pooling_over_imputed_correlations():
    rows = sensitivity_over_r(
        "MC",
        [20, 25, 22],
        [5, 6, 4],
        [15, 21, 20],
        [5, 6, 4],
        [10, 20, 15],
        r_values=(0.2, 0.5, 0.8),
        method="FE",
        test="z",
        level=95,
    )
    assert [row.r for row in rows] == [0.2, 0.5, 0.8]
    # equal pre and post SDs: vi = 2 sd^2 (1 - r)/n falls as r rises, so the SE falls too
    assert rows[0].core.se > rows[1].core.se > rows[2].core.se
    assert rows[0].core.estimate == pytest.approx(rows[2].core.estimate, rel=0.5)
