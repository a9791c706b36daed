"""Single-arm event counts: the proportion of patients with the event, pooled per outcome and time point.

A study without a comparator arm at that outcome and time point enters with its intervention arms' events and
patients (several intervention arms summed); a controlled study gives its between-arm contrast instead
(contrasts.py). Each proportion is on the review's proportion measure with its continuity correction stated
(binary.py), pooled by inverse variance with the review's estimator, and shown back-transformed.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from evidence.models import ArmRole
from evidence.services.recompute.analyses import PooledRow, StudyRow
from evidence.services.recompute.binary import proportion_effect
from evidence.services.recompute.effects import StudyEffect, Unpoolable, arrays
from evidence.services.recompute.inputs import MEASUREMENT_FIELDS, RecomputeInputs
from pooling.model import pool_arrays, study_weights

Z975 = 1.959963984540054


def _controlled_keys(inputs: RecomputeInputs) -> set[tuple]:
    return {
        (m.study_id, m.outcome_code, m.timepoint_months)
        for m in inputs.arm_measurements
        if m.role == ArmRole.COMPARATOR
    }


def proportion_effects(inputs: RecomputeInputs) -> tuple[dict, dict]:
    """Proportions per (outcome, time point) of single-arm event counts, and the rows that cannot give one."""
    controlled = _controlled_keys(inputs)
    effects: dict[tuple, list[StudyEffect]] = defaultdict(list)
    missing: dict[tuple, list[Unpoolable]] = defaultdict(list)
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
    return dict(effects), dict(missing)


def proportion_rows(inputs: RecomputeInputs) -> list[PooledRow]:
    """One before–after row per outcome and time point with single-arm event counts."""
    by_id = {s.study_id: s for s in inputs.studies}
    effects, missing = proportion_effects(inputs)
    rows = []
    for (code, timepoint), group in sorted(effects.items()):
        group = sorted(group, key=lambda e: (by_id[e.study_id].publication_key, by_id[e.study_id].label))
        yi, vi = arrays(group)
        core = pool_arrays(yi, vi, method=inputs.settings["estimator"], test=inputs.settings["ci_method"])
        weights, half = study_weights(vi, core.tau2), Z975 * np.sqrt(vi)
        studies = [
            StudyRow(by_id[e.study_id], e, float(yi[i] - half[i]), float(yi[i] + half[i]), float(weights[i]))
            for i, e in enumerate(group)
        ]
        scale = inputs.settings["proportion_measure"]
        row = PooledRow(code, timepoint, "", "", scale, core, studies, measure=scale)
        row.unpoolable = list(missing.get((code, timepoint), []))
        rows.append(row)
    return rows
