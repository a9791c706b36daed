"""Map the seed's free-text fields onto the model's vocabularies; keep the text as reported beside them."""

from __future__ import annotations

import re
from decimal import Decimal

from evidence.models import CellSource, Donor, MeasurementFormat, Route, StudyDesign


def design_of(text: str) -> str:
    lowered = text.lower()
    if "random" in lowered:
        return StudyDesign.RCT
    if "self-control" in lowered or "before" in lowered:
        return StudyDesign.SINGLE_ARM_BEFORE_AFTER
    raise ValueError(f"Unrecognized study design in the seed: {text!r}")


def cell_source_of(text: str) -> str:
    head = text.split()[0].upper()
    mapping = {
        "SVF": CellSource.ADIPOSE_SVF,
        "ADSCS": CellSource.ADIPOSE_MSC,
        "BMSCS": CellSource.BONE_MARROW_MSC,
        "UC-MSCS": CellSource.UMBILICAL_CORD_MSC,
    }
    if head not in mapping:
        raise ValueError(f"Unrecognized cell source in the seed: {text!r}")
    return mapping[head]


def route_of(text: str) -> str:
    head = text.split()[0].upper()
    if head == "IH":
        return Route.LOCAL_INJECTION
    if head == "IV":
        return Route.INTRAVENOUS
    raise ValueError(f"Unrecognized route in the seed: {text!r}")


def donor_of(autologous: bool | None) -> str:
    if autologous is None:
        return Donor.UNKNOWN
    return Donor.AUTOLOGOUS if autologous else Donor.ALLOGENEIC


def timepoint_months(key: str) -> Decimal:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)m", key)
    if not match:
        raise ValueError(f"Unrecognized time point in the seed: {key!r} (expected e.g. '6m').")
    return Decimal(match.group(1))


def measurement_fields(data: dict, effect: dict | None) -> dict:
    """The measurement as reported: means/SDs, a change, an effect estimate, or 'not yet extracted'."""
    fields = dict(
        source_url=_first_url(data.get("source", "")),
        source_location=(data.get("source") or "")[:300],
        origin=data.get("origin", ""),
        p_value_reported=data.get("p") or "",
        percent_change=data.get("percent_change_from_baseline"),
        notes="\n".join(str(data[key]) for key in ("note", "n_note", "measure_note") if data.get(key)),
    )
    if effect:
        low, high = effect["ci"]
        fields.update(
            data_format=MeasurementFormat.EFFECT_ESTIMATE,
            effect_measure="MD",
            effect_estimate=effect["md_baseline_minus_followup"],
            effect_ci_lb=low,
            effect_ci_ub=high,
            effect_n=effect["n"],
            effect_orientation="baseline_minus_followup",
            source_url=effect["source"],
            source_location="Cui 2022 Table 3 (BMSC subgroup = this study alone, inferred)",
            origin=effect["origin"],
        )
    elif data.get("baseline") and data.get("followup"):
        base, follow = data["baseline"], data["followup"]
        fields.update(
            data_format=MeasurementFormat.BASELINE_FOLLOWUP,
            baseline_mean=base["mean"],
            baseline_sd=base["sd"],
            baseline_n=base["n"],
            followup_mean=follow["mean"],
            followup_sd=follow["sd"],
            followup_n=follow["n"],
        )
    elif data.get("change"):
        change = data["change"]
        fields.update(
            data_format=MeasurementFormat.CHANGE,
            change_mean=change["mean"],
            change_sd=change["sd"],
            change_n=change.get("n"),
            effect_orientation="baseline_minus_followup",
        )
    else:
        fields.update(data_format=MeasurementFormat.NOT_EXTRACTED)
    return fields


def _first_url(text: str) -> str:
    match = re.search(r"https?://\S+?(?=[\s,;)']|$)", text or "")
    return match.group(0)[:500] if match else ""
