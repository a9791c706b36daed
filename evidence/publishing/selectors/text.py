"""Numbers and sentences as the paper prints them; the bottom of the package: it imports none of it."""

from __future__ import annotations

import re
from decimal import Decimal

from evidence.models import PooledResult

GRADE_DOMAINS = {
    "study_design": "study design",
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "small_study_effects": "small-study effects",
    "publication_bias": "publication bias",
}


# --- Numbers as the paper prints them: two decimals, a true minus sign ---------------------------------


def number(value: float, decimals: int = 2) -> str:
    return f"{value:.{decimals}f}".replace("-", "−")


def interval_text(estimate: float | None, low: float, high: float) -> str:
    bounds = f"{number(low)} to {number(high)}"
    return bounds if estimate is None else f"{number(estimate)} ({bounds})"


def p_text(p: float) -> str:
    """Two decimals as the paper prints p; more only where two would read as zero."""
    if p < 0.0001:
        return "< 0.0001"
    for decimals, floor in ((2, 0.01), (3, 0.001), (4, 0.0001)):
        if p >= floor:
            return f"{p:.{decimals}f}"
    return f"{p:.4f}"  # pragma: no cover - unreachable


def i2_text(i2: float | None) -> str:
    return "not reported" if i2 is None else f"{i2:.0f}%"


def proportion_text(p: float, low: float, high: float) -> str:
    return f"{100 * p:.1f}% ({100 * low:.1f}% to {100 * high:.1f}%)"


def months_text(value: Decimal, *, short: bool = False) -> str:
    months = f"{Decimal(value).normalize():f}"
    return months if short else f"{months} {'month' if months == '1' else 'months'}"


def effect_text(row: PooledResult) -> str:
    return interval_text(row.estimate, row.ci_lb, row.ci_ub)


def unit_words(unit: str) -> str:
    """'points (0–51)' -> 'points'; '% predicted' -> 'percentage points (% predicted)'."""
    bare = re.sub(r"\s*\(.*\)", "", unit).strip()
    if bare.startswith("%"):
        return f"percentage points ({bare})"
    return bare or "units"


def _events_row(row: PooledResult) -> bool:
    """A computed binary or time-to-event contrast: its note says which side of the null has fewer events."""
    return "fewer events with the intervention" in (row.effect_measure_note or "")


def measure_text(row: PooledResult) -> str:
    if _events_row(row) or row.effect_measure == "proportion":
        return row.effect_measure_note.split(" (")[0]
    if row.effect_measure == "ratio":
        return row.effect_measure_note or "Ratio (1 = no difference)"
    names = {"MD": "Mean difference", "MC": "Mean change", "SMCR": "Standardized mean change"}
    unit = "" if row.effect_measure == "SMCR" else f", {unit_words(row.outcome.unit)}"
    return f"{names.get(row.effect_measure, row.effect_measure)}{unit}"


def _fell_is_positive(row: PooledResult) -> bool:
    orientation = row.orientation.lower()
    return orientation.startswith("baseline_minus") or orientation.startswith("baseline minus")


def direction_words(row: PooledResult) -> str:
    benefit = row.outcome.benefit_in_words
    if _events_row(row):  # the outcome's "higher = better" wording would read a ratio of events backwards
        rule = row.effect_measure_note.split(": ", 1)[1]
        return rule[0].upper() + rule[1:]
    if row.effect_measure == "proportion":
        return "Proportion of patients with the event; no comparator"
    if row.effect_measure == "ratio":
        # The seed's digital-ulcer ratio does not say what it counts, so no side of 1 is called better.
        return f"Ratio: 1 = no difference; {benefit}" if benefit else "Ratio: 1 = no difference"
    fell = _fell_is_positive(row)
    sign = "positive = score fell (baseline − follow-up)" if fell else "negative = score fell (follow-up − baseline)"
    return f"{benefit[0].upper()}{benefit[1:]}; {sign}" if benefit else sign.capitalize()


def certainty_reasons(reasons: dict) -> list[str]:
    """The downgraded GRADE domains: 'study design (*)' from 'study_design': 'Downgraded*'."""
    listed = []
    for domain, text in (reasons or {}).items():
        if not text or text.lower().startswith("not downgraded"):
            continue
        rest = text.removeprefix("Downgraded").strip()
        name = GRADE_DOMAINS.get(domain, domain.replace("_", " "))
        listed.append(f"{name} ({rest})" if rest else name)
    return listed


def _ratio_sentence(row: PooledResult, where: str, benefit: str) -> str:
    """A ratio in words a clinician reads: what 1 means, whether the interval excludes it, and what the review
    left unsaid (odds or risk ratio, the counts), rather than a bare number."""
    words = [f"{row.outcome.name}: ratio {interval_text(row.estimate, row.ci_lb, row.ci_ub)} {where}{benefit}."]
    if row.ci_lb is not None and row.ci_ub is not None:
        if row.ci_lb > 1 or row.ci_ub < 1:
            side = "above" if row.ci_lb > 1 else "below"
            words.append(f"A ratio of 1 would mean no change; the whole interval lies {side} 1.")
        else:
            words.append("A ratio of 1 would mean no change, and the interval includes 1: there may be none.")
    if "not stated" in (row.effect_measure_note or "").lower():
        words.append(
            "The review does not say whether this is an odds ratio or a risk ratio, nor how many patients had"
            " the event before and after, so it cannot be restated as “x of y patients”."
        )
    if row.certainty:
        words.append(f"Certainty: {row.get_certainty_display().lower()}.")
    return " ".join(words)


def plain_sentence(row: PooledResult) -> str:
    """'Modified Rodnan skin score (mRSS) fell by 5.09 points (95% CI 3.38 to 6.81) at 6 months in 5 studies,
    52 patients (lower mRSS = less skin thickening); moderate certainty.'"""
    where = f"at {months_text(row.timepoint_months)} in {row.k} {'study' if row.k == 1 else 'studies'}"
    if row.n_participants:
        where += f", {row.n_participants} patients"
    certainty = f"; {row.get_certainty_display().lower()} certainty" if row.certainty else ""
    benefit = f" ({row.outcome.benefit_in_words})" if row.outcome.benefit_in_words else ""
    if _events_row(row):
        return _events_sentence(row, where)
    if row.effect_measure == "proportion":
        return (
            f"{row.outcome.name}: {proportion_text(row.estimate, row.ci_lb, row.ci_ub)} of patients had the event "
            f"{where}, with no comparator group{certainty}."
        )
    if row.effect_measure == "ratio":
        return _ratio_sentence(row, where, benefit)
    sign = 1 if _fell_is_positive(row) else -1  # express the change as "score fell by"
    change, low, high = (
        sign * row.estimate,
        min(sign * row.ci_lb, sign * row.ci_ub),
        max(sign * row.ci_lb, sign * row.ci_ub),
    )
    verb = "fell" if change >= 0 else "rose"
    size, ci_low, ci_high = (change, low, high) if change >= 0 else (-change, -high, -low)
    unit = "" if row.effect_measure == "SMCR" else f" {unit_words(row.outcome.unit)}"
    unclear = ", though the confidence interval includes no change" if ci_low <= 0 else ""
    body = f"{row.outcome.name} {verb} by {number(size)}{unit} (95% CI {number(ci_low)} to {number(ci_high)})"
    return f"{body} {where}{benefit}{unclear}{certainty}."


def _events_sentence(row: PooledResult, where: str) -> str:
    """'Event-free survival: hazard ratio 0.45 (0.28 to 0.72) at 24 months in 2 studies, 120 patients: fewer
    events with the intervention (HR < 1 = fewer events with the intervention). Of 1,000 patients, …'"""
    name = row.effect_measure_note.split(" (")[0]
    null = 0.0 if row.effect_measure == "RD" else 1.0
    if row.ci_ub < null:
        reading = "fewer events with the intervention"
    elif row.ci_lb > null:
        reading = "more events with the intervention"
    else:
        reading = "the interval includes no difference"
    rule = row.effect_measure_note.split(": ", 1)[1]
    words = [
        f"{row.outcome.name}: {name.lower()} {interval_text(row.estimate, row.ci_lb, row.ci_ub)} {where}: "
        f"{reading} ({rule})."
    ]
    if (row.absolute_effect or {}).get("words"):
        words.append(row.absolute_effect["words"])
    if row.certainty:
        words.append(f"Certainty: {row.get_certainty_display().lower()}.")
    return " ".join(words)
