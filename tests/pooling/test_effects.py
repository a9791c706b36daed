"""Effect sizes against hand calculations, and bad input naming the study and field."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from pooling.api import answer
from pooling.effects import generic, mean_change, mean_difference, proportion, smcr, smd, two_by_two
from pooling.model import pool_arrays


def test_it_computes_the_raw_mean_change():
    # yi = 16.6 - 22.25 = -5.65; vi = (7.57^2 + 3.71^2 - 2*0.5*3.71*7.57)/11 = 42.9843/11
    es = mean_change([22.25], [3.71], [16.6], [7.57], [11], 0.5)
    assert es.yi[0] == pytest.approx(-5.65)
    assert es.vi[0] == pytest.approx(42.9843 / 11)


def test_it_gives_the_independent_groups_convention_with_r_zero_reversed():
    # baseline - follow-up = 5.65; vi = 3.71^2/11 + 7.57^2/11 = 71.069/11
    es = mean_change([22.25], [3.71], [16.6], [7.57], [11], 0.0, reverse=True)
    assert es.yi[0] == pytest.approx(5.65)
    assert es.vi[0] == pytest.approx(71.069 / 11)


def test_it_computes_smcr_with_the_exact_hedges_correction():
    # c(9) = Gamma(4.5)/(sqrt(4.5)*Gamma(4)) = 0.913875; yi = c*(15-20)/5; vi = 2*0.5/10 + yi^2/20
    c = math.gamma(4.5) / (math.sqrt(4.5) * math.gamma(4))
    es = smcr([20.0], [5.0], [15.0], [10], 0.5)
    assert es.yi[0] == pytest.approx(-c)
    assert es.vi[0] == pytest.approx(0.1 + c**2 / 20)


def test_it_computes_md_and_hedges_g():
    es = mean_difference([10.0], [2.0], [10], [8.0], [3.0], [20])
    assert (es.yi[0], es.vi[0]) == pytest.approx((2.0, 0.4 + 0.45))
    # sp = 2, d = 1, c(18) = Gamma(9)/(3*Gamma(8.5)); vi = 1/10 + 1/10 + g^2/40
    c = math.gamma(9) / (3 * math.gamma(8.5))
    g = smd([10.0], [2.0], [10], [8.0], [2.0], [10])
    assert (g.yi[0], g.vi[0]) == pytest.approx((c, 0.2 + c**2 / 40))


def test_it_adds_one_half_to_every_cell_of_a_study_with_a_zero_cell():
    # cells 0.5, 10.5, 5.5, 5.5: log RR = log(0.5/11) - log(5.5/11) = log(1/11); vi = 2 - 1/11 + 1/5.5 - 1/11 = 2
    rr = two_by_two("RR", [0, 3], [10, 10], [5, 5], [10, 10], add=0.5)
    assert rr.yi[0] == pytest.approx(math.log(1 / 11))
    assert rr.vi[0] == pytest.approx(2.0)
    assert rr.yi[1] == pytest.approx(math.log(3 / 5))  # no zero cell: uncorrected
    odds = two_by_two("OR", [0], [10], [5], [10], add=0.5)
    assert odds.yi[0] == pytest.approx(math.log(0.5 * 5.5 / (10.5 * 5.5)))


def test_it_transforms_proportions_as_metafor():
    pft = proportion("PFT", [0], [25], add=None)
    assert pft.yi[0] == pytest.approx(0.5 * math.asin(math.sqrt(1 / 26)))
    assert pft.vi[0] == pytest.approx(1 / 102)
    plo = proportion("PLO", [0], [55], add=0.5)  # 1/2 added: x = 0.5, n - x = 55.5
    assert (plo.yi[0], plo.vi[0]) == pytest.approx((math.log(0.5 / 55.5), 2 + 1 / 55.5))


@pytest.mark.parametrize(
    ("call", "study", "field"),
    [
        (
            lambda: mean_change([1, 2], [1, -1], [1, 2], [1, 1], [5, 5], 0.5, labels=["A", "B"]),
            "study 1 ('B')",
            "sd_pre",
        ),
        (lambda: mean_change([1, 2], [1, 1], [1, 2], [1, 1], [5, 0], 0.5), "study 1", "ni"),
        (lambda: mean_change([1, 2], [1, 1], [1], [1, 1], [5, 5], 0.5), "", "m_post"),
        (lambda: generic([0.1, float("nan")], [0.1, 0.1]), "study 1", "yi"),
        (lambda: generic([0.1, 0.2], [0.1, 0.0]), "study 1", "vi"),
        (lambda: generic([0.1, 0.2], [-0.1, 0.1]), "study 0", "vi"),
        (lambda: generic([0.1, 0.2], [0.1, float("inf")]), "study 1", "vi"),
        (lambda: two_by_two("RR", [11], [10], [1], [10], add=0.5), "study 0", "ai"),
        (lambda: proportion("PR", [3, 4], [2, 5], add=0.5, labels=["X", "Y"]), "study 0 ('X')", "xi"),
        (lambda: pool_arrays([0.1, 0.2], [0.1, -1.0], method="REML", test="z", level=95), "study 1", "vi"),
    ],
)
def test_it_names_the_study_and_field_of_bad_input(call, study, field):
    with pytest.raises(ValueError, match=f"{re.escape(study)}.*'{field}'"):
        call()


def test_it_answers_bad_study_data_with_an_error_naming_study_and_field():
    request = {
        "measure": "MD",
        "level": 95,
        "studies": [{"label": "Zhang 2017", "m1i": 1, "sd1i": 1, "n1i": 5, "m2i": 0}],
    }
    got = answer(request)
    assert "Zhang 2017" in got["error"] and "'sd2i'" in got["error"]


def test_it_uses_the_review_default_correlation_when_a_study_has_none():
    studies = [
        {"m_pre": 20, "sd_pre": 4, "m_post": 15, "sd_post": 4, "ni": 10, "ri": 0.8},
        {"m_pre": 20, "sd_pre": 4, "m_post": 15, "sd_post": 4, "ni": 10},
    ]
    got = answer({"measure": "MC", "method": "FE", "level": 95, "ri": 0.2, "studies": studies})
    assert got["vi"] == pytest.approx([(32 - 2 * 0.8 * 16) / 10, (32 - 2 * 0.2 * 16) / 10])
    assert np.all(np.isfinite(got["vi"]))
