"""The extraction payload: its validation, its flattening for the side-by-side comparison, and merging.

A payload is plain JSON::

    {"study": {"existing_study_id", "label", "first_author", "year", "design", "country", "enrolment_n",
               "followup_months", "centre", "recruitment_start_year", "recruitment_end_year", "contrast_basis"},
     "arms": [{"label", "role", "description", "n_randomized", "n_analysed",
               "cell_source", "cell_source_detail", "donor", "route", "route_detail", "dose"}],
     "intervention": {"arm", "cell_source", "cell_source_detail", "donor", "route", "route_detail", "dose"},
     "measurements": [{"outcome", "timepoint_months", "arm", "data_format", "unit", "baseline_mean", ...,
                       "change_se", "change_ci_lb", "change_ci_ub", ...}],   # change = follow-up − baseline
     "adverse_events": [{"term", "arm", "category", "serious", "patients_with_event", "patients_at_risk"}],
     "quality": {"selection", "comparability", "outcome"}}   # Newcastle–Ottawa stars
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evidence.extraction.arms import (
    arm_errors,
    change_sign_errors,
    existing_arms,
    measurement_arm_errors,
    payload_arms,
    spread_errors,
    study_design,
)
from evidence.models import CellSource, MeasurementFormat, Outcome, Review, Route, Study, StudyDesign
from evidence.models.outcome import OutcomeType, measurement_number_errors
from evidence.models.review import ROB_JUDGEMENTS, RobTool

SD_FIELDS = ("baseline_sd", "followup_sd", "change_sd")
N_FIELDS = ("baseline_n", "followup_n", "change_n")
LEVEL_FIELDS = ("baseline_mean", "followup_mean", "median", "q1", "q3", "range_min", "range_max")
NOS_MAX = {"selection": 4, "comparability": 2, "outcome": 3}


def _unit_key(unit: str) -> str:
    """'points (0–51)' → 'points'; '% predicted' stays: units compare without their scale note."""
    return re.sub(r"\(.*?\)", "", unit or "").strip().lower()


def _enrolment(payload: dict, review: Review) -> int | None:
    study = payload.get("study") or {}
    if study.get("existing_study_id"):
        existing = Study.objects.filter(pk=study["existing_study_id"], review=review).first()
        return existing.enrolment_n if existing else None
    return study.get("enrolment_n")


def payload_errors(*, payload: dict, review: Review) -> list[str]:
    """Every problem with a payload, each a sentence that says what to fix; empty when it is valid."""
    errors = _study_errors(payload.get("study") or {}, review) + _intervention_errors(
        payload.get("intervention") or {}, review
    )
    enrolment = _enrolment(payload, review)
    errors += arm_errors(payload, review, enrolment) + _arm_product_errors(payload, review)
    arms = payload_arms(payload, enrolment, existing=existing_arms(payload, review), arm_label=review.arm_label)
    outcomes = {outcome.code: outcome for outcome in Outcome.objects.filter(review=review)}
    for index, row in enumerate(payload.get("measurements") or [], start=1):
        messages = _measurement_errors(row, outcomes, enrolment) + measurement_arm_errors(row, arms)
        messages += change_sign_errors(row) + spread_errors(row)
        errors += [f"Measurement {index}: {message}" for message in messages]
    for index, row in enumerate(payload.get("adverse_events") or [], start=1):
        messages = _adverse_event_errors(row, enrolment) + measurement_arm_errors(row, arms)
        errors += [f"Adverse event {index}: {message}" for message in messages]
    errors += _rob_errors(payload, review)
    for domain, stars in (payload.get("quality") or {}).items():
        if domain == "overall":
            continue
        if domain not in NOS_MAX:
            errors.append(f"NOS: unknown domain “{domain}”; use {', '.join(NOS_MAX)}.")
        elif stars is not None and not 0 <= stars <= NOS_MAX[domain]:
            errors.append(f"NOS {domain}: {stars} stars is outside 0–{NOS_MAX[domain]}.")
    return errors


def _study_errors(study: dict, review: Review) -> list[str]:
    errors = _recruitment_errors(study)
    if study.get("existing_study_id"):
        if not Study.objects.filter(pk=study["existing_study_id"], review=review).exists():
            return [f"Study: no study #{study['existing_study_id']} in this review."]
        return errors
    if not (study.get("label") or "").strip():
        errors.append("Study: give a label (e.g. 'Zhang 2017') or choose an existing study.")
    if study.get("design") not in StudyDesign.values:
        errors.append(f"Study: design must be one of {', '.join(StudyDesign.values)}.")
    if study.get("enrolment_n") is not None and study["enrolment_n"] < 1:
        errors.append("Study: enrolment must be at least 1.")
    return errors


def _recruitment_errors(study: dict) -> list[str]:
    """Recruitment years feed the overlapping-cohort check; reversed years would hide an overlap."""
    start, end = study.get("recruitment_start_year"), study.get("recruitment_end_year")
    if start is not None and end is not None and end < start:
        return [f"Study: recruitment_end_year: {end} is before the first year recruited, {start}."]
    return []


ARM_ONLY_FIELDS = ("label", "role", "description", "n_randomized", "n_analysed")


def _arm_product_errors(payload: dict, review: Review) -> list[str]:
    """An intervention arm's product is checked as the single-arm intervention is (cell source, route)."""
    errors = []
    for arm in payload.get("arms") or []:
        if arm.get("role") != "intervention":
            continue
        product = {name: value for name, value in arm.items() if name not in ARM_ONLY_FIELDS}
        label = arm.get("label") or "?"
        errors += [
            f"arms[{label}]: {error.removeprefix('Intervention: ')}" for error in _intervention_errors(product, review)
        ]
    return errors


def _rob_errors(payload: dict, review: Review) -> list[str]:
    """The quality part must use the review's tool for the study's design: NOS stars or an overall judgement."""
    quality = {name: value for name, value in (payload.get("quality") or {}).items() if value not in (None, "")}
    if not quality:
        return []
    design, _ = study_design(payload, review)
    tool = review.rob_tool_for(design)
    named = RobTool(tool).label
    if tool == "nos":
        return (
            [f"Quality: this review rates this design with the {named}; give its stars, not an overall judgement."]
            if "overall" in quality
            else []
        )
    if set(quality) - {"overall"}:
        return [f"Quality: this review rates this design with {named}; give its overall judgement, not NOS stars."]
    if quality["overall"] not in ROB_JUDGEMENTS[tool]:
        return [f"Quality: overall risk of bias must be one of {', '.join(ROB_JUDGEMENTS[tool])} ({named})."]
    return []


def _intervention_errors(intervention: dict, review: Review) -> list[str]:
    """The checks the Intervention row makes at reconcile, made at submit, so the extractor hears of them first.
    A cell source and a route are asked only of a review whose intervention vocabulary lists them."""
    given = {name: value for name, value in intervention.items() if value not in (None, "")}
    if not given:
        return []  # no intervention entered: none is written
    errors = []
    keys = {key for key, _ in review.intervention_vocabulary()}
    if "cell_source" in keys and given.get("cell_source") not in CellSource.values:
        errors.append(
            "Intervention: Cell source: choose the cell product (required once any intervention field is filled)."
        )
    if "route" in keys and given.get("route") not in Route.values:
        labels = ", ".join(str(label) for label in Route.labels)
        errors.append(f"Intervention: Route: choose how the cells were given ({labels}).")
    return errors


def _measurement_errors(row: dict, outcomes: dict[str, Outcome], enrolment: int | None) -> list[str]:
    outcome = outcomes.get(row.get("outcome") or "")
    if outcome is None:
        return [f"unknown outcome “{row.get('outcome')}”; use one of {', '.join(sorted(outcomes))}."]
    errors = []
    if row.get("timepoint_months") is None or row["timepoint_months"] < 0:
        errors.append("give the time point in months (0 or more).")
    if row.get("data_format") not in MeasurementFormat.values:
        errors.append(f"data format must be one of {', '.join(MeasurementFormat.values)}.")
    errors += [f"{name} is {row[name]}; an SD cannot be negative." for name in SD_FIELDS if (row.get(name) or 0) < 0]
    for name in N_FIELDS:
        if enrolment is not None and (row.get(name) or 0) > enrolment:
            errors.append(f"{name} is {row[name]}, more than the {enrolment} patients enrolled.")
    followup_only = row.get("followup_mean") is not None and row.get("baseline_mean") is None
    if followup_only and row.get("data_format") == MeasurementFormat.BASELINE_FOLLOWUP:
        errors.append("a follow-up mean needs its baseline mean (or enter a change score instead).")
    errors += [f"{name}: {message}" for name, message in measurement_number_errors(row.get("data_format"), row).items()]
    errors += _time_to_event_errors(row, outcome)
    errors += _plausibility_errors(row, outcome)
    if row.get("unit") and outcome.unit and _unit_key(row["unit"]) != _unit_key(outcome.unit):
        errors.append(f"unit “{row['unit']}” does not match {outcome.code}'s unit “{outcome.unit}”.")
    return errors


def _time_to_event_errors(row: dict, outcome: Outcome) -> list[str]:
    """A time-to-event outcome is pooled as a hazard ratio; another reported ratio would be pooled as one."""
    if outcome.outcome_type != OutcomeType.TIME_TO_EVENT or row.get("data_format") != MeasurementFormat.EFFECT_ESTIMATE:
        return []
    measure = row.get("effect_measure") or "HR"
    if measure not in ("HR", "logHR"):
        return [f"effect_measure: {outcome.code} is a time-to-event outcome; give its hazard ratio (HR or log HR)."]
    if measure == "logHR" and row.get("effect_se") is None:
        return ["effect_se: a log hazard ratio needs its SE."]
    return []


def _plausibility_errors(row: dict, outcome: Outcome) -> list[str]:
    low, high = outcome.plausible_min, outcome.plausible_max
    errors = []
    # A median of change is a change, not a level on the scale: it is held to the scale's width below.
    levels = LEVEL_FIELDS[:2] if row.get("median_of") == "change" else LEVEL_FIELDS
    for name in levels:
        value = row.get(name)
        if value is None:
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            errors.append(f"{name} {value} is outside {outcome.code}'s plausible range {low}–{high}.")
    bounded = low is not None and high is not None
    changes = [row.get("change_mean")] + ([row.get(n) for n in LEVEL_FIELDS[2:]] if levels != LEVEL_FIELDS else [])
    for value in changes:
        if bounded and value is not None and abs(value) > high - low:
            errors.append(f"change {value} is larger than {outcome.code}'s whole scale.")
    return errors


def _adverse_event_errors(row: dict, enrolment: int | None) -> list[str]:
    errors = [] if (row.get("term") or "").strip() else ["name the event."]
    with_event, at_risk = row.get("patients_with_event"), row.get("patients_at_risk")
    if with_event is not None and at_risk is not None and with_event > at_risk:
        errors.append(f"{with_event} patients with the event but only {at_risk} at risk.")
    if at_risk is not None and enrolment is not None and at_risk > enrolment:
        errors.append(f"{at_risk} at risk, more than the {enrolment} enrolled.")
    return errors


# --- comparison and merging -------------------------------------------------------------------------------


def _row_key(section: str, row: dict) -> str:
    if section == "arms":
        return str(row.get("label") or "").strip()
    if section == "measurements":
        return f"{row.get('outcome')}|{row.get('timepoint_months')}|{row.get('arm') or 'MSC'}"
    term = str(row.get("term") or "").strip().lower()
    return f"{term}|{row['arm']}" if row.get("arm") else term


def payload_flatten(payload: dict) -> dict[str, object]:
    """{'study.label': …, 'measurements[mrss|6|MSC].baseline_mean': …}: rows keyed by identity, not position."""
    flat: dict[str, object] = {}
    for section in ("study", "intervention", "quality"):
        for name, value in (payload.get(section) or {}).items():
            flat[f"{section}.{name}"] = value
    for section in ("arms", "measurements", "adverse_events"):
        for row in payload.get(section) or []:
            key = _row_key(section, row)
            for name, value in row.items():
                flat[f"{section}[{key}].{name}"] = value
    return flat


_PATH = re.compile(r"^(?P<section>\w+)(\[(?P<key>[^\]]*)\])?\.(?P<name>\w+)$")


def payload_unflatten(flat: dict[str, object]) -> dict:
    payload: dict = {
        "study": {},
        "intervention": {},
        "quality": {},
        "arms": [],
        "measurements": [],
        "adverse_events": [],
    }
    rows: dict[tuple[str, str], dict] = {}
    for path, value in flat.items():
        match = _PATH.match(path)
        if match is None:
            raise ValueError(f"not a payload path: {path!r}")
        section, key, name = match["section"], match["key"], match["name"]
        if key is None:
            payload.setdefault(section, {})[name] = value
            continue
        if (section, key) not in rows:
            rows[(section, key)] = {}
            payload.setdefault(section, []).append(rows[(section, key)])
        rows[(section, key)][name] = value
    return payload


@dataclass(frozen=True)
class FieldComparison:
    path: str
    values: list[object]  # one per draft, None when the draft has no value
    differs: bool


def payload_compare(payloads: list[dict]) -> list[FieldComparison]:
    """Side-by-side: every field any draft filled, with each draft's value and whether they differ."""
    flats = [payload_flatten(payload) for payload in payloads]
    paths = sorted({path for flat in flats for path in flat})
    comparisons = []
    for path in paths:
        values = [flat.get(path) for flat in flats]
        comparisons.append(FieldComparison(path, values, len({repr(v) for v in values}) > 1))
    return comparisons


def payload_merge(payloads: list[dict], choices: dict[str, int]) -> dict:
    """Agreed values as they are; for each differing field, the value of the draft chosen by index."""
    flats = [payload_flatten(payload) for payload in payloads]
    merged = {}
    for comparison in payload_compare(payloads):
        if not comparison.differs:
            merged[comparison.path] = comparison.values[0]
            continue
        if comparison.path not in choices:
            raise ValueError(f"choose a value for {comparison.path}")
        chosen = flats[choices[comparison.path]]
        if comparison.path in chosen:
            merged[comparison.path] = chosen[comparison.path]
    return payload_unflatten(merged)
