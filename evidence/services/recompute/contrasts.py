"""Controlled comparisons: the between-arm contrast of each controlled study, pooled in rows of their own.

The before–after synthesis reads intervention arms only. A study with a comparator arm also gives, per outcome
and time point, the mean difference in change from baseline between its intervention and comparator arms (or
in follow-up values, when the extractor states that basis), or a risk ratio for event counts. These rows carry
``subgroup_variable = CONTROLLED_VARIABLE`` so they are never pooled or shown with before–after rows; each study
is counted once, with its whole enrolment.

Per-arm change is stored as follow-up − baseline; the review's orientation is applied here, as for
before–after effects. Variances: MD, vi = sd₁²/n₁ + sd₂²/n₂; change SD from baseline and follow-up SDs,
sd = √(sb² + sf² − 2·r·sb·sf) (Cochrane Handbook §6.5.2.8); RR on the log scale, vi = 1/a − 1/n₁ + 1/c − 1/n₂,
0.5 added to every cell when one is zero.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from evidence.models import ArmRole, ContrastBasis, OutcomeMeasurement, Review, StudyStatus
from evidence.services.recompute.analyses import CONTROLLED_VARIABLE, LEVEL, PooledRow, StudyRow
from evidence.services.recompute.effects import StudyEffect, Unpoolable, arrays
from pooling.model import pool_arrays, study_weights

CONTROLLED_VALUE = "controlled"
CONTROLLED_LABEL = "Controlled comparison: MSC arm vs comparator arm"
ARM_FIELDS = (
    "baseline_mean",
    "baseline_sd",
    "baseline_n",
    "followup_mean",
    "followup_sd",
    "followup_n",
    "change_mean",
    "change_sd",
    "change_n",
    "effect_orientation",
    "prepost_correlation",
    "events",
    "total",
)
Z975 = 1.959963984540054


@dataclass(frozen=True)
class ArmMeasurementInput:
    """One arm's measurement in a controlled study (hashed with the other inputs)."""

    study_id: int
    arm_label: str
    role: str
    arm_n: int | None
    basis: str  # the study's contrast basis: change (default) or follow-up values
    outcome_code: str
    timepoint_months: str
    data_format: str
    values: tuple  # ARM_FIELDS order


def arm_measurements_load(*, review: Review) -> tuple[ArmMeasurementInput, ...]:
    """Every arm's measurements of the review's included studies that have a comparator arm."""
    from evidence.services.recompute.inputs import _months

    rows = (
        OutcomeMeasurement.objects.filter(
            study__review=review,
            study__status=StudyStatus.INCLUDED,
            study__arms__role=ArmRole.COMPARATOR,
            study_arm__isnull=False,
        )
        .distinct()
        .select_related("study_arm", "outcome", "study")
        .order_by("id")
    )
    return tuple(
        ArmMeasurementInput(
            m.study_id,
            m.study_arm.label,
            m.study_arm.role,
            m.study_arm.n,
            m.study.contrast_basis or ContrastBasis.CHANGE,
            m.outcome.code,
            _months(m.timepoint_months),
            m.data_format,
            tuple(getattr(m, name) for name in ARM_FIELDS),
        )
        for m in rows
    )


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


def _risk_ratio(intervention: dict, comparator: dict) -> StudyEffect | str:
    a, n1, c, n2 = (
        intervention.get("events"),
        intervention.get("total"),
        comparator.get("events"),
        comparator.get("total"),
    )
    if None in (a, n1, c, n2):
        return "events or totals missing"
    if a == c == 0:
        return "no event in either arm"
    if 0 in (a, c, n1 - a, n2 - c):
        a, c, n1, n2 = a + 0.5, c + 0.5, n1 + 1, n2 + 1
    return StudyEffect(0, math.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2, "log", "risk ratio")


def arm_contrast(*, intervention: dict, comparator: dict, basis: str, settings: dict) -> StudyEffect | str:
    """One study's between-arm effect (study id 0: the caller sets it) under the review's settings."""
    if intervention.get("data_format") == "events" or comparator.get("data_format") == "events":
        return _risk_ratio(intervention, comparator)
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


def controlled_effects(inputs) -> tuple[dict, dict]:
    """Between-arm effects per (outcome, time point), and the controlled studies that could not give one."""
    by_study: dict[tuple, dict[str, list[ArmMeasurementInput]]] = defaultdict(lambda: defaultdict(list))
    for m in getattr(inputs, "arm_measurements", ()):
        by_study[(m.outcome_code, m.timepoint_months, m.study_id)][m.role].append(m)
    effects: dict[tuple, list[StudyEffect]] = defaultdict(list)
    missing: dict[tuple, list[Unpoolable]] = defaultdict(list)
    for (code, timepoint, study_id), arms in sorted(by_study.items()):
        if not arms[ArmRole.INTERVENTION] or not arms[ArmRole.COMPARATOR]:
            continue  # one arm only at this time point: before–after evidence at most
        first, control = arms[ArmRole.INTERVENTION][0], arms[ArmRole.COMPARATOR][0]
        result = arm_contrast(
            intervention=_arm_dict(first), comparator=_arm_dict(control), basis=first.basis, settings=inputs.settings
        )
        if isinstance(result, str):
            missing[(code, timepoint)].append(Unpoolable(study_id, f"no between-arm contrast: {result}"))
            continue
        how = f"{result.derivation}, {first.arm_label} (n = {first.arm_n}) vs {control.arm_label} (n = {control.arm_n})"
        effects[(code, timepoint)].append(StudyEffect(study_id, result.yi, result.vi, result.scale, how[:200]))
    return dict(effects), dict(missing)


def controlled_rows(inputs) -> list[PooledRow]:
    """One 'controlled comparison' row per outcome and time point with at least one between-arm contrast."""
    by_id = {s.study_id: s for s in inputs.studies}
    effects, missing = controlled_effects(inputs)
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
        rows.append(row)
    return rows


# --- Several intervention arms (e.g. two doses) enter the before–after synthesis as one group ----------------


def _combined(groups: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """Mean, SD and n of groups merged into one (Cochrane Handbook §6.5.2.10, Table 6.5.a), pairwise."""
    mean, sd, n = groups[0]
    for m2, s2, n2 in groups[1:]:
        total = n + n2
        pooled_var = ((n - 1) * sd**2 + (n2 - 1) * s2**2 + n * n2 / total * (mean - m2) ** 2) / (total - 1)
        mean, sd, n = (n * mean + n2 * m2) / total, math.sqrt(pooled_var), total
    return mean, sd, n


def _merge(group: list) -> object:
    """One measurement of the study for the combined intervention arms; the first arm's when they cannot merge."""
    from evidence.services.recompute.inputs import MEASUREMENT_FIELDS

    first = group[0]
    rows = [dict(zip(MEASUREMENT_FIELDS, m.values)) for m in group]
    if len({m.data_format for m in group}) > 1 or first.data_format not in ("change", "baseline_followup"):
        return first
    merged = dict(rows[0])
    slots = ("change",) if first.data_format == "change" else ("baseline", "followup")
    for slot in slots:
        parts = [(r[f"{slot}_mean"], r[f"{slot}_sd"], r[f"{slot}_n"]) for r in rows]
        if any(value is None for part in parts for value in part):
            return first
        merged[f"{slot}_mean"], merged[f"{slot}_sd"], merged[f"{slot}_n"] = _combined(parts)
    if len({r["effect_orientation"] for r in rows}) > 1:
        return first
    return type(first)(**{**vars(first), "values": tuple(merged[name] for name in MEASUREMENT_FIELDS)})


def intervention_arms_combined(measurements: tuple) -> tuple:
    """The before–after inputs with one measurement per study, outcome and time point: a study's intervention
    arms are merged into one group, so no study (and none of its patients) enters a pool twice."""
    groups: dict[tuple, list] = defaultdict(list)
    for m in measurements:
        groups[(m.study_id, m.outcome_code, m.timepoint_months)].append(m)
    return tuple(group[0] if len(group) == 1 else _merge(group) for group in groups.values())
