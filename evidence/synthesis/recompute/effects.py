"""Turn stored measurements into per-study effects (yi, vi) under the review's analysis settings.

Each measurement format has one derivation, recorded on the study row so a reader sees how its
number was made. A measurement that cannot be pooled yet (numbers not extracted, a median not yet
converted) is reported as such, never guessed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from evidence.synthesis.recompute.inputs import MEASUREMENT_FIELDS, MeasurementInput, RecomputeInputs
from pooling.effects import mean_change, smcr

Z975 = 1.959963984540054
RATIO_MEASURES = {"OR", "RR", "HR", "ratio"}
NOT_EXTRACTED = "numbers not yet extracted"


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


def study_effects(inputs: RecomputeInputs, settings: dict | None = None) -> tuple[dict, dict]:
    """Effects per (outcome, time point), and what could not be pooled there and why."""
    settings = settings or inputs.settings
    effects: dict[tuple, list[StudyEffect]] = defaultdict(list)
    missing: dict[tuple, list[Unpoolable]] = defaultdict(list)
    pre_post: dict[tuple, list[MeasurementInput]] = defaultdict(list)
    for m in inputs.measurements:
        if m.data_format == "events" or _time_to_event(inputs, m.outcome_code):
            continue  # single-arm proportions (proportions.py) and hazard ratios (contrasts.py)
        if m.data_format == "baseline_followup" and _complete_pre_post(m):
            pre_post[group_key(m)].append(m)
            continue
        result = measurement_effect(m, settings)
        (effects if isinstance(result, StudyEffect) else missing)[group_key(m)].append(result)
    for key, group in pre_post.items():
        effects[key].extend(pre_post_effects(group, settings))
    if settings.get("timepoint_windows"):
        _name_reported_timepoints(inputs, effects)
    return dict(effects), dict(missing)


def _time_to_event(inputs: RecomputeInputs, code: str) -> bool:
    outcome = inputs.outcomes.get(code)
    return outcome is not None and outcome.outcome_type == "time_to_event"


def _name_reported_timepoints(inputs: RecomputeInputs, effects: dict) -> None:
    """A measurement moved into a window says so on its study row."""
    for (code, timepoint), group in effects.items():
        for i, effect in enumerate(group):
            reported = inputs.measurement_by_key[(effect.study_id, code, timepoint)].reported_months
            if reported and reported != timepoint:
                derivation = f"{effect.derivation}; reported at {reported} months"[:200]
                group[i] = replace(effect, derivation=derivation)


def _complete_pre_post(m: MeasurementInput) -> bool:
    v = dict(zip(MEASUREMENT_FIELDS, m.values))
    needed = ("baseline_mean", "baseline_sd", "followup_mean", "followup_sd")
    return all(v[name] is not None for name in needed) and bool(v["followup_n"] or v["baseline_n"])


def pre_post_arrays(group: list[MeasurementInput], settings: dict) -> tuple[np.ndarray, np.ndarray, list, list, list]:
    """yi, vi of baseline/follow-up summaries under the settings, as one vectorised escalc call; also n, r and
    whether each r was the study's own (for the derivation text)."""
    cols = dict(zip(MEASUREMENT_FIELDS, zip(*(m.values for m in group))))
    n = [f or b for f, b in zip(cols["followup_n"], cols["baseline_n"])]
    if settings.get("prepost_independent"):  # the published review's convention: r = 0 for every study
        own, r = [False] * len(group), [0.0] * len(group)
    else:
        own = [r is not None for r in cols["prepost_correlation"]]
        r = [
            value if mine else settings["prepost_correlation"] for value, mine in zip(cols["prepost_correlation"], own)
        ]
    args = (cols["baseline_mean"], cols["baseline_sd"], cols["followup_mean"])
    if settings["continuous_measure"] == "SMCR":
        es = smcr(*args, n, r)
    else:
        es = mean_change(*args, cols["followup_sd"], n, r)
    sign = -1.0 if settings["change_orientation"] == "baseline_minus_followup" else 1.0
    return sign * es.yi, es.vi, n, r, own


def pre_post_effects(group: list[MeasurementInput], settings: dict) -> list[StudyEffect]:
    """Baseline/follow-up summaries of one outcome and time point, each with how its effect was derived."""
    yi, vi, n, r, own = pre_post_arrays(group, settings)
    how = "SMCR (Becker 1988)" if settings["continuous_measure"] == "SMCR" else "mean change"
    return [
        StudyEffect(
            m.study_id,
            float(yi[i]),
            float(vi[i]),
            "raw",
            f"{how}, r = {r[i]:g} ({_r_basis(own[i], settings)}), n = {n[i]}",
        )
        for i, m in enumerate(group)
    ]


def _r_basis(own: bool, settings: dict) -> str:
    if settings.get("prepost_independent"):
        return "before and after treated as independent"
    return "reported" if own else "review default"


def measurement_effect(m: MeasurementInput, settings: dict) -> StudyEffect | Unpoolable:
    v = dict(zip(MEASUREMENT_FIELDS, m.values))
    flip = settings["change_orientation"] == "baseline_minus_followup"
    if m.data_format == "baseline_followup":
        return _from_baseline_followup(m, settings)
    if m.data_format == "change":
        return _from_change(m.study_id, v, settings, flip)
    if m.data_format == "effect_estimate":
        return _from_estimate(m.study_id, v, flip)
    reasons = {"median": "median/IQR not yet converted to mean/SD", "events": "event counts are not a change score"}
    return Unpoolable(m.study_id, reasons.get(m.data_format, NOT_EXTRACTED))


def _from_baseline_followup(m: MeasurementInput, settings: dict) -> StudyEffect | Unpoolable:
    if not _complete_pre_post(m):
        return Unpoolable(m.study_id, "baseline or follow-up mean, SD or n missing")
    return pre_post_effects([m], settings)[0]


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
