"""Leave-one-out refits at their own tau^2 in O(1) each: power series about the full fit's tau^2.

A refit without study i sits at tau^2_(-i) = tau0 + delta_i, and delta_i is small (O(1/k)) unless study i
is influential.  With u_j = 1/(v_j + tau0), every weight of the refit is a geometric series,

    w_j^p = u_j^p (1 + delta u_j)^(-p) = sum_n C(p + n - 1, n) (-delta)^n u_j^(p + n),

so each sum over j != i of w^p c^q is a polynomial in delta_i whose coefficients are the moments
sum_(j != i) u_j^m c_j^q, built once for all refits from prefix and suffix sums (no term is added and taken
away).  With rho = |delta| max u below :data:`RADIUS` the truncation after :data:`TERMS` terms is below
RADIUS^(TERMS+1) ~ 5e-16 relative; a refit outside that radius, or whose sums would cancel (a shift of the
mean large beside the spread, or one weight holding most of the total), is marked untrusted and the caller
computes it directly.  The effects c are centred at the full fit's weighted mean, so the refit's mean m is
small and y'Py = sum w c^2 - m sum w c loses no digits on the trusted refits.
"""

from __future__ import annotations

import math

import numpy as np

from pooling.loo import exclusive_sums

TERMS = 8
RADIUS = 0.02
SHIFT = 1e-3  # m^2 S beside the spread it is subtracted from: at most three digits cancel
DOMINANT = 0.9  # S2 <= DOMINANT S1^2: no single weight holds (nearly) all, so S1 - S2/S1 keeps its digits


class Moments:
    """sum over j != i of u_j^m c_j^q (m = 1..3 + TERMS, q = 0, 1, 2) for every refit i.

    Parameters
    ----------
    c : numpy.ndarray
        Effects centred at the full fit's weighted mean.
    vi : numpy.ndarray
        Sampling variances.
    tau0 : float
        The full fit's tau^2.
    """

    def __init__(self, c: np.ndarray, vi: np.ndarray, tau0: float) -> None:
        u = 1.0 / (vi + tau0)
        self.tau0 = tau0
        self.u_max = float(u.max())
        columns = (np.ones_like(c), c, c * c)
        self.moment: dict[tuple[int, int], np.ndarray] = {}
        power = np.ones_like(u)
        with np.errstate(over="ignore", invalid="ignore"):  # a huge u overflows: those refits are untrusted
            for m in range(1, 4 + TERMS):
                power = power * u
                for q in range(3):
                    self.moment[m, q] = exclusive_sums(power * columns[q])
        self.log_ratio0 = exclusive_sums(np.log1p(tau0 / vi))

    def within_radius(self, delta: np.ndarray) -> np.ndarray:
        return np.abs(delta) * self.u_max < RADIUS

    def weighted(self, p: int, q: int, delta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """sum over j != i of w_j^p c_j^q at tau0 + delta, for the refits ``rows``."""
        total = np.zeros(rows.shape[0])
        x = np.ones(rows.shape[0])
        for n in range(TERMS + 1):
            total += math.comb(p + n - 1, n) * x * self.moment[p + n, q][rows]
            x = x * -delta
        return total

    def log_ratio(self, tau0: float, delta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """sum over j != i of log(1 + tau/v_j) at tau = tau0 + delta: log(1 + delta u) as its series."""
        total = self.log_ratio0[rows].copy()
        x = np.ones(rows.shape[0])
        for n in range(1, TERMS + 1):
            x = x * delta
            total += (-1) ** (n + 1) / n * x * self.moment[n, 0][rows]
        return total


def refit_state(mo: Moments, delta: np.ndarray, rows: np.ndarray, *, second: bool):
    """``(s1, m, rss, trusted)`` of the refits ``rows`` at tau0 + delta, and with ``second`` also the REML/ML
    score pieces ``(s2, ypppy, tr_p, tr_pp, yp3y)``; ``trusted`` is False where the series or its sums cannot
    be trusted (module docstring)."""
    s1, sc, scc = (mo.weighted(1, q, delta, rows) for q in range(3))
    m = sc / s1
    with np.errstate(invalid="ignore", divide="ignore"):
        trusted = mo.within_radius(delta) & np.isfinite(scc) & (m * sc <= SHIFT * scc)
    rss = scc - m * sc
    if not second:
        return s1, m, rss, trusted
    s2, s2c, s2cc = (mo.weighted(2, q, delta, rows) for q in range(3))
    s3, s3c, s3cc = (mo.weighted(3, q, delta, rows) for q in range(3))
    ypppy = s2cc - 2 * m * s2c + m * m * s2
    with np.errstate(invalid="ignore"):
        trusted &= (m * m * s2 <= SHIFT * s2cc) & (s2 <= DOMINANT * s1 * s1) & np.isfinite(s3cc)
    yp3y = (s3cc - 2 * m * s3c + m * m * s3) - (s2c - m * s2) ** 2 / s1
    pieces = (s2, ypppy, s1 - s2 / s1, s2 - 2 * s3 / s1 + (s2 / s1) ** 2, yp3y)
    return s1, m, rss, trusted, pieces


def _score(mo: Moments, method: str, delta: np.ndarray, rows: np.ndarray):
    s1, _, _, trusted, (s2, ypppy, tr_p, tr_pp, yp3y) = refit_state(mo, delta, rows, second=True)
    score = ypppy - (tr_p if method == "REML" else s1)
    expected = tr_pp if method == "REML" else s2  # the expected information, for a Fisher step
    slope = expected - 2 * yp3y
    return score, slope, expected, trusted


def _boundary(mo: Moments, method: str, rows: np.ndarray) -> np.ndarray:
    """True for the refits whose step left tau^2 >= 0 and whose score at tau^2 = 0 is <= 0: their maximum is
    the boundary (as rma.uni truncates), still to be proven against the grid by the caller.  Without this, a
    homogeneous data set (full tau^2 = 0) sent every refit to the slow path."""
    delta = np.full(rows.shape[0], -mo.tau0)
    score, _, _, trusted = _score(mo, method, delta, rows)
    return trusted & (score <= 0)


def newton(mo: Moments, method: str, rows: np.ndarray, *, tol: float, max_iter: int = 50):
    """ML/REML Newton on the series for the refits ``rows`` from tau0 (delta = 0); returns ``(delta, ok)``
    with ok False where the series left its radius, lost digits, or the step failed (computed directly)."""
    delta = np.zeros(rows.shape[0])
    ok = np.ones(rows.shape[0], dtype=bool)
    active = np.ones(rows.shape[0], dtype=bool)
    finishing = np.zeros(rows.shape[0], dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not idx.shape[0]:
            break
        score, slope, expected, trusted = _score(mo, method, delta[idx], rows[idx])
        with np.errstate(invalid="ignore", divide="ignore"):  # Newton where concave, else a Fisher step
            step = np.where(slope < 0, -score / slope, score / expected)
        new = delta[idx] + step
        below = trusted & (new + mo.tau0 < 0)
        at_zero = idx[below][_boundary(mo, method, rows[idx[below]])]
        delta[at_zero], active[at_zero] = -mo.tau0, False
        failed = ~trusted | ~np.isfinite(new) | (below & ~np.isin(idx, at_zero))
        ok[idx[failed]] = False
        active[idx[failed]] = False
        failed |= below
        good = idx[~failed]
        delta[good] = new[~failed]
        # a step inside the tolerance ends the search after one more step (as the single fit ends)
        small = np.abs(step[~failed]) <= tol * np.maximum(1.0, new[~failed] + mo.tau0)
        active[good[small & finishing[good]]] = False
        finishing[good[small]] = True
    ok &= ~active
    return delta, ok
