"""Binary and time-to-event outcomes: between-arm ratios, single-arm proportions and absolute effects.

- Between arms (events / n per arm): the review's binary measure (RR, OR or RD) by ``pooling.effects.two_by_two``
  with the review's continuity correction stated (``add``, to every cell of a study with a zero cell; metafor
  ``to="only0"``). A study with no event in either arm gives no RR or OR (metafor ``drop00``); it still gives an RD.
- Single arm (events / n): the review's proportion measure (PLO, PR, PAS or PFT) by
  ``pooling.effects.proportion``, pooled by inverse variance and back-transformed (metafor ``transf.*``).
- Time to event: the reported hazard ratio, yi = log HR, vi = SE², SE from the 95% CI as
  (log U − log L)/(2·1.96) when not reported (Cochrane Handbook §6.8.2): generic inverse variance.
- Absolute effects per 1,000 (GRADE; Cochrane Handbook §14.1.5): the assumed comparator risk (ACR) is the pooled
  risk of the comparator arms (their events over their patients); the intervention's risk is ACR × RR,
  OR·ACR/(1 − ACR + OR·ACR), ACR + RD, or 1 − (1 − ACR)^HR, each at the ratio's estimate and CI bounds.
"""

from __future__ import annotations

import math

from evidence.synthesis.recompute.effects import StudyEffect
from pooling.effects import proportion, two_by_two
from pooling.transforms import back_transform, harmonic_mean

Z975 = 1.959963984540054
MEASURE_NAMES = {
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "RD": "Risk difference",
    "HR": "Hazard ratio",
}
PROPORTION_SCALES = ("PR", "PLO", "PAS", "PFT")
LOG_HR = "logHR"  # effect_measure of a log hazard ratio entered with its SE
HAZARD_MEASURES = ("HR", LOG_HR)
PROPORTION_NAMES = {
    "PR": "raw proportion",
    "PLO": "pooled on the logit scale",
    "PAS": "pooled on the arcsine scale",
    "PFT": "pooled on the Freeman–Tukey double-arcsine scale",
}


def two_arm_effect(events: tuple, settings: dict) -> StudyEffect | str:
    """One study's RR, OR or RD (study id 0: the caller sets it) from (a, n1, c, n2), or why there is none."""
    a, n1, c, n2 = events
    if None in events:
        return "events or totals missing"
    measure = settings["binary_measure"]
    if a == c == 0 and measure != "RD":
        return "no event in either arm: a ratio cannot be estimated"
    if a == n1 and c == n2 and measure != "RD":
        return "every patient had the event in both arms: a ratio cannot be estimated"
    es = two_by_two(measure, [a], [n1], [c], [n2], add=settings["continuity_correction"])
    zero = 0 in (a, c, n1 - a, n2 - c)
    how = f"{MEASURE_NAMES[measure].lower()}, {a}/{n1} vs {c}/{n2}"
    if zero:
        how += f" ({settings['continuity_correction']:g} added to each cell: a zero cell)"
    return StudyEffect(0, float(es.yi[0]), float(es.vi[0]), "raw" if measure == "RD" else "log", how)


def proportion_effect(study_id: int, events: int, total: int, settings: dict) -> StudyEffect:
    """A single arm's proportion on the review's proportion scale (the row's scale is that measure's code)."""
    measure = settings["proportion_measure"]
    es = proportion(measure, [events], [total], add=settings["continuity_correction"])
    zero = measure in ("PR", "PLO") and events in (0, total)
    how = f"{events}/{total} patients" + (
        f" ({settings['continuity_correction']:g} added: no patient or every patient had the event)" if zero else ""
    )
    return StudyEffect(study_id, float(es.yi[0]), float(es.vi[0]), measure, how)


def hazard_ratio_effect(study_id: int, v: dict) -> StudyEffect | str:
    """A reported HR with its 95% CI or log-HR SE, or a log HR with its SE, on the log scale."""
    estimate, low, high, se = v["effect_estimate"], v["effect_ci_lb"], v["effect_ci_ub"], v["effect_se"]
    if (v["effect_measure"] or "") == LOG_HR:
        if estimate is None or not se:
            return "log hazard ratio without its SE"
        return StudyEffect(study_id, float(estimate), float(se) ** 2, "log", "reported log hazard ratio and its SE")
    if estimate is None or (se is None and (low is None or high is None)):
        return "hazard ratio without its 95% CI or SE"
    if estimate <= 0 or (se is None and low <= 0):
        return "a hazard ratio and its CI must be above 0"
    log_se = se if se is not None else (math.log(high) - math.log(low)) / (2 * Z975)
    if log_se <= 0:
        return "a zero-width CI or zero SE cannot be pooled"
    how = "reported hazard ratio, SE of log HR " + ("as reported" if se is not None else "from the 95% CI")
    return StudyEffect(study_id, math.log(estimate), log_se**2, "log", how)


def natural(scale: str, value: float, ns=None) -> float:
    """A value of a row on ``scale`` on its natural scale: exp for log ratios, back-transformed proportions."""
    if scale == "log":
        return math.exp(value)
    if scale in PROPORTION_SCALES:
        return value if scale == "PR" else back_transform(scale, value, harmonic_mean(ns) if ns else None)
    return value


def _intervention_risk(measure: str, acr: float, effect: float) -> float:
    if measure == "RR":
        risk = acr * effect
    elif measure == "OR":
        risk = effect * acr / (1 - acr + effect * acr)
    elif measure == "HR":
        risk = 1 - (1 - acr) ** effect
    else:  # RD
        risk = acr + effect
    return min(max(risk, 0.0), 1.0)


def absolute_effect(measure: str, comparator: tuple[int, int], estimate: float, low: float, high: float) -> dict:
    """Per 1,000 patients: the comparator's risk and the intervention's, with its CI, and the words for it.
    ``estimate``, ``low``, ``high`` are on the natural scale (a ratio, or a risk difference)."""
    events, total = comparator
    if not total:
        return {}
    acr = events / total
    risks = [_intervention_risk(measure, acr, value) for value in (estimate, low, high)]
    per = [round(1000 * r) for r in risks]
    base = round(1000 * acr)
    lo, hi = sorted(per[1:])
    diff = per[0] - base
    d_lo, d_hi = sorted((lo - base, hi - base))
    return {
        "measure": measure,
        "comparator_events": events,
        "comparator_total": total,
        "comparator_per_1000": base,
        "intervention_per_1000": per[0],
        "intervention_per_1000_ci": [lo, hi],
        "difference_per_1000": diff,
        "difference_per_1000_ci": [d_lo, d_hi],
        "words": absolute_words(base, per[0], lo, hi, diff, d_lo, d_hi),
    }


def _more_fewer(value: int) -> str:
    return f"{abs(value)} more" if value > 0 else f"{abs(value)} fewer" if value < 0 else "no difference"


def absolute_words(base: int, risk: int, lo: int, hi: int, diff: int, d_lo: int, d_hi: int) -> str:
    """'Of 1,000 patients, 150 with the comparator and 90 with the intervention (95% CI 60 to 130): 60 fewer
    (90 fewer to 20 fewer).'"""
    return (
        f"Of 1,000 patients, {base} with the comparator had the event and {risk} with the intervention "
        f"(95% CI {lo} to {hi}): {_more_fewer(diff)} per 1,000 (95% CI {_more_fewer(d_lo)} to {_more_fewer(d_hi)})."
    )


def ratio_direction(measure: str) -> str:
    """What a ratio below 1 means: the event counted is the outcome (a harm avoided), never 'higher = better'."""
    if measure == "RD":
        return "Risk difference (intervention − comparator): below 0 = fewer events with the intervention"
    name = MEASURE_NAMES.get(measure, "Ratio")
    short = {"RR": "RR", "OR": "OR", "HR": "HR"}.get(measure, "ratio")
    return f"{name} (intervention vs comparator): {short} < 1 = fewer events with the intervention"
