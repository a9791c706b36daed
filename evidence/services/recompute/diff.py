"""What changed between two versions, in numbers and in one plain-language line per outcome."""

from __future__ import annotations

from evidence.models import CellSource, Donor, PooledResult, ReviewVersion, Route

SUBGROUP_LABELS = {**dict(CellSource.choices), **dict(Route.choices), **dict(Donor.choices)}


def _number(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


def result_text(row: PooledResult) -> str:
    studies = "study" if row.k == 1 else "studies"
    return f"{_number(row.estimate)} ({_number(row.ci_lb)} to {_number(row.ci_ub)}), {row.k} {studies}"


def row_title(row: PooledResult) -> str:
    months = f"{row.timepoint_months.normalize():f}"
    unit = "month" if months == "1" else "months"
    subgroup = f", {SUBGROUP_LABELS.get(row.subgroup_value, row.subgroup_value)}" if row.subgroup_value else ""
    name = row.outcome.name.split(" (")[-1].rstrip(")") if "(" in row.outcome.name else row.outcome.name
    return f"{name} at {months} {unit}{subgroup}"


def _null(row: PooledResult) -> float:
    return 1.0 if row.effect_measure in {"ratio", "OR", "RR"} else 0.0


def _significant(row: PooledResult) -> bool:
    null = _null(row)
    return row.ci_lb > null or row.ci_ub < null


def _direction(row: PooledResult) -> int:
    null = _null(row)
    return (row.estimate > null) - (row.estimate < null)


def _key(row: PooledResult) -> tuple:
    return (row.outcome.code, row.timepoint_months, row.subgroup_variable, row.subgroup_value)


def version_changes(previous: ReviewVersion | None, current: ReviewVersion) -> tuple[dict, list[str]]:
    """The diff (studies and outcomes) and its summary lines, overall rows first."""
    before_rows = {_key(r): r for r in previous.pooled_results.select_related("outcome")} if previous else {}
    after_rows = {_key(r): r for r in current.pooled_results.select_related("outcome")}
    outcomes, lines = [], []
    for key in sorted(set(before_rows) | set(after_rows), key=lambda k: (k[2] != "", str(k))):
        entry, line = _outcome_change(before_rows.get(key), after_rows.get(key))
        if entry:
            outcomes.append(entry)
            lines.append(line)
    return {"studies": _study_changes(previous, current), "outcomes": outcomes}, lines


def _outcome_change(before: PooledResult | None, after: PooledResult | None) -> tuple[dict | None, str]:
    row = after or before
    entry = {
        "outcome": row.outcome.code,
        "timepoint_months": float(row.timepoint_months),
        "subgroup": row.subgroup_value,
        "title": row_title(row),
        "before": _snapshot(before),
        "after": _snapshot(after),
    }
    if before and after:
        if _shown(before) == _shown(after):
            if before.computed == after.computed:
                return None, ""
            return entry, f"{row_title(after)}: {result_text(after)}, now recomputed from study-level data"
        entry["significance_changed"] = _significant(before) != _significant(after)
        entry["direction_changed"] = _direction(before) != _direction(after)
        line = f"{row_title(after)}: {result_text(before)} → {result_text(after)}"
        if entry["significance_changed"]:
            line += " (statistical significance changed)"
        if entry["direction_changed"]:
            line += " (direction of effect changed)"
        return entry, line
    if after:
        return entry, f"{row_title(after)}: new, {result_text(after)}"
    return entry, f"{row_title(before)}: no longer reported (was {result_text(before)})"


def _shown(row: PooledResult) -> tuple:
    """What a reader sees: numbers to the two decimals printed, k, N and certainty."""
    return (round(row.estimate, 2), round(row.ci_lb, 2), round(row.ci_ub, 2), row.k, row.n_participants, row.certainty)


def _snapshot(row: PooledResult | None) -> dict | None:
    if row is None:
        return None
    return {
        "estimate": row.estimate,
        "ci_lb": row.ci_lb,
        "ci_ub": row.ci_ub,
        "k": row.k,
        "n": row.n_participants,
        "certainty": row.certainty,
        "computed": row.computed,
    }


def _study_changes(previous: ReviewVersion | None, current: ReviewVersion) -> dict:
    before = {s["label"]: s for s in (previous.studies if previous else [])}
    after = {s["label"]: s for s in current.studies}
    flagged = [
        {"label": label, "flags": s.get("flags", [])}
        for label, s in after.items()
        if s.get("flags") and s.get("flags") != before.get(label, {}).get("flags")
    ]
    return {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)), "flagged": flagged}
