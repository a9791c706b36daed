"""Leave-one-out refits for all k studies at once, O(1) per refit where that is exact to rounding.

- FE and DL: Q, S1, S2, tr P and the weighted mean of refit i from prefix and suffix sums of the full data
  (closed-form downdates, :func:`fixed_effect_rows`; study i's term is never added and taken away, and a Q
  that would cancel is summed directly), so tau^2_(-i) is O(1).
- REML and ML: Newton steps on the score for every refit at once, started warm at the full fit's tau^2, on
  power series of the refit's sums about that tau^2 (:mod:`pooling.series`, O(1) per refit); then the same
  global-maximum proof as a single fit: each refit's profile log-likelihood on the
  :func:`pooling.estimators.tau2_grid` grid (downdated grid sums).  A refit the series cannot be trusted
  for is redone by warm Newton on a masked (refits x studies) weight matrix, and one whose Newton point is
  beaten by a grid value by the single-fit global search.
- The pooled estimate and variance of each refit at its own tau^2: by the same series (:func:`refit_sums`),
  or by masked row sums in blocks where the series cannot be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pooling.design import InterceptDesign
from pooling.estimators import estimate_tau2, grid_loglik, tau2_grid

# pooling.series is imported only from SERIES_MIN_K studies on: one module less to load for a small request
SERIES_MIN_K = 400  # below this one masked (k x k) pass is quicker than the series' many small array operations
BLOCK = 512  # refits per block: a (BLOCK x k) weight matrix


def _masked_weights(vi: np.ndarray, tau2: np.ndarray, rows: np.ndarray) -> np.ndarray:
    w = 1.0 / (vi[None, :] + tau2[rows, None])
    w[np.arange(rows.shape[0]), rows] = 0.0
    return w


def _row_sums(w: np.ndarray, c: np.ndarray):
    """Per-row S1, S2, y'PPy, tr P, tr PP and y'PPPy (design.py) of masked weights w.

    The residuals e = c - m of each row are formed before any sum (as InterceptDesign.sums does): expanded
    sums such as sum w^2 c^2 - 2 m sum w^2 c + m^2 S2 cancel catastrophically under a dominant weight."""
    s1 = w.sum(1)
    m = (w @ c) / s1
    r = w * (c[None, :] - m[:, None])  # Py of every refit
    w2 = w * w
    s2 = w2.sum(1)
    s3 = np.einsum("ij,ij->i", w2, w)
    ypppy = np.einsum("ij,ij->i", r, r)
    rbar = np.einsum("ij,ij->i", w, r) / s1
    r -= rbar[:, None]
    yp3y = np.einsum("ij,ij->i", w * r, r)
    return s1, s2, ypppy, s1 - s2 / s1, s2 - 2 * s3 / s1 + (s2 / s1) ** 2, yp3y


def _newton_rows(c, vi, method, start: float, rows, *, tol: float, max_iter: int = 50):
    """Warm-started Newton on the ML/REML score for the refits ``rows``; NaN where it fails to settle."""
    tau2 = np.full(vi.shape[0], start)
    out = np.full(rows.shape[0], np.nan)
    t = np.full(rows.shape[0], start)
    active = np.ones(rows.shape[0], dtype=bool)
    for _ in range(max_iter):
        tau2[rows] = t
        s1, s2, ypppy, tr_p, tr_pp, yp3y = _row_sums(_masked_weights(vi, tau2, rows), c)
        score = ypppy - (tr_p if method == "REML" else s1)
        slope = (tr_pp if method == "REML" else s2) - 2 * yp3y
        step = np.where(slope < 0, -score / np.where(slope < 0, slope, 1.0), np.nan)
        new = t + step
        bad = ~np.isfinite(new) | (new < 0)
        done = active & ~bad & (np.abs(step) <= tol * np.maximum(1.0, new))
        out[done] = new[done]
        active &= ~done & ~bad
        if not active.any():
            break
        t = np.where(active, new, t)
    return out


def _grid_check(c, vi, method, rows, found) -> np.ndarray:
    """True where a refit's log-likelihood ``found`` (as :func:`_ll_rows`) is at least as high as its best grid
    value (the global-maximum proof)."""
    design = InterceptDesign(c, vi)
    grid = tau2_grid(design)
    w = 1.0 / (vi[None, :] + grid[:, None])  # grid x k
    s1, a, b = w.sum(1), w @ c, w @ (c * c)
    logsum = np.log1p(grid[:, None] / vi[None, :])
    wi = w[:, rows].T  # refits x grid
    s1_i = s1[None, :] - wi
    a_i = a[None, :] - wi * c[rows, None]
    rss = np.maximum(b[None, :] - wi * (c[rows, None] ** 2) - a_i**2 / s1_i, 0.0)
    ll = -0.5 * (logsum.sum(1)[None, :] - logsum[:, rows].T) - 0.5 * rss
    if method == "REML":
        ll -= 0.5 * np.log(s1_i)
    best = ll.max(axis=1)
    return found >= best - 1e-9 * (1.0 + np.abs(best))


def _found_direct(c, vi, method, tau2_rows, rows) -> np.ndarray:
    if rows.shape[0] <= 64:
        return np.array(
            [grid_loglik(np.delete(c, i), np.delete(vi, i), method, np.array([t]))[0] for i, t in zip(rows, tau2_rows)]
        )
    return _ll_rows(c, vi, method, tau2_rows, rows)


def _ll_rows(c, vi, method, tau2_rows, rows) -> np.ndarray:
    tau2 = np.zeros(vi.shape[0])
    tau2[rows] = tau2_rows
    w = _masked_weights(vi, tau2, rows)
    s1 = w.sum(1)
    m = (w @ c) / s1
    rss = np.maximum((w * (c[None, :] - m[:, None]) ** 2).sum(1), 0.0)
    logsum = np.log1p(tau2_rows[:, None] / vi[None, :]).sum(1) - np.log1p(tau2_rows / vi[rows])
    ll = -0.5 * logsum - 0.5 * rss
    return ll - (0.5 * np.log(s1) if method == "REML" else 0.0)


def exclusive_sums(x: np.ndarray) -> np.ndarray:
    """sum over j != i of x_j for every i, from prefix and suffix sums: study i's term is never added and
    subtracted, so a dominant term (v = 1e-10 beside v = 1) cannot cancel the others away."""
    before = np.concatenate(([0.0], np.cumsum(x[:-1])))
    after = np.concatenate((np.cumsum(x[:0:-1])[::-1], [0.0]))
    return before + after


@dataclass(frozen=True, eq=False)
class FixedRows:
    """Fixed-effect sums of every refit (weights w = 1/v, centred effects c).

    Attributes
    ----------
    q, s1, s2, tr_p : numpy.ndarray
        Cochran's Q, sum w, sum w^2 and tr(P) = S1 - S2/S1 without study i.
    mean : numpy.ndarray
        The refit's weighted mean of c.
    """

    q: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    mean: np.ndarray
    tr_p: np.ndarray


# A downdated Q is trusted when it keeps at least this share of the sum it was subtracted from (so at most
# three digits cancel); other refits are summed directly.
CANCEL = 1e-3


def fixed_effect_rows(c: np.ndarray, vi: np.ndarray) -> FixedRows:
    """Q, S1, S2 and the weighted mean of every refit in O(1) each (closed-form downdates).

    With m the full weighted mean and e = c - m, the refit without i has E_i = sum_(j != i) w e, mean
    m + E_i / S1_i and Q_i = sum_(j != i) w e^2 - E_i^2 / S1_i: a difference of two non-negative terms,
    recomputed directly where it cancels (Q_i < CANCEL x the sum, e.g. a dominant outlying study or identical
    effects)."""
    w = 1.0 / vi
    s1, s2 = exclusive_sums(w), exclusive_sums(w * w)
    m = float(w @ c) / float(w.sum())
    e = c - m
    big_e, spread = exclusive_sums(w * e), exclusive_sums(w * e * e)
    shift = big_e / s1
    q = spread - big_e * shift
    mean = m + shift
    unsafe = np.flatnonzero(~(q > CANCEL * spread))
    if unsafe.shape[0]:
        q[unsafe], mean[unsafe] = _direct_fixed(c, vi, unsafe)
    return FixedRows(q, s1, s2, mean, 2.0 * _exclusive_pair_sums(w) / s1)


def _exclusive_pair_sums(w: np.ndarray) -> np.ndarray:
    """e2 without study i, sum over j < l, j, l != i of w_j w_l, for every i (tr P = 2 e2 / S1, see
    design.trace_p): the pairs before i, the pairs after i, and (sum before i) x (sum after i); all sums of
    positive terms built from the ends, so nothing cancels."""
    before = np.concatenate(([0.0], np.cumsum(w[:-1])))  # sum of w before i
    after = np.concatenate((np.cumsum(w[:0:-1])[::-1], [0.0]))  # sum of w after i
    pairs_before = np.concatenate(([0.0], np.cumsum((w * before)[:-1])))
    pairs_after = np.concatenate((np.cumsum((w * after)[:0:-1])[::-1], [0.0]))
    return pairs_before + pairs_after + before * after


def _direct_fixed(c: np.ndarray, vi: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q and the weighted mean of the refits ``rows`` by masked row sums (O(k) each)."""
    q, mean = np.empty(rows.shape[0]), np.empty(rows.shape[0])
    zeros = np.zeros(vi.shape[0])
    for start in range(0, rows.shape[0], BLOCK):
        part = slice(start, start + BLOCK)
        w = _masked_weights(vi, zeros, rows[part])
        mean[part] = (w @ c) / w.sum(1)
        q[part] = (w * (c[None, :] - mean[part, None]) ** 2).sum(1)
    return q, mean


def random_effect_rows(c: np.ndarray, vi: np.ndarray, tau2: np.ndarray, rows: np.ndarray, *, rss: bool):
    """S1 = sum w, the weighted mean of c and (with ``rss``) sum w (c - mean)^2 of the refits ``rows``, each
    at its own tau^2 (w = 1/(v + tau2_i)): one masked pass over the studies per refit, in blocks."""
    s1, mean = np.empty(rows.shape[0]), np.empty(rows.shape[0])
    out_rss = np.empty(rows.shape[0]) if rss else None
    for start in range(0, rows.shape[0], BLOCK):
        part = slice(start, start + BLOCK)
        w = _masked_weights(vi, tau2, rows[part])
        s1[part] = w.sum(1)
        mean[part] = (w @ c) / s1[part]
        if rss:
            out_rss[part] = (w * (c[None, :] - mean[part, None]) ** 2).sum(1)
    return s1, mean, out_rss


def loo_tau2(
    yi: np.ndarray, vi: np.ndarray, method: str, *, full_tau2: float, fixed: FixedRows | None = None, tol: float = 1e-10
) -> np.ndarray:
    """tau^2 of every leave-one-out refit (module docstring); any method, the fast paths for FE, DL, ML, REML."""
    k = yi.shape[0]
    c = yi - yi.mean()
    if method == "FE":
        return np.zeros(k)
    if method == "DL":
        fixed = fixed_effect_rows(c, vi) if fixed is None else fixed
        return np.maximum(0.0, (fixed.q - (k - 2)) / fixed.tr_p)
    if method not in ("REML", "ML"):
        return np.array(
            [estimate_tau2(InterceptDesign(np.delete(yi, i), np.delete(vi, i)), method).tau2 for i in range(k)]
        )
    out = np.full(k, full_tau2)
    rest = np.arange(k)
    if k >= SERIES_MIN_K:
        from pooling.series import Moments, newton, refit_state

        c0 = yi - _weighted_mean(yi, vi, full_tau2)
        mo = Moments(c0, vi, full_tau2)
        delta, ok = newton(mo, method, rest, tol=tol)
        out += delta
        s1, _, rss, _ = refit_state(mo, delta, rest, second=False)
        found = -0.5 * mo.log_ratio(full_tau2, delta, rest) - 0.5 * rss
        if method == "REML":
            found -= 0.5 * np.log(s1)
        proven = ok.copy()
        proven[ok] = _grid_check(c, vi, method, rest[ok], found[ok])
        rest = np.flatnonzero(~proven)
    for start in range(0, rest.shape[0], BLOCK):  # refits the series could not settle: warm Newton directly
        rows = rest[start : start + BLOCK]
        t = _newton_rows(c, vi, method, full_tau2, rows, tol=tol)
        good = np.isfinite(t)
        good[good] = _grid_check(c, vi, method, rows[good], _found_direct(c, vi, method, t[good], rows[good]))
        for j in np.flatnonzero(~good):  # the single-fit global search where warm Newton did not prove itself
            i = rows[j]
            t[j] = estimate_tau2(InterceptDesign(np.delete(yi, i), np.delete(vi, i)), method).tau2
        out[rows] = t
    return out


def _weighted_mean(yi: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    w = 1.0 / (vi + tau2)
    return float(w @ yi) / float(w.sum())


def refit_sums(yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray, tau0: float, rows: np.ndarray, *, rss: bool):
    """S1 = sum w, the weighted mean of yi and (with ``rss``) sum w (y - mean)^2 of the refits ``rows``, each at
    its own tau^2: by the series about tau0 (:mod:`pooling.series`, O(1) each) where it can be trusted, else one
    masked pass per refit."""
    if yi.shape[0] < SERIES_MIN_K:
        c = yi - yi.mean()
        s1, m, out_rss = random_effect_rows(c, vi, tau2, rows, rss=rss)
        return s1, yi.mean() + m, out_rss
    from pooling.series import Moments, refit_state

    mu0 = _weighted_mean(yi, vi, tau0)
    mo = Moments(yi - mu0, vi, tau0)
    s1, m, out_rss, trusted = refit_state(mo, tau2[rows] - tau0, rows, second=False)
    mean = mu0 + m
    direct = np.flatnonzero(~trusted)
    if direct.shape[0]:
        c = yi - yi.mean()
        s1[direct], m_direct, rss_direct = random_effect_rows(c, vi, tau2, rows[direct], rss=rss)
        mean[direct] = yi.mean() + m_direct
        if rss:
            out_rss[direct] = rss_direct
    return s1, mean, out_rss if rss else None
