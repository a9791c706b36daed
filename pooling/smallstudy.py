"""Small-study effects and influence: rank correlation test, trim-and-fill, influence diagnostics.

As metafor 3.8 computes them for an intercept-only ``rma.uni`` fit:

- :func:`rank_test` -- ``ranktest``: Kendall's tau between the standardised effects
  (y_i - mu_FE) / sqrt(v_i - 1/sum w) and v_i, with R's ``cor.test(exact = TRUE)`` p-value: the exact
  null distribution when there are no ties, the normal approximation with tie correction otherwise
  (Begg & Mazumdar 1994, Biometrics 50:1088-1101).
- :func:`trim_and_fill` -- ``trimfill`` with the default L0 estimator, the side from the sign of the
  Egger slope, and the filled data refitted with the fit's method (Duval & Tweedie 2000, Biometrics
  56:455-463; J Am Stat Assoc 95:89-98).
- :func:`influence` -- ``influence.rma.uni`` (Viechtbauer & Cheung 2010, Res Synth Methods 1:112-125):
  externally standardised residuals, DFFITS, Cook's distance, covariance ratio, tau^2 and Q with each
  study deleted, hat values and weights; and ``rstandard`` (internally standardised residuals,
  se_i = sqrt(v_i + tau^2 - 1/sum w)).  The deleted fits are those of leave-one-out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pooling.validation import check_arrays


@dataclass(frozen=True)
class RankTest:
    """Kendall's tau of the rank correlation test and its two-sided p-value."""

    tau: float
    pval: float


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Tau-b and the numbers of pairs tied in x and in y: pairwise signs up to k = 200, Knight's O(k log k)
    algorithm above (importing scipy.stats for it would cost more than the whole answer at k = 10,000)."""
    if x.shape[0] > 200:
        return _kendall_knight(x, y)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(x.shape[0], 1)
    s = float((dx * dy)[iu].sum())
    n0 = iu[0].shape[0]
    tx, ty = float((dx[iu] == 0).sum()), float((dy[iu] == 0).sum())
    if tx == n0 or ty == n0:
        return float("nan"), tx, ty
    return s / math.sqrt((n0 - tx) * (n0 - ty)), tx, ty


def _pairs(v: np.ndarray) -> float:
    sizes = _tie_groups(v)
    return float((sizes * (sizes - 1) / 2).sum())


def _kendall_knight(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Knight (1966, J Am Stat Assoc 61:436-439): sort by (x, y); the discordant pairs are the inversions of y,
    and S = n0 - ties in x - ties in y + ties in both - 2 discordant."""
    n = x.shape[0]
    order = np.lexsort((y, x))
    n0, tx, ty = n * (n - 1) / 2, _pairs(x), _pairs(y)
    both = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)[1]
    txy = float((both * (both - 1) / 2).sum())
    if tx == n0 or ty == n0:
        return float("nan"), tx, ty
    ranks = np.unique(y, return_inverse=True)[1].ravel()[order]
    s = n0 - tx - ty + txy - 2 * _inversions(ranks)
    return s / math.sqrt((n0 - tx) * (n0 - ty)), tx, ty


def _inversions(ranks: np.ndarray) -> float:
    """Pairs i < j with ranks[i] > ranks[j], by a bottom-up merge sort whose levels are whole-array numpy
    operations: at each level, every element of a right half counts the larger elements of its left half
    with one searchsorted over keys offset by the block number."""
    n = ranks.shape[0]
    size = 1 << max(1, (n - 1).bit_length())
    top = n + 1  # padding after the data, larger than every rank: it adds no inversion
    a = np.concatenate([ranks.astype(np.int64), np.full(size - n, top, dtype=np.int64)])
    total, half = 0, 1
    while half < size:
        blocks = a.reshape(-1, 2 * half)
        offset = np.arange(blocks.shape[0], dtype=np.int64)[:, None] * (top + 1)
        left = (blocks[:, :half] + offset).ravel()  # sorted within each block, blocks in increasing order
        right = blocks[:, half:] + offset
        at_most = np.searchsorted(left, right.ravel(), side="right").reshape(right.shape)
        at_most -= np.arange(blocks.shape[0])[:, None] * half  # position within the block's left half
        total += int((half - at_most).sum())
        a = np.sort(blocks, axis=1).ravel()
        half *= 2
    return float(total)


def _concordant_cdf(q: int, n: int) -> float:
    """P(T <= q), T the number of concordant pairs of a random permutation of n (Mahonian numbers; R's
    ``ckendall``): the distribution of inversions, built one element at a time."""
    counts = np.ones(1)
    for m in range(2, n + 1):
        new = np.zeros(counts.shape[0] + m - 1)
        for j in range(m):
            new[j : j + counts.shape[0]] += counts
        counts = new
    return float(counts[: q + 1].sum() / counts.sum())


def _tie_groups(v: np.ndarray) -> np.ndarray:
    _, sizes = np.unique(v, return_counts=True)
    return sizes[sizes > 1].astype(float)


def _normal_p(r: float, x: np.ndarray, y: np.ndarray) -> float:
    """cor.test's normal approximation for Kendall's tau with tie-corrected variance of S."""
    from pooling.distributions import norm_sf

    n = x.shape[0]
    xt, yt = _tie_groups(x), _tie_groups(y)
    t0 = n * (n - 1) / 2
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float((xt * (xt - 1) * (2 * xt + 5)).sum())
    vu = float((yt * (yt - 1) * (2 * yt + 5)).sum())
    v1 = float((xt * (xt - 1)).sum() * (yt * (yt - 1)).sum())
    v2 = float((xt * (xt - 1) * (xt - 2)).sum() * (yt * (yt - 1) * (yt - 2)).sum())
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    s = r * math.sqrt((t0 - float((xt * (xt - 1)).sum()) / 2) * (t0 - float((yt * (yt - 1)).sum()) / 2))
    z = s / math.sqrt(var_s)
    return 2 * norm_sf(abs(z))


EXACT_RANK_LIMIT = 50  # exact null distribution up to this k (O(k^3)); the normal approximation above
# (metafor asks cor.test for the exact distribution at any k: above 50 the two p-values differ slightly)


def rank_test(yi, vi) -> RankTest:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``; module docstring)."""
    yi, vi = check_arrays(yi, vi)
    k = yi.shape[0]
    if k < 3:
        raise ValueError("the rank correlation test needs k >= 3 studies")
    w = 1.0 / vi
    star = (yi - float(w @ yi) / float(w.sum())) / np.sqrt(vi - 1.0 / float(w.sum()))
    r, tx, ty = _kendall_tau_b(star, vi)
    if math.isnan(r):  # every effect or every variance the same: no ranking, as R's cor.test gives NA
        return RankTest(r, r)
    if tx or ty or k > EXACT_RANK_LIMIT:
        return RankTest(r, _normal_p(r, star, vi))
    q = round((r + 1) * k * (k - 1) / 4)
    p = 1 - _concordant_cdf(q - 1, k) if q > k * (k - 1) / 4 else _concordant_cdf(q, k)
    return RankTest(r, min(2 * p, 1.0))


@dataclass(frozen=True)
class TrimAndFill:
    """Trim-and-fill: studies imputed on one side, and the pooled fit with them.

    Attributes
    ----------
    k0, se_k0 : int, float
        Number of filled studies (L0) and its standard error.
    side : str
        ``left`` or ``right``: where studies were filled.
    yi_filled, vi_filled : tuple of float
        The filled studies.
    estimate, se, ci_lb, ci_ub, tau2 : float
        Pooled fit of the observed and filled studies (z test, the fit's method).
    """

    k0: int
    se_k0: float
    side: str
    yi_filled: tuple[float, ...]
    vi_filled: tuple[float, ...]
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    tau2: float


def _side(yi: np.ndarray, vi: np.ndarray, method: str) -> str:
    from pooling.design import RegressionDesign
    from pooling.estimators import estimate_tau2

    design = RegressionDesign(yi, vi, np.column_stack([np.ones(yi.shape[0]), np.sqrt(vi)]))
    beta = design.wls(1.0 / (vi + estimate_tau2(design, method).tau2))[0]
    return "right" if beta[1] < 0 else "left"


def _l0(centred: np.ndarray) -> tuple[float, float]:
    k = centred.shape[0]
    ranks = np.empty(k)
    ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
    sr = float(ranks[centred > 0].sum())
    k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
    var_sr = (
        k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0 - 18 * k * k0**2 - 18 * k * k0 + 6 * k**2 * k0
    ) / 24
    return k0, 4 * math.sqrt(max(var_sr, 0.0)) / (2 * k - 1)


def trim_and_fill(yi, vi, *, method: str, test: str, level: float, max_iter: int = 100) -> TrimAndFill | None:
    """Duval and Tweedie's trim-and-fill, L0 estimator (metafor ``trimfill`` defaults; module docstring).

    Every refit uses the analysis' ``test`` and ``level`` (as ``trimfill(fit, test=, level=)``; without
    them metafor would refit a filled data set at z and 95%)."""
    from pooling.model import pool_arrays

    yi, vi = check_arrays(yi, vi)
    sei = np.sqrt(vi)
    if np.ptp(sei) <= 1e-10 * sei.max():
        return None  # equal variances: no Egger slope to pick the side (metafor stops with an error)
    side = _side(yi, vi, method)
    flip = -1.0 if side == "right" else 1.0
    order = np.argsort(flip * yi, kind="stable")
    y, v, k = flip * yi[order], vi[order], yi.shape[0]
    k0, previous, se_k0, beta = 0, -1, 0.0, 0.0
    for _ in range(max_iter):
        if k0 == previous:
            break
        previous = k0
        beta = pool_arrays(y[: k - k0], v[: k - k0], method=method, test=test, level=level).estimate
        estimate, se_k0 = _l0(y - beta)
        k0, se_k0 = max(0, round(estimate)), max(0.0, se_k0)
    else:
        raise ValueError(f"trim-and-fill did not settle on k0 within {max_iter} iterations")
    filled_y = flip * (2 * beta - y[k - k0 :]) if k0 else np.empty(0)
    filled_v = v[k - k0 :]
    fit = pool_arrays(
        np.concatenate([yi, filled_y]), np.concatenate([vi, filled_v]),
        method=method, test=test, level=level,
    )  # fmt: skip
    return TrimAndFill(
        k0, se_k0, side, tuple(filled_y.tolist()), tuple(filled_v.tolist()),
        fit.estimate, fit.se, fit.ci_lb, fit.ci_ub, fit.tau2,
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class Influence:
    """Case diagnostics per study (metafor ``influence.rma.uni`` and ``rstandard``); arrays of length k."""

    rstandard: np.ndarray
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    q_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray


def influence(yi, vi, full, loo) -> Influence:
    """Diagnostics from the full fit ``full`` (:class:`~pooling.model.PoolCore`) and its leave-one-out
    refits ``loo`` (:class:`~pooling.diagnostics.LeaveOneOut`), as ``influence.rma.uni`` computes them for
    an intercept-only model; s2w is the Hartung-Knapp factor of each deleted fit (1 for the z test)."""
    yi, vi = check_arrays(yi, vi)
    w = 1.0 / (vi + full.tau2)
    s = float(w.sum())
    hat = w / s
    vb_full = full.se**2
    vb_del = loo.se**2  # includes s2w under Hartung-Knapp
    s_del = loo.weight_sum
    s2w = vb_del * s_del if full.test == "knha" else np.ones_like(vb_del)
    diff = full.estimate - loo.estimate
    with np.errstate(divide="ignore", invalid="ignore"):  # identical effects under Hartung-Knapp: 0/0, as R
        return _influence(yi, vi, full, loo, hat, s, s2w, diff, vb_full, vb_del)


def _influence(yi, vi, full, loo, hat, s, s2w, diff, vb_full, vb_del) -> Influence:
    return Influence(
        rstandard=(yi - full.estimate) / np.sqrt(vi + full.tau2 - 1.0 / s),
        rstudent=(yi - loo.estimate) / np.sqrt(vi * s2w + vb_del + loo.tau2 * s2w),
        dffits=diff / np.sqrt(s2w * hat * (loo.tau2 + vi)),
        cook_d=diff**2 / vb_full,
        cov_r=vb_del / vb_full,
        tau2_del=loo.tau2,
        q_del=loo.q,
        hat=hat,
        weight=100.0 * hat,
    )
