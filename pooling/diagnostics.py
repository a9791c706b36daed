"""Diagnostics: leave-one-out, Egger's test, cumulative and subgroup meta-analysis.

Each refits the model of :func:`pooling.model.pool_arrays` with the same method,
test and level, as metafor's ``leave1out``, ``regtest`` and ``cumul`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pooling.design import RegressionDesign
from pooling.distributions import chi2_sf
from pooling.estimators import estimate_tau2
from pooling.loo import fixed_effect_rows, loo_tau2, refit_sums
from pooling.model import PoolCore, check_options, critical_value, pool_arrays, two_sided_p, wald_statistic
from pooling.validation import check_arrays

_EPS = np.finfo(float).eps


@dataclass(frozen=True, eq=False)
class LeaveOneOut:
    """Results with each study left out in turn (metafor ``leave1out``).

    Attributes
    ----------
    estimate, se, ci_lb, ci_ub, pval : numpy.ndarray
        Pooled effect, SE, CI and p-value without study i.
    tau2, i2, q : numpy.ndarray
        tau^2, I^2 (percent) and Q without study i.
    weight_sum : numpy.ndarray
        sum over j != i of 1/(v_j + tau^2_(-i)), the refit's total weight (influence diagnostics need it).
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    q: np.ndarray
    weight_sum: np.ndarray


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test for funnel-plot asymmetry (metafor ``regtest`` default).

    Attributes
    ----------
    statistic : float
        z (t with k-2 df under ``knha``) of the standard-error moderator.
    pval : float
        Two-sided p-value.
    slope, intercept : float
        Coefficient of sqrt(vi) and the limit estimate as sqrt(vi) -> 0.
    """

    statistic: float
    pval: float
    slope: float
    intercept: float


def leave_one_out(yi, vi, *, method: str, test: str, level: float):
    """Refit without each study in turn, all refits at once (:mod:`pooling.loo`: O(k) per refit).

    Returns
    -------
    LeaveOneOut
        Arrays of length k, entry i without study i.
    """
    check_options(method, test, level)
    yi, vi = check_arrays(yi, vi)
    k = yi.shape[0]
    if k < 2:
        raise ValueError("leave-one-out needs k >= 2 studies")
    if k == 2:  # each refit is one study: the k = 1 rules of pool_arrays
        fits = [pool_arrays(yi[[1 - i]], vi[[1 - i]], method=method, test=test, level=level) for i in range(2)]
        col = lambda name: np.array([getattr(f, name) for f in fits])  # noqa: E731
        names = ("estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "i2", "q")
        return LeaveOneOut(*(col(n) for n in names), 1.0 / (vi[::-1] + col("tau2")))
    full = pool_arrays(yi, vi, method=method, test=test, level=level).tau2 if method in ("REML", "ML") else 0.0
    c = yi - yi.mean()
    fixed = fixed_effect_rows(c, vi)
    tau2 = loo_tau2(yi, vi, method, full_tau2=full, fixed=fixed)
    # a refit with tau^2 = 0 is the fixed-effect refit (O(1) from the downdates); the others take one pass each
    s1, mean, rss = fixed.s1.copy(), fixed.mean.copy() + yi.mean(), fixed.q.copy()
    rows = np.flatnonzero(tau2 > 0)
    if rows.shape[0]:
        # the series centre: the full fit's tau^2, or for DL the middle refit's (np.median would import numpy.ma)
        tau0 = full if method in ("REML", "ML") else float(np.sort(tau2[rows])[rows.shape[0] // 2])
        s1[rows], mean[rows], rss_rows = refit_sums(yi, vi, tau2, tau0, rows, rss=test == "knha")
        if rss_rows is not None:
            rss[rows] = rss_rows
    var = 1.0 / s1
    if test == "knha":
        var *= np.where(rss <= _EPS, 0.0, rss / (k - 2))
    return _loo_summary(k, method, test, level, mean, var, tau2, fixed, s1)


def _loo_summary(k, method, test, level, mu, var, tau2, fixed, s1) -> LeaveOneOut:
    """CIs, p-values, Q and I^2 of every refit from its estimate, variance and tau^2 (model.py formulas)."""
    df = k - 2 if test == "knha" else None
    crit = critical_value(level, df)
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, mu / np.where(se > 0, se, 1.0), np.copysign(np.inf, mu))
    # normal p-values in the standard library (no scipy import for a z-test answer); t p-values vectorised
    pval = np.array([two_sided_p(float(z), df) for z in stat]) if df is None or k <= 2000 else _p_vector(stat, df)
    q = fixed.q
    if method == "FE":
        i2 = np.where(q > 0, np.maximum(0.0, 100.0 * (q - (k - 2)) / np.where(q > 0, q, 1.0)), 0.0)
    else:
        typical = (k - 2) / fixed.tr_p
        i2 = 100.0 * tau2 / (typical + tau2)
    return LeaveOneOut(mu, se, mu - crit * se, mu + crit * se, pval, tau2, i2, q, s1)


def _p_vector(stat: np.ndarray, df: int) -> np.ndarray:
    from scipy import special

    return 2.0 * special.stdtr(df, -np.abs(stat))


def egger_test(yi, vi, *, method: str, test: str, level: float) -> EggerTest | None:
    """Egger's test as metafor ``regtest(fit)`` runs it by default.

    A meta-regression ``rma(yi, vi, mods = ~ sqrt(vi))`` with the fit's method and
    test; the statistic is the moderator's z (or t, k-2 df, for ``knha``)
    (Egger et al. 1997, BMJ 315:629-634; Sterne & Egger 2005, in Publication Bias
    in Meta-Analysis, ch. 6).  Returns None when it is undefined: k < 3, or all
    variances equal (the moderator is collinear with the intercept).
    """
    check_options(method, test, level)
    yi, vi = check_arrays(yi, vi)
    k = yi.shape[0]
    sei = np.sqrt(vi)
    if k < 3 or np.ptp(sei) <= 1e-10 * sei.max():
        return None
    design = RegressionDesign(yi, vi, np.column_stack([np.ones(k), sei]))
    tau2 = estimate_tau2(design, method).tau2
    beta, vb, rss, _ = design.wls(1.0 / (vi + tau2))
    df = None
    if test == "knha":
        vb = vb * (0.0 if rss <= _EPS else rss / (k - 2))
        df = k - 2
    stat = wald_statistic(float(beta[1]), float(np.sqrt(vb[1, 1])))
    return EggerTest(stat, two_sided_p(stat, df), float(beta[1]), float(beta[0]))


def cumulative(yi, vi, order: Sequence[int] | None = None, *, method: str, test: str, level: float) -> list[PoolCore]:
    """Cumulative meta-analysis: fit j pools the first j studies of ``order``.

    ``order`` is a permutation of study indices (e.g. by publication year);
    default is the given order (metafor ``cumul``).
    """
    yi, vi = check_arrays(yi, vi)
    idx = np.arange(yi.shape[0]) if order is None else np.asarray(order, dtype=int)
    if sorted(idx.tolist()) != list(range(yi.shape[0])):
        raise ValueError("order must be a permutation of the study indices 0..k-1")
    y, v = yi[idx], vi[idx]
    return [pool_arrays(y[:j], v[:j], method=method, test=test, level=level) for j in range(1, len(idx) + 1)]


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Subgroup meta-analysis with a test for subgroup differences.

    Attributes
    ----------
    groups : dict
        Subgroup name -> its own pooled fit (separate tau^2 per subgroup).
    q_between : float
        Between-subgroup Q.
    df : int
        Number of subgroups - 1.
    pval : float
        chi^2 p-value of ``q_between``.
    """

    groups: dict[str, PoolCore]
    q_between: float
    df: int
    pval: float


def subgroups(yi, vi, groups: Sequence[str], *, method: str, test: str, level: float):
    """Pool each subgroup separately and test for differences between subgroups.

    Each subgroup gets its own tau^2 ("subgroups with separate tau^2", Borenstein
    et al. 2009, ch. 19; RevMan's test for subgroup differences, Cochrane Handbook
    10.11.3.1).  Q_between = sum_g (mu_g - mu_bar)^2 / se_g^2 with mu_bar the
    inverse-variance mean of the subgroup estimates, chi^2 with G - 1 df -- the same
    as a fixed-effect ``rma(mu_g, sei = se_g)`` on the subgroup estimates in metafor.

    Returns
    -------
    SubgroupAnalysis
    """
    yi, vi = check_arrays(yi, vi)
    labels = np.asarray([str(g) for g in groups])
    if labels.shape[0] != yi.shape[0]:
        raise ValueError(f"groups has {labels.shape[0]} values for {yi.shape[0]} studies")
    fits = {
        g: pool_arrays(yi[labels == g], vi[labels == g], method=method, test=test, level=level)
        for g in dict.fromkeys(labels.tolist())
    }
    mu = np.array([f.estimate for f in fits.values()])
    w = 1.0 / np.array([f.se for f in fits.values()]) ** 2
    q = float(w @ (mu - (w @ mu) / w.sum()) ** 2)
    df = len(fits) - 1
    return SubgroupAnalysis(fits, q, df, chi2_sf(df, q) if df > 0 else 1.0)
