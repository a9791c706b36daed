"""What can be reproduced of Cui et al. 2022 today, from its own published numbers."""

import math

import pytest
from scipy import stats

from evidence.models import PooledResult
from evidence.synthesis.recompute.effects import measurement_effect
from evidence.synthesis.recompute.inputs import recompute_inputs_load
from pooling.model import pool_arrays

Z = stats.norm.ppf(0.975)


def _published(review, code, months, subgroup=""):
    return PooledResult.objects.get(
        version__review=review, version__number=0, outcome__code=code, timepoint_months=months, subgroup_value=subgroup
    )


def _se_from_ci(low, high, log=False):
    if log:
        low, high = math.log(low), math.log(high)
    return (high - low) / (2 * Z)


def test_fixed_effect_repooling_of_the_cell_source_rows_gives_the_6_month_mrss(seeded):
    rows = [_published(seeded, "mrss", 6, value) for value in ("adipose_svf", "umbilical_cord_msc", "bone_marrow_msc")]
    fit = pool_arrays(
        [r.estimate for r in rows], [_se_from_ci(r.ci_lb, r.ci_ub) ** 2 for r in rows], method="FE", test="z", level=95
    )
    published = _published(seeded, "mrss", 6)
    # The subgroup rows are themselves rounded to 2 decimals: agreement is to the paper's rounding.
    assert fit.estimate == pytest.approx(published.estimate, abs=0.01)
    assert fit.ci_lb == pytest.approx(published.ci_lb, abs=0.01)
    assert fit.ci_ub == pytest.approx(published.ci_ub, abs=0.01)
    assert (round(fit.estimate, 3), round(fit.ci_lb, 3), round(fit.ci_ub, 3)) == (5.097, 3.388, 6.806)


@pytest.mark.parametrize(
    ("code", "log", "digits", "abstract_p"),
    [
        ("rcs", False, 1, 0.5),
        ("chfs", False, 2, 0.62),
        ("digital_ulcers", True, 4, 0.0007),
        ("vas_hand_pain", False, 2, 0.03),
    ],
)
def test_p_values_from_the_published_cis_equal_the_abstracts(seeded, code, log, digits, abstract_p):
    row = _published(seeded, code, 6)
    estimate = math.log(row.estimate) if log else row.estimate
    p = 2 * stats.norm.sf(abs(estimate / _se_from_ci(row.ci_lb, row.ci_ub, log)))
    assert round(p, digits) == abstract_p
    assert round(row.p_value, digits) == abstract_p  # the stored (derived) p agrees


def test_zhang_2017_under_the_papers_convention_is_6_3_with_se_2_85(seeded):
    settings = {
        **seeded.analysis_settings(),
        "prepost_correlation": 0.0,
        "change_orientation": "baseline_minus_followup",
    }
    inputs = recompute_inputs_load(review=seeded)
    zhang = next(
        m
        for m in inputs.measurements
        if (m.outcome_code, m.timepoint_months, m.data_format) == ("mrss", "12", "baseline_followup")
    )
    effect = measurement_effect(zhang, settings)
    assert round(effect.yi, 2) == 6.3
    assert round(math.sqrt(effect.vi), 2) == 2.85
