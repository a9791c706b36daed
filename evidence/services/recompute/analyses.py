"""Pool every outcome and time point: overall, by subgroup, leave-one-out, r-sensitivity, cumulative."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from evidence.services.recompute.effects import StudyEffect, Unpoolable, arrays, pre_post_arrays
from evidence.services.recompute.inputs import RecomputeInputs, StudyInput
from pooling.diagnostics import cumulative, leave_one_out, subgroups
from pooling.model import PoolCore, pool_arrays, study_weights

SUBGROUP_VARIABLES = ("cell_source", "route", "donor")
R_VALUES = (0.2, 0.5, 0.8)
# Leave-one-out and cumulative analyses refit the model k times (O(k²) work); past this k a single study's
# influence is negligible and a k-row table unreadable, so they are reported as not computed.
MAX_K_INFLUENCE = 100


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

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.outcome_code, self.timepoint, self.subgroup_variable, self.subgroup_value)

    @property
    def n_participants(self) -> int | None:
        ns = [row.study.n for row in self.studies]
        return None if any(n is None for n in ns) else sum(ns)


def pooled_rows(inputs: RecomputeInputs, effects: dict, missing: dict) -> list[PooledRow]:
    by_id = {s.study_id: s for s in inputs.studies}
    settings = inputs.settings
    rows: list[PooledRow] = []
    for (code, timepoint), group in sorted(effects.items()):
        group, off_scale = _one_scale(group)
        overall = _pool(code, timepoint, "", "", group, by_id, settings)
        overall.unpoolable = list(missing.get((code, timepoint), [])) + off_scale
        overall.sensitivity = _sensitivity(overall, inputs, settings)
        rows.append(overall)
        rows.extend(_subgroup_rows(overall, by_id, settings))
    return rows


def _one_scale(group: list[StudyEffect]) -> tuple[list[StudyEffect], list[Unpoolable]]:
    """Raw differences and log ratios cannot share a pool: keep the scale most studies use."""
    scales = [e.scale for e in group]
    main = max(set(scales), key=scales.count)
    kept = [e for e in group if e.scale == main]
    dropped = [
        Unpoolable(e.study_id, f"reported on the {e.scale} scale, the others on the {main} scale")
        for e in group
        if e.scale != main
    ]
    return kept, dropped


def _pool(code, timepoint, variable, value, group, by_id, settings) -> PooledRow:
    group = sorted(group, key=lambda e: (by_id[e.study_id].publication_key, by_id[e.study_id].label))
    yi, vi = arrays(group)
    core = pool_arrays(yi, vi, method=settings["estimator"], test=settings["ci_method"])
    weights = study_weights(vi, core.tau2)
    half = 1.959963984540054 * np.sqrt(vi)
    studies = [
        StudyRow(by_id[e.study_id], e, float(yi[i] - half[i]), float(yi[i] + half[i]), float(weights[i]))
        for i, e in enumerate(group)
    ]
    return PooledRow(code, timepoint, variable, value, group[0].scale, core, studies)


def _subgroup_rows(overall: PooledRow, by_id: dict, settings: dict) -> list[PooledRow]:
    if overall.core.k < 2:
        return []
    rows = []
    effects = [row.effect for row in overall.studies]
    yi, vi = arrays(effects)
    for variable in SUBGROUP_VARIABLES:
        labels = [getattr(by_id[e.study_id], variable) or "not reported" for e in effects]
        if len(set(labels)) < 2:
            continue
        test = subgroups(yi, vi, labels, method=settings["estimator"], test=settings["ci_method"])
        overall.subgroup_test[variable] = {"q_between": test.q_between, "df": test.df, "pval": test.pval}
        for value in dict.fromkeys(labels):
            members = [e for e, label in zip(effects, labels) if label == value]
            rows.append(_pool(overall.outcome_code, overall.timepoint, variable, value, members, by_id, settings))
    return rows


def subgroup_row(overall: PooledRow, variable: str, value: str, by_id: dict, settings: dict) -> PooledRow | None:
    """One subgroup pooled from the overall row's studies (also when it is the only subgroup present)."""
    members = [s.effect for s in overall.studies if (getattr(s.study, variable) or "not reported") == value]
    if not members:
        return None
    return _pool(overall.outcome_code, overall.timepoint, variable, value, members, by_id, settings)


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
        loo = leave_one_out(yi, vi, method=method, test=test)
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
    return result


def _cumulative(row: PooledRow, yi, vi, method: str, test: str) -> list[dict]:
    fits = cumulative(yi, vi, method=method, test=test)  # studies are already in publication order
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
    """Re-pool with each imputed r; only studies that use the review's default r change."""
    if not any("review default" in s.effect.derivation for s in row.studies):
        return []
    group = [inputs.measurement_by_key[(s.study.study_id, row.outcome_code, row.timepoint)] for s in row.studies]
    pre_post = [m for m in group if m.data_format == "baseline_followup"]
    others_yi, others_vi = arrays(
        [s.effect for s, m in zip(row.studies, group) if m.data_format != "baseline_followup"]
    )
    results = []
    for r in R_VALUES:
        yi, vi = pre_post_arrays(pre_post, {**settings, "prepost_correlation": r})[:2]
        yi, vi = np.concatenate([yi, others_yi]), np.concatenate([vi, others_vi])
        fit = pool_arrays(yi, vi, method=settings["estimator"], test=settings["ci_method"])
        results.append(
            {"r": r, "estimate": fit.estimate, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub, "tau2": fit.tau2, "i2": fit.i2}
        )
    return results


def natural_scale(row: PooledRow, value: float) -> float:
    return math.exp(value) if row.scale == "log" else value
