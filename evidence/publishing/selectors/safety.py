"""A version's safety section: pooled event rates, the per-study events and the serious-events sentence."""

from __future__ import annotations

from dataclasses import dataclass

from evidence.models import AdverseEvent, ReviewVersion, SafetyResult, Study, VersionKind
from evidence.publishing.selectors.published import public_study_ids, version_study_ids
from evidence.publishing.selectors.text import i2_text, proportion_text
from evidence.synthesis.recompute.safety import EXACT, GLMM, none_occurred_row

# --- Safety ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyView:
    pooled: list[dict]
    per_study: list[dict]
    serious: str
    summary: dict


def safety_view(*, version: ReviewVersion) -> SafetyView:
    pooled = [_safety_row(r) for r in SafetyResult.objects.filter(version=version)]
    # Every version keeps its per-study table; a version 0 imported before it did reads today's rows.
    table = version.safety_table or (
        []
        if version.kind == VersionKind.COMPUTED
        else adverse_events_table(
            study_ids=sorted(version_study_ids(version) & public_study_ids(review=version.review))
        )
    )
    per_study = [event_view(e) for e in table]
    return SafetyView(pooled, per_study, _serious_statement(version, pooled, per_study), version.safety_summary or {})


def _safety_row(result: SafetyResult) -> dict:
    return {
        "category": result.category,
        "is_serious_rate": result.is_serious_rate,
        "k": result.k,
        "events": result.events,
        "n": result.n,
        "proportion": safety_proportion_text(result),
        "method": safety_method_text(result),
        "i2": _i2(result),
        "studies": ", ".join(f"{s['study']} {s['events']}/{s['n']}" for s in result.studies),
    }


def _i2(result: SafetyResult) -> str:
    if result.measure == EXACT:
        return "not applicable"
    if result.measure == GLMM and result.i2 is None:
        return "not estimated (needs a continuity correction)"
    return i2_text(result.i2)


def _percent(value: float) -> str:
    return "0" if value == 0 else f"{100 * value:.1f}%"


def safety_proportion_text(result: SafetyResult) -> str:
    """ "0 of 161 (95% CI 0 to 2.3%)" for the exact interval on the total; the model's pooled proportion
    otherwise. Versions computed before issue 13 stored an inverse-variance pooled proportion: shown as it was."""
    if result.measure == EXACT:
        if result.events == 0:
            return f"0 of {result.n} (95% CI 0 to {_percent(result.ci_ub)})"
        share = f"{result.events} of {result.n}, {_percent(result.proportion)}"
        return f"{share} (95% CI {_percent(result.ci_lb)} to {_percent(result.ci_ub)})"
    return proportion_text(result.proportion, result.ci_lb, result.ci_ub)


def safety_method_text(result: SafetyResult) -> str:
    if result.measure == GLMM:
        return "Random-effects logistic model (binomial-normal, maximum likelihood); studies with no event included"
    if result.measure == EXACT:
        why = (
            "no study had an event" if result.events == 0
            else "one study" if result.k == 1
            else "every patient had the event" if result.events == result.n
            else "the random-effects logistic model did not converge"
        )  # fmt: skip
        return f"Exact binomial (Clopper–Pearson) interval on the total; {why}"
    return f"Inverse-variance pooling of {result.measure} proportions (as computed for this version)"


def adverse_event_as_dict(event: AdverseEvent, *, study: Study | None = None) -> dict:
    return {
        "study": (study or event.study).label,
        "term": event.term,
        "category": event.category,
        "serious": event.serious,
        "patients_with_event": event.patients_with_event,
        "patients_at_risk": event.patients_at_risk,
        "source": event.origin,
        "note": event.note,
    }


def adverse_events_table(*, study_ids: list[int]) -> list[dict]:
    """The studies' adverse events as the per-study table shows them, with a line for each study that states
    none occurred."""
    events = (
        AdverseEvent.objects.filter(study_id__in=study_ids)
        .select_related("study")
        .order_by("study__year", "study__label", "term")
    )
    none_occurred = Study.objects.filter(
        pk__in=study_ids, reports_no_adverse_events=True, adverse_events__isnull=True
    ).order_by("year", "label")
    return [adverse_event_as_dict(e) for e in events] + [
        {**none_occurred_row(s.label, s.enrolment_n), "source": "", "note": ""} for s in none_occurred
    ]


def event_view(event: dict) -> dict:
    """A row as readers see it: an extractor's ``note`` on the event is internal and is dropped (a caveat
    readers need is the study's ``public_note``)."""
    serious = {True: "yes", False: "no", None: "not reported"}[event.get("serious")]
    with_event, at_risk = event.get("patients_with_event"), event.get("patients_at_risk")
    return {
        **{key: value for key, value in event.items() if key != "note"},
        "serious_text": serious,
        "count": f"{with_event if with_event is not None else 'not reported'} of {at_risk or 'not reported'}",
    }


def _serious_statement(version: ReviewVersion, pooled: list[dict], per_study: list[dict]) -> str:
    rate = next((r for r in pooled if r["is_serious_rate"]), None)
    if rate is not None:
        if rate["events"] == 0:
            return (
                f"Serious adverse events: none reported in {rate['k']} studies ({rate['n']} patients); "
                f"{rate['proportion']}."
            )
        return (
            f"Serious adverse events: {rate['events']} of {rate['n']} patients in {rate['k']} studies; "
            f"pooled proportion {rate['proportion']}."
        )
    serious = [e for e in per_study if e.get("serious")]
    if serious:
        listed = "; ".join(f"{e['study']}: {e['term']} ({e['count']})" for e in serious)
        return f"Serious adverse events reported: {listed}."
    stated = (version.safety_summary or {}).get("abstract", "")
    tail = f" The published review states: “{stated}”." if stated else ""
    return f"Serious adverse events: none reported in the included studies.{tail}"
