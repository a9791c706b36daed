"""Leave-one-out refits for all k studies at once, in O(k) per refit with no per-refit Python overhead.

Every refit i uses the sums of the full data minus study i's terms (closed-form downdates):

- FE and DL: tau^2_(-i) in closed form from the downdated fixed-effect sums S1, S2, sum w c, sum w c^2
  (c the centred effects), so DL is O(1) per refit for tau^2.
- REML and ML: Newton steps on the score for every refit at once, started warm at the full fit's tau^2;
  then the same global-maximum proof as a single fit: each refit's profile log-likelihood on the
  :func:`pooling.estimators.tau2_grid` grid (downdated grid sums), and a refit whose Newton point is
  beaten by a grid value is redone by the single-fit global search.

The pooled estimate, its variance, Q and I^2 of each refit then come from row sums of a (refits x
studies) weight matrix with the left-out study's weight set to 0, in blocks to bound memory.
"""

from __future__ import annotations

import numpy as np

from pooling.design import InterceptDesign
from pooling.estimators import estimate_tau2, grid_loglik, tau2_grid

BLOCK = 512  # refits per block: a (BLOCK x k) weight matrix


def _masked_weights(vi: np.ndarray, tau2: np.ndarray, rows: np.ndarray) -> np.ndarray:
    w = 1.0 / (vi[None, :] + tau2[rows, None])
    w[np.arange(rows.shape[0]), rows] = 0.0
    return w


def _row_sums(w: np.ndarray, c: np.ndarray):
    """Per-row S1, S2, S3, the weighted mean m, y'PPy, tr P, tr PP, y'PPPy (design.py), from w, w^2, w^3
    times the columns [1, c, c^2] (three matrix products), with e = c - m expanded:
    y'PPy = sum w^2 e^2, y'PPPy = sum w^3 e^2 - (sum w^2 e)^2 / S1."""
    basis = np.column_stack([np.ones_like(c), c, c * c])
    w2 = w * w
    p1, p2, p3 = w @ basis, w2 @ basis, (w2 * w) @ basis
    s1, s2, s3 = p1[:, 0], p2[:, 0], p3[:, 0]
    m = p1[:, 1] / s1
    ypppy = p2[:, 2] - 2 * m * p2[:, 1] + m * m * s2
    w2e = p2[:, 1] - m * s2
    yp3y = (p3[:, 2] - 2 * m * p3[:, 1] + m * m * s3) - w2e**2 / s1
    return s1, s2, s3, m, None, ypppy, s1 - s2 / s1, s2 - 2 * s3 / s1 + (s2 / s1) ** 2, yp3y


def _newton_rows(c, vi, method, start: float, rows, *, tol: float, max_iter: int = 50):
    """Warm-started Newton on the ML/REML score for the refits ``rows``; NaN where it fails to settle."""
    tau2 = np.full(vi.shape[0], start)
    out = np.full(rows.shape[0], np.nan)
    t = np.full(rows.shape[0], start)
    active = np.ones(rows.shape[0], dtype=bool)
    for _ in range(max_iter):
        tau2[rows] = t
        s1, s2, _, _, _, ypppy, tr_p, tr_pp, yp3y = _row_sums(_masked_weights(vi, tau2, rows), c)
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


def _grid_check(c, vi, method, tau2_rows, rows) -> np.ndarray:
    """True where a refit's tau^2 is at least as high as its best grid value (the global-maximum proof)."""
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
    found = np.array([grid_loglik(np.delete(c, i), np.delete(vi, i), method, np.array([t]))[0]
                      for i, t in zip(rows, tau2_rows)]) if rows.shape[0] <= 64 else _ll_rows(c, vi, method, tau2_rows, rows)  # fmt: skip
    return found >= best - 1e-9 * (1.0 + np.abs(best))


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


def fixed_effect_rows(c: np.ndarray, vi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q, S1 and S2 (w = 1/v) of every refit, by masked row sums: subtracting a study's terms from the full
    sums would cancel catastrophically when one weight dominates (v = 1e-10 beside v = 1)."""
    k = c.shape[0]
    q, s1, s2 = np.empty(k), np.empty(k), np.empty(k)
    zeros = np.zeros(k)
    for start in range(0, k, BLOCK):
        rows = np.arange(start, min(k, start + BLOCK))
        w = _masked_weights(vi, zeros, rows)
        s1[rows], s2[rows] = w.sum(1), (w * w).sum(1)
        m = (w @ c) / s1[rows]
        q[rows] = (w * (c[None, :] - m[:, None]) ** 2).sum(1)
    return q, s1, s2


def loo_tau2(yi: np.ndarray, vi: np.ndarray, method: str, *, full_tau2: float, tol: float = 1e-10) -> np.ndarray:
    """tau^2 of every leave-one-out refit (module docstring); any method, the fast paths for FE, DL, ML, REML."""
    k = yi.shape[0]
    c = yi - yi.mean()
    if method == "FE":
        return np.zeros(k)
    if method == "DL":
        q, s1, s2 = fixed_effect_rows(c, vi)
        return np.maximum(0.0, (q - (k - 2)) / (s1 - s2 / s1))
    if method not in ("REML", "ML"):
        return np.array(
            [estimate_tau2(InterceptDesign(np.delete(yi, i), np.delete(vi, i)), method).tau2 for i in range(k)]
        )
    out = np.empty(k)
    for start in range(0, k, BLOCK):
        rows = np.arange(start, min(k, start + BLOCK))
        t = _newton_rows(c, vi, method, full_tau2, rows, tol=tol)
        ok = np.isfinite(t)
        ok[ok] = _grid_check(c, vi, method, t[ok], rows[ok])
        for j in np.flatnonzero(~ok):  # the single-fit global search where warm Newton did not prove itself
            i = rows[j]
            t[j] = estimate_tau2(InterceptDesign(np.delete(yi, i), np.delete(vi, i)), method).tau2
        out[rows] = t
    return out
