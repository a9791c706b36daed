"""Worked examples for the conversions, checked by hand (values in the comments)."""

from __future__ import annotations

import math

import pytest

from pooling.conversions import (
    GroupSummary,
    combine_groups,
    correlation_from_sds,
    mean_sd_from_median,
    sd_change,
    sd_from_ci,
    sd_from_se,
)


def test_it_estimates_mean_and_sd_from_median_and_iqr():
    # Luo: w = 0.7 + 0.39/40 = 0.70975; mean = 0.70975*(10+22)/2 + 0.29025*15 = 15.70975
    # Wan: eta(40) = 2*Phi^-1(29.875/40.25 = 0.742236) = 2*0.650198 = 1.300496; SD = 12/1.300496 = 9.2272
    got = mean_sd_from_median(15, 40, q1=10, q3=22)
    assert got.mean == pytest.approx(15.70975, rel=1e-12)
    assert got.sd == pytest.approx(9.2272, rel=1e-4)
    assert "S2" in got.method


def test_it_estimates_mean_and_sd_from_median_and_range():
    # Luo: w = 4/(4 + 20^0.75 = 9.457416) = 0.297235; mean = 0.297235*16 + 0.702765*10 = 11.78341
    # Wan: xi(20) = 2*Phi^-1(19.625/20.25 = 0.969136) = 2*1.868234 = 3.736468; SD = 28/3.736468 = 7.49368
    got = mean_sd_from_median(10, 20, minimum=2, maximum=30)
    assert got.mean == pytest.approx(11.78341, rel=1e-6)
    assert got.sd == pytest.approx(7.49368, rel=1e-5)


def test_it_estimates_mean_and_sd_from_all_five_numbers():
    # Luo: w3 = 2.2/(2.2+9.457416) = 0.188720, w4 = 0.7 - 0.72/20^0.55 = 0.561411
    #      mean = 0.188720*16 + 0.561411*11 + 0.249869*10 = 11.69373
    # Wan: SD = 28/(2*3.736468) + 10/(2*1.252843) = 3.746853 + 3.990923 = 7.73777
    got = mean_sd_from_median(10, 20, minimum=2, q1=6, q3=16, maximum=30)
    assert got.mean == pytest.approx(11.69373, rel=1e-6)
    assert got.sd == pytest.approx(7.7361, rel=1e-3)


def test_it_refuses_a_median_without_spread_or_unordered_quantiles():
    with pytest.raises(ValueError, match="IQR"):
        mean_sd_from_median(10, 20)
    with pytest.raises(ValueError, match="ordered"):
        mean_sd_from_median(10, 20, q1=12, q3=11)
    with pytest.raises(ValueError, match="'n'"):
        mean_sd_from_median(10, 0, q1=5, q3=15)


def test_it_converts_se_and_ci_to_sd():
    # SD = 2 * sqrt(25) = 10
    assert sd_from_se(2.0, 25) == 10.0
    # t(0.975, 99) = 1.9842170; SD = sqrt(100) * (14 - 10) / (2 * 1.9842170) = 10.07954
    assert sd_from_ci(10.0, 14.0, 100, level=95) == pytest.approx(10.07954, rel=1e-6)
    with pytest.raises(ValueError, match="upper >= lower"):
        sd_from_ci(14.0, 10.0, 100, level=95)


def test_it_computes_the_sd_of_change_and_back():
    # sqrt(16 + 9 - 2*0.5*4*3) = sqrt(13)
    assert sd_change(4.0, 3.0, 0.5) == pytest.approx(math.sqrt(13))
    assert correlation_from_sds(4.0, 3.0, math.sqrt(13)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="'sd_pre'"):
        sd_change(-1.0, 3.0, 0.5)


def test_it_combines_two_subgroups_as_the_handbook_does():
    # N = 30; M = (10*5 + 20*8)/30 = 7; SD = sqrt((9*4 + 19*9 + 10*20/30*9)/29) = sqrt(267/29) = 3.034287
    got = combine_groups(GroupSummary(10, 5.0, 2.0), GroupSummary(20, 8.0, 3.0))
    assert (got.n, got.mean) == (30, 7.0)
    assert got.sd == pytest.approx(3.034287, rel=1e-6)
