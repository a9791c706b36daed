"""Q-profile confidence interval for tau^2 (metafor ``confint.rma.uni``, type "QP").

The bounds solve Q_gen(tau2) = sum w_i(tau2) (y_i - mu(tau2))^2 = chi^2 quantiles
with k - 1 df, w_i = 1/(v_i + tau2); Q_gen decreases in tau2, so
Q_gen(lb) = chi^2_{1-alpha/2} and Q_gen(ub) = chi^2_{alpha/2}; a bound is 0 when
Q_gen(0) is already below its quantile (Viechtbauer 2007, Stat Med 26:37-52).
The same interval is reported whatever the tau^2 estimator, as metafor does.
Unlike metafor's default search cap (tau2.max = 100) the upper bound is always
the true root.
"""

from __future__ import annotations

from dataclasses import dataclass

from pooling.design import InterceptDesign
from pooling.distributions import chi2_isf
from pooling.estimators import solve_q
from pooling.validation import check_arrays


@dataclass(frozen=True)
class Tau2Interval:
    """Confidence interval of tau^2.

    Attributes
    ----------
    lb, ub : float
        Lower and upper bound (Q-profile).
    level : float
        Confidence level in percent.
    """

    lb: float
    ub: float
    level: float


def tau2_confint(yi, vi, *, level: float, tol: float = 1e-12) -> Tau2Interval:
    """Q-profile confidence interval of tau^2 for an intercept-only model (k >= 2).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    level : float
        Confidence level in percent.
    tol : float
        Absolute (relative above 1) tolerance of the root finder.

    Returns
    -------
    Tau2Interval
    """
    yi, vi = check_arrays(yi, vi)
    k = yi.shape[0]
    if k < 2:
        raise ValueError("a confidence interval for tau^2 needs k >= 2 studies")
    alpha = 1.0 - level / 100.0
    design = InterceptDesign(yi, vi)
    crit_u = chi2_isf(k - 1, alpha / 2)  # upper quantile
    crit_l = chi2_isf(k - 1, 1 - alpha / 2)  # lower quantile
    lb = solve_q(design, crit_u, tol=tol)[0]
    ub = solve_q(design, crit_l, tol=tol)[0]
    return Tau2Interval(float(lb), float(ub), level)
