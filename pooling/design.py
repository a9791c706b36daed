"""Weighted least-squares algebra of the normal-normal meta-analytic model.

Every heterogeneity estimator in :mod:`pooling.estimators` is written in terms
of a handful of quadratic forms and traces of the projection-type matrix

.. math:: P = W - W X (X^\\top W X)^{-1} X^\\top W, \\qquad W = \\mathrm{diag}(a_i),

with :math:`a_i` a vector of weights (``1/v_i``, ``1/(v_i + \\tau^2)`` or 1),
exactly as in metafor's ``rma.uni`` (Viechtbauer 2010, J Stat Softw 36(3);
Viechtbauer 2005, J Educ Behav Stat 30:261-293).  The matrices are never formed:
for an intercept-only model every quantity is a closed-form sum over studies,
and for a meta-regression with one moderator (used by Egger's test) the
algebra reduces to 2 x 2 matrices, so time and memory are O(k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Traces:
    """Traces of products of P and V = diag(v) needed by the SE(tau^2) formulas.

    Attributes
    ----------
    tr_p : float
        tr(P).
    tr_pp : float
        tr(PP).
    tr_pv : float
        tr(PV).
    tr_pvpv : float
        tr(PVPV).
    tr_pvp : float
        tr(PVP).
    """

    tr_p: float
    tr_pp: float
    tr_pv: float
    tr_pvpv: float
    tr_pvp: float


def trace_p(a: Array, s1: float, s2: float) -> float:
    """tr(P) = S1 - S2/S1 of an intercept-only model, as 2 e2 / S1 with e2 = sum_(j<l) a_j a_l (positive terms
    only): the difference S1 - S2/S1 loses eight digits when one weight dominates (v = 1e-10 beside v = 1),
    and with it DerSimonian-Laird's tau^2 and I^2."""
    if s2 <= 0.5 * s1 * s1:  # no weight holds half the total: S1 - S2/S1 >= S1/2 keeps its digits
        return s1 - s2 / s1
    before = np.cumsum(a[:-1])  # the sum of the terms before each term: no term is added and taken away
    return 2.0 * float(a[1:] @ before) / s1


class InterceptDesign:
    """Intercept-only model (X = 1): the plain meta-analysis, closed-form sums.

    With centred effects c_i = y_i - mean(y) (metafor also centres, for
    stability) and S_j = sum(a^j), every quantity is a handful of dot products:
    y'Py = sum(a c^2) - (sum(a c))^2 / S_1 and, since Py = a (c - m) with
    m = sum(a c)/S_1, y'PPy = sum(a^2 c^2) - 2 m sum(a^2 c) + m^2 S_2.
    Work buffers are reused so that the iteration allocates no k-sized arrays.

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Effect sizes and sampling variances (validated by the caller).
    """

    p = 1

    def __init__(self, yi: Array, vi: Array) -> None:
        self.yi = yi
        self.vi = vi
        self.k = yi.shape[0]
        self.centre = float(yi.mean())
        self.yc = yi - self.centre
        self._w, self._t, self._u = np.empty((3, self.k))

    def weights(self, tau2: float) -> Array:
        """1/(v + tau2) in a reused buffer: valid until the next call."""
        np.add(self.vi, tau2, out=self._w)
        return np.divide(1.0, self._w, out=self._w)

    def sums(self, a: Array) -> tuple[float, float, float, float, float, float]:
        """``(S1, S2, S3, m, y'Py, y'PPy)`` for weights a (class docstring).

        y'Py = sum a e^2 and y'PPy = sum (a e)^2 with the residuals e = c - m formed first: the expanded
        sums (sum a c^2 - m^2 S1) cancel catastrophically when one weight dominates (v = 1e-10 beside v = 1)."""
        s1 = float(a.sum())
        s2 = float(a @ a)
        m = float(a @ self.yc) / s1
        e = np.subtract(self.yc, m, out=self._t)
        ae = np.multiply(a, e, out=self._u)
        rss, ypppy = float(ae @ e), float(ae @ ae)
        a2 = np.multiply(a, a, out=self._t)
        return s1, s2, float(a2 @ a), m, rss, ypppy

    def wls(self, a: Array) -> tuple[float, float, float, float]:
        """Weighted mean, its variance 1/S1, y'Py and y'PPy for weights a."""
        s1, _, _, m, rss, ypppy = self.sums(a)
        return m + self.centre, 1.0 / s1, max(rss, 0.0), ypppy

    def fisher(self, a: Array) -> tuple[float, float, float, float, float, float]:
        """``(y'Py, y'PPy, tr P, tr PP, S1, S2)`` from one pass of :meth:`sums`.

        tr(P) by :func:`trace_p` and tr(PP) = S2 - 2 S3/S1 + (S2/S1)^2.
        """
        s1, s2, s3, _, rss, ypppy = self.sums(a)
        return rss, ypppy, trace_p(a, s1, s2), s2 - 2.0 * s3 / s1 + (s2 / s1) ** 2, s1, s2

    def reml_newton(self, a: Array) -> tuple[float, float, float, float]:
        """``(y'PPy, tr P, tr PP, y'PPPy)`` for a Newton step on the REML score.

        With r = Py = a (y - mu): y'PPPy = r'Pr = sum a r^2 - (sum a r)^2 / S1.
        """
        s1, s2, s3, _, _, ypppy = self.sums(a)
        r = self._u  # sums() leaves Py = a (c - m) here
        d = np.subtract(r, float(a @ r) / s1, out=self._t)  # r'Pr = sum a (r - sum(a r)/S1)^2, centred first
        yp3y = float(np.multiply(a, d, out=self._u) @ d)
        return ypppy, s1 - s2 / s1, s2 - 2.0 * s3 / s1 + (s2 / s1) ** 2, yp3y

    def tr_p_pp(self, a: Array) -> tuple[float, float]:
        """tr(P) and tr(PP) for weights a."""
        return self.fisher(a)[2:4]

    def traces(self, a: Array) -> Traces:
        """All traces of :class:`Traces` for weights a (see module docstring)."""
        v = self.vi
        s = float(a.sum())
        a2 = a * a
        s2 = float(a2.sum())
        av = a * v
        tr_p, tr_pp = s - s2 / s, s2 - 2.0 * float(a2 @ a) / s + (s2 / s) ** 2
        tr_pv = float(av.sum()) - float(a2 @ v) / s
        tr_pvpv = float(av @ av) - 2.0 * float(av @ (av * a)) / s + (float(av @ a) / s) ** 2
        tr_pvp = float(a2 @ v) - 2.0 * float(a2 @ av) / s + s2 * float(a2 @ v) / s**2
        return Traces(tr_p, tr_pp, tr_pv, tr_pvpv, tr_pvp)

    def logdet_xwx(self, a: Array) -> float:
        """log det(X'WX) = log(sum a)."""
        return float(np.log(a.sum()))

    def tr_pv_unweighted(self) -> float:
        """tr(P V) for unit weights: sum(v) (1 - 1/k)."""
        return float(self.vi.sum()) * (1.0 - 1.0 / self.k)

    def log_ratio_sum(self, tau2: float) -> float:
        """sum(log(v + tau2)) - sum(log v) = sum(log1p(tau2 / v)), one pass in the buffer."""
        np.divide(tau2, self.vi, out=self._t)
        return float(np.log1p(self._t, out=self._t).sum())


class RegressionDesign:
    """Model with intercept and moderators X (k x p, small p), as for Egger's test.

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Effect sizes and sampling variances.
    x : numpy.ndarray
        Design matrix (k x p) including the intercept column.
    """

    def __init__(self, yi: Array, vi: Array, x: Array) -> None:
        self.yi = yi
        self.vi = vi
        self.x = x
        self.k, self.p = x.shape

    def weights(self, tau2: float) -> Array:
        """1/(v + tau2)."""
        return 1.0 / (self.vi + tau2)

    def fisher(self, a: Array) -> tuple[float, float, float, float, float, float]:
        """``(y'Py, y'PPy, tr P, tr PP, S1, S2)`` for weights a."""
        _, _, rss, ypppy = self.wls(a)
        tr_p, tr_pp = self.tr_p_pp(a)
        return rss, ypppy, tr_p, tr_pp, float(a.sum()), float(a @ a)

    def _xdx(self, d: Array) -> Array:
        return (self.x.T * d) @ self.x

    def _inv(self, a: Array) -> Array:
        return np.linalg.inv(self._xdx(a))

    def wls(self, a: Array) -> tuple[Array, Array, float, float]:
        """Coefficients, their covariance (X'WX)^-1, y'Py and y'PPy for weights a."""
        inv = self._inv(a)
        beta = inv @ (self.x.T @ (a * self.yi))
        e = self.yi - self.x @ beta
        ae = a * e
        return beta, inv, float(ae @ e), float(ae @ ae)

    def reml_newton(self, a: Array) -> tuple[float, float, float, float]:
        """``(y'PPy, tr P, tr PP, y'PPPy)`` for a Newton step on the REML score.

        With r = Py = a (y - mu): y'PPPy = r'Pr = sum a r^2 - (sum a r)^2 / S1.
        """
        s1, s2, s3, m, _, ypppy = self.sums(a)
        e = self.yc - m
        a2e = a * a * e
        yp3y = float(a2e @ (a * e)) - float(a2e.sum()) ** 2 / s1
        return ypppy, s1 - s2 / s1, s2 - 2.0 * s3 / s1 + (s2 / s1) ** 2, yp3y

    def tr_p_pp(self, a: Array) -> tuple[float, float]:
        """tr(P) and tr(PP) from p x p products (see module docstring)."""
        inv = self._inv(a)
        c = self._xdx(a * a)
        tr_p = a.sum() - np.trace(inv @ c)
        ac = inv @ c
        tr_pp = float(a @ a) - 2.0 * np.trace(inv @ self._xdx(a**3)) + np.trace(ac @ ac)
        return float(tr_p), float(tr_pp)

    def traces(self, a: Array) -> Traces:
        """All traces of :class:`Traces`; derivation in the module docstring."""
        v = self.vi
        inv = self._inv(a)
        av = a * v
        c = self._xdx(a * a)
        b = self._xdx(a * av)
        tr_p, tr_pp = self.tr_p_pp(a)
        tr_pv = av.sum() - np.trace(inv @ b)
        ib = inv @ b
        tr_pvpv = float(av @ av) - 2.0 * np.trace(inv @ self._xdx(a * av * av)) + np.trace(ib @ ib)
        tr_pvp = float((a * a) @ v) - 2.0 * np.trace(inv @ self._xdx(a * a * av)) + np.trace(inv @ c @ inv @ b)
        return Traces(tr_p, tr_pp, float(tr_pv), float(tr_pvpv), float(tr_pvp))

    def logdet_xwx(self, a: Array) -> float:
        """log det(X'WX)."""
        return float(np.linalg.slogdet(self._xdx(a))[1])

    def tr_pv_unweighted(self) -> float:
        """tr(P V) for unit weights."""
        return self.traces(np.ones(self.k)).tr_pv

    def log_ratio_sum(self, tau2: float) -> float:
        """sum(log(v + tau2)) - sum(log v)."""
        return float(np.log1p(tau2 / self.vi).sum())


Design = InterceptDesign | RegressionDesign
