"""Multilevel model for repeated time points within studies (metafor ``rma.mv(random = ~ 1 | study/time)``).

Effect j of study s (one per time point) is y_sj = mu + u_s + w_sj + e_sj with u_s ~ N(0, sigma2_study),
w_sj ~ N(0, sigma2_time) and e_sj ~ N(0, v_sj): all follow-up times of a study enter one analysis, their
shared study effect modelled (Konstantopoulos 2011, Res Synth Methods 2:61-76; Viechtbauer 2010).

Each study's marginal covariance is D + sigma2_study 11' with D = diag(v + sigma2_time), inverted in closed
form (Sherman-Morrison): with a = 1/(v + sigma2_time), A = sum a, B = sum a y per study,
1'S^-1 1 = A/(1 + sigma2_study A), 1'S^-1 y = B/(1 + sigma2_study A),
y'S^-1 y = sum a y^2 - sigma2_study B^2/(1 + sigma2_study A), log|S| = sum log(v + sigma2_time) +
log(1 + sigma2_study A).  The REML log-likelihood -1/2 [sum log|S| + log(1'S^-1 1) + r'S^-1 r] is
maximised over both variances >= 0 (bounded quasi-Newton, then Newton steps on interior parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MultilevelFit:
    """The fitted model: pooled effect, its test and interval, both variance components, Q."""

    k: int
    studies: int
    estimate: float
    se: float
    statistic: float
    pval: float
    ci_lb: float
    ci_ub: float
    sigma2_study: float
    sigma2_time: float
    q: float
    q_pval: float
    level: float


class _Data:
    def __init__(self, yi: np.ndarray, vi: np.ndarray, study: np.ndarray) -> None:
        self.yi, self.vi = yi, vi
        _, self.group = np.unique(study, return_inverse=True)
        self.g = int(self.group.max()) + 1

    def _per_study(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.group, weights=values, minlength=self.g)

    def gls(self, s_study: float, s_time: float):
        """(mu, var(mu), -2 REML log-likelihood up to a constant)."""
        a = 1.0 / (self.vi + s_time)
        big_a, big_b = self._per_study(a), self._per_study(a * self.yi)
        yy = self._per_study(a * self.yi**2)
        f = 1.0 + s_study * big_a
        one, oney, yiy = big_a / f, big_b / f, yy - s_study * big_b**2 / f
        total = one.sum()
        mu = oney.sum() / total
        rss = (yiy - 2 * mu * oney + mu * mu * one).sum()
        logdet = np.log(self.vi + s_time).sum() + np.log(f).sum()
        return mu, 1.0 / total, float(logdet + np.log(total) + rss)


def _fit_variances(data: _Data) -> np.ndarray:
    from scipy import optimize

    f = lambda t: data.gls(t[0], t[1])[2]  # noqa: E731
    scale = max(float(np.var(data.yi)), 1e-8)
    best = None
    for start in ((0.5, 0.5), (0.1, 0.9), (0.9, 0.1)):
        res = optimize.minimize(f, np.array(start) * scale, method="L-BFGS-B", bounds=[(0, None), (0, None)],
                                options={"ftol": 1e-16, "gtol": 1e-13, "maxiter": 10_000})  # fmt: skip
        if best is None or res.fun < best.fun:
            best = res
    return _polish(f, np.maximum(best.x, 0.0), scale)


def _polish(f, theta: np.ndarray, scale: float) -> np.ndarray:
    """Newton steps with central differences on the parameters away from 0 (the boundary ones stay at 0)."""
    free = theta > 1e-8 * scale
    for _ in range(50):
        if not free.any():
            return theta
        h = 1e-4 * np.maximum(theta, scale * 1e-3)
        idx = np.flatnonzero(free)
        g = np.zeros(idx.shape[0])
        hess = np.zeros((idx.shape[0], idx.shape[0]))
        for a, i in enumerate(idx):
            e = np.zeros(2)
            e[i] = h[i]
            g[a] = (f(theta + e) - f(theta - e)) / (2 * h[i])
            for b, j in enumerate(idx):
                e2 = np.zeros(2)
                e2[j] = h[j]
                hess[a, b] = (f(theta + e + e2) - f(theta + e - e2) - f(theta - e + e2) + f(theta - e - e2)) / (
                    4 * h[i] * h[j]
                )
        if np.any(np.linalg.eigvalsh(hess) <= 0):
            return theta
        step = np.linalg.solve(hess, g)
        new = theta.copy()
        new[idx] -= step
        if np.any(new < 0) or f(new) > f(theta):
            return theta
        if np.abs(step).max() <= 1e-12 * max(1.0, float(np.abs(theta).max())):
            return new
        theta = new
    return theta


def multilevel(yi, vi, study, *, level: float) -> MultilevelFit:
    """REML fit of the two-level model (module docstring); ``study`` labels each row's study."""
    from pooling.design import InterceptDesign
    from pooling.model import critical_value, heterogeneity, two_sided_p, wald_statistic
    from pooling.validation import check_arrays

    yi, vi = check_arrays(yi, vi)
    study = np.asarray([str(s) for s in study])
    if study.shape[0] != yi.shape[0]:
        raise ValueError(f"field 'study' has {study.shape[0]} values for {yi.shape[0]} effects")
    data = _Data(yi, vi, study)
    if data.g < 2 or yi.shape[0] <= data.g:
        raise ValueError("the multilevel model needs >= 2 studies and more effects than studies")
    s_study, s_time = _fit_variances(data)
    mu, var, _ = data.gls(s_study, s_time)
    se = float(np.sqrt(var))
    crit, stat = critical_value(level, None), wald_statistic(float(mu), se)
    q, q_pval, _, _ = heterogeneity(InterceptDesign(yi, vi), 0.0, "FE")
    return MultilevelFit(
        k=int(yi.shape[0]), studies=data.g, estimate=float(mu), se=se, statistic=stat, pval=two_sided_p(stat, None),
        ci_lb=float(mu - crit * se), ci_ub=float(mu + crit * se), sigma2_study=float(s_study),
        sigma2_time=float(s_time), q=q, q_pval=q_pval, level=float(level),
    )  # fmt: skip
