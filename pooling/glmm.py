"""Random-effects logistic model for proportions (metafor ``rma.glmm(measure="PLO", method="ML")``).

Study i has x_i events in n_i patients, x_i ~ Binomial(n_i, expit(mu + tau u_i)), u_i ~ N(0, 1):
the binomial-normal model (Stijnen, Hamza & Ozdemir 2010, Stat Med 29:3046-3067; Hamza, van
Houwelingen & Stijnen 2008, J Clin Epidemiol 61:41-51).  It needs no continuity correction, so
studies with no event or with every patient affected enter as they are.

The marginal likelihood of each study is integrated by adaptive Gauss-Hermite quadrature with 7
nodes centred at the conditional mode of u_i and scaled by the curvature there, as lme4's
``glmer(nAGQ = 7)`` does for metafor (Pinheiro & Bates 1995, J Comput Graph Stat 4:12-35).  The
deviance is minimised over (tau, mu) by damped Newton steps; the standard error of mu is, as in
lme4's ``vcov``, from the finite-difference Hessian of the deviance in (tau, mu) with step 1e-4:
var(mu) = [2 H^{-1}]_{mu mu}.  Heterogeneity: the likelihood-ratio test of the common-proportion
model against the saturated one (metafor ``QE.LRT``); I^2 and H^2 from tau^2 and the typical
within-study variance of the logit proportions, which needs a stated continuity correction when a
study has 0 or n events (as metafor's ``add``), and is left out otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NODES = 7
DELTA = 1e-4  # lme4 deriv12 step
_BOUNDARY = 1e-5  # lme4 boundary.tol: tau below this is 0


@dataclass(frozen=True)
class GlmmFit:
    """The fitted binomial-normal model.

    Attributes
    ----------
    k, events, n : int
        Studies, total events, total patients.
    estimate, se : float
        Pooled logit proportion mu and its standard error.
    statistic, pval : float
        Wald z and two-sided p-value.
    ci_lb, ci_ub, pi_lb, pi_ub : float
        Confidence and prediction intervals on the logit scale.
    tau2 : float
        Between-study variance of the logits.
    i2, h2 : float or None
        I^2 (percent) and H^2; None when a zero or all-event study has no stated correction.
    q_lrt, q_lrt_pval : float
        Likelihood-ratio test for heterogeneity, k - 1 df.
    level : float
        Confidence level in percent.
    iterations : int
        Newton iterations.
    converged : bool
        Whether the deviance minimisation met its tolerance.
    """

    k: int
    events: int
    n: int
    estimate: float
    se: float
    statistic: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    i2: float | None
    h2: float | None
    q_lrt: float
    q_lrt_pval: float
    level: float
    iterations: int
    converged: bool

    def back_transformed(self) -> dict[str, float]:
        """Estimate and intervals as proportions (inverse logit)."""
        f = lambda v: float(1.0 / (1.0 + np.exp(-v)))  # noqa: E731
        names = ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
        return {name: f(getattr(self, name)) for name in names}


class _Studies:
    """Counts and the quadrature rule; :meth:`deviances` is -2 log-likelihood (up to a constant) at many
    (tau, mu) points in one vectorised pass: the search evaluates a whole stencil or line at once."""

    def __init__(self, x: np.ndarray, n: np.ndarray) -> None:
        self.x, self.n = x[None, :], n[None, :]
        nodes, weights = np.polynomial.hermite.hermgauss(NODES)
        self.nodes = nodes[None, None, :]
        self.log_weights = (np.log(weights) + nodes**2)[None, None, :]

    def _g(self, u, mu, tau, x, n):
        eta = mu + tau * u
        return x * eta - n * np.logaddexp(0.0, eta) - 0.5 * u * u

    def _modes(self, mu: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conditional modes of u (points x studies) and the curvature scale: Newton on a strictly concave
        function, a step halved where it would lower the function (plain Newton overshoots at 0 or n events),
        then two full Newton steps, which take the quadratically converging modes to rounding: the deviance
        must be smooth to rounding for its finite-difference Hessian."""
        x, n = self.x, self.n
        u = np.zeros((mu.shape[0], x.shape[1]))
        value = self._g(u, mu, tau, x, n)
        for _ in range(100):
            step = self._newton(u, mu, tau)
            for _ in range(60):
                new = self._g(u + step, mu, tau, x, n)
                worse = new < value - 1e-12 * (np.abs(value) + 1.0)
                if not worse.any():
                    break
                step = np.where(worse, 0.5 * step, step)
            u, value = u + step, new
            if np.max(np.abs(step)) < 1e-7 * max(1.0, float(np.abs(u).max())):
                break
        u = u + self._newton(u, mu, tau)
        u = u + self._newton(u, mu, tau)
        p = 0.5 * (1.0 + np.tanh(0.5 * (mu + tau * u)))
        return u, 1.0 / np.sqrt(tau * tau * n * p * (1.0 - p) + 1.0)

    def _newton(self, u, mu, tau):
        p = 0.5 * (1.0 + np.tanh(0.5 * (mu + tau * u)))  # expit without overflow
        return (tau * (self.x - self.n * p) - u) / (tau * tau * self.n * p * (1.0 - p) + 1.0)

    def deviances(self, tau, mu) -> np.ndarray:
        """Deviance at each (tau[j], mu[j]) (adaptive Gauss-Hermite, module docstring)."""
        tau = np.asarray(tau, dtype=float).reshape(-1, 1)
        mu = np.asarray(mu, dtype=float).reshape(-1, 1)
        u, s = self._modes(mu, tau)
        points = u[..., None] + np.sqrt(2.0) * s[..., None] * self.nodes
        terms = self._g(points, mu[..., None], tau[..., None], self.x[..., None], self.n[..., None])
        log_l = np.logaddexp.reduce(terms + self.log_weights, axis=2) + np.log(np.sqrt(2.0) * s)
        return -2.0 * (log_l.sum(axis=1) - 0.5 * self.x.shape[1] * np.log(2 * np.pi))

    def deviance(self, tau: float, mu: float) -> float:
        return float(self.deviances([tau], [mu])[0])


_STENCIL = np.array([(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=float)


def _derivatives(studies: _Studies, theta: np.ndarray, h: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Deviance, gradient and Hessian in (tau, mu) by central differences with step h (lme4 deriv12's
    formulas), from one evaluation of the 9-point stencil."""
    pts = theta[None, :] + h * _STENCIL
    f0, fa0, fs0, fa1, fs1, faa, fas, fsa, fss = studies.deviances(pts[:, 0], pts[:, 1])
    g = np.array([fa0 - fs0, fa1 - fs1]) / (2 * h)
    cross = (faa - fas - fsa + fss) / (4 * h * h)
    hess = np.array([[fa0 - 2 * f0 + fs0, 0.0], [0.0, fa1 - 2 * f0 + fs1]]) / (h * h)
    hess[0, 1] = hess[1, 0] = cross
    return float(f0), g, hess


TAU_GRID = np.logspace(-2, 1.5, 12)  # starting values for tau: 0.01 to 32 on the logit scale
MU_OFFSETS = np.linspace(-6.0, 6.0, 13)


def _start(studies: _Studies, mu0: float) -> np.ndarray:
    """The best point of a (tau, mu) grid around the pooled logit: Newton then starts in the right basin."""
    tau, mu = np.meshgrid(TAU_GRID, mu0 + MU_OFFSETS)
    values = studies.deviances(tau.ravel(), mu.ravel())
    best = int(np.argmin(values))
    return np.array([tau.ravel()[best], mu.ravel()[best]])


def _newton_step(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Newton step on a Hessian with its eigenvalues made positive (a descent direction everywhere)."""
    w, v = np.linalg.eigh(h)
    w = np.maximum(np.abs(w), 1e-8 * max(float(np.abs(w).max()), 1.0))
    return -(v @ ((v.T @ g) / w))


_SCALES = 0.5 ** np.arange(12)


def _minimise(studies: _Studies, start: np.ndarray, *, max_iter: int, tol: float):
    """Modified Newton on the deviance in (tau, mu), the whole backtracking line in one evaluation;
    returns (theta, iterations, converged).

    The deviance depends on tau only through tau^2, so tau runs free over the real line (no bound to
    clamp against) and converges quadratically to 0 when the variance has its maximum on the boundary.
    Converged: a step below ``tol`` (or no further decrease, the rounding floor) where the Hessian is
    positive definite."""
    theta = start.copy()
    for it in range(1, max_iter + 1):
        value, g, h = _derivatives(studies, theta, DELTA)
        step = _newton_step(g, h)
        line = theta[None, :] + _SCALES[:, None] * step[None, :]
        values = studies.deviances(line[:, 0], line[:, 1])
        better = np.flatnonzero(values <= value)
        positive = bool(np.all(np.linalg.eigvalsh(h) > 0))
        if better.size == 0:
            return theta, it, positive
        moved = float(np.abs(line[better[0]] - theta).max())
        theta = line[better[0]]
        if moved <= tol * max(1.0, float(np.abs(theta).max())):
            return theta, it, positive
    return theta, max_iter, False


def _variance_of_mu(studies: _Studies, theta: np.ndarray) -> float:
    """var(mu) = [2 H^{-1}]_{mu mu}, H the Hessian of the deviance in (tau, mu) by central differences with
    Richardson extrapolation (steps 5e-3 and 2.5e-3: error ~1e-9 where lme4's single step 1e-4 has rounding
    noise ~1e-6); at tau = 0, the common-proportion model's 2 / H_{mu mu}."""
    step = 5e-3 if theta[0] == 0.0 else min(5e-3, theta[0] / 2)
    h = (4 * _derivatives(studies, theta, step / 2)[2] - _derivatives(studies, theta, step)[2]) / 3
    if theta[0] == 0.0:
        return 2.0 / float(h[1, 1])
    return 2.0 * float(np.linalg.inv(h)[1, 1])


def _loglik_binomial(x, n, p) -> float:
    """sum x log p + (n - x) log(1 - p), with 0 log 0 = 0 (the binomial coefficients cancel in the LRT)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(x > 0, x * np.log(p), 0.0)
        b = np.where(n - x > 0, (n - x) * np.log1p(-p), 0.0)
    return float((a + b).sum())


def _i2(x: np.ndarray, n: np.ndarray, tau2: float, add: float | None):
    """I^2 and H^2 as rma.glmm: typical within-study variance (k-1)/tr(P) of escalc's PLO variances."""
    zero = (x == 0) | (x == n)
    if zero.any() and add is None:
        return None, None
    cc = (add or 0.0) * zero
    xa, ma = x + cc, n - x + cc
    w = 1.0 / (1.0 / xa + 1.0 / ma)
    typical = (x.shape[0] - 1) / (w.sum() - (w @ w) / w.sum())
    return 100.0 * tau2 / (typical + tau2), tau2 / typical + 1.0


def _counts(xi, ni) -> tuple[np.ndarray, np.ndarray]:
    from pooling.validation import as_column, require

    x = as_column(xi, "xi", None)
    n = as_column(ni, "ni", None, k=x.shape[0])
    require(n >= 1, "ni", "must be >= 1", n, None)
    require((x >= 0) & (x <= n), "xi", "events must be between 0 and ni", x, None)
    require(x == np.round(x), "xi", "events must be whole numbers", x, None)
    if x.shape[0] < 2:
        raise ValueError("the random-effects logistic model needs k >= 2 studies to estimate tau^2")
    if x.sum() == 0 or x.sum() == n.sum():
        what = "no study has an event" if x.sum() == 0 else "every patient has the event"
        raise ValueError(f"the random-effects logistic model cannot be fitted: {what} (no finite estimate)")
    return x, n


def glmm_proportions(
    xi, ni, *, level: float, add: float | None = None, max_iter: int = 200, tol: float = 1e-10
) -> GlmmFit:
    """Fit the binomial-normal model to event counts ``xi`` of ``ni`` patients (module docstring).

    Parameters
    ----------
    xi, ni : array_like
        Events and patients per study (0 and n allowed).
    level : float
        Confidence level in percent (required).
    add : float or None
        Continuity correction used only for I^2/H^2 when a study has 0 or n events; None leaves them out.
    max_iter, tol : int, float
        Newton iterations and tolerance on the parameters.

    Raises
    ------
    ValueError
        For bad counts (naming the field), k < 2, or no finite estimate (no event, or all events).
    """
    from pooling.distributions import chi2_sf
    from pooling.model import critical_value, two_sided_p, wald_statistic

    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 100:
        raise ValueError(f"field 'level' must be a number in (0, 100) percent, got {level!r}")
    x, n = _counts(xi, ni)
    studies = _Studies(x, n)
    p0 = (x.sum() + 0.5) / (n.sum() + 1.0)
    start = _start(studies, float(np.log(p0 / (1 - p0))))
    theta, iterations, converged = _minimise(studies, start, max_iter=max_iter, tol=tol)
    theta[0] = abs(theta[0])
    if theta[0] < _BOUNDARY:  # lme4 sets a variance within boundary.tol of 0 to 0: the common-proportion model
        theta = np.array([0.0, float(np.log(x.sum() / (n.sum() - x.sum())))])
    var = _variance_of_mu(studies, theta)
    mu, se, tau2 = float(theta[1]), float(np.sqrt(var)), float(theta[0] ** 2)
    crit, stat = critical_value(level, None), wald_statistic(float(theta[1]), float(np.sqrt(var)))
    q = max(0.0, -2.0 * (_loglik_binomial(x, n, x.sum() / n.sum()) - _loglik_binomial(x, n, x / n)))
    i2, h2 = _i2(x, n, tau2, add)
    pi_half = crit * float(np.sqrt(var + tau2))
    return GlmmFit(
        k=int(x.shape[0]), events=int(x.sum()), n=int(n.sum()), estimate=mu, se=se, statistic=stat,
        pval=two_sided_p(stat, None), ci_lb=mu - crit * se, ci_ub=mu + crit * se, pi_lb=mu - pi_half,
        pi_ub=mu + pi_half, tau2=tau2, i2=i2, h2=h2, q_lrt=q, q_lrt_pval=chi2_sf(x.shape[0] - 1, q),
        level=float(level), iterations=iterations, converged=converged,
    )  # fmt: skip
