"""What a version says beside its rows: inputs that could not enter a row and why, and the published review's
narrative statements, which stay on every version until a study gives numbers."""

from __future__ import annotations

from evidence.models import ReviewVersion
from evidence.synthesis.recompute.analyses import PooledRow
from evidence.synthesis.recompute.carry import CarriedRow
from evidence.synthesis.recompute.effects import NOT_EXTRACTED
from evidence.synthesis.recompute.inputs import RecomputeInputs


def cell_title(inputs: RecomputeInputs, code: str, timepoint: str) -> str:
    info = inputs.outcomes.get(code)
    name = info.name if info else code
    short = name.split(" (")[-1].rstrip(")") if "(" in name else name
    return f"{short} at {timepoint} {'month' if timepoint == '1' else 'months'}"


def input_problems(inputs: RecomputeInputs, computed: list[PooledRow], carried: list[CarriedRow]) -> list[str]:
    """One sentence per input that is in the database but not in a pooled number, naming the reason."""
    labels = {s.study_id: s.label for s in inputs.studies}
    problems = []
    for row in computed:
        if row.subgroup_variable:
            continue
        title = cell_title(inputs, row.outcome_code, row.timepoint)
        # "Not yet extracted" is the normal state of a study the published remainder stands for, not a problem.
        problems += [f"{labels[u.study_id]}: {title}: {u.reason}" for u in row.unpoolable if u.reason != NOT_EXTRACTED]
    problems += [
        f"{labels[r.study_id]}: {cell_title(inputs, r.outcome_code, r.timepoint_months)}: {r.reason}"
        for r in inputs.rejected
    ]
    for carried_row in carried:
        code, timepoint, variable, value = carried_row.key
        title = cell_title(inputs, code, timepoint) + (f" ({value})" if value else "")
        entering = [
            labels[m.study_id]
            for m in inputs.measurements
            if (m.outcome_code, m.timepoint_months) == (code, timepoint) and m.data_format != "not_extracted"
        ]
        who = f" ({', '.join(entering)} could not enter it)" if entering and not variable else ""
        problems.append(f"{title}{who}: {carried_row.awaiting}")
    return problems


def published_narrative(published: ReviewVersion | None, computed: list[PooledRow], source: str) -> list[dict]:
    """The published review's statements without numbers (e.g. DLCO and FVC), kept on every version and marked
    as the published narrative; once a study gives numbers the pooled row is shown beside the statement."""
    if published is None:
        return []
    pooled = {row.outcome_code for row in computed if not row.subgroup_variable}
    return [
        {**entry, "published_narrative": True, "source_label": source, "pooled_now": entry["outcome"] in pooled}
        for entry in published.narrative_findings
    ]
