"""Rows of the published synthesis (version 0) that study-level data cannot yet reproduce are carried forward.

A published row is recomputed only when every study it pooled has poolable data; until then the version
shows the published row, marked "awaiting extraction of …", so no version shows less evidence than the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.models import PooledResult, ReviewVersion, VersionKind
from evidence.services.recompute.analyses import PooledRow, subgroup_row
from evidence.services.recompute.inputs import RecomputeInputs, _months


@dataclass(frozen=True)
class CarriedRow:
    published: PooledResult
    awaiting: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        p = self.published
        return (p.outcome.code, _months(p.timepoint_months), p.subgroup_variable, p.subgroup_value)


def published_synthesis(review_id: int) -> ReviewVersion | None:
    return (
        ReviewVersion.objects.filter(review_id=review_id, kind=VersionKind.PUBLISHED_PAPER).order_by("number").first()
    )


def merge_with_published(
    computed: list[PooledRow], inputs: RecomputeInputs, published: ReviewVersion | None
) -> tuple[list[PooledRow], list[CarriedRow]]:
    """Keep computed rows that fully reproduce a published one (or have none); carry the rest."""
    if published is None:
        return computed, []
    by_key = {row.key: row for row in computed}
    overall_rows = {row.key[:2]: row for row in computed if not row.subgroup_variable}
    by_id = {s.study_id: s for s in inputs.studies}
    carried = []
    for row in published.pooled_results.select_related("outcome").order_by("id"):
        key = (row.outcome.code, _months(row.timepoint_months), row.subgroup_variable, row.subgroup_value)
        overall = overall_rows.get(key[:2])
        missing = _missing_studies(row, overall)
        if missing:
            carried.append(CarriedRow(row, f"awaiting extraction of {', '.join(missing)}"))
            by_key.pop(key, None)
        elif key not in by_key and row.subgroup_variable:
            sub = subgroup_row(overall, row.subgroup_variable, row.subgroup_value, by_id, inputs.settings)
            if sub:
                by_key[key] = sub
    return list(by_key.values()), carried


def _missing_studies(row: PooledResult, overall: PooledRow | None) -> list[str]:
    """The studies the published row pooled that have no poolable data here yet (empty: it can be recomputed)."""
    wanted = [name.split(" (")[0] for name in row.contributing_studies]
    if overall is None:
        return wanted or ["the studies it pooled"]
    have = {s.study.label for s in overall.studies}
    return [name for name in wanted if not any(label.startswith(name) for label in have)]
