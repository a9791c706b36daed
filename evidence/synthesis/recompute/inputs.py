"""Read everything a recompute depends on into plain frozen records, and hash it.

The hash decides whether a recompute yields a new version: same inputs, same hash, no new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from functools import cached_property

from evidence.models import (
    AdverseEvent,
    ArmRole,
    GradeAssessment,
    Outcome,
    OutcomeMeasurement,
    Review,
    Study,
    StudyStatus,
)
from evidence.synthesis.recompute.arms import arm_adverse_events_load, arm_measurements_load, intervention_arms_combined
from evidence.synthesis.recompute.measures import MEASUREMENT_FIELDS, _months
from evidence.synthesis.recompute.windows import windowed

CODE_VERSION = "recompute-4"  # bump when the computation changes, so unchanged data still re-pools


@dataclass(frozen=True)
class StudyInput:
    study_id: int
    label: str
    year: int | None
    publication_key: tuple  # (year, month) of the main report: orders the cumulative meta-analysis
    n: int | None
    cell_source: str
    route: str
    donor: str
    flags: tuple[str, ...]  # retracted / erratum / update / expression of concern on any report
    reports_no_adverse_events: bool = False  # enters the safety analysis with 0 events when it has no counts
    intervention_arms_n: int | None = None  # a controlled study's intervention arms (None: single-arm or unknown)

    @property
    def before_after_n(self) -> int | None:
        """Patients in a before–after row: only the intervention arms of a controlled study entered it."""
        return self.n if self.intervention_arms_n is None else self.intervention_arms_n


@dataclass(frozen=True)
class MeasurementInput:
    study_id: int
    outcome_code: str
    timepoint_months: str
    data_format: str
    values: tuple  # the numeric fields, in MEASUREMENT_FIELDS order
    reported_months: str = ""  # the time point as reported, when a window moved it (windows.py)


@dataclass(frozen=True)
class OutcomeInfo:
    code: str
    name: str
    unit: str
    direction: str
    outcome_type: str
    display_order: int


@dataclass(frozen=True)
class AdverseEventInput:
    study_id: int
    term: str
    category: str
    serious: bool | None
    patients_with_event: int | None
    patients_at_risk: int | None


@dataclass(frozen=True)
class RecomputeInputs:
    review_id: int
    settings: dict
    studies: tuple[StudyInput, ...]
    measurements: tuple[MeasurementInput, ...]
    outcomes: dict  # code -> OutcomeInfo
    adverse_events: tuple[AdverseEventInput, ...]
    grades: dict  # (code, timepoint str, subgroup variable, subgroup value) -> (certainty, reasons)
    rejected: tuple = ()  # measurements outside the review's time-point windows, with the reason
    arm_measurements: tuple = ()  # controlled studies' per-arm data, for between-arm contrasts (contrasts.py)
    arm_adverse_events: tuple = ()  # controlled studies' per-arm adverse events, for between-arm risk ratios

    @cached_property
    def measurement_by_key(self) -> dict:
        """(study id, outcome code, time point) -> measurement."""
        return {(m.study_id, m.outcome_code, m.timepoint_months): m for m in self.measurements}

    def inputs_hash(self) -> str:
        payload = {
            "code": CODE_VERSION,
            "settings": self.settings,
            # Plain tuples, not dataclasses.asdict: this runs over every measurement of the review.
            "studies": [astuple_shallow(s) for s in self.studies],
            "measurements": [astuple_shallow(m) for m in self.measurements],
            "adverse_events": [astuple_shallow(a) for a in self.adverse_events],
            "grades": sorted([list(key), value[0], value[1]] for key, value in self.grades.items()),
            "rejected": [astuple_shallow(r) for r in self.rejected],
            "arm_measurements": [astuple_shallow(a) for a in self.arm_measurements],
            "arm_adverse_events": [astuple_shallow(a) for a in self.arm_adverse_events],
        }
        blob = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def astuple_shallow(record) -> tuple:
    return tuple(getattr(record, f.name) for f in fields(record))


def recompute_inputs_load(*, review: Review) -> RecomputeInputs:
    studies = Study.objects.filter(review=review, status=StudyStatus.INCLUDED).prefetch_related(
        "interventions", "reports__citation", "arms"
    )
    study_inputs = tuple(_study_input(study) for study in studies.order_by("id"))
    included = [s.study_id for s in study_inputs]
    # values_list, not model instances: a large review has tens of thousands of measurements.
    rows = (
        OutcomeMeasurement.objects.filter(study__review=review, study__status=StudyStatus.INCLUDED)
        .exclude(study_arm__role="comparator")  # before–after evidence: intervention arms only
        .order_by("id")
        .values_list("study_id", "outcome__code", "timepoint_months", "data_format", *MEASUREMENT_FIELDS)
    )
    measurements, rejected = windowed(
        intervention_arms_combined(
            tuple(
                MeasurementInput(row[0], row[1], _months(row[2]), row[3], tuple(row[4:])) for row in rows.iterator(2000)
            )
        ),
        review.timepoint_windows,
    )
    events = AdverseEvent.objects.filter(study_id__in=included).exclude(study_arm__role="comparator").order_by("id")
    arm_rows = arm_measurements_load(review=review)
    arm_codes = {m.outcome_code for m in arm_rows}
    return RecomputeInputs(
        review_id=review.id,
        settings=review.analysis_settings(),
        studies=study_inputs,
        measurements=measurements,
        outcomes=_outcomes(
            Outcome.objects.filter(review=review, code__in={m.outcome_code for m in measurements} | arm_codes)
        ),
        adverse_events=tuple(
            AdverseEventInput(e.study_id, e.term, e.category, e.serious, e.patients_with_event, e.patients_at_risk)
            for e in events
        ),
        grades=_grades(review),
        rejected=rejected,
        arm_measurements=arm_rows,
        arm_adverse_events=arm_adverse_events_load(review=review),
    )


def _study_input(study: Study) -> StudyInput:
    interventions = list(study.interventions.all())
    first = interventions[0] if interventions else None
    reports = list(study.reports.all())
    main = next((r.citation for r in reports if r.is_main_report), reports[0].citation if reports else None)
    flags = sorted(
        {
            flag
            for r in reports
            for flag, on in (
                ("retracted", r.citation.is_retracted),
                ("erratum", r.citation.has_erratum),
                ("updated", r.citation.has_update),
                ("expression of concern", r.citation.has_expression_of_concern),
            )
            if on
        }
    )
    year = (main.publication_year if main and main.publication_year else None) or study.year
    month = main.publication_month if main and main.publication_month else 0
    return StudyInput(
        study_id=study.id,
        label=study.label,
        year=study.year,
        publication_key=(year or 9999, month or 0),
        n=study.enrolment_n,
        cell_source=first.cell_source if first else "",
        route=first.route if first else "",
        donor=first.donor if first else "",
        flags=tuple(flags),
        reports_no_adverse_events=study.reports_no_adverse_events,
        intervention_arms_n=_intervention_arms_n(study),
    )


def _intervention_arms_n(study: Study) -> int | None:
    """The intervention arms' patients when the study also has a comparator arm and every intervention arm
    states its n; otherwise None (the before–after rows then count the study's n)."""
    arms = list(study.arms.all())
    if not any(arm.role == ArmRole.COMPARATOR for arm in arms):
        return None
    ns = [arm.n for arm in arms if arm.role == ArmRole.INTERVENTION]
    return sum(ns) if ns and None not in ns else None


def _outcomes(outcomes) -> dict:
    return {o.code: OutcomeInfo(o.code, o.name, o.unit, o.direction, o.outcome_type, o.display_order) for o in outcomes}


def _grades(review: Review) -> dict:
    return {
        (g.outcome.code, _months(g.timepoint_months), g.subgroup_variable, g.subgroup_value): (g.certainty, g.reasons())
        for g in GradeAssessment.objects.filter(review=review).select_related("outcome")
    }
