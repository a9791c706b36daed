"""Pool every outcome and time point: overall, by subgroup, leave-one-out, r-sensitivity, cumulative."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evidence.synthesis.recompute.binary import PROPORTION_SCALES, natural
from evidence.synthesis.recompute.carry import SynthesisPlan
from evidence.synthesis.recompute.effects import StudyEffect, Unpoolable, arrays, pre_post_arrays
from evidence.synthesis.recompute.inputs import RecomputeInputs, StudyInput
from pooling.diagnostics import cumulative, leave_one_out, subgroups
from pooling.model import PoolCore, pool_arrays, study_weights

SUBGROUP_VARIABLES = ("cell_source", "route", "donor")
R_VALUES = (0.2, 0.5, 0.8)
LEVEL = 95.0  # every interval on the review page is a 95% interval (study rows use its 1.96); pooling assumes none
# Leave-one-out and cumulative analyses refit the model k times (O(k²) work); past this k a single study's
# influence is negligible and a k-row table unreadable, so they are reported as not computed.
MAX_K_INFLUENCE = 100


CONTROLLED_VARIABLE = "comparison"  # subgroup_variable of between-arm contrast rows (contrasts.py)


@dataclass(frozen=True)
class StudyRow:
    study: StudyInput
    effect: StudyEffect
    ci_lb: float
    ci_ub: float
    weight: float


@dataclass
class PooledRow:
    outcome_code: str
    timepoint: str
    subgroup_variable: str
    subgroup_value: str
    scale: str
    core: PoolCore
    studies: list[StudyRow]
    unpoolable: list[Unpoolable] = field(default_factory=list)
    subgroup_test: dict = field(default_factory=dict)
    sensitivity: dict = field(default_factory=dict)
    published: Any = None  # the published row this one updates (a PooledResult), if any
    remainder: dict = field(default_factory=dict)  # its derivation, when the remainder is pooled
    remainder_k: int = 0  # studies the remainder stands for
    reproduces_published: bool = False  # nothing entered the row beyond the published row's own studies
    note: str = ""  # a caveat shown with the row
    measure: str = ""  # RR, OR, RD, HR or a proportion measure (binary.py); blank: the continuous measure
    absolute: dict = field(default_factory=dict)  # per 1,000 patients, for a binary or time-to-event contrast

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.outcome_code, self.timepoint, self.subgroup_variable, self.subgroup_value)

    @property
    def k(self) -> int:
        """Studies in the row: the remainder counts as the studies it stands for."""
        return sum(1 for s in self.studies if s.study.study_id > 0) + self.remainder_k

    @property
    def n_participants(self) -> int | None:
        """A controlled comparison counts every arm; a before–after row only the arms it pooled (intervention)."""
        controlled = self.subgroup_variable == CONTROLLED_VARIABLE
        ns = [row.study.n if controlled else row.study.before_after_n for row in self.studies]
        return None if any(n is None for n in ns) else sum(ns)


def pooled_rows(inputs: RecomputeInputs, effects: dict, missing: dict, plan: SynthesisPlan | None = None) -> list:
    """Every outcome and time point with data or a published row: extracted and new studies pooled with the
    published remainder where the published synthesis has that row, from the studies alone where it has not."""
    by_id = {s.study_id: s for s in inputs.studies}
    cells = plan.cells if plan else {}
    by_id.update(plan.synthetic_inputs() if plan else {})
    settings = inputs.settings
    rows: list[PooledRow] = []
    for code, timepoint in sorted(set(effects) | {key[:2] for key in cells}):
        published = cells.get((code, timepoint, "", ""))
        group, off_scale = _one_scale(effects.get((code, timepoint), []), published)
        overall = _row_for(code, timepoint, "", "", group, cells, by_id, settings)
        if overall:
            overall.unpoolable = list(missing.get((code, timepoint), [])) + off_scale
            overall.sensitivity = _sensitivity(overall, inputs, settings)
            rows.append(overall)
        rows.extend(_subgroup_rows(code, timepoint, group, overall, cells, by_id, settings))
    return rows


def _one_scale(group: list[StudyEffect], published=None) -> tuple[list[StudyEffect], list[Unpoolable]]:
    """Raw differences and log ratios cannot share a pool: keep the published row's scale, else the one most
    studies use."""
    if not group:
        return [], []
    scales = [e.scale for e in group]
    main = max(set(scales), key=scales.count)
    if published is not None:
        main = "log" if published.row.effect_measure == "ratio" else "raw"
    kept = [e for e in group if e.scale == main]
    dropped = [
        Unpoolable(e.study_id, f"reported on the {e.scale} scale, the row is on the {main} scale")
        for e in group
        if e.scale != main
    ]
    return kept, dropped


def _row_for(code, timepoint, variable, value, group, cells, by_id, settings) -> PooledRow | None:
    """The studies of one row, with the published remainder when the published synthesis has the row."""
    cell = cells.get((code, timepoint, variable, value))
    if cell is not None and cell.reason:
        return None  # carried as published, with its reason
    members = list(group) + ([cell.aggregate] if cell is not None and cell.aggregate is not None else [])
    if not members:
        return None
    row = _pool(code, timepoint, variable, value, members, by_id, settings)
    if cell is not None:
        row.published = cell.row
        row.remainder = cell.derivation
        row.remainder_k = cell.remainder_k
        # Nothing but the published row's own studies (and its remainder): by construction the published row.
        row.reproduces_published = cell.aggregate is not None and {e.study_id for e in group} <= cell.pooled_here
    return row


def _pool(code, timepoint, variable, value, group, by_id, settings) -> PooledRow:
    group = sorted(group, key=lambda e: (by_id[e.study_id].publication_key, by_id[e.study_id].label))
    yi, vi = arrays(group)
    core = pool_arrays(yi, vi, method=settings["estimator"], test=settings["ci_method"], level=LEVEL)
    weights = study_weights(vi, core.tau2)
    half = 1.959963984540054 * np.sqrt(vi)
    studies = [
        StudyRow(by_id[e.study_id], e, float(yi[i] - half[i]), float(yi[i] + half[i]), float(weights[i]))
        for i, e in enumerate(group)
    ]
    return PooledRow(code, timepoint, variable, value, group[0].scale, core, studies)


def _subgroup_rows(code, timepoint, group, overall, cells, by_id, settings) -> list[PooledRow]:
    """Subgroups of the studies themselves (the remainder has no single cell source); a subgroup the published
    synthesis reported is pooled with its own remainder instead."""
    rows = []
    yi, vi = arrays(group)
    for variable in SUBGROUP_VARIABLES if len(group) >= 2 else ():
        labels = [getattr(by_id[e.study_id], variable) or "not reported" for e in group]
        if len(set(labels)) < 2:
            continue
        test = subgroups(yi, vi, labels, method=settings["estimator"], test=settings["ci_method"], level=LEVEL)
        if overall is not None:
            overall.subgroup_test[variable] = {"q_between": test.q_between, "df": test.df, "pval": test.pval}
        for value in dict.fromkeys(labels):
            if (code, timepoint, variable, value) not in cells:
                members = [e for e, label in zip(group, labels) if label == value]
                row = _pool(code, timepoint, variable, value, members, by_id, settings)
                if overall is not None and overall.remainder:
                    row.note = "extracted and new studies only: the published remainder has no single subgroup"
                rows.append(row)
    for _, _, variable, value in (key for key in cells if key[:2] == (code, timepoint) and key[2]):
        members = [e for e in group if (getattr(by_id[e.study_id], variable) or "not reported") == value]
        row = _row_for(code, timepoint, variable, value, members, cells, by_id, settings)
        if row is not None:
            rows.append(row)
    return rows


def _sensitivity(row: PooledRow, inputs: RecomputeInputs, settings: dict) -> dict:
    method, test = settings["estimator"], settings["ci_method"]
    yi, vi = arrays([s.effect for s in row.studies])
    if row.core.k > MAX_K_INFLUENCE:
        result: dict = {
            "not_computed": f"leave-one-out and cumulative analyses are computed up to k = {MAX_K_INFLUENCE}"
        }
    else:
        result = {"cumulative": _cumulative(row, yi, vi, method, test)}
    if 3 <= row.core.k <= MAX_K_INFLUENCE:
        loo = leave_one_out(yi, vi, method=method, test=test, level=LEVEL)
        result["leave_one_out"] = [
            {
                "omitted": s.study.label,
                "estimate": float(loo.estimate[i]),
                "ci_lb": float(loo.ci_lb[i]),
                "ci_ub": float(loo.ci_ub[i]),
                "tau2": float(loo.tau2[i]),
                "i2": float(loo.i2[i]),
            }
            for i, s in enumerate(row.studies)
        ]
    by_r = _r_sensitivity(row, inputs, settings)
    if by_r:
        result["r_sensitivity"] = by_r
    result["model"] = _model_sensitivity(row, yi, vi, settings)
    return result


def _model_sensitivity(row: PooledRow, yi, vi, settings: dict) -> dict:
    """The other model beside the primary one: REML with Hartung–Knapp beside fixed effect, and vice versa.
    A remainder is an aggregate of several studies: under random effects it is one input, an approximation."""
    method, test = ("REML", "knha") if settings["estimator"] == "FE" else ("FE", "z")
    fit = pool_arrays(yi, vi, method=method, test=test, level=LEVEL)
    return {
        "method": method,
        "ci_method": test,
        "estimate": fit.estimate,
        "ci_lb": fit.ci_lb,
        "ci_ub": fit.ci_ub,
        "tau2": fit.tau2,
        "i2": fit.i2 if fit.k > 1 else None,
        "approximate": bool(row.remainder) and method != "FE",
    }


def _cumulative(row: PooledRow, yi, vi, method: str, test: str) -> list[dict]:
    fits = cumulative(yi, vi, method=method, test=test, level=LEVEL)  # studies are already in publication order
    return [
        {
            "added": s.study.label,
            "year": s.study.year,
            "k": fit.k,
            "estimate": fit.estimate,
            "ci_lb": fit.ci_lb,
            "ci_ub": fit.ci_ub,
        }
        for s, fit in zip(row.studies, fits)
    ]


def _r_sensitivity(row: PooledRow, inputs: RecomputeInputs, settings: dict) -> list[dict]:
    """Re-pool with each r; only baseline/follow-up studies without their own r change (the remainder, change
    scores and reported effects stay as they are)."""
    pre_post, fixed = [], []
    for s in row.studies:
        m = inputs.measurement_by_key.get((s.study.study_id, row.outcome_code, row.timepoint))
        moves = m is not None and m.data_format == "baseline_followup" and "(reported)" not in s.effect.derivation
        (pre_post if moves else fixed).append(m if moves else s.effect)
    if not pre_post:
        return []
    others_yi, others_vi = arrays(fixed)
    results = []
    for r in R_VALUES:
        varied = {**settings, "prepost_correlation": r, "prepost_independent": False}
        yi, vi = pre_post_arrays(pre_post, varied)[:2]
        yi, vi = np.concatenate([yi, others_yi]), np.concatenate([vi, others_vi])
        fit = pool_arrays(yi, vi, method=settings["estimator"], test=settings["ci_method"], level=LEVEL)
        results.append(
            {"r": r, "estimate": fit.estimate, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub, "tau2": fit.tau2, "i2": fit.i2}
        )
    return results


def natural_scale(row: PooledRow, value: float) -> float:
    if row.scale in PROPORTION_SCALES:
        return natural(row.scale, value, [s.study.n or 1 for s in row.studies])
    return math.exp(value) if row.scale == "log" else value
