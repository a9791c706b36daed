"""Time-point windows: each measurement is pooled at its window's time point; one outside every window, or a
second one of the same study in a window, is named with the reason, never dropped silently."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

NOT_EXTRACTED = "not_extracted"  # MeasurementFormat.NOT_EXTRACTED (no model import: this module is plain data)


@dataclass(frozen=True)
class RejectedInput:
    study_id: int
    outcome_code: str
    timepoint_months: str
    reason: str


def _text(value: float) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def windowed(measurements: tuple, windows: list[dict]) -> tuple[tuple, tuple[RejectedInput, ...]]:
    """Measurements moved to their window's time point (reported time point kept), and those that cannot be."""
    if not windows:
        return measurements, ()
    names = ", ".join(_text(w["months"]) for w in sorted(windows, key=lambda w: w["months"]))
    kept: dict[tuple, object] = {}
    rejected = []
    for m in measurements:
        months = float(m.timepoint_months)
        window = next((w for w in windows if w["from"] <= months <= w["to"]), None)
        if window is None:
            reason = (
                f"reported at {m.timepoint_months} months, outside the review's time-point windows ({names} months)"
            )
            rejected.append(RejectedInput(m.study_id, m.outcome_code, m.timepoint_months, reason))
            continue
        moved = replace(m, timepoint_months=_text(window["months"]), reported_months=m.timepoint_months)
        key = (m.study_id, m.outcome_code, moved.timepoint_months)
        other = kept.get(key)
        if other is None:
            kept[key] = moved
            continue
        better = _rank(moved, window) < _rank(other, window)
        winner, loser = (moved, other) if better else (other, moved)
        kept[key] = winner
        reason = (
            f"reported at {loser.reported_months} months; the study's measurement at {winner.reported_months} "
            f"months is {'closer to' if loser.data_format != NOT_EXTRACTED else 'the one with numbers in'} the "
            f"{winner.timepoint_months}-month window"
        )
        rejected.append(RejectedInput(loser.study_id, loser.outcome_code, loser.reported_months, reason))
    return tuple(kept.values()), tuple(rejected)


def _rank(m, window: dict) -> tuple[bool, float]:
    """A measurement with numbers wins over one not yet extracted; then the one nearer the window's time point."""
    return (m.data_format == NOT_EXTRACTED, abs(float(m.reported_months) - window["months"]))
