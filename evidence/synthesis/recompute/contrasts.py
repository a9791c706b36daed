"""Controlled comparisons: the between-arm contrast of each controlled study, pooled in rows of their own.

The before–after synthesis reads intervention arms only. A study with a comparator arm also gives, per outcome
and time point, the mean difference in change from baseline between its intervention and comparator arms (or
in follow-up values, when the extractor states that basis), or a risk ratio for event counts. These rows carry
``subgroup_variable = CONTROLLED_VARIABLE`` so they are never pooled or shown with before–after rows; each study
is counted once, with its whole enrolment.

Per-arm change is stored as follow-up − baseline; the review's orientation is applied here, as for
before–after effects. Variances: MD, vi = sd₁²/n₁ + sd₂²/n₂; change SD from baseline and follow-up SDs,
sd = √(sb² + sf² − 2·r·sb·sf) (Cochrane Handbook §6.5.2.8). Events / n give the review's binary measure (RR, OR
or RD) and a time-to-event outcome its reported hazard ratio (binary.py), with absolute effects per 1,000.

Several intervention arms (e.g. two doses) against one comparator: the arms are combined into one intervention
group (Cochrane Handbook §23.3.4, "combine groups to create a single pair-wise comparison": events and patients
summed; means and SDs merged by §6.5.2.10), so the study gives one contrast, the comparator's patients are
counted once and no arm is silently dropped. Several comparator arms are combined the same way.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from evidence.models import ArmRole, ContrastBasis
from evidence.synthesis.recompute.analyses import CONTROLLED_VARIABLE, LEVEL, PooledRow, StudyRow
from evidence.synthesis.recompute.arms import ARM_FIELDS, ArmMeasurementInput, _combined
from evidence.synthesis.recompute.binary import (
    HAZARD_MEASURES,
    absolute_effect,
    hazard_ratio_effect,
    natural,
    two_arm_effect,
)
from evidence.synthesis.recompute.effects import StudyEffect, Unpoolable, arrays
from evidence.synthesis.recompute.measures import MEASUREMENT_FIELDS
from pooling.model import pool_arrays, study_weights

CONTROLLED_VALUE = "controlled"
CONTROLLED_LABEL = "Controlled comparison: MSC arm vs comparator arm"
Z975 = 1.959963984540054


def _change(arm: dict, r: float) -> tuple[float, float, int] | str:
    """(mean, SD, n) of follow-up − baseline for one arm, or why it cannot be had."""
    if arm.get("change_mean") is not None and arm.get("change_sd") is not None:
        sign = -1.0 if arm.get("effect_orientation") == "baseline_minus_followup" else 1.0
        n = arm.get("change_n") or arm.get("arm_n")
        return (sign * arm["change_mean"], arm["change_sd"], n) if n else "its change has no n"
    needed = ("baseline_mean", "baseline_sd", "followup_mean", "followup_sd")
    if all(arm.get(name) is not None for name in needed):
        r = arm["prepost_correlation"] if arm.get("prepost_correlation") is not None else r
        sb, sf = arm["baseline_sd"], arm["followup_sd"]
        n = arm.get("followup_n") or arm.get("baseline_n") or arm.get("arm_n")
        sd = math.sqrt(max(sb**2 + sf**2 - 2 * r * sb * sf, 0.0))
        return (arm["followup_mean"] - arm["baseline_mean"], sd, n) if n else "its means have no n"
    return "change (or baseline and follow-up) mean and SD missing"


def _followup(arm: dict) -> tuple[float, float, int] | str:
    n = arm.get("followup_n") or arm.get("arm_n")
    if arm.get("followup_mean") is None or arm.get("followup_sd") is None or not n:
        return "follow-up mean, SD or n missing"
    return arm["followup_mean"], arm["followup_sd"], n


def _counts(intervention: dict, comparator: dict) -> tuple:
    return (intervention.get("events"), intervention.get("total"), comparator.get("events"), comparator.get("total"))


def arm_contrast(*, intervention: dict, comparator: dict, basis: str, settings: dict) -> StudyEffect | str:
    """One study's between-arm effect (study id 0: the caller sets it) under the review's settings."""
    if intervention.get("data_format") == "events" or comparator.get("data_format") == "events":
        return two_arm_effect(_counts(intervention, comparator), settings)
    r = settings["prepost_correlation"]
    pick = _followup if basis == ContrastBasis.FOLLOWUP else (lambda arm: _change(arm, r))
    first, second = pick(intervention), pick(comparator)
    for arm, summary in (("intervention", first), ("comparator", second)):
        if isinstance(summary, str):
            return f"{arm} arm: {summary}"
    (m1, sd1, n1), (m2, sd2, n2) = first, second
    vi = sd1**2 / n1 + sd2**2 / n2
    if vi <= 0:
        return "zero variance in both arms"
    sign = -1.0 if settings["change_orientation"] == "baseline_minus_followup" else 1.0
    what = "follow-up values" if basis == ContrastBasis.FOLLOWUP else "change from baseline"
    return StudyEffect(0, sign * (m1 - m2), vi, "raw", f"mean difference in {what}")


def _arm_dict(m: ArmMeasurementInput) -> dict:
    return {"data_format": m.data_format, "arm_n": m.arm_n, **dict(zip(ARM_FIELDS, m.values))}


def arms_combined(arms: list[dict], basis: str, r: float) -> dict | str:
    """Several arms of one role as one group (module docstring): events and patients summed, or the arms'
    change (or follow-up) summaries merged; one arm is returned as it is."""
    if len(arms) == 1:
        return arms[0]
    if any(arm.get("data_format") == "events" for arm in arms):
        if any(arm.get("events") is None or arm.get("total") is None for arm in arms):
            return "an arm's events or total missing, so the arms cannot be combined"
        return {
            "data_format": "events",
            "events": sum(arm["events"] for arm in arms),
            "total": sum(arm["total"] for arm in arms),
        }
    pick = _followup if basis == ContrastBasis.FOLLOWUP else (lambda arm: _change(arm, r))
    parts = [pick(arm) for arm in arms]
    problem = next((part for part in parts if isinstance(part, str)), None)
    if problem:
        return f"one of the combined arms: {problem}"
    mean, sd, n = _combined(parts)
    if basis == ContrastBasis.FOLLOWUP:
        return {"data_format": "combined", "followup_mean": mean, "followup_sd": sd, "followup_n": n}
    return {"data_format": "combined", "change_mean": mean, "change_sd": sd, "change_n": n}


def _study_contrast(arms: dict, settings: dict) -> tuple[StudyEffect | str, str, tuple | None]:
    """The study's effect, its arms in words, and the comparator's (events, total) for the absolute effect."""
    treated, control = arms[ArmRole.INTERVENTION], arms[ArmRole.COMPARATOR]
    basis, r = treated[0].basis, settings["prepost_correlation"]
    first = arms_combined([_arm_dict(m) for m in treated], basis, r)
    second = arms_combined([_arm_dict(m) for m in control], basis, r)
    words = f"{' + '.join(_arm_words(m) for m in treated)} vs {' + '.join(_arm_words(m) for m in control)}"
    for role, arm in (("intervention", first), ("comparator", second)):
        if isinstance(arm, str):
            return f"{role} arms: {arm}", words, None
    result = arm_contrast(intervention=first, comparator=second, basis=basis, settings=settings)
    comparator = (second["events"], second["total"]) if second.get("data_format") == "events" else None
    return result, words, comparator


def _arm_words(m: ArmMeasurementInput) -> str:
    return f"{m.arm_label} (n = {m.arm_n})"


def controlled_effects(inputs) -> tuple[dict, dict, dict]:
    """Between-arm effects per (outcome, time point), the controlled studies that could not give one, and the
    comparator arms' (events, total) per study for absolute effects."""
    by_study: dict[tuple, dict[str, list[ArmMeasurementInput]]] = defaultdict(lambda: defaultdict(list))
    for m in getattr(inputs, "arm_measurements", ()):
        by_study[(m.outcome_code, m.timepoint_months, m.study_id)][m.role].append(m)
    effects: dict[tuple, list[StudyEffect]] = defaultdict(list)
    missing: dict[tuple, list[Unpoolable]] = defaultdict(list)
    comparators: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    for (code, timepoint, study_id), arms in sorted(by_study.items()):
        if not arms[ArmRole.INTERVENTION] or not arms[ArmRole.COMPARATOR]:
            continue  # one arm only at this time point: before–after evidence at most
        if _is_time_to_event(inputs, code):
            _comparator_events(arms, comparators[(code, timepoint)], study_id)
            continue  # its contrast is the reported hazard ratio (_hazard_ratios)
        result, words, comparator = _study_contrast(arms, inputs.settings)
        if isinstance(result, str):
            missing[(code, timepoint)].append(Unpoolable(study_id, f"no between-arm contrast: {result}"))
            continue
        if comparator is not None:
            comparators[(code, timepoint)][study_id] = comparator
        how = f"{result.derivation}, {words}"
        effects[(code, timepoint)].append(StudyEffect(study_id, result.yi, result.vi, result.scale, how[:200]))
    _hazard_ratios(inputs, effects, missing)
    return dict(effects), dict(missing), dict(comparators)


def _is_time_to_event(inputs, code: str) -> bool:
    outcome = inputs.outcomes.get(code)
    return outcome is not None and outcome.outcome_type == "time_to_event"


def _comparator_events(arms: dict, into: dict, study_id: int) -> None:
    control = [_arm_dict(m) for m in arms[ArmRole.COMPARATOR]]
    if all(arm.get("events") is not None and arm.get("total") for arm in control):
        into[study_id] = (sum(arm["events"] for arm in control), sum(arm["total"] for arm in control))


def _hazard_ratios(inputs, effects: dict, missing: dict) -> None:
    """A time-to-event outcome's reported HR (one per study and time point) is a between-arm contrast."""
    for m in inputs.measurements:
        if not _is_time_to_event(inputs, m.outcome_code):
            continue
        v = dict(zip(MEASUREMENT_FIELDS, m.values))
        key = (m.outcome_code, m.timepoint_months)
        if m.data_format != "effect_estimate" or (v["effect_measure"] or "HR") not in HAZARD_MEASURES:
            missing.setdefault(key, []).append(Unpoolable(m.study_id, "a time-to-event outcome needs its hazard ratio"))
            continue
        result = hazard_ratio_effect(m.study_id, v)
        (effects if isinstance(result, StudyEffect) else missing).setdefault(key, []).append(
            result if isinstance(result, StudyEffect) else Unpoolable(m.study_id, result)
        )


def controlled_rows(inputs) -> list[PooledRow]:
    """One 'controlled comparison' row per outcome and time point with at least one between-arm contrast."""
    by_id = {s.study_id: s for s in inputs.studies}
    effects, missing, comparators = controlled_effects(inputs)
    rows = []
    for (code, timepoint), group in sorted(effects.items()):
        group = sorted(group, key=lambda e: (by_id[e.study_id].publication_key, by_id[e.study_id].label))
        scales = [e.scale for e in group]
        scale = max(sorted(set(scales)), key=scales.count)  # an RR and an MD never share a pool
        members = [e for e in group if e.scale == scale]
        yi, vi = arrays(members)
        core = pool_arrays(yi, vi, method=inputs.settings["estimator"], test=inputs.settings["ci_method"], level=LEVEL)
        weights, half = study_weights(vi, core.tau2), Z975 * np.sqrt(vi)
        studies = [
            StudyRow(by_id[e.study_id], e, float(yi[i] - half[i]), float(yi[i] + half[i]), float(weights[i]))
            for i, e in enumerate(members)
        ]
        row = PooledRow(code, timepoint, CONTROLLED_VARIABLE, CONTROLLED_VALUE, scale, core, studies)
        off_scale = [Unpoolable(e.study_id, f"contrast on the {e.scale} scale") for e in group if e.scale != scale]
        row.unpoolable = list(missing.get((code, timepoint), [])) + off_scale
        _binary_measure(row, inputs, members, comparators.get((code, timepoint), {}))
        rows.append(row)
    return rows


def _binary_measure(row: PooledRow, inputs, members: list, comparators: dict) -> None:
    """Name a binary or time-to-event row's measure and give its absolute effect per 1,000 patients, from the
    comparator arms of the studies it pooled."""
    if _is_time_to_event(inputs, row.outcome_code):
        row.measure = "HR"
    elif any(e.study_id in comparators for e in members):
        row.measure = inputs.settings["binary_measure"]
    else:
        return
    pooled = [comparators[e.study_id] for e in members if e.study_id in comparators]
    if not pooled:
        return
    counts = (sum(c[0] for c in pooled), sum(c[1] for c in pooled))
    values = [natural(row.scale, v) for v in (row.core.estimate, row.core.ci_lb, row.core.ci_ub)]
    row.absolute = absolute_effect(row.measure, counts, *values)
