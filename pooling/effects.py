"""Per-study effect sizes ``(yi, vi)`` with metafor's ``escalc`` formulas (metafor 3.8).

Single-arm before/after designs use change = follow-up - baseline, so a negative
value means the score fell.  Every function validates its inputs and raises
ValueError naming the study and the field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pooling.validation import as_column, require

MEASURES = ("MC", "SMCR", "MD", "SMD", "RR", "OR", "RD", "PR", "PLO", "PAS", "PFT", "GEN")
Labels = Sequence[str] | None


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Per-study effect sizes.

    Attributes
    ----------
    measure : str
        One of :data:`MEASURES`.
    yi : numpy.ndarray
        Effect sizes (after any continuity correction).
    vi : numpy.ndarray
        Sampling variances.
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray


def _sizes(values, field: str, labels: Labels, k: int | None, minimum: float = 1) -> np.ndarray:
    arr = as_column(values, field, labels, k=k)
    require(arr >= minimum, field, f"must be >= {minimum:g}", arr, labels)
    return arr


def _sds(values, field: str, labels: Labels, k: int) -> np.ndarray:
    arr = as_column(values, field, labels, k=k)
    require(arr >= 0, field, "SD must be >= 0", arr, labels)
    return arr


def _correlations(ri, k: int, labels: Labels) -> np.ndarray:
    arr = as_column(np.broadcast_to(np.asarray(ri, dtype=float), (k,)), "ri", labels)
    require(np.abs(arr) <= 1, "ri", "correlation must be in [-1, 1]", arr, labels)
    return arr


# Where a non-positive variance comes from, so the message points at the inputs the user can check.
_VARIANCE_SOURCE = {
    "GEN": "the given sampling variance must be > 0",
    "MC": "sampling variance computed from sd_pre, sd_post and ri must be > 0",
    "SMCR": "sampling variance computed from ni and ri must be > 0",
    "MD": "sampling variance computed from sd1i, sd2i, n1i and n2i must be > 0",
    "SMD": "sampling variance computed from n1i and n2i must be > 0",
}


def _positive_variance(measure: str, yi, vi, labels: Labels) -> EffectSizes:
    rule = _VARIANCE_SOURCE.get(measure, "sampling variance computed from the counts must be > 0")
    require(vi > 0, "vi", rule, vi, labels)
    return EffectSizes(measure, yi, vi)


def _continuity(needs: np.ndarray, add: float | None, labels: Labels) -> float:
    """The stated correction ``add`` (metafor ``add``, ``to="only0"``); None is an error where a cell is 0.

    The engine never picks a correction itself: 1/2 is metafor's default, not a fact of the data.
    """
    if add is None:
        if needs.any():
            i = int(np.argmax(needs))
            who = f"study {i}" + (f" ({labels[i]!r})" if labels is not None and labels[i] is not None else "")
            raise ValueError(f"{who} has a zero cell: field 'add' (continuity correction) must be stated")
        return 0.0
    if isinstance(add, bool) or not isinstance(add, (int, float)) or not 0 <= add < np.inf:
        raise ValueError(f"field 'add' (continuity correction) must be a number >= 0, got {add!r}")
    return float(add)


def hedges_correction(df) -> np.ndarray:
    """Exact small-sample factor c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)).

    Hedges (1981), J Educ Stat 6:107-128, eq. 6c; metafor ``.cmicalc``.
    """
    m = np.asarray(df, dtype=float)
    return np.exp(_lgamma(m / 2) - 0.5 * np.log(m / 2) - _lgamma((m - 1) / 2))


_lgamma = np.vectorize(math.lgamma, otypes=[float])  # the standard library's: no scipy import for SMD/SMCR


def mean_change(m_pre, sd_pre, m_post, sd_post, ni, ri, *, labels: Labels = None, reverse: bool = False) -> EffectSizes:
    """Raw mean change (metafor ``MC``): yi = m_post - m_pre.

    vi = (sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post) / n (Morris & DeShon 2002,
    Psychol Methods 7:105-125, eq. 11; metafor ``escalc(measure="MC")``).

    With ``ri=0`` and ``reverse=True`` this is the "independent groups" convention
    used by some papers: yi = baseline - follow-up and vi = sd_pre^2/n + sd_post^2/n,
    i.e. the pre-post correlation is ignored and a fall in the score is positive.

    Parameters
    ----------
    m_pre, sd_pre, m_post, sd_post, ni : array_like
        Baseline and follow-up means and SDs, and the number of patients.
    ri : float or array_like
        Pre-post correlation per study (or one value for all); required, never assumed.
    labels : sequence of str, optional
        Study labels for error messages.
    reverse : bool
        If True, return baseline - follow-up instead.
    """
    m_pre = as_column(m_pre, "m_pre", labels)
    k = m_pre.shape[0]
    m_post = as_column(m_post, "m_post", labels, k=k)
    s1, s2 = _sds(sd_pre, "sd_pre", labels, k), _sds(sd_post, "sd_post", labels, k)
    n = _sizes(ni, "ni", labels, k)
    r = _correlations(ri, k, labels)
    yi = m_post - m_pre
    vi = (s2**2 + s1**2 - 2 * r * s1 * s2) / n
    return _positive_variance("MC", -yi if reverse else yi, vi, labels)


def smcr(m_pre, sd_pre, m_post, ni, ri, *, labels: Labels = None) -> EffectSizes:
    """Standardized mean change, raw-score standardization by sd_pre (metafor ``SMCR``).

    yi = c(n-1) (m_post - m_pre) / sd_pre, vi = 2 (1 - r)/n + yi^2 / (2 n)
    (Becker 1988, Br J Math Stat Psychol 41:257-278; metafor ``escalc``),
    c(.) the exact Hedges correction :func:`hedges_correction`.
    """
    m_pre = as_column(m_pre, "m_pre", labels)
    k = m_pre.shape[0]
    m_post = as_column(m_post, "m_post", labels, k=k)
    s1 = _sds(sd_pre, "sd_pre", labels, k)
    require(s1 > 0, "sd_pre", "SMCR divides by sd_pre, which must be > 0", s1, labels)
    n = _sizes(ni, "ni", labels, k, minimum=3)
    r = _correlations(ri, k, labels)
    yi = hedges_correction(n - 1) * (m_post - m_pre) / s1
    vi = 2 * (1 - r) / n + yi**2 / (2 * n)
    return _positive_variance("SMCR", yi, vi, labels)


def _two_arm_means(m1i, sd1i, n1i, m2i, sd2i, n2i, labels: Labels, min_n: float):
    m1 = as_column(m1i, "m1i", labels)
    k = m1.shape[0]
    m2 = as_column(m2i, "m2i", labels, k=k)
    s1, s2 = _sds(sd1i, "sd1i", labels, k), _sds(sd2i, "sd2i", labels, k)
    n1, n2 = _sizes(n1i, "n1i", labels, k, min_n), _sizes(n2i, "n2i", labels, k, min_n)
    return m1, s1, n1, m2, s2, n2


def mean_difference(m1i, sd1i, n1i, m2i, sd2i, n2i, *, labels: Labels = None) -> EffectSizes:
    """Raw mean difference (metafor ``MD``): yi = m1 - m2, vi = sd1^2/n1 + sd2^2/n2.

    Borenstein et al. (2009), Introduction to Meta-Analysis, eq. 4.5.
    """
    m1, s1, n1, m2, s2, n2 = _two_arm_means(m1i, sd1i, n1i, m2i, sd2i, n2i, labels, 1)
    return _positive_variance("MD", m1 - m2, s1**2 / n1 + s2**2 / n2, labels)


def smd(m1i, sd1i, n1i, m2i, sd2i, n2i, *, labels: Labels = None) -> EffectSizes:
    """Hedges' g (metafor ``SMD``): yi = c(n1+n2-2) (m1 - m2) / s_pooled.

    vi = 1/n1 + 1/n2 + yi^2 / (2 (n1 + n2)) (Hedges 1981; Hedges & Olkin 1985,
    eq. 5.15; metafor ``escalc(measure="SMD")``, large-sample variance).
    """
    m1, s1, n1, m2, s2, n2 = _two_arm_means(m1i, sd1i, n1i, m2i, sd2i, n2i, labels, 1)
    df = n1 + n2 - 2
    require(df > 1, "n1i", "SMD needs n1i + n2i >= 4", n1 + n2, labels)
    sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    require(sp > 0, "sd1i", "pooled SD must be > 0", sp, labels)
    yi = hedges_correction(df) * (m1 - m2) / sp
    vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    return _positive_variance("SMD", yi, vi, labels)


def _counts(events, totals, ev_field: str, n_field: str, labels: Labels, k: int | None):
    x = as_column(events, ev_field, labels, k=k)
    n = _sizes(totals, n_field, labels, x.shape[0])
    require(x >= 0, ev_field, "events must be >= 0", x, labels)
    require(x <= n, ev_field, f"events must be <= {n_field}", x, labels)
    return x, n


def two_by_two(measure: str, ai, n1i, ci, n2i, *, add: float | None, labels: Labels = None) -> EffectSizes:
    """Risk ratio, odds ratio or risk difference (metafor ``RR``, ``OR``, ``RD``).

    With b = n1 - a and d = n2 - c, ``add`` is added to all four cells of a study with
    a zero cell (metafor ``add``, ``to="only0"``; metafor's default is 1/2, here it must
    be stated, and None is an error when a cell is 0).  Then
    RR: yi = log(a/n1) - log(c/n2), vi = 1/a - 1/n1 + 1/c - 1/n2;
    OR: yi = log(ad/(bc)), vi = 1/a + 1/b + 1/c + 1/d;
    RD: yi = a/n1 - c/n2, vi = p1(1-p1)/n1 + p2(1-p2)/n2
    (Cochrane Handbook 6.4.1; Fleiss & Berlin 2009, ch. 13).
    """
    a, n1 = _counts(ai, n1i, "ai", "n1i", labels, None)
    c, n2 = _counts(ci, n2i, "ci", "n2i", labels, a.shape[0])
    b, d = n1 - a, n2 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    cc = _continuity(zero, add, labels)
    a, b, c, d = (cell + cc * zero for cell in (a, b, c, d))
    n1, n2 = a + b, c + d
    if measure == "RR":
        yi, vi = np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2
    elif measure == "OR":
        yi, vi = np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d
    elif measure == "RD":
        p1, p2 = a / n1, c / n2
        yi, vi = p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    else:
        raise ValueError(f"unknown two-by-two measure {measure!r}; allowed: RR, OR, RD")
    return _positive_variance(measure, yi, vi, labels)


def proportion(measure: str, xi, ni, *, add: float | None, labels: Labels = None) -> EffectSizes:
    """Single proportions (metafor ``PR``, ``PLO``, ``PAS``, ``PFT``).

    PR: p, p(1-p)/n; PLO: log(p/(1-p)), 1/x + 1/(n-x) -- both with ``add`` added to x and
    n - x when either is 0 (metafor ``to="only0"``; the correction must be stated,
    None is an error when a study has 0 or all events; PAS and PFT ignore it).  PAS: asin(sqrt(p)), 1/(4n);
    PFT (Freeman & Tukey 1950, Ann Math Stat 21:607-611; Miller 1978, Am Stat 32:138):
    (asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1))))/2, 1/(4n+2) -- no correction.
    """
    x, n = _counts(xi, ni, "xi", "ni", labels, None)
    if measure in ("PR", "PLO"):
        zero = (x == 0) | (x == n)
        cc = _continuity(zero, add, labels)
        x, n = x + cc * zero, n + 2.0 * cc * zero
    p = x / n
    if measure == "PR":
        yi, vi = p, p * (1 - p) / n
    elif measure == "PLO":
        yi, vi = np.log(p / (1 - p)), 1 / x + 1 / (n - x)
    elif measure == "PAS":
        yi, vi = np.arcsin(np.sqrt(p)), 1 / (4 * n)
    elif measure == "PFT":
        yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
        vi = 1 / (4 * n + 2)
    else:
        raise ValueError(f"unknown proportion measure {measure!r}; allowed: PR, PLO, PAS, PFT")
    return _positive_variance(measure, yi, vi, labels)


def generic(yi, vi, *, labels: Labels = None) -> EffectSizes:
    """Given effect sizes and sampling variances (metafor ``GEN``), validated."""
    y = as_column(yi, "yi", labels)
    v = as_column(vi, "vi", labels, k=y.shape[0])
    return _positive_variance("GEN", y, v, labels)
