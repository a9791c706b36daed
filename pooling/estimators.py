"""Estimators of the between-study variance tau^2, as metafor's ``rma.uni`` computes them.

Each estimator returns a :class:`Tau2Estimate` with tau^2 (truncated at 0),
its standard error by the estimator's own formula, and convergence information.
Formulas follow metafor 3.8 ``rma.uni`` (Viechtbauer 2010, J Stat Softw 36(3))
and the sources it cites:

- ``DL``: DerSimonian & Laird (1986), Control Clin Trials 7:177-188.
- ``HS``: Hunter & Schmidt (2004), Methods of Meta-Analysis, 2nd ed.
- ``SJ``: Sidik & Jonkman (2005), J Biopharm Stat 15:823-838.
- ``PM``: Paule & Mandel (1982), J Res Natl Bur Stand 87:377-385.
- ``ML``/``REML``: Fisher scoring, Viechtbauer (2005), J Educ Behav Stat 30:261-293.
- ``EB``: Morris (1983), J Am Stat Assoc 78:47-55; Berkey et al. (1995).
- ``HE`` (start value for ML/REML/EB): Hedges (1983), Psychol Bull 93:388-395.

SE(tau^2) formulas are those of ``rma.uni`` (see metafor's notes.pdf).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pooling.design import Design, InterceptDesign

METHODS = ("FE", "DL", "REML", "PM", "ML", "HS", "SJ", "EB")


@dataclass(frozen=True)
class Tau2Estimate:
    """An estimate of tau^2.

    Attributes
    ----------
    tau2 : float
        Between-study variance, truncated at 0.
    se_tau2 : float or None
        Standard error by the estimator's formula (None for FE).
    iterations : int
        Iterations used (0 for closed-form estimators).
    converged : bool
        Whether an iterative estimator met the tolerance within ``max_iter``.
    """

    tau2: float
    se_tau2: float | None
    iterations: int = 0
    converged: bool = True


def estimate_tau2(design: Design, method: str, *, max_iter: int = 1000, tol: float = 1e-10) -> Tau2Estimate:
    """Estimate tau^2 with one of metafor's estimators.

    Parameters
    ----------
    design : InterceptDesign or RegressionDesign
        Data and model matrix (needs k > p).
    method : str
        One of :data:`METHODS`.
    max_iter, tol : int, float
        Iteration limit and tolerance on the change in tau^2 (absolute below 1,
        relative above) for ML/REML/EB and PM; metafor's ``threshold``.

    Returns
    -------
    Tau2Estimate

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`METHODS`.
    """
    if method == "FE":
        return Tau2Estimate(0.0, None)
    if method in ("DL", "HS"):
        return _dl_hs(design, method)
    if method == "SJ":
        return _sj(design)
    if method == "PM":
        return _pm(design, max_iter=max_iter, tol=tol)
    if method in ("ML", "REML") and isinstance(design, InterceptDesign):
        return _global_likelihood(design, method, max_iter=max_iter, tol=tol)
    if method in ("ML", "REML", "EB"):
        return _fisher_scoring(design, method, max_iter=max_iter, tol=tol)
    raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")


def _dl_hs(design: Design, method: str) -> Tau2Estimate:
    """DL: (Q - (k-p)) / tr(P); HS: (Q - k) / sum(w); w = 1/v (rma.uni)."""
    k, p = design.k, design.p
    a = design.weights(0.0)
    rss, _, tr_p, tr_pp, s1, _ = design.fisher(a)
    denom = tr_p if method == "DL" else s1
    tau2 = max(0.0, (rss - (k - p if method == "DL" else k)) / denom)
    var = (2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * tr_pp) / denom**2
    return Tau2Estimate(tau2, float(np.sqrt(var)))


def _sj(design: Design) -> Tau2Estimate:
    """Sidik-Jonkman: tau0 = mean((y - ybar)^2), tau2 = tau0 * Q(tau0) / (k - p)."""
    k, p, y = design.k, design.p, design.yi
    tau0 = float(np.mean((y - y.mean()) ** 2))
    a = design.weights(tau0)
    rss = design.wls(a)[2]
    tau2 = max(0.0, tau0 * rss / (k - p))
    t = design.traces(a)
    var = tau0**2 / (k - p) ** 2 * (2 * t.tr_pvpv + 4 * tau2 * t.tr_pvp + 2 * tau2**2 * t.tr_pp)
    return Tau2Estimate(tau2, float(np.sqrt(var)))


def _se_eb_pm(design: Design, tau2: float) -> float:
    """SE for EB and PM: sqrt(2 k^2 / (k - p)) / sum(1/(v + tau2)) (rma.uni)."""
    s = float(design.weights(tau2).sum())
    return float(np.sqrt(2 * design.k**2 / (design.k - design.p)) / s)


def q_of_tau2(design: Design, tau2: float) -> tuple[float, float]:
    """Generalised Q(tau2) = y'P(tau2)y and its derivative -y'PPy."""
    _, _, rss, ypppy = design.wls(design.weights(tau2))
    return rss, -ypppy


def solve_q(design: Design, target: float, *, max_iter: int = 1000, tol: float = 1e-10):
    """Root of Q(tau2) = target on tau2 >= 0 (Q is decreasing in tau2).

    Safeguarded Newton-Raphson with bisection inside a bracket, the root that
    metafor finds with ``uniroot`` (Paule-Mandel; Q-profile, Viechtbauer 2007,
    Stat Med 26:37-52).  Returns ``(root, iterations, converged)``; the root is
    0 when Q(0) <= target.
    """
    lo, q_lo = 0.0, q_of_tau2(design, 0.0)[0]
    if q_lo <= target:
        return 0.0, 0, True
    hi = max(1.0, float(np.var(design.yi)))
    while q_of_tau2(design, hi)[0] > target:
        lo, hi = hi, hi * 10.0
    x, fx = lo, q_of_tau2(design, lo)
    for it in range(1, max_iter + 1):
        f, d = fx[0] - target, fx[1]
        if f > 0:
            lo = x
        else:
            hi = x
        step = x - f / d if d < 0 else 0.5 * (lo + hi)
        new = step if lo < step < hi else 0.5 * (lo + hi)
        if abs(new - x) <= tol * max(1.0, abs(new)):
            return new, it, True
        x, fx = new, q_of_tau2(design, new)
    return x, max_iter, False


def _pm(design: Design, *, max_iter: int, tol: float) -> Tau2Estimate:
    """Paule-Mandel: the tau2 >= 0 with Q(tau2) = k - p."""
    tau2, it, ok = solve_q(design, design.k - design.p, max_iter=max_iter, tol=tol)
    return Tau2Estimate(tau2, _se_eb_pm(design, tau2), it, ok)


def _he(design: Design) -> float:
    """Hedges (HE) estimator, start value: (RSS_ols - tr(P_ols V)) / (k - p)."""
    rss = design.wls(np.ones(design.k))[2]
    return (rss - design.tr_pv_unweighted()) / (design.k - design.p)


def _fisher_step(design: Design, method: str, tau2: float) -> float:
    """One step for tau^2: Fisher scoring (rma.uni, Viechtbauer 2005 eqs. 8-12); for REML on the plain
    random-effects model a Newton step on the exact information where the likelihood is concave, which
    reaches the same root in a third of the iterations (quadratic rather than linear convergence)."""
    if method == "REML" and isinstance(design, InterceptDesign):
        ypppy, tr_p, tr_pp, yp3y = design.reml_newton(design.weights(tau2))
        observed_information = yp3y - 0.5 * tr_pp  # minus the derivative of the score 0.5 (y'PPy - tr P)
        if observed_information > 0:
            return 0.5 * (ypppy - tr_p) / observed_information
        return (ypppy - tr_p) / tr_pp
    rss, ypppy, tr_p, tr_pp, s1, s2 = design.fisher(design.weights(tau2))
    if method == "EB":
        k = design.k
        return (rss * k / (k - design.p) - k) / s1
    if method == "ML":
        return (ypppy - s1) / s2
    return (ypppy - tr_p) / tr_pp


def _fisher_scoring(design: Design, method: str, *, max_iter: int, tol: float) -> Tau2Estimate:
    """ML/REML/EB by Fisher scoring from max(0, HE) with step halving at 0."""
    tau2 = max(0.0, _he(design))
    converged, it = False, 0
    while it < max_iter:
        it += 1
        adj = _fisher_step(design, method, tau2)
        if tau2 + adj < 0:  # rma.uni halves the step until tau2 stays >= 0
            adj = -tau2 if tau2 == 0.0 else adj
            while tau2 + adj < 0:
                adj /= 2.0
        tau2 += adj
        if abs(adj) <= tol * max(1.0, tau2):
            converged = True
            if method == "REML" and isinstance(design, InterceptDesign):
                # One more Newton step costs little and, converging quadratically, takes the last
                # error (~tol) down to rounding: this matters for I^2 when tau^2 is near zero.
                tau2 = max(0.0, tau2 + _fisher_step(design, method, tau2))
            break
    if converged and method != "EB" and tau2 > tol and _ll_gain_at_zero(design, method, tau2):
        tau2 = 0.0  # rma.uni's ll0check: a boundary maximum beats the interior point
    return Tau2Estimate(tau2, _se_likelihood(design, method, tau2), it, converged)


def _loglik_gain(design: Design, method: str, tau2: float) -> float:
    """ML or REML log-likelihood at tau2 minus that at 0 (Viechtbauer 2005, eqs. 4 and 6)."""
    a = design.weights(0.0)
    ll0 = -0.5 * design.wls(a)[2] - (0.5 * design.logdet_xwx(a) if method == "REML" else 0.0)
    a = design.weights(tau2)
    ll = -0.5 * design.log_ratio_sum(tau2) - 0.5 * design.wls(a)[2]
    return ll - (0.5 * design.logdet_xwx(a) if method == "REML" else 0.0) - ll0


def _ll_gain_at_zero(design: Design, method: str, tau2: float) -> bool:
    """True when the log-likelihood at tau2 = 0 exceeds that at the estimate (rma.uni ll0check)."""
    return -_loglik_gain(design, method, tau2) > 1e-12


def _se_likelihood(design: Design, method: str, tau2: float) -> float:
    """SE(tau2): ML sqrt(2/sum w^2); REML sqrt(2/tr(PP)); EB as PM (rma.uni)."""
    a = design.weights(tau2)
    if method == "ML":
        return float(np.sqrt(2.0 / float(a @ a)))
    if method == "REML":
        return float(np.sqrt(2.0 / design.tr_p_pp(a)[1]))
    return _se_eb_pm(design, tau2)


# --- The highest likelihood peak ----------------------------------------------------------------------------
# The ML/REML likelihood in tau^2 can have several peaks when sampling variances differ by orders of magnitude
# (issue 16: a start at HE reached tau^2 = 0.079 where the maximum is 1.1824).  A profile over a log-spaced grid
# (with 0) locates every peak the grid resolves; a safeguarded Newton search on the score inside the bracket of
# each grid peak polishes it, and the highest wins.

GRID_POINTS = 40
GRID_DECADES = 12.0
MAX_PEAKS = 3


def log_likelihood(yi, vi, tau2: float, method: str) -> float:
    """ML or REML log-likelihood of the random-effects model at tau2 (metafor ``logLik``, Viechtbauer 2005)."""
    design = InterceptDesign(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float))
    return _loglik(design, method, tau2) - 0.5 * float(np.log(design.vi).sum()) - _log2pi(design.k, method)


def _log2pi(k: int, method: str) -> float:
    return 0.5 * (k - (1 if method == "REML" else 0)) * float(np.log(2 * np.pi))


def _loglik(design: InterceptDesign, method: str, tau2: float) -> float:
    """Log-likelihood up to a constant: -1/2 [sum log(1 + tau2/v) + y'Py (+ log sum w for REML)].

    Only S1 and y'Py are needed, so this makes three passes over the studies, not the eight of
    :meth:`InterceptDesign.sums`: the grid profile calls it ~40 times per fit."""
    a = design.weights(tau2)
    s1 = float(a.sum())
    m = float(a @ design.yc) / s1
    e = np.subtract(design.yc, m, out=design._t)
    rss = float(np.multiply(a, e, out=design._u) @ e)  # residuals first: see InterceptDesign.sums
    ll = -0.5 * design.log_ratio_sum(tau2) - 0.5 * rss
    return ll - (0.5 * float(np.log(s1)) if method == "REML" else 0.0)


def _loglik_expanded(design: InterceptDesign, method: str, tau2: float) -> float:
    """:func:`_loglik` with y'Py = sum a c^2 - m^2 S1 (three passes, not five): enough to locate the grid's
    peaks at large k, where the grid is most of a fit's time; the peaks found are compared by :func:`_loglik`."""
    a = design.weights(tau2)
    s1 = float(a.sum())
    ac = np.multiply(a, design.yc, out=design._t)
    m = float(ac.sum()) / s1
    rss = max(float(ac @ design.yc) - m * m * s1, 0.0)
    ll = -0.5 * design.log_ratio_sum(tau2) - 0.5 * rss
    return ll - (0.5 * float(np.log(s1)) if method == "REML" else 0.0)


def _score(design: InterceptDesign, method: str, tau2: float) -> tuple[float, float]:
    """Twice the score in tau2 and its derivative: REML y'PPy - tr P, ML y'PPy - sum w."""
    ypppy, tr_p, tr_pp, yp3y = design.reml_newton(design.weights(tau2))
    if method == "REML":
        return ypppy - tr_p, tr_pp - 2.0 * yp3y
    a = design.weights(tau2)
    return ypppy - float(a.sum()), float(a @ a) - 2.0 * yp3y


def tau2_grid(design: InterceptDesign) -> np.ndarray:
    """0 and GRID_POINTS log-spaced values over GRID_DECADES below an upper bound that no peak exceeds by much:
    10 x (the spread of the effects squared + the largest variance)."""
    spread = float(np.ptp(design.yi)) ** 2
    top = 10.0 * (spread + float(design.vi.max())) if spread > 0 else float(design.vi.max())
    return np.concatenate([[0.0], np.logspace(np.log10(top) - GRID_DECADES, np.log10(top), GRID_POINTS)])


def grid_loglik(yc: np.ndarray, vi: np.ndarray, method: str, grid: np.ndarray) -> np.ndarray:
    """The profile log-likelihood (up to a constant, as :func:`_loglik`) at every grid value at once: one
    (grid x k) pass for small k, a loop over grid values when that matrix would be large."""
    if grid.shape[0] * yc.shape[0] > 400_000:
        design = InterceptDesign(yc, vi)
        return np.array([_loglik_expanded(design, method, t) for t in grid])
    w = 1.0 / (vi[None, :] + grid[:, None])
    s1 = w.sum(axis=1)
    m = (w @ yc) / s1
    rss = np.maximum((w @ (yc * yc)) - m * m * s1, 0.0)
    ll = -0.5 * np.log1p(grid[:, None] / vi[None, :]).sum(axis=1) - 0.5 * rss
    return ll - (0.5 * np.log(s1) if method == "REML" else 0.0)


def _grid_peaks(design: InterceptDesign, method: str, grid: np.ndarray) -> list[int]:
    """Indices of local maxima of the profile on the grid, highest first (at most MAX_PEAKS)."""
    ll = grid_loglik(design.yc, design.vi, method, grid)
    left = np.concatenate([[-np.inf], ll[:-1]])
    right = np.concatenate([ll[1:], [-np.inf]])
    peaks = np.flatnonzero((ll >= left) & (ll >= right))
    return sorted(peaks.tolist(), key=lambda i: -ll[i])[:MAX_PEAKS]


def _bracket(design: InterceptDesign, method: str, grid: np.ndarray, i: int) -> tuple[float, float]:
    """[lo, hi] around grid peak i with score(lo) > 0 (or lo = 0) and score(hi) < 0."""
    lo = grid[i - 1] if i > 0 else 0.0
    hi = grid[i + 1] if i + 1 < grid.shape[0] else grid[i]
    while _score(design, method, hi)[0] > 0:
        lo, hi = hi, hi * 10.0
    return lo, hi


def _polish(design: InterceptDesign, method: str, lo: float, hi: float, *, max_iter: int, tol: float):
    """Root of the score in [lo, hi] by Newton steps kept inside the bracket (bisection otherwise).

    Returns ``(tau2, iterations, converged)``; 0 when the score is already <= 0 at lo = 0.
    """
    if lo == 0.0 and _score(design, method, 0.0)[0] <= 0:
        return 0.0, 0, True
    x = 0.5 * (lo + hi)
    for it in range(1, max_iter + 1):
        f, d = _score(design, method, x)
        lo, hi = (x, hi) if f > 0 else (lo, x)
        step = x - f / d if d < 0 else 0.5 * (lo + hi)
        new = step if lo < step < hi else 0.5 * (lo + hi)
        if abs(new - x) <= tol * max(1.0, abs(new)):
            return _newton_finish(design, method, new, lo, hi), it, True
        x = new
    return x, max_iter, False


def _newton_finish(design: InterceptDesign, method: str, x: float, lo: float, hi: float) -> float:
    """One more Newton step when the search stopped on a bisection step: a step inside the tolerance is not
    an error inside it, and leave-one-out (which ends on Newton steps) must agree with a refit to 1e-9."""
    f, d = _score(design, method, x)
    step = x - f / d if d < 0 else x
    width = hi - lo  # the bracket ends are rounded too: a root at its edge may sit a rounding outside
    return step if lo - width <= step <= hi + width and step >= 0 else x


def _global_likelihood(design: InterceptDesign, method: str, *, max_iter: int, tol: float) -> Tau2Estimate:
    """The highest ML/REML peak: grid profile, then a bracketed Newton search from each grid peak."""
    grid = tau2_grid(design)
    best, best_ll, total, ok = 0.0, -np.inf, 0, True
    for i in _grid_peaks(design, method, grid):
        lo, hi = _bracket(design, method, grid, i)
        tau2, it, converged = _polish(design, method, lo, hi, max_iter=max_iter, tol=tol)
        total, ll = total + it, _loglik(design, method, tau2)
        if ll > best_ll:
            best, best_ll, ok = tau2, ll, converged
    return Tau2Estimate(best, _se_likelihood(design, method, best), total, ok)
