"""The arms of controlled studies as recompute inputs: each arm's measurements and adverse events, loaded once,
and several intervention arms of one study merged into one group for the before–after synthesis."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from evidence.models import AdverseEvent, ArmRole, ContrastBasis, OutcomeMeasurement, Review, StudyStatus
from evidence.synthesis.recompute.measures import MEASUREMENT_FIELDS, _months

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


def _controlled_arm_rows(model, review: Review):
    """A model's rows that name their arm, in the review's included studies that have a comparator arm."""
    return (
        model.objects.filter(
            study__review=review,
            study__status=StudyStatus.INCLUDED,
            study__arms__role=ArmRole.COMPARATOR,
            study_arm__isnull=False,
        )
        .distinct()
        .order_by("id")
    )


def arm_measurements_load(*, review: Review) -> tuple[ArmMeasurementInput, ...]:
    """Every arm's measurements of the review's included studies that have a comparator arm."""
    rows = _controlled_arm_rows(OutcomeMeasurement, review).select_related("study_arm", "outcome", "study")
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


@dataclass(frozen=True)
class ArmAdverseEventInput:
    """One arm's count of one adverse event in a controlled study (hashed with the other inputs)."""

    study_id: int
    arm_label: str
    role: str
    category: str
    serious: bool | None
    patients_with_event: int | None
    patients_at_risk: int | None


def arm_adverse_events_load(*, review: Review) -> tuple[ArmAdverseEventInput, ...]:
    """Adverse events per arm of the review's included studies that have a comparator arm."""
    rows = _controlled_arm_rows(AdverseEvent, review).select_related("study_arm", "study")
    return tuple(
        ArmAdverseEventInput(
            e.study_id,
            e.study_arm.label,
            e.study_arm.role,
            e.category or "other",
            e.serious,
            e.patients_with_event,
            e.patients_at_risk or e.study_arm.n,
        )
        for e in rows
    )


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
    first = group[0]
    rows = [dict(zip(MEASUREMENT_FIELDS, m.values)) for m in group]
    merged = dict(rows[0])
    if len({m.data_format for m in group}) == 1 and first.data_format == "events":
        if any(r["events"] is None or r["total"] is None for r in rows):
            return first
        merged["events"], merged["total"] = sum(r["events"] for r in rows), sum(r["total"] for r in rows)
        return type(first)(**{**vars(first), "values": tuple(merged[name] for name in MEASUREMENT_FIELDS)})
    if len({m.data_format for m in group}) > 1 or first.data_format not in ("change", "baseline_followup"):
        return first
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
