"""The full answer for one outcome: core pooling, forest rows and diagnostics.

:func:`analyse` builds on :func:`pooling.model.pool_arrays` and adds what a
forest plot and a review report need, following metafor 3.8 (``rma``,
``predict``, ``confint``, ``regtest``, ``leave1out``): per-study rows, the
Q-profile tau^2 interval (random effects, k >= 2), Egger's test and
leave-one-out (k >= 3), and back-transformed estimates for ratio and
transformed-proportion measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pooling.confint import Tau2Interval, tau2_confint
from pooling.diagnostics import EggerTest, LeaveOneOut, egger_test, leave_one_out
from pooling.effects import EffectSizes
from pooling.model import PoolCore, critical_value, pool_arrays, study_weights
from pooling.smallstudy import Influence, RankTest, TrimAndFill, influence, rank_test, trim_and_fill
from pooling.transforms import BACK_TRANSFORMED, back_transform


@dataclass(frozen=True)
class ForestRow:
    """One study's row of a forest plot.

    Attributes
    ----------
    label : str
        Study label.
    estimate : float
        Effect size yi.
    se : float
        sqrt(vi).
    ci_lb, ci_ub : float
        Wald interval yi -/+ z sqrt(vi) at the analysis level.
    weight : float
        Weight in the pooled estimate, percent.
    """

    label: str
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    weight: float


@dataclass(frozen=True)
class BackTransformed:
    """Pooled estimate and intervals on the natural scale (metafor ``predict(transf=)``).

    Attributes
    ----------
    estimate, ci_lb, ci_ub : float
        Back-transformed estimate and confidence interval.
    pi_lb, pi_ub : float or None
        Back-transformed prediction interval (None for FE, as metafor omits it).
    """

    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None
    pi_ub: float | None


@dataclass(frozen=True)
class MetaAnalysis:
    """Full meta-analysis of one outcome.

    Attributes
    ----------
    measure : str
        Effect-size measure.
    core : PoolCore
        Pooled estimate, intervals and heterogeneity.
    yi, vi : tuple of float
        Per-study effects and sampling variances.
    rows : tuple of ForestRow
        Forest-plot-ready rows, in study order.
    tau2_ci : Tau2Interval or None
        Q-profile interval (random effects with k >= 2).
    egger : EggerTest or None
        Egger's test (k >= 3 and unequal variances).
    leave1out : LeaveOneOut or None
        Leave-one-out results (k >= 3).
    back_transformed : BackTransformed or None
        For RR, OR, PLO, PAS and PFT.
    i2_ci, h2_ci : tuple of float or None
        I^2 and H^2 at the tau^2 interval's bounds (metafor ``confint``).
    rank_test, trim_and_fill, influence : or None
        Small-study effects and case diagnostics (k >= 3), :mod:`pooling.smallstudy`.
    """

    measure: str
    core: PoolCore
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    rows: tuple[ForestRow, ...]
    tau2_ci: Tau2Interval | None
    egger: EggerTest | None
    leave1out: LeaveOneOut | None
    back_transformed: BackTransformed | None
    i2_ci: tuple[float, float] | None = None
    h2_ci: tuple[float, float] | None = None
    rank_test: RankTest | None = None
    trim_and_fill: TrimAndFill | None = None
    influence: Influence | None = None


def forest_rows(effects: EffectSizes, labels: Sequence[str], core: PoolCore):
    """Per-study rows with Wald CIs and percent weights 100 w_i / sum(w)."""
    crit = critical_value(core.level, None)
    se = np.sqrt(effects.vi)
    weights = study_weights(effects.vi, core.tau2)
    return tuple(
        ForestRow(str(lab), float(y), float(s), float(y - crit * s), float(y + crit * s), float(w))
        for lab, y, s, w in zip(labels, effects.yi, se, weights, strict=True)
    )


def _back(measure: str, core: PoolCore, ni) -> BackTransformed | None:
    if measure not in BACK_TRANSFORMED:
        return None
    f = lambda x: back_transform(measure, x, ni)  # noqa: E731
    lo, hi = sorted((f(core.ci_lb), f(core.ci_ub)))
    if core.method == "FE":
        return BackTransformed(f(core.estimate), lo, hi, None, None)
    plo, phi = sorted((f(core.pi_lb), f(core.pi_ub)))
    return BackTransformed(f(core.estimate), lo, hi, plo, phi)


def analyse(
    effects: EffectSizes,
    *,
    labels: Sequence[str] | None = None,
    method: str,
    test: str,
    level: float,
    ni=None,
) -> MetaAnalysis:
    """Full analysis of one outcome.

    Parameters
    ----------
    effects : EffectSizes
        Per-study effect sizes.
    labels : sequence of str, optional
        Study labels (default "1", "2", ...).
    method, test, level
        As for :func:`pooling.model.pool_arrays`.
    ni : array_like, optional
        Per-study sample sizes, needed to back-transform ``PFT``.

    Returns
    -------
    MetaAnalysis
    """
    yi, vi = effects.yi, effects.vi
    k = yi.shape[0]
    labels = [str(i + 1) for i in range(k)] if labels is None else list(labels)
    core = pool_arrays(yi, vi, method=method, test=test, level=level)
    opts = {"method": method, "test": core.test, "level": level}
    tau2_ci = tau2_confint(yi, vi, level=level) if method != "FE" and k >= 2 else None
    loo = leave_one_out(yi, vi, **opts) if k >= 3 else None
    return MetaAnalysis(
        measure=effects.measure,
        core=core,
        yi=tuple(float(y) for y in yi),
        vi=tuple(float(v) for v in vi),
        rows=forest_rows(effects, labels, core),
        tau2_ci=tau2_ci,
        egger=egger_test(yi, vi, **opts) if k >= 3 else None,
        leave1out=loo,
        back_transformed=_back(effects.measure, core, ni),
        i2_ci=_at_bounds(vi, tau2_ci, lambda t, s2: 100.0 * t / (s2 + t)),
        h2_ci=_at_bounds(vi, tau2_ci, lambda t, s2: t / s2 + 1.0),
        rank_test=rank_test(yi, vi) if k >= 3 else None,
        trim_and_fill=trim_and_fill(yi, vi, **opts) if k >= 3 else None,
        influence=influence(yi, vi, core, loo) if loo is not None else None,
    )


def _at_bounds(vi, tau2_ci: Tau2Interval | None, f):
    """I^2 or H^2 at the tau^2 interval's bounds with the typical within-study variance
    s^2 = (k-1) / tr(P), w = 1/v (metafor ``confint.rma.uni``); None without an interval."""
    if tau2_ci is None:
        return None
    w = 1.0 / np.asarray(vi)
    s2 = (w.shape[0] - 1) / (w.sum() - (w @ w) / w.sum())
    return float(f(tau2_ci.lb, s2)), float(f(tau2_ci.ub, s2))
