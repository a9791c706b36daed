"""Adverse events: pooled proportion of patients per category, the serious-adverse-event rate, a per-study table.

The pooled proportion is by a method that behaves at zero, and the row records which (in ``measure``):
``GLMM``, the random-effects logistic model (binomial-normal, ML; metafor ``rma.glmm(measure="PLO")``),
which takes studies with no event as they are; or ``EXACT``, the exact (Clopper-Pearson) interval on the
total events and patients, where that model cannot be fitted (one study, no event at all, every patient
with the event, or no convergence). No continuity correction is made, so no event is invented: 0 events in
161 patients reads 0% (95% CI 0 to 2.3%), never a positive pooled rate.

A study enters the safety analysis when it reports adverse-event counts, or states that no adverse event
occurred (``reports_no_adverse_events``: 0 in every category, listed as such in the per-study table); it
counts 0 in a category where it reports none. A study silent on adverse events stays out. Patients with an
event in a category are the sum over its terms, capped at the patients at risk (terms may overlap in the
same patient; the cap keeps the proportion possible).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from evidence.synthesis.recompute.inputs import RecomputeInputs
from pooling.glmm import glmm_proportions
from pooling.proportions import proportion_interval

SERIOUS = "serious adverse events"
GLMM = "GLMM"  # random-effects logistic model
EXACT = "CP"  # exact (Clopper-Pearson) interval on the total
SAFETY_LEVEL = 95.0  # the level every interval of the review page is reported at
SAFETY_METHODS_NOTE = (
    "proportion of patients per category by a random-effects logistic model (binomial-normal, maximum "
    "likelihood), or the exact binomial interval on the total where that model cannot be fitted; no continuity "
    "correction"
)


@dataclass(frozen=True)
class SafetyRow:
    category: str
    is_serious_rate: bool
    k: int
    events: int
    n: int
    measure: str
    proportion: float
    ci_lb: float
    ci_ub: float
    i2: float | None
    studies: list


def safety_rows(inputs: RecomputeInputs) -> list[SafetyRow]:
    counted = _counts_by_study(inputs)
    if not counted:
        return []
    categories = sorted({category for per_study in counted.values() for category in per_study["categories"]})
    rows = [
        _pool(category, counted, inputs, lambda s, c=category: s["categories"].get(c, 0)) for category in categories
    ]
    rows.append(_pool(SERIOUS, counted, inputs, lambda s: s["serious"], serious=True))
    return rows


NONE_OCCURRED = "no adverse events (as the study reports)"


def none_occurred_row(label: str, n: int | None) -> dict:
    """The per-study table's line for a study stating that no adverse event occurred."""
    return {
        "study": label,
        "term": NONE_OCCURRED,
        "category": "all categories",
        "serious": False,
        "patients_with_event": 0,
        "patients_at_risk": n,
    }


def safety_table(inputs: RecomputeInputs) -> list[dict]:
    labels = {s.study_id: (s.label, s.n) for s in inputs.studies}
    return [none_occurred_row(s.label, s.n) for s in _none_occurred(inputs)] + [
        {
            "study": labels[e.study_id][0],
            "term": e.term,
            "category": e.category,
            "serious": e.serious,
            "patients_with_event": e.patients_with_event,
            "patients_at_risk": e.patients_at_risk,
        }
        for e in inputs.adverse_events
    ]


def _counts_by_study(inputs: RecomputeInputs) -> dict:
    n_by_study = {s.study_id: s.n for s in inputs.studies}
    counted: dict = defaultdict(lambda: {"categories": defaultdict(int), "serious": 0, "n": None})
    for event in inputs.adverse_events:
        if event.patients_with_event is None:
            continue
        entry = counted[event.study_id]
        entry["n"] = event.patients_at_risk or n_by_study[event.study_id]
        entry["categories"][event.category or "other"] += event.patients_with_event
        if event.serious:
            entry["serious"] += event.patients_with_event
    for study in _none_occurred(inputs):
        counted[study.study_id]["n"] = study.n
    return {study_id: entry for study_id, entry in counted.items() if entry["n"]}


def _none_occurred(inputs: RecomputeInputs) -> list:
    """Studies stating that no adverse event occurred, with no counted event (counts win over the flag)."""
    counted = {e.study_id for e in inputs.adverse_events if e.patients_with_event}
    return [s for s in inputs.studies if s.reports_no_adverse_events and s.n and s.study_id not in counted]


def _pool(category: str, counted: dict, inputs: RecomputeInputs, events_of, serious: bool = False) -> SafetyRow:
    labels = {s.study_id: s.label for s in inputs.studies}
    ids = sorted(counted, key=lambda study_id: labels[study_id])
    n = [counted[i]["n"] for i in ids]
    x = [min(events_of(counted[i]), counted[i]["n"]) for i in ids]
    method, estimate, ci_lb, ci_ub, i2 = pooled_proportion(x, n)
    return SafetyRow(
        category=category,
        is_serious_rate=serious,
        k=len(ids),
        events=sum(x),
        n=sum(n),
        measure=method,
        proportion=estimate,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        i2=i2,
        studies=[{"study": labels[i], "events": xi, "n": ni} for i, xi, ni in zip(ids, x, n)],
    )


def pooled_proportion(events: list[int], patients: list[int]) -> tuple[str, float, float, float, float | None]:
    """``(method, proportion, ci_lb, ci_ub, i2)``: the random-effects logistic model when it can be fitted,
    else the exact interval on the total (module docstring). I^2 is None: it would need a continuity
    correction for the zero-event studies, which this analysis does not make."""
    if len(events) >= 2 and 0 < sum(events) < sum(patients):
        try:
            fit = glmm_proportions(events, patients, level=SAFETY_LEVEL)
        except ValueError:
            fit = None
        if fit is not None and fit.converged:
            back = fit.back_transformed()
            return GLMM, back["estimate"], back["ci_lb"], back["ci_ub"], fit.i2
    total = proportion_interval(sum(events), sum(patients), level=SAFETY_LEVEL, method="exact")
    return EXACT, total.estimate, total.ci_lb, total.ci_ub, None


# --- Controlled comparisons: adverse events between the arms of a controlled study -----------------------------

CONTROLLED_SAFETY_NOTE = (
    "risk ratio of patients with the event, intervention arms vs comparator arms of each controlled study, "
    "pooled by inverse variance on the log scale; never mixed with the single-arm proportions"
)


def _arm_counts(events: list) -> dict:
    """Per (study, category, role): patients with the event (summed over terms and arms, capped per arm at its
    patients at risk) and patients at risk; an arm counts 0 in a category where it reports none."""
    at_risk: dict = {}
    for e in events:
        if e.patients_at_risk:
            at_risk[(e.study_id, e.role, e.arm_label)] = max(
                at_risk.get((e.study_id, e.role, e.arm_label), 0), e.patients_at_risk
            )
    counted: dict = defaultdict(int)
    for e in events:
        if e.patients_with_event is None:
            continue
        counted[(e.study_id, e.category, e.role, e.arm_label)] += e.patients_with_event
        if e.serious:
            counted[(e.study_id, SERIOUS, e.role, e.arm_label)] += e.patients_with_event
    return {"at_risk": at_risk, "counted": counted}


def _study_pair(counts: dict, study_id: int, category: str) -> tuple | None:
    """(a, n1, c, n2) of one study in one category, or None when an arm's patients at risk are unknown."""
    pair = []
    for role in ("intervention", "comparator"):
        arms = [arm for (sid, r, arm) in counts["at_risk"] if sid == study_id and r == role]
        if not arms:
            return None
        n = sum(counts["at_risk"][(study_id, role, arm)] for arm in arms)
        x = sum(
            min(counts["counted"].get((study_id, category, role, arm), 0), counts["at_risk"][(study_id, role, arm)])
            for arm in arms
        )
        pair += [x, n]
    return tuple(pair)


def controlled_safety_rows(inputs: RecomputeInputs) -> list[dict]:
    """Per category (and serious events): each controlled study's risk ratio, pooled, with the absolute effect."""
    events = list(getattr(inputs, "arm_adverse_events", ()))
    if not events:
        return []
    counts = _arm_counts(events)
    labels = {s.study_id: s.label for s in inputs.studies}
    study_ids = sorted({e.study_id for e in events}, key=lambda i: labels.get(i, ""))
    rows = [
        _controlled_category(category, study_ids, counts, labels, inputs.settings)
        for category in [*sorted({e.category for e in events}), SERIOUS]
    ]
    return [row for row in rows if row is not None]


def _controlled_category(category: str, study_ids: list, counts: dict, labels: dict, settings: dict) -> dict | None:
    from evidence.synthesis.recompute.binary import absolute_effect, two_arm_effect
    from pooling.model import pool_arrays

    studies, not_pooled = [], []
    for study_id in study_ids:
        pair = _study_pair(counts, study_id, category)
        effect = (
            two_arm_effect(pair, {**settings, "binary_measure": "RR"}) if pair else "an arm's patients at risk unknown"
        )
        if isinstance(effect, str):
            not_pooled.append({"study": labels.get(study_id, ""), "reason": effect})
        else:
            studies.append((study_id, pair, effect))
    if not studies:
        return None
    yi, vi = [e.yi for *_, e in studies], [e.vi for *_, e in studies]
    core = pool_arrays(yi, vi, method=settings["estimator"], test=settings["ci_method"], level=SAFETY_LEVEL)
    rr = [math.exp(v) for v in (core.estimate, core.ci_lb, core.ci_ub)]
    comparator = (sum(p[2] for _, p, _ in studies), sum(p[3] for _, p, _ in studies))
    return {
        "category": category,
        "measure": "RR",
        "k": len(studies),
        "estimate": rr[0],
        "ci_lb": rr[1],
        "ci_ub": rr[2],
        "i2": core.i2 if core.k > 1 else None,
        "studies": [
            {"study": labels.get(i, ""), "intervention": f"{p[0]}/{p[1]}", "comparator": f"{p[2]}/{p[3]}"}
            for i, p, _ in studies
        ],
        "not_pooled": not_pooled,
        "absolute": absolute_effect("RR", comparator, *rr),
    }
