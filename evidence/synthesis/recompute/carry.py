"""Published rows become inputs: each row of the published synthesis enters the recompute as its remainder.

For every pooled row of the published synthesis (version 0, kind PUBLISHED_PAPER) the plan names the
extracted studies it pooled, the studies it pooled that have no data here, and the *published remainder*
standing in for the latter (see ``remainder.py``). Extracted and new studies are pooled with the remainder,
so every approved study moves the row it belongs to. A row whose remainder cannot be derived is carried
as published, with the reason, never silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evidence.models import PooledResult, ReviewVersion, VersionKind
from evidence.synthesis.recompute.effects import StudyEffect
from evidence.synthesis.recompute.inputs import RecomputeInputs, StudyInput, _months
from evidence.synthesis.recompute.remainder import NoRemainder, PublishedEstimate, published_remainder

UNNAMED = "the studies it pooled (not named by the published review)"


@dataclass(frozen=True)
class CarriedRow:
    published: PooledResult
    awaiting: str  # why the published value is shown rather than a pooled one
    not_pooled: tuple = ()  # (StudyInput, StudyEffect) of the studies with data in the row, kept for tracing

    @property
    def key(self) -> tuple[str, str, str, str]:
        p = self.published
        return (p.outcome.code, _months(p.timepoint_months), p.subgroup_variable, p.subgroup_value)


@dataclass
class PublishedCell:
    """One published row and what stands in for its studies without data."""

    row: PooledResult
    pooled_here: set[int]  # extracted studies the published row pooled
    missing: list[str]  # studies it pooled that have no poolable data here
    aggregate: StudyEffect | None = None  # the remainder as one input
    aggregate_input: StudyInput | None = None
    derivation: dict = field(default_factory=dict)
    reason: str = ""  # set when the remainder cannot be derived: the published value is shown
    not_pooled: tuple = ()  # with a reason: the studies with data here, listed (not pooled) on the carried row

    @property
    def remainder_k(self) -> int:
        if self.aggregate is None:
            return 0
        return len(self.missing) if self.missing != [UNNAMED] else max(self.row.k - len(self.pooled_here), 1)


@dataclass
class SynthesisPlan:
    source: str  # "Cui 2022"
    cells: dict  # (code, time point, subgroup variable, value) -> PublishedCell
    published_study_ids: set[int]

    def synthetic_inputs(self) -> dict[int, StudyInput]:
        return {c.aggregate_input.study_id: c.aggregate_input for c in self.cells.values() if c.aggregate_input}

    def carried(self) -> list[CarriedRow]:
        return [CarriedRow(c.row, c.reason, c.not_pooled) for c in self.cells.values() if c.reason]


def published_synthesis(review_id: int) -> ReviewVersion | None:
    return (
        ReviewVersion.objects.filter(review_id=review_id, kind=VersionKind.PUBLISHED_PAPER)
        .select_related("source_citation")
        .order_by("number")
        .first()
    )


def synthesis_plan(inputs: RecomputeInputs, effects: dict, published: ReviewVersion | None) -> SynthesisPlan:
    if published is None:
        return SynthesisPlan("", {}, set())
    plan = SynthesisPlan(_source_label(published), {}, {s["id"] for s in published.studies})
    by_id = {s.study_id: s for s in inputs.studies}
    for index, row in enumerate(published.pooled_results.select_related("outcome").order_by("id")):
        key = (row.outcome.code, _months(row.timepoint_months), row.subgroup_variable, row.subgroup_value)
        plan.cells[key] = _cell(row, effects.get(key[:2], []), by_id, plan.source, -1 - index)
    return plan


def _source_label(published: ReviewVersion) -> str:
    citation = published.source_citation
    if citation and citation.first_author and citation.publication_year:
        return f"{citation.first_author} {citation.publication_year}"
    return "Published synthesis"


def _cell(row: PooledResult, group: list[StudyEffect], by_id: dict, source: str, synthetic_id: int) -> PublishedCell:
    names = [name.split(" (")[0] for name in row.contributing_studies]
    log = row.effect_measure == "ratio"
    on_scale = [e for e in group if e.scale == ("log" if log else "raw")]
    here = {e.study_id: e for e in on_scale if any(by_id[e.study_id].label.startswith(n) for n in names)}
    missing = [n for n in names if not any(by_id[i].label.startswith(n) for i in here)] if names else [UNNAMED]
    cell = PublishedCell(row, set(here), missing)
    if not missing:
        return cell  # every study it pooled has data: pooled from the studies themselves
    estimate = PublishedEstimate(row.estimate, row.ci_lb, row.ci_ub, log=log)
    remainder = published_remainder(estimate, [(e.yi, e.vi) for e in here.values()])
    if isinstance(remainder, NoRemainder):
        cell.reason = f"published value shown: {remainder.reason}"
        members = on_scale if not row.subgroup_variable else list(here.values())
        cell.not_pooled = tuple((by_id[e.study_id], e) for e in members)
        return cell
    label = f"{source}: studies without extracted data — {', '.join(missing)}; derived from the published estimate"
    known_n = [by_id[i].n for i in here]
    n = None if row.n_participants is None or None in known_n else row.n_participants - sum(known_n)
    cell.aggregate = StudyEffect(synthetic_id, remainder.yi, remainder.vi, "log" if log else "raw", _how(remainder))
    cell.aggregate_input = StudyInput(
        synthetic_id, label, None, (0, 0), n if n and n > 0 else None, "", "", "", (), False
    )
    cell.derivation = {
        **remainder.derivation(),
        "label": label,
        "published": {"estimate": row.estimate, "ci_lb": row.ci_lb, "ci_ub": row.ci_ub, "k": row.k},
        "extracted": [{"label": by_id[i].label, "yi": e.yi, "vi": e.vi} for i, e in here.items()],
        "missing": missing,
        "scale": "log" if log else "natural",
    }
    return cell


def _how(remainder) -> str:
    return (
        f"published remainder: W = 1/SE² = {remainder.published_weight:.4g} from the published CI, minus "
        f"Σw = {remainder.extracted_weight:.4g} of the extracted studies"
    )
