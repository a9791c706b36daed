"""Fixed- and random-effects pooling of one outcome: the fast core path.

:func:`pool_arrays` takes numpy arrays ``yi`` and ``vi`` and returns a small
:class:`PoolCore` (estimate, SE, CI, prediction interval, tau^2, I^2, H^2, Q)
without building per-study rows, in O(k) time and memory.  The formulas are
those of metafor 3.8 ``rma.uni`` and ``predict.rma`` (Viechtbauer 2010,
J Stat Softw 36(3)):

- inverse-variance weights ``w_i = 1/(v_i + tau^2)``, estimate ``sum(w y)/sum(w)``,
  variance ``1/sum(w)`` (Borenstein et al. 2009, Introduction to Meta-Analysis, ch. 11-12);
- Hartung-Knapp (``test="knha"``): variance scaled by ``sum(w (y - mu)^2)/(k-1)``
  and t quantiles with k-1 df, no truncation of the scale factor
  (Hartung & Knapp 2001, Stat Med 20:3875-3889);
- Cochran's Q with ``w_i = 1/v_i``, p from chi^2 with k-1 df;
- I^2 = 100 tau^2/(tau^2 + s^2), H^2 = (tau^2 + s^2)/s^2 with the typical
  within-study variance s^2 = (k-1)/tr(P) = (k-1) sum w / ((sum w)^2 - sum w^2)
  (Higgins & Thompson 2002, Stat Med 21:1539-1558); for FE, I^2 = max(0, 100 (Q-(k-1))/Q)
  and H^2 = Q/(k-1);
- prediction interval ``mu +/- crit sqrt(tau^2 + se^2)`` with the normal quantile for
  ``test="z"`` and t(k-1) for ``knha`` (Riley et al. 2011, BMJ 342:d549; metafor ``predict``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pooling.design import InterceptDesign
from pooling.distributions import chi2_sf, norm_ppf, norm_sf
from pooling.estimators import METHODS, Tau2Estimate, estimate_tau2
from pooling.validation import check_arrays

TESTS = ("z", "knha")
_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class PoolCore:
    """Core answer for one pooled outcome.

    Attributes
    ----------
    k : int
        Number of studies.
    method, test : str
        tau^2 estimator (``FE`` for fixed effect) and test (``z`` or ``knha``; ``z`` when k = 1).
    level : float
        Confidence level in percent.
    estimate, se : float
        Pooled effect and its standard error.
    statistic, pval : float
        z (or t with k-1 df for ``knha``) statistic and two-sided p-value.
    ci_lb, ci_ub : float
        Confidence interval of the pooled effect.
    pi_lb, pi_ub : float
        Prediction interval (equal to the CI when tau^2 = 0).
    tau2 : float
        Between-study variance (0 for FE).
    se_tau2 : float or None
        Its standard error (None for FE and for k = 1).
    i2, h2 : float
        I^2 in percent and H^2.
    q, q_pval : float
        Cochran's Q and its chi^2 p-value (0 and 1 for k = 1).
    iterations : int
        Iterations of the tau^2 estimator.
    converged : bool
        Whether the tau^2 estimator converged.
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    statistic: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    q: float
    q_pval: float
    iterations: int
    converged: bool


def check_options(method: str, test: str, level: float) -> None:
    """Raise ValueError naming the allowed values for an unknown option."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; allowed: {', '.join(TESTS)}")
    if not 0 < level < 100:
        raise ValueError(f"level must be in (0, 100) percent, got {level!r}")


def critical_value(level: float, df: int | None) -> float:
    """Two-sided critical value: normal quantile, or t quantile with ``df`` df."""
    alpha = 1.0 - level / 100.0
    if df is None:
        return norm_ppf(1.0 - alpha / 2.0)
    from scipy import special  # lazy: only Hartung-Knapp needs t quantiles

    return float(special.stdtrit(df, 1.0 - alpha / 2.0))


def two_sided_p(stat: float, df: int | None) -> float:
    """Two-sided p-value of a z (df None) or t statistic."""
    if math.isnan(stat):
        return stat
    if df is None:
        return 2.0 * norm_sf(abs(stat))
    from scipy import special

    return float(2.0 * special.stdtr(df, -abs(stat)))


def wald_statistic(estimate: float, se: float) -> float:
    """estimate / se; with se = 0 (identical effects under Hartung-Knapp) +-inf as in R, so p = 0 as metafor
    reports, and NaN only for 0/0."""
    if se > 0:
        return estimate / se
    return float("nan") if estimate == 0 else float(np.copysign(np.inf, estimate))


def heterogeneity(design: InterceptDesign, tau2: float, method: str):
    """Q, p(Q), I^2 and H^2 as ``rma.uni`` defines them (module docstring).

    Returns ``(q, q_pval, i2, h2)``; for k = 1, ``(0, 1, 0, 1)``.
    """
    k = design.k
    if k == 1:
        return 0.0, 1.0, 0.0, 1.0
    q, _, tr_p, _, _, _ = design.fisher(design.weights(0.0))
    q_pval = chi2_sf(k - 1, q)
    if method == "FE":
        i2 = max(0.0, 100.0 * (q - (k - 1)) / q) if q > 0 else 0.0
        return q, q_pval, i2, q / (k - 1)
    typical = (k - 1) / tr_p
    return q, q_pval, 100.0 * tau2 / (typical + tau2), tau2 / typical + 1.0


def pool_arrays(
    yi,
    vi,
    *,
    method: str,
    test: str,
    level: float,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> PoolCore:
    """Pool effect sizes ``yi`` with sampling variances ``vi`` (fast core path).

    Parameters
    ----------
    yi, vi : array_like
        Per-study effects and sampling variances (finite, vi > 0).
    method : str
        ``FE`` or a tau^2 estimator of :data:`pooling.estimators.METHODS`.
    test : str
        ``z`` or ``knha`` (Hartung-Knapp).
    level : float
        Confidence level in percent.
    max_iter, tol : int, float
        Passed to iterative tau^2 estimators.

    Returns
    -------
    PoolCore
    """
    check_options(method, test, level)
    yi, vi = check_arrays(yi, vi)
    design = InterceptDesign(yi, vi)
    if design.k == 1:
        test = "z"  # rma.uni: with k = 1 only the z test is possible
        est = Tau2Estimate(0.0, None)
    else:
        est = estimate_tau2(design, method, max_iter=max_iter, tol=tol)
    return _summarise(design, est, method, test, level)


def _summarise(design: InterceptDesign, est: Tau2Estimate, method: str, test: str, level: float) -> PoolCore:
    """Build the core answer once tau^2 is known (rma.uni 'model fitting' step)."""
    k, tau2 = design.k, est.tau2
    mu, var, rss, _ = design.wls(design.weights(tau2))
    df = None
    if test == "knha":
        var *= 0.0 if rss <= _EPS else rss / (k - 1)
        df = k - 1
    se = float(np.sqrt(var))
    stat = wald_statistic(mu, se)
    crit = critical_value(level, df)
    pi_half = crit * float(np.sqrt(var + tau2))
    q, q_pval, i2, h2 = heterogeneity(design, tau2, method)
    return PoolCore(
        k=k,
        method=method,
        test=test,
        level=level,
        estimate=mu,
        se=se,
        statistic=stat,
        pval=two_sided_p(stat, df),
        ci_lb=mu - crit * se,
        ci_ub=mu + crit * se,
        pi_lb=mu - pi_half,
        pi_ub=mu + pi_half,
        tau2=tau2,
        se_tau2=est.se_tau2,
        i2=i2,
        h2=h2,
        q=q,
        q_pval=q_pval,
        iterations=est.iterations,
        converged=est.converged,
    )


def study_weights(vi, tau2: float):
    """Weights in percent, 100 w_i / sum(w), w_i = 1/(v_i + tau^2) (metafor ``weights``)."""
    w = 1.0 / (np.asarray(vi, dtype=float) + tau2)
    return 100.0 * w / w.sum()
