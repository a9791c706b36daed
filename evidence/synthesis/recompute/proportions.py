"""Single-arm event counts: the proportion of patients with the event, pooled per outcome and time point.

A study without a comparator arm at that outcome and time point enters with its intervention arms' events and
patients (several intervention arms summed); a controlled study gives its between-arm contrast instead
(contrasts.py). Each proportion is on the review's proportion measure with its continuity correction stated
(binary.py), pooled by inverse variance with the review's estimator, and shown back-transformed. On the logit
scale (PLO) the pooled estimate is, as in the safety analysis (safety.py), the random-effects logistic model
(binomial-normal, ML; metafor ``rma.glmm``), which takes a study with no event as it is, wherever that model can
be fitted (k ≥ 2, some but not all patients with the event, converged); the study lines stay inverse variance.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from evidence.models import ArmRole
from evidence.synthesis.recompute.analyses import LEVEL, PooledRow, StudyRow
from evidence.synthesis.recompute.binary import proportion_effect
from evidence.synthesis.recompute.effects import StudyEffect, Unpoolable, arrays
from evidence.synthesis.recompute.inputs import MEASUREMENT_FIELDS, RecomputeInputs
from pooling.glmm import glmm_proportions
from pooling.model import PoolCore, pool_arrays, study_weights

Z975 = 1.959963984540054


def _controlled_keys(inputs: RecomputeInputs) -> set[tuple]:
    return {
        (m.study_id, m.outcome_code, m.timepoint_months)
        for m in inputs.arm_measurements
        if m.role == ArmRole.COMPARATOR
    }


def proportion_effects(inputs: RecomputeInputs) -> tuple[dict, dict, dict]:
    """Proportions per (outcome, time point) of single-arm event counts, the rows that cannot give one, and the
    counts themselves (study id -> (events, total)) for the logistic model."""
    controlled = _controlled_keys(inputs)
    effects: dict[tuple, list[StudyEffect]] = defaultdict(list)
    missing: dict[tuple, list[Unpoolable]] = defaultdict(list)
    counts: dict[tuple, dict] = defaultdict(dict)
    for m in inputs.measurements:
        outcome = inputs.outcomes.get(m.outcome_code)
        if m.data_format != "events" or (m.study_id, m.outcome_code, m.timepoint_months) in controlled:
            continue
        if outcome is not None and outcome.outcome_type == "time_to_event":
            continue  # a time-to-event outcome is a hazard ratio between arms
        v = dict(zip(MEASUREMENT_FIELDS, m.values))
        key = (m.outcome_code, m.timepoint_months)
        if v["events"] is None or not v["total"]:
            missing[key].append(Unpoolable(m.study_id, "events or total missing"))
            continue
        effects[key].append(proportion_effect(m.study_id, v["events"], v["total"], inputs.settings))
        counts[key][m.study_id] = (v["events"], v["total"])
    return dict(effects), dict(missing), dict(counts)


def _glmm_core(counts: dict, settings: dict) -> PoolCore | None:
    """The logistic model's fit as the row's pooled result, or None where it cannot be fitted (as safety.py)."""
    x, n = [c[0] for c in counts.values()], [c[1] for c in counts.values()]
    if len(x) < 2 or not 0 < sum(x) < sum(n):
        return None
    try:
        fit = glmm_proportions(x, n, level=LEVEL, add=settings["continuity_correction"])
    except ValueError:
        return None
    if not fit.converged:
        return None
    return PoolCore(
        k=fit.k, method="GLMM", test="z", level=fit.level, estimate=fit.estimate, se=fit.se,
        statistic=fit.statistic, pval=fit.pval, ci_lb=fit.ci_lb, ci_ub=fit.ci_ub, pi_lb=fit.pi_lb,
        pi_ub=fit.pi_ub, tau2=fit.tau2, se_tau2=None, i2=fit.i2, h2=fit.h2, q=fit.q_lrt, q_pval=fit.q_lrt_pval,
        iterations=fit.iterations, converged=fit.converged,
    )  # fmt: skip


def proportion_rows(
    inputs: RecomputeInputs, others: list[PooledRow] = (), carried: set = frozenset()
) -> list[PooledRow]:
    """One before–after row per outcome and time point with single-arm event counts. Where ``others`` already
    has that overall row (another format of the outcome, or a published row), the counts are named on it as not
    poolable there: one row per outcome and time point, never two scales in one pool. A published row carried
    as printed (``carried``: its outcome and time point) keeps its place; the counts wait for it to be pooled."""
    by_id = {s.study_id: s for s in inputs.studies}
    effects, missing, counts = proportion_effects(inputs)
    taken = {row.key[:2]: row for row in others if not row.subgroup_variable}
    rows = []
    for (code, timepoint), group in sorted(effects.items()):
        if (code, timepoint) in taken:
            reason = "single-arm event counts: the row pools another kind of data"
            taken[(code, timepoint)].unpoolable.extend(Unpoolable(e.study_id, reason) for e in group)
            continue
        if (code, timepoint) in carried:
            continue
        group = sorted(group, key=lambda e: (by_id[e.study_id].publication_key, by_id[e.study_id].label))
        yi, vi = arrays(group)
        core = pool_arrays(yi, vi, method=inputs.settings["estimator"], test=inputs.settings["ci_method"], level=LEVEL)
        weights, half = study_weights(vi, core.tau2), Z975 * np.sqrt(vi)
        if inputs.settings["proportion_measure"] == "PLO":
            core = _glmm_core(counts[(code, timepoint)], inputs.settings) or core
        studies = [
            StudyRow(by_id[e.study_id], e, float(yi[i] - half[i]), float(yi[i] + half[i]), float(weights[i]))
            for i, e in enumerate(group)
        ]
        scale = inputs.settings["proportion_measure"]
        row = PooledRow(code, timepoint, "", "", scale, core, studies, measure=scale)
        row.unpoolable = list(missing.get((code, timepoint), []))
        rows.append(row)
    return rows
