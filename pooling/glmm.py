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
    """Counts and the quadrature rule; :meth:`deviance` is -2 log-likelihood up to a constant."""

    def __init__(self, x: np.ndarray, n: np.ndarray) -> None:
        self.x, self.n = x, n
        nodes, weights = np.polynomial.hermite.hermgauss(NODES)
        self.nodes = nodes[None, :]
        self.log_weights = (np.log(weights) + nodes**2)[None, :]

    def _modes(self, mu: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
        """Conditional modes of u_i (Newton on a strictly concave function) and the curvature scale."""
        u = np.zeros_like(self.x)
        for _ in range(100):
            p = 0.5 * (1.0 + np.tanh(0.5 * (mu + tau * u)))  # expit without overflow
            h = tau * tau * self.n * p * (1.0 - p) + 1.0
            step = (tau * (self.x - self.n * p) - u) / h
            u = u + step
            if np.max(np.abs(step)) < 1e-13:
                break
        p = 0.5 * (1.0 + np.tanh(0.5 * (mu + tau * u)))  # expit without overflow
        return u, 1.0 / np.sqrt(tau * tau * self.n * p * (1.0 - p) + 1.0)

    def deviance(self, tau: float, mu: float) -> float:
        u, s = self._modes(mu, tau)
        points = u[:, None] + np.sqrt(2.0) * s[:, None] * self.nodes
        terms = self._g_points(points, mu, tau)
        log_l = np.logaddexp.reduce(terms + self.log_weights, axis=1) + np.log(np.sqrt(2.0) * s)
        return float(-2.0 * (log_l.sum() - 0.5 * self.x.shape[0] * np.log(2 * np.pi)))

    def _g_points(self, points, mu: float, tau: float):
        eta = mu + tau * points
        return self.x[:, None] * eta - self.n[:, None] * np.logaddexp(0.0, eta) - 0.5 * points * points


def _derivatives(f, theta: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian by central differences, step DELTA, one-sided at a lower bound (lme4 deriv12)."""
    fx = f(theta)
    m = theta.shape[0]
    up = np.full(m, DELTA)
    down = np.where(theta - DELTA < lower, theta - lower, DELTA)
    g, h = np.zeros(m), np.zeros((m, m))

    def at(*moves):
        t = theta.copy()
        for j, d in moves:
            t[j] += d
        return f(t)

    for j in range(m):
        fa, fs = at((j, up[j])), at((j, -down[j]))
        h[j, j] = fa / up[j] ** 2 - 2 * fx / (up[j] * down[j]) + fs / down[j] ** 2
        g[j] = (fa - fs) / (up[j] + down[j])
        for i in range(j):
            h[i, j] = h[j, i] = (
                at((i, up[i]), (j, up[j])) / (up[i] + up[j]) ** 2
                - at((i, up[i]), (j, -down[j])) / (up[i] + down[j]) ** 2
                - at((i, -down[i]), (j, up[j])) / (down[i] + up[j]) ** 2
                + at((i, -down[i]), (j, -down[j])) / (down[i] + down[j]) ** 2
            )
    return g, h


def _minimise(studies: _Studies, start: np.ndarray, *, max_iter: int, tol: float):
    """Damped Newton on the deviance in (tau, mu); returns (theta, iterations, converged).

    The deviance depends on tau only through tau^2, so tau runs free over the real line (no bound to
    clamp against) and converges quadratically to 0 when the variance has its maximum on the boundary."""
    f = lambda t: studies.deviance(t[0], t[1])  # noqa: E731
    theta, value = start.copy(), f(start)
    lower = np.full(2, -np.inf)
    for it in range(1, max_iter + 1):
        g, h = _derivatives(f, theta, lower)
        try:
            step = -np.linalg.solve(h, g) if np.all(np.linalg.eigvalsh(h) > 0) else -g / np.abs(np.diag(h)).max()
        except np.linalg.LinAlgError:
            step = -g / max(np.abs(np.diag(h)).max(), 1.0)
        scale = 1.0
        while scale > 1e-10:
            trial = theta + scale * step  # tau may change sign: the deviance is even in tau
            new = f(trial)
            if new <= value + 1e-12 * abs(value):
                break
            scale /= 2.0
        moved = np.abs(trial - theta).max()
        theta, value = trial, new
        if moved <= tol * max(1.0, np.abs(theta).max()):
            return theta, it, True
    return theta, max_iter, False


def _hessian(f, theta: np.ndarray, h: float) -> np.ndarray:
    out = np.zeros((theta.shape[0],) * 2)
    for i in range(theta.shape[0]):
        for j in range(i + 1):
            ei, ej = np.eye(theta.shape[0])[i] * h, np.eye(theta.shape[0])[j] * h
            out[i, j] = out[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * h * h)
    return out


def _variance_of_mu(studies: _Studies, theta: np.ndarray) -> float:
    """var(mu) = [2 H^{-1}]_{mu mu}, H the Hessian of the deviance in (tau, mu) by central differences with
    Richardson extrapolation (steps 5e-3 and 2.5e-3: error ~1e-9 where lme4's single step 1e-4 has rounding
    noise ~1e-6); at tau = 0, the common-proportion model's 2 / H_{mu mu}."""
    if theta[0] == 0.0:
        f1 = lambda m: studies.deviance(0.0, m[0])  # noqa: E731
        h = (4 * _hessian(f1, theta[1:], 2.5e-3) - _hessian(f1, theta[1:], 5e-3)) / 3
        return 2.0 / float(h[0, 0])
    f = lambda t: studies.deviance(t[0], t[1])  # noqa: E731
    step = min(5e-3, theta[0] / 2)
    h = (4 * _hessian(f, theta, step / 2) - _hessian(f, theta, step)) / 3
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
    from pooling.model import critical_value, two_sided_p, wald_statistic

    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 100:
        raise ValueError(f"field 'level' must be a number in (0, 100) percent, got {level!r}")
    x, n = _counts(xi, ni)
    studies = _Studies(x, n)
    p0 = (x.sum() + 0.5) / (n.sum() + 1.0)
    start = np.array([1.0, np.log(p0 / (1 - p0))])
    theta, iterations, converged = _minimise(studies, start, max_iter=max_iter, tol=tol)
    theta[0] = abs(theta[0])
    if theta[0] < _BOUNDARY:  # lme4 sets a variance within boundary.tol of 0 to 0: the common-proportion model
        theta = np.array([0.0, float(np.log(x.sum() / (n.sum() - x.sum())))])
    var = _variance_of_mu(studies, theta)
    mu, se, tau2 = float(theta[1]), float(np.sqrt(var)), float(theta[0] ** 2)
    crit, stat = critical_value(level, None), wald_statistic(float(theta[1]), float(np.sqrt(var)))
    q = max(0.0, -2.0 * (_loglik_binomial(x, n, x.sum() / n.sum()) - _loglik_binomial(x, n, x / n)))
    from scipy import special

    i2, h2 = _i2(x, n, tau2, add)
    pi_half = crit * float(np.sqrt(var + tau2))
    return GlmmFit(
        k=int(x.shape[0]), events=int(x.sum()), n=int(n.sum()), estimate=mu, se=se, statistic=stat,
        pval=two_sided_p(stat, None), ci_lb=mu - crit * se, ci_ub=mu + crit * se, pi_lb=mu - pi_half,
        pi_ub=mu + pi_half, tau2=tau2, i2=i2, h2=h2, q_lrt=q, q_lrt_pval=float(special.chdtrc(x.shape[0] - 1, q)),
        level=float(level), iterations=iterations, converged=converged,
    )  # fmt: skip
