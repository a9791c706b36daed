"""Turn stored measurements into per-study effects (yi, vi) under the review's analysis settings.

Each measurement format has one derivation, recorded on the study row so a reader sees how its
number was made. A measurement that cannot be pooled yet (numbers not extracted, a median not yet
converted) is reported as such, never guessed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from evidence.services.recompute.inputs import MEASUREMENT_FIELDS, MeasurementInput, RecomputeInputs
from pooling.effects import mean_change, smcr

Z975 = 1.959963984540054
RATIO_MEASURES = {"OR", "RR", "HR", "ratio"}


@dataclass(frozen=True)
class StudyEffect:
    study_id: int
    yi: float
    vi: float
    scale: str  # "raw" (mean change / MD) or "log" (ratio measures)
    derivation: str


@dataclass(frozen=True)
class Unpoolable:
    study_id: int
    reason: str


def group_key(m: MeasurementInput) -> tuple[str, str]:
    return (m.outcome_code, m.timepoint_months)


def study_effects(inputs: RecomputeInputs) -> tuple[dict, dict]:
    """Effects per (outcome, time point), and what could not be pooled there and why."""
    effects: dict[tuple, list[StudyEffect]] = defaultdict(list)
    missing: dict[tuple, list[Unpoolable]] = defaultdict(list)
    settings = inputs.settings
    for m in inputs.measurements:
        result = measurement_effect(m, settings)
        (effects if isinstance(result, StudyEffect) else missing)[group_key(m)].append(result)
    return dict(effects), dict(missing)


def measurement_effect(m: MeasurementInput, settings: dict) -> StudyEffect | Unpoolable:
    v = dict(zip(MEASUREMENT_FIELDS, m.values))
    flip = settings["change_orientation"] == "baseline_minus_followup"
    if m.data_format == "baseline_followup":
        return _from_baseline_followup(m.study_id, v, settings, flip)
    if m.data_format == "change":
        return _from_change(m.study_id, v, settings, flip)
    if m.data_format == "effect_estimate":
        return _from_estimate(m.study_id, v, flip)
    reasons = {"median": "median/IQR not yet converted to mean/SD", "events": "event counts are not a change score"}
    return Unpoolable(m.study_id, reasons.get(m.data_format, "numbers not yet extracted"))


def _from_baseline_followup(study_id: int, v: dict, settings: dict, flip: bool) -> StudyEffect | Unpoolable:
    needed = ("baseline_mean", "baseline_sd", "followup_mean", "followup_sd")
    if any(v[name] is None for name in needed) or not (v["followup_n"] or v["baseline_n"]):
        return Unpoolable(study_id, "baseline or follow-up mean, SD or n missing")
    n = v["followup_n"] or v["baseline_n"]
    own_r = v["prepost_correlation"] is not None
    r = v["prepost_correlation"] if own_r else settings["prepost_correlation"]
    args = ([v["baseline_mean"]], [v["baseline_sd"]], [v["followup_mean"]])
    if settings["continuous_measure"] == "SMCR":
        es = smcr(*args, [n], [r])
        how = "SMCR (Becker 1988)"
    else:
        es = mean_change(*args, [v["followup_sd"]], [n], [r])
        how = "mean change"
    yi = -float(es.yi[0]) if flip else float(es.yi[0])
    source = "reported" if own_r else "review default"
    return StudyEffect(study_id, yi, float(es.vi[0]), "raw", f"{how}, r = {r:g} ({source}), n = {n}")


def _from_change(study_id: int, v: dict, settings: dict, flip: bool) -> StudyEffect | Unpoolable:
    if v["change_mean"] is None or v["change_sd"] is None or not v["change_n"]:
        return Unpoolable(study_id, "change mean, SD or n missing")
    if settings["continuous_measure"] == "SMCR":
        return Unpoolable(study_id, "SMCR needs the baseline SD; only a change score is reported")
    stored_flipped = v["effect_orientation"] == "baseline_minus_followup"
    yi = v["change_mean"] if stored_flipped == flip else -v["change_mean"]
    return StudyEffect(
        study_id, float(yi), v["change_sd"] ** 2 / v["change_n"], "raw", f"reported change score, n = {v['change_n']}"
    )


def _from_estimate(study_id: int, v: dict, flip: bool) -> StudyEffect | Unpoolable:
    estimate, low, high, se = v["effect_estimate"], v["effect_ci_lb"], v["effect_ci_ub"], v["effect_se"]
    if estimate is None or (se is None and (low is None or high is None)):
        return Unpoolable(study_id, "effect estimate without its CI or SE")
    if (v["effect_measure"] or "MD") in RATIO_MEASURES:
        if estimate <= 0 or (se is None and low <= 0):
            return Unpoolable(study_id, "a ratio must be positive")
        log_se = se if se is not None else (math.log(high) - math.log(low)) / (2 * Z975)
        return StudyEffect(study_id, math.log(estimate), log_se**2, "log", "reported ratio with its 95% CI (log scale)")
    stored_flipped = v["effect_orientation"] == "baseline_minus_followup"
    yi = estimate if stored_flipped == flip else -estimate
    se = se if se is not None else (high - low) / (2 * Z975)
    if se <= 0:
        return Unpoolable(study_id, "a zero-width CI or zero SE cannot be pooled")
    how = "reported SE" if v["effect_se"] is not None else "SE from the reported 95% CI"
    return StudyEffect(study_id, float(yi), float(se) ** 2, "raw", f"reported mean difference, {how}")


def arrays(effects: list[StudyEffect]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([e.yi for e in effects]), np.array([e.vi for e in effects])
