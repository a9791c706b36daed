"""No silent defaults (issue 16, point 3): what the engine would otherwise impute is an error naming the field."""

from __future__ import annotations

import importlib
import inspect

import pytest

from pooling.api import answer
from pooling.effects import generic, mean_change, proportion, smcr, two_by_two

PRE_POST = {"m_pre": 20, "sd_pre": 4, "m_post": 15, "sd_post": 4, "ni": 10}


def test_it_refuses_a_pre_post_request_with_no_correlation_anywhere():
    # given MC studies with no ri and no request-level ri
    request = {"measure": "MC", "method": "FE", "level": 95, "studies": [dict(PRE_POST), dict(PRE_POST)]}
    # when answered
    got = answer(request)
    # then the error names the field instead of assuming r = 0.5
    assert "error" in got and "'ri'" in got["error"] and "study 0" in got["error"]


def test_it_refuses_a_study_whose_ri_is_null_when_the_request_states_none():
    studies = [{**PRE_POST, "ri": 0.8}, {**PRE_POST, "label": "Alip 2024", "ri": None}]
    got = answer({"measure": "SMCR", "method": "FE", "level": 95, "studies": studies})
    assert "'ri'" in got["error"] and "Alip 2024" in got["error"]


def test_it_uses_the_request_ri_for_a_study_whose_ri_is_null():
    studies = [{**PRE_POST, "ri": 0.8}, {**PRE_POST, "ri": None}]
    got = answer({"measure": "MC", "method": "FE", "level": 95, "ri": 0.2, "studies": studies})
    assert got["vi"] == pytest.approx([(32 - 2 * 0.8 * 16) / 10, (32 - 2 * 0.2 * 16) / 10])


def test_it_refuses_a_request_without_a_level():
    got = answer({"measure": "GEN", "method": "FE", "studies": [{"yi": 0.1, "vi": 0.1}]})
    assert "'level'" in got["error"]


def test_it_refuses_a_zero_cell_without_a_stated_continuity_correction():
    studies = [{"xi": 0, "ni": 20, "label": "Wang 2013"}, {"xi": 3, "ni": 20}]
    got = answer({"measure": "PLO", "method": "DL", "level": 95, "studies": studies})
    assert "'add'" in got["error"] and "Wang 2013" in got["error"]
    stated = answer({"measure": "PLO", "method": "DL", "level": 95, "add": 0.5, "studies": studies})
    assert "error" not in stated and stated["yi"][0] == pytest.approx(-3.7135720667)  # log(0.5/20.5)


def test_it_needs_no_correction_when_no_cell_is_zero():
    studies = [{"ai": 2, "n1i": 10, "ci": 3, "n2i": 10}, {"ai": 4, "n1i": 12, "ci": 5, "n2i": 11}]
    got = answer({"measure": "OR", "method": "FE", "level": 95, "studies": studies})
    assert "error" not in got


def test_the_python_functions_take_no_default_correlation_or_correction():
    with pytest.raises(TypeError):
        mean_change([20], [4], [15], [4], [10])
    with pytest.raises(TypeError):
        smcr([20], [4], [15], [10])
    with pytest.raises(ValueError, match="'add'"):
        proportion("PLO", [0], [10], add=None)
    with pytest.raises(ValueError, match="'add'"):
        two_by_two("RR", [0], [10], [3], [10], add=None)


def test_it_says_a_given_variance_was_given_not_computed():
    with pytest.raises(ValueError) as err:
        generic([0.1, 0.2], [0.1, -0.5], labels=["A", "B"])
    message = str(err.value)
    assert "'vi'" in message and "B" in message
    assert "computed" not in message and "SD" not in message


def test_it_names_the_inputs_of_a_computed_negative_variance():
    # r = 1 with unequal SDs cannot give zero, but sd_pre = sd_post and r = 1 gives vi = 0
    with pytest.raises(ValueError, match=r"sd_pre.*sd_post.*ri"):
        mean_change([20], [4], [15], [4], [10], 1.0)


STATISTICAL_CHOICES = ("method", "test", "level", "r_values")


@pytest.mark.parametrize(
    "function",
    ["model.pool_arrays", "analysis.analyse", "diagnostics.leave_one_out", "diagnostics.egger_test",
     "diagnostics.cumulative", "diagnostics.subgroups", "confint.tau2_confint", "sensitivity.sensitivity_over_r",
     "smallstudy.trim_and_fill", "glmm.glmm_proportions", "multilevel.multilevel",
     "proportions.proportion_interval"],
)  # fmt: skip
def test_it_gives_no_statistical_choice_a_default(function):
    # given a public function of pooling
    module, name = function.split(".")
    signature = inspect.signature(getattr(importlib.import_module(f"pooling.{module}"), name))
    # then every method, test, level or grid of correlations it takes must be stated by the caller
    defaulted = [
        p.name for p in signature.parameters.values()
        if p.name in STATISTICAL_CHOICES and p.default is not inspect.Parameter.empty
    ]  # fmt: skip
    assert not defaulted, f"{function} defaults {defaulted}: make them required keywords"
