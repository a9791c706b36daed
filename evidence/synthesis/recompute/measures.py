"""The numeric fields of an outcome measurement, in the order every input tuple holds them, and a time point's
text key: what inputs, arms and contrasts all read (kept apart so none of them imports another in a circle)."""

from __future__ import annotations

from decimal import Decimal

MEASUREMENT_FIELDS = (
    "baseline_mean",
    "baseline_sd",
    "baseline_n",
    "followup_mean",
    "followup_sd",
    "followup_n",
    "change_mean",
    "change_sd",
    "change_n",
    "effect_measure",
    "effect_estimate",
    "effect_ci_lb",
    "effect_ci_ub",
    "effect_se",
    "effect_n",
    "effect_orientation",
    "prepost_correlation",
    "events",
    "total",
)


def _months(value: Decimal) -> str:
    """'6', '12', '24.5': a stable text key for a time point."""
    return format(Decimal(value).normalize(), "f")
