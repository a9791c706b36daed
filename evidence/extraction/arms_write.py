"""Reconciliation's writes for arms: the study's arms (and the cell product of its intervention arms), and a
measurement's spread turned into the SD the pooling needs, with the method recorded."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError

from evidence.extraction.arms import SLOTS, payload_arms
from evidence.models import ArmRole, Intervention, OutcomeMeasurement, Study, StudyArm

ARM_FIELDS = ("role", "description", "n_randomized", "n_analysed")
PRODUCT_FIELDS = ("cell_source", "cell_source_detail", "donor", "route", "route_detail", "dose")


def intervention_values_set(product: Intervention, values: dict) -> None:
    """Intervention columns (cell source, donor, route, dose) by name; a field of the review's own vocabulary
    (e.g. "conditioning_regimen") into ``details``."""
    details = dict(product.details or {})
    for name, value in values.items():
        if name in PRODUCT_FIELDS:
            setattr(product, name, value)
        else:
            details[name] = value
    product.details = details


def _saved(instance, user):
    instance.full_clean()
    instance._history_user = user
    instance.save()
    return instance


def arms_upsert(*, study: Study, payload: dict, user) -> dict[str, StudyArm]:
    """The study's arms by label after writing the payload's (an implied single arm only when it has none)."""
    existing = {arm.label: arm for arm in study.arms.all()}
    for row in payload_arms(
        payload, study.enrolment_n, existing=list(existing.values()), arm_label=study.review.arm_label
    ):
        if isinstance(row, StudyArm):
            continue
        arm = existing.get(row["label"]) or StudyArm(study=study, label=row["label"])
        for name in ARM_FIELDS:
            if row.get(name) is not None:
                setattr(arm, name, row[name])
        existing[arm.label] = _saved(arm, user)
        values = {
            name: value
            for name, value in row.items()
            if name not in (*ARM_FIELDS, "label", "implied") and value not in (None, "")
        }
        if arm.role == ArmRole.INTERVENTION and values:
            product = Intervention.objects.filter(study=study, arm=arm.label).first()
            product = product or Intervention(study=study, arm=arm.label)
            intervention_values_set(product, values)
            _saved(product, user)
    # Intervention arms first: a row naming no arm (single-arm study) belongs to the intervention arm.
    ordered = sorted(existing.values(), key=lambda arm: (arm.role != ArmRole.INTERVENTION, arm.pk))
    return {arm.label: arm for arm in ordered}


def _t975(df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def measurement_spread_convert(measurement: OutcomeMeasurement, row: dict, arm: StudyArm) -> None:
    """Fill a slot's missing n from its arm, and its SD from an SE (SD = SE·√n) or a 95% CI
    (SD = √n·(upper − lower)/(2·t₀.₉₇₅,ₙ₋₁); Cochrane Handbook §6.5.2.2)."""
    methods = []
    for slot in SLOTS:
        if row.get(f"{slot}_mean") is None and not (row.get("median_of") == slot and row.get("median") is not None):
            continue
        n = getattr(measurement, f"{slot}_n")
        if n is None and arm.n is not None:
            n = arm.n
            setattr(measurement, f"{slot}_n", n)
            methods.append(f"{slot} n = the {arm.label} arm's n")
        if getattr(measurement, f"{slot}_sd") is not None:
            continue
        se, low, high = row.get(f"{slot}_se"), row.get(f"{slot}_ci_lb"), row.get(f"{slot}_ci_ub")
        if se is None and low is None:
            continue
        if not n:
            raise ValidationError({f"{slot}_n": f"{measurement.outcome.code}: an SE or CI needs the {slot} n."})
        if se is None:
            se = (high - low) / (2 * _t975(n - 1)) if n > 1 else (high - low) / (2 * 1.959963984540054)
            methods.append(f"{slot} SD from the 95% CI (t, n − 1 df)")
        else:
            methods.append(f"{slot} SD = SE·√n")
        setattr(measurement, f"{slot}_sd", se * math.sqrt(n))
    if methods:
        measurement.conversion_method = "; ".join(filter(None, [measurement.conversion_method, *methods]))[:200]
