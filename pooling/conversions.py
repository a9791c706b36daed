"""Conversions of reported summaries to the means and SDs the effect sizes need.

Each function documents its source; all take and return plain floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_PHI_INV = NormalDist().inv_cdf


@dataclass(frozen=True)
class MeanSD:
    """An estimated mean and standard deviation.

    Attributes
    ----------
    mean : float
        Estimated mean.
    sd : float
        Estimated standard deviation.
    method : str
        Which estimators were used (for the audit trail).
    """

    mean: float
    sd: float
    method: str


def _check_n(n: float) -> None:
    if not (isinstance(n, (int, float)) and math.isfinite(n) and n >= 1):
        raise ValueError(f"field 'n' = {n!r} (sample size must be a finite number >= 1)")


def _check_order(*values: float | None) -> None:
    given = [v for v in values if v is not None]
    if any(not math.isfinite(v) for v in given):
        raise ValueError(f"quantiles must be finite, got {given}")
    if given != sorted(given):
        raise ValueError(f"quantiles must be ordered min <= q1 <= median <= q3 <= max, got {given}")


def _xi(n: float) -> float:
    """Wan et al. (2014) eq. 7: xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25))."""
    return 2.0 * _PHI_INV((n - 0.375) / (n + 0.25))


def _eta(n: float) -> float:
    """Wan et al. (2014) eq. 16: eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25))."""
    return 2.0 * _PHI_INV((0.75 * n - 0.125) / (n + 0.25))


def _luo_mean(n, median, q1, q3, minimum, maximum) -> float:
    """Luo et al. (2018), Stat Methods Med Res 27:1785-1805, eqs. 7, 11 and 15."""
    if q1 is None:
        w1 = 4.0 / (4.0 + n**0.75)
        return w1 * (minimum + maximum) / 2.0 + (1.0 - w1) * median
    if minimum is None:
        w2 = 0.7 + 0.39 / n
        return w2 * (q1 + q3) / 2.0 + (1.0 - w2) * median
    w3 = 2.2 / (2.2 + n**0.75)
    w4 = 0.7 - 0.72 / n**0.55
    return w3 * (minimum + maximum) / 2 + w4 * (q1 + q3) / 2 + (1 - w3 - w4) * median


def _wan_sd(n, q1, q3, minimum, maximum) -> float:
    """Wan et al. (2014), BMC Med Res Methodol 14:135, eqs. 7, 16 and 17 (scenarios S1-S3)."""
    if q1 is None:
        return (maximum - minimum) / _xi(n)
    if minimum is None:
        return (q3 - q1) / _eta(n)
    return (maximum - minimum) / (2.0 * _xi(n)) + (q3 - q1) / (2.0 * _eta(n))


def mean_sd_from_median(
    median: float,
    n: float,
    *,
    q1: float | None = None,
    q3: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> MeanSD:
    """Mean and SD from a median with the IQR and/or the range.

    Mean by Luo et al. (2018), SD by Wan et al. (2014), for the three scenarios
    S1 {min, median, max}, S2 {q1, median, q3} and S3 {min, q1, median, q3, max}
    (Cochrane Handbook 6.5.2.5 recommends these estimators).

    Raises
    ------
    ValueError
        If neither a full IQR nor a full range is given, n < 1 or the values are unordered.
    """
    _check_n(n)
    has_iqr, has_range = q1 is not None and q3 is not None, None not in (minimum, maximum)
    if not (has_iqr or has_range):
        raise ValueError("give q1 and q3 (IQR) and/or minimum and maximum (range)")
    if not has_iqr:
        q1 = q3 = None
    if not has_range:
        minimum = maximum = None
    _check_order(minimum, q1, median, q3, maximum)
    scenario = "S3" if has_iqr and has_range else ("S2" if has_iqr else "S1")
    mean = _luo_mean(n, median, q1, q3, minimum, maximum)
    sd = _wan_sd(n, q1, q3, minimum, maximum)
    return MeanSD(mean, sd, f"Luo 2018 mean, Wan 2014 SD ({scenario})")


def sd_from_se(se: float, n: float) -> float:
    """SD = SE sqrt(n) (Cochrane Handbook 6.5.2.2)."""
    _check_n(n)
    if not (math.isfinite(se) and se >= 0):
        raise ValueError(f"field 'se' = {se!r} (must be finite and >= 0)")
    return se * math.sqrt(n)


def sd_from_ci(lower: float, upper: float, n: float, *, level: float) -> float:
    """SD from a confidence interval of a mean: sqrt(n) (upper - lower) / (2 t).

    t is the t quantile with n - 1 df at the two-sided level (Cochrane Handbook
    6.5.2.2, which allows 3.92 = 2 x 1.96 for large samples; the t quantile is
    exact for any n).
    """
    _check_n(n)
    if not (math.isfinite(lower) and math.isfinite(upper) and upper >= lower):
        raise ValueError(f"CI must be finite with upper >= lower, got ({lower}, {upper})")
    if n < 2:
        raise ValueError(f"field 'n' = {n!r} (an SD from a CI needs n >= 2)")
    from scipy import special  # lazy: keeps python -m pooling fast

    t = float(special.stdtrit(n - 1, 1.0 - (1.0 - level / 100.0) / 2.0))
    return math.sqrt(n) * (upper - lower) / (2.0 * t)


def _check_sd(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"field {name!r} = {value!r} (SD must be finite and >= 0)")


def sd_change(sd_pre: float, sd_post: float, r: float) -> float:
    """SD of the change, sqrt(sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post).

    Cochrane Handbook 6.5.2.8; Follmann et al. (1992), J Clin Epidemiol 45:769-773.
    """
    _check_sd("sd_pre", sd_pre)
    _check_sd("sd_post", sd_post)
    if not -1.0 <= r <= 1.0:
        raise ValueError(f"field 'r' = {r!r} (correlation must be in [-1, 1])")
    return math.sqrt(max(0.0, sd_pre**2 + sd_post**2 - 2.0 * r * sd_pre * sd_post))


def correlation_from_sds(sd_pre: float, sd_post: float, sd_diff: float) -> float:
    """Pre-post correlation implied by the SDs: (sd_pre^2 + sd_post^2 - sd_change^2)/(2 sd_pre sd_post).

    Cochrane Handbook 6.5.2.8 (imputing a change-from-baseline SD).
    """
    for name, value in (("sd_pre", sd_pre), ("sd_post", sd_post), ("sd_change", sd_diff)):
        _check_sd(name, value)
    if sd_pre == 0 or sd_post == 0:
        raise ValueError("sd_pre and sd_post must be > 0 to derive a correlation")
    return (sd_pre**2 + sd_post**2 - sd_diff**2) / (2.0 * sd_pre * sd_post)


@dataclass(frozen=True)
class GroupSummary:
    """Size, mean and SD of one group.

    Attributes
    ----------
    n : float
        Number of participants.
    mean : float
        Mean.
    sd : float
        Standard deviation.
    """

    n: float
    mean: float
    sd: float


def combine_groups(first: GroupSummary, second: GroupSummary) -> GroupSummary:
    """Combine two subgroups into one group (Cochrane Handbook 6.5.2.10, Table 6.5.a).

    N = N1 + N2, M = (N1 M1 + N2 M2)/N,
    SD = sqrt(((N1-1) SD1^2 + (N2-1) SD2^2 + N1 N2 / N (M1 - M2)^2) / (N - 1)).
    """
    for name, g in (("first", first), ("second", second)):
        _check_n(g.n)
        _check_sd(f"{name}.sd", g.sd)
        if not math.isfinite(g.mean):
            raise ValueError(f"field '{name}.mean' = {g.mean!r} (must be finite)")
    n = first.n + second.n
    mean = (first.n * first.mean + second.n * second.mean) / n
    ss = (first.n - 1) * first.sd**2 + (second.n - 1) * second.sd**2
    ss += first.n * second.n / n * (first.mean - second.mean) ** 2
    return GroupSummary(n, mean, math.sqrt(ss / (n - 1)))
