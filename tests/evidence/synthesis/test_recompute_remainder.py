"""The published remainder: pure arithmetic, checked by hand (no database)."""

import math

import pytest

from evidence.synthesis.recompute.remainder import Z975, NoRemainder, PublishedEstimate, published_remainder
from pooling.model import pool_arrays

# Cui 2022, Table 3: mRSS at 12 months, 6.49 (4.61 to 8.37), Wang 2013 and Zhang 2017.
MRSS_12M = PublishedEstimate(6.49, 4.61, 8.37)
# Zhang 2017 under the paper's method: 20.1 − 13.8 = 6.3, variance (3.1² + 10.2²)/14 = 8.118 (before and
# after independent).
ZHANG = (6.3, (3.1**2 + 10.2**2) / 14)


def test_it_derives_the_remainder_of_the_12_month_row_by_hand():
    remainder = published_remainder(MRSS_12M, [ZHANG])
    se = (8.37 - 4.61) / (2 * Z975)  # 0.95920
    big_w = 1 / se**2  # W = 1.08687
    w_zhang = 1 / ZHANG[1]  # 0.12318
    assert remainder.published_weight == pytest.approx(big_w)
    assert remainder.weight == pytest.approx(big_w - w_zhang)  # 0.96369
    assert remainder.yi == pytest.approx((big_w * 6.49 - w_zhang * 6.3) / (big_w - w_zhang))  # 6.5143
    assert round(remainder.yi, 4) == 6.5143 and round(remainder.weight, 4) == 0.9637


def test_the_remainder_with_zhang_2017_reproduces_the_published_12_month_row():
    remainder = published_remainder(MRSS_12M, [ZHANG])
    fit = pool_arrays([remainder.yi, ZHANG[0]], [remainder.vi, ZHANG[1]], method="FE", test="z", level=95)
    assert fit.estimate == pytest.approx(6.49, abs=1e-12)
    assert (round(fit.ci_lb, 2), round(fit.ci_ub, 2)) == (4.61, 8.37)
    assert fit.se == pytest.approx(remainder.published_se, abs=1e-12)


def test_one_new_study_updates_the_published_row_as_a_fixed_effect_combination():
    """Alip 2024 (41 patients, mRSS 18.68 ± 7.26 at baseline, 13.95 ± 8.49 at 12 months), by hand:
    y = 18.68 − 13.95 = 4.73, v = (7.26² + 8.49²)/41 = 124.7877/41 = 3.04360, w = 0.32856.
    W = 1.08687 (the published row); pooled = (1.08687·6.49 + 0.32856·4.73)/(1.08687 + 0.32856)
    = 8.60787/1.41543 = 6.0815; SE = 1/√1.41543 = 0.84053; 95% CI 6.0815 ± 1.6474 = 4.43 to 7.73."""
    alip = (4.73, (7.26**2 + 8.49**2) / 41)
    remainder = published_remainder(MRSS_12M, [ZHANG])
    yi = [remainder.yi, ZHANG[0], alip[0]]
    vi = [remainder.vi, ZHANG[1], alip[1]]
    fit = pool_arrays(yi, vi, method="FE", test="z", level=95)
    assert round(fit.estimate, 4) == 6.0815
    assert round(fit.se, 5) == 0.84053
    assert (round(fit.ci_lb, 2), round(fit.ci_ub, 2)) == (4.43, 7.73)


def test_a_remainder_that_goes_negative_says_why():
    """Almadori 2019's MHISS change (6.85, SD 5.07, n 62) weighs 62/5.07² = 2.41, more than the published
    12-month MHISS row's whole weight (5.52, 2.41 to 8.62: W = 0.398)."""
    result = published_remainder(PublishedEstimate(5.52, 2.41, 8.62), [(6.85, 5.07**2 / 62)])
    assert isinstance(result, NoRemainder)
    assert result.reason.startswith("negative remainder: the extracted studies carry weight 2.41")


def test_a_row_without_a_ci_and_a_rounding_conflict_say_why():
    assert "no 95% CI" in published_remainder(PublishedEstimate(5.0, None, None), []).reason
    # Keyszer 2011 alone is the published BMSC row (6.7, −0.22 to 13.62): if another study were also named,
    # the left-over weight would lie within the rounding of the printed CI.
    keyszer = (6.7, ((13.62 + 0.22) / (2 * Z975)) ** 2 * 1.0005)
    result = published_remainder(PublishedEstimate(6.7, -0.22, 13.62), [keyszer])
    assert isinstance(result, NoRemainder) and result.reason.startswith("rounding conflict")


def test_a_published_ratio_leaves_its_remainder_on_the_log_scale():
    remainder = published_remainder(PublishedEstimate(21.1, 3.63, 122.56, log=True), [])
    assert remainder.yi == pytest.approx(math.log(21.1))
    assert remainder.vi == pytest.approx(((math.log(122.56) - math.log(3.63)) / (2 * Z975)) ** 2)
