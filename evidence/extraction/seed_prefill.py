"""A draft pre-filled from what the review already holds for a study (the seed, or an earlier approval).

Seeded values come with their source: Cui 2022's tables, or the primary paper where ``primary.json`` gives
numbers the seed lacks. Changes are turned into the form's convention (change = follow-up − baseline) here,
so the extractor never flips a sign by hand.
"""

from __future__ import annotations

from evidence.models import MeasurementFormat, OutcomeMeasurement, Study
from evidence.seed import seed_json
from evidence.seed.mapping import timepoint_months
from evidence.seed.outcomes import SEED_KEY_TO_CODE

VALUE_FIELDS = (
    "baseline_mean",
    "baseline_sd",
    "baseline_n",
    "followup_mean",
    "followup_sd",
    "followup_n",
    "change_mean",
    "change_sd",
    "change_n",
    "median_of",
    "median",
    "q1",
    "q3",
    "range_min",
    "range_max",
    # A reported effect estimate (Keyszer 2011's mRSS at 6 months, read off Cui 2022's Table 3) keeps the
    # orientation it was stored with: the form states it, nobody flips the sign by hand.
    "effect_measure",
    "effect_estimate",
    "effect_ci_lb",
    "effect_ci_ub",
    "effect_se",
    "effect_n",
    "effect_orientation",
)
COHORT_FIELDS = ("centre", "recruitment_start_year", "recruitment_end_year")  # for the overlap check
SEED_ORIGINS = ("primary", "meta-analysis")
ATTRIBUTIONS = ("Primary paper", "Cui 2022 table")


def _attribution(origin: str, source: str) -> str:
    """A seeded value's source, named as Cui 2022's table or the primary paper; an extractor's own source as typed."""
    if not (origin or "").startswith(SEED_ORIGINS) or (source or "").startswith(ATTRIBUTIONS):
        return source or ""
    who = ATTRIBUTIONS[0] if origin.startswith("primary") else ATTRIBUTIONS[1]
    return f"{who}: {source}"[:300] if source else who


def _measurement_row(measurement: OutcomeMeasurement) -> dict:
    row = {
        "outcome": measurement.outcome.code,
        "timepoint_months": float(measurement.timepoint_months),
        "arm": measurement.study_arm.label if measurement.study_arm_id else measurement.arm,
        "data_format": measurement.data_format,
        "source_location": _attribution(measurement.origin, measurement.source_location or measurement.source_url),
    }
    row.update(
        {name: getattr(measurement, name) for name in VALUE_FIELDS if getattr(measurement, name) not in (None, "")}
    )
    if row.get("change_mean") is not None and row.pop("effect_orientation", "") == "baseline_minus_followup":
        row["change_mean"] = -row["change_mean"]  # stored as an improvement; the form's change is follow-up − baseline
    return row


def _primary_rows(study: Study, known: set[tuple[str, float]]) -> list[dict]:
    """Numbers ``primary.json`` gives for this study that the database does not hold yet."""
    entry = next((row for row in seed_json("primary.json")["included"] if row["label"] == study.label), None)
    rows = []
    for key, by_time in (entry or {}).get("outcomes", {}).items():
        for time_key, data in by_time.items():
            base, follow, change = data.get("baseline"), data.get("followup"), data.get("change")
            if not ((base and follow) or change):
                continue  # no numbers (e.g. Granel's '22-30m' percentages): nothing to pre-fill, nothing to parse
            code, months = SEED_KEY_TO_CODE.get(key), float(timepoint_months(time_key))
            if code is None or (code, months) in known:
                continue
            row = {"outcome": code, "timepoint_months": months, "arm": _intervention_arm(study)}
            if base and follow:
                row.update(data_format=MeasurementFormat.BASELINE_FOLLOWUP, baseline_mean=base["mean"])
                row.update(baseline_sd=base["sd"], followup_mean=follow["mean"], followup_sd=follow["sd"])
            else:
                row.update(data_format=MeasurementFormat.CHANGE, change_mean=change["mean"], change_sd=change["sd"])
            row["source_location"] = _attribution("primary", data.get("source") or "")
            rows.append({name: value for name, value in row.items() if value is not None})
    return rows


def _intervention_arm(study: Study) -> str:
    arm = study.arms.filter(role="intervention").order_by("id").first()
    return arm.label if arm else "MSC"


def study_draft_prefill(*, study: Study) -> dict:
    """A payload for ``study``'s report: its arms, intervention, measurements and adverse events as stored."""
    intervention = study.interventions.order_by("id").first()
    # Every stored row, numbers or not ("measured, not yet extracted"), so a reconciled draft loses none.
    measurements = [
        _measurement_row(m)
        for m in study.measurements.select_related("outcome", "study_arm").order_by("outcome__display_order", "id")
    ]
    numbered = [row for row in measurements if row["data_format"] != MeasurementFormat.NOT_EXTRACTED]
    primary = _primary_rows(study, {(row["outcome"], row["timepoint_months"]) for row in numbered})
    filled = {(row["outcome"], row["timepoint_months"], row["arm"]) for row in primary}
    # A primary paper's numbers take the place of the row that only said the outcome was measured.
    measurements = [row for row in measurements if (row["outcome"], row["timepoint_months"], row["arm"]) not in filled]
    arms = [
        {
            "label": arm.label,
            "role": arm.role,
            "description": arm.description,
            "n_randomized": arm.n_randomized,
            "n_analysed": arm.n_analysed,
        }
        for arm in study.arms.order_by("id")
    ]
    return {
        "study": {
            "existing_study_id": study.pk,
            **{name: getattr(study, name) for name in COHORT_FIELDS if getattr(study, name) not in (None, "")},
        },
        "arms": [{key: value for key, value in arm.items() if value not in (None, "")} for arm in arms],
        "intervention": {
            name: getattr(intervention, name)
            for name in ("cell_source", "cell_source_detail", "donor", "route", "route_detail", "dose")
            if intervention is not None and getattr(intervention, name)
        },
        "measurements": measurements + primary,
        "adverse_events": [
            {
                "term": event.term,
                "category": event.category,
                "serious": event.serious,
                "patients_with_event": event.patients_with_event,
                "patients_at_risk": event.patients_at_risk,
            }
            for event in study.adverse_events.order_by("id")
        ],
        "quality": {},
    }
