"""What changed between two versions, in numbers and in one plain-language line per outcome."""

from __future__ import annotations

from evidence.models import CellSource, Donor, PooledResult, ReviewVersion, Route, StudyResult, VersionKind

SUBGROUP_LABELS = {**dict(CellSource.choices), **dict(Route.choices), **dict(Donor.choices)}


def _number(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


def result_text(row: PooledResult) -> str:
    studies = "study" if row.k == 1 else "studies"
    patients = f", {row.n_participants} patients" if row.n_participants is not None else ""
    return f"{_number(row.estimate)} ({_number(row.ci_lb)} to {_number(row.ci_ub)}), {row.k} {studies}{patients}"


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


ANALYSIS_KEYS = (
    "continuous_measure",
    "change_orientation",
    "estimator",
    "ci_method",
    "prepost_correlation",
    "prepost_independent",
    "binary_measure",
    "proportion_measure",
    "continuity_correction",
)


EVENT_KEYS = ("binary_measure", "proportion_measure", "continuity_correction")


def analysis_text(settings: dict, *, events: bool = False) -> str:
    """The analysis in words; ``events``: with the binary settings (named only when they changed)."""
    model = "fixed effect (inverse variance)" if settings["estimator"] == "FE" else settings["estimator"]
    ci = "Hartung–Knapp CI" if settings["ci_method"] == "knha" else "Wald CI"
    if settings.get("prepost_independent"):
        r = "before and after independent"
    else:
        r = f"pre–post r = {settings['prepost_correlation']:g}"
    orientation = (
        "baseline − follow-up"
        if settings["change_orientation"] == "baseline_minus_followup"
        else ("follow-up − baseline")
    )
    binary = (
        f", events {settings['binary_measure']} between arms and {settings['proportion_measure']} in single arms, "
        f"zero cells + {settings['continuity_correction']:g}"
        if events
        else ""
    )
    return f"{settings['continuous_measure']} ({orientation}), {model}, {ci}, {r}{binary}"


def _analysis_change(previous: ReviewVersion | None, current: ReviewVersion) -> str:
    """An editor's change of the primary analysis leads the list: every row below moved because of it."""
    if previous is None or previous.kind != VersionKind.COMPUTED:
        return ""
    before, after = previous.analysis_settings or {}, current.analysis_settings or {}
    if not all(key in before for key in ANALYSIS_KEYS) or all(before[k] == after.get(k) for k in ANALYSIS_KEYS):
        return ""
    events = any(before.get(k) != after.get(k) for k in EVENT_KEYS)
    return f"Primary analysis changed: {analysis_text(before, events=events)} → {analysis_text(after, events=events)}."


def _order(key: tuple, rows: dict) -> tuple:
    row = rows[key]
    return (key[2] != "", row.outcome.display_order, row.timepoint_months, key[2], key[3])


def version_changes(previous: ReviewVersion | None, current: ReviewVersion) -> tuple[dict, list[str]]:
    """The diff and its summary lines: a change of primary analysis first, then each headline (overall) row
    that moved, then what new studies could not enter and why, then subgroup rows."""
    before_rows = _rows(previous) if previous else {}
    after_rows = _rows(current)
    both = {**before_rows, **after_rows}
    outcomes, headline, subgroup_lines = [], [], []
    for key in sorted(set(before_rows) | set(after_rows), key=lambda k: _order(k, both)):
        entry, line = _outcome_change(before_rows.get(key), after_rows.get(key))
        if entry:
            outcomes.append(entry)
            (subgroup_lines if key[2] else headline).append(line)
    studies = _study_changes(previous, current)
    analysis = _analysis_change(previous, current)
    lines = [analysis] if analysis else []
    lines += headline + _new_study_lines(current, studies["added"], after_rows) + subgroup_lines
    return {"studies": studies, "outcomes": outcomes, "analysis_changed": bool(analysis)}, lines


def _rows(version: ReviewVersion) -> dict:
    return {_key(r): r for r in version.pooled_results.select_related("outcome")}


def _new_study_lines(current: ReviewVersion, added: list[str], after_rows: dict) -> list[str]:
    """For each study new against the published synthesis: the rows it opened (rows the published synthesis
    did not have), and what it could not enter and why. Without a published synthesis every row is new."""
    published = (
        ReviewVersion.objects.filter(review_id=current.review_id, kind=VersionKind.PUBLISHED_PAPER)
        .order_by("number")
        .first()
    )
    if not added or published is None:
        return []
    published_keys = set(_rows(published))
    opened = {key: row for key, row in after_rows.items() if not key[2] and key not in published_keys}
    entered = StudyResult.objects.filter(
        pooled_result_id__in=[row.pk for row in opened.values()], study_label__in=added
    ).values_list("pooled_result_id", "study_label")
    rows_of: dict[str, list] = {}
    by_pk = {row.pk: row for row in opened.values()}
    for pooled_id, label in entered:
        rows_of.setdefault(label, []).append(by_pk[pooled_id])
    in_any_row = set(
        StudyResult.objects.filter(pooled_result__version=current, study_label__in=added).values_list(
            "study_label", flat=True
        )
    )
    lines = []
    for label in added:
        for row in sorted(rows_of.get(label, []), key=lambda r: (r.outcome.display_order, r.timepoint_months)):
            lines.append(f"{label}: {row_title(row)} has no published row; new row created")
        problems = [f"{label} could not enter a row: {text}" for text in current.input_problems if label in text]
        if not problems and label not in in_any_row:
            problems = [f"{label} could not enter a row: no outcome measurement with numbers was extracted"]
        lines += problems
    return lines


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
            return None, ""  # recomputed or carried, the row a reader sees did not move
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
