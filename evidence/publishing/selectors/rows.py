"""A version's pooled rows, each formatted for reading with its figures, study rows and sensitivity fits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from evidence.models import CellSource, Donor, PooledResult, Review, ReviewVersion, Route, StudyResult, VersionKind
from evidence.publishing.selectors.published import public_study_ids
from evidence.publishing.selectors.text import (
    certainty_reasons,
    direction_words,
    effect_text,
    i2_text,
    interval_text,
    measure_text,
    months_text,
    number,
    p_text,
    plain_sentence,
)
from evidence.synthesis.plots import ForestLine, ForestSummary, forest_svg
from evidence.synthesis.recompute.contrasts import CONTROLLED_LABEL, CONTROLLED_VALUE, CONTROLLED_VARIABLE

SUBGROUP_VARIABLES = {"cell_source": "Cell source", "route": "Route", "donor": "Donor"}
SUBGROUP_VALUES = {
    **dict(CellSource.choices),
    **dict(Route.choices),
    **dict(Donor.choices),
    CONTROLLED_VALUE: CONTROLLED_LABEL,
}


def subgroup_label(value: str, review: Review) -> str:
    """A subgroup's words; the controlled comparison names the review's own intervention arm."""
    if value == CONTROLLED_VALUE:
        return f"Controlled comparison: {review.arm_label} arm vs comparator arm"
    return SUBGROUP_VALUES.get(value, value)


# --- Version page ---------------------------------------------------------------------------------------


def published_versions(*, review: Review) -> list[ReviewVersion]:
    """Newest first; empty for a review never published (its pages are 404s before they get here)."""
    return list(review.versions.filter(published_at__isnull=False).order_by("-number"))


def published_version(*, review: Review, number: int | None) -> ReviewVersion | None:
    versions = review.versions.filter(published_at__isnull=False).select_related("source_citation")
    if number is None:
        return versions.order_by("-number").first()
    return versions.filter(number=number).first()


@dataclass
class RowView:
    """One pooled row, formatted for reading; `row` keeps the stored numbers for downloads and tests."""

    row: PooledResult
    anchor: str
    outcome: str
    timepoint: str
    subgroup: str
    effect: str
    measure: str
    pi: str
    i2: str
    p: str
    direction: str
    certainty: str
    reasons: list[str]
    plain: str
    figure: str = ""
    cumulative_figure: str = ""
    studies: list[dict] = field(default_factory=list)
    cumulative: list[dict] = field(default_factory=list)
    leave_one_out: list[dict] = field(default_factory=list)
    r_sensitivity: list[dict] = field(default_factory=list)
    subgroup_tests: list[str] = field(default_factory=list)
    no_plot: str = ""
    subgroups: list[RowView] = field(default_factory=list)
    studies_total: int = 0  # all the analysis's studies when ``studies`` shows only the heaviest (review page)
    remainder: str = ""  # how the published remainder was derived, in words
    model_sensitivity: str = ""  # the other model (REML with Hartung–Knapp beside fixed effect), labelled

    @property
    def capped(self) -> bool:
        return self.studies_total > len(self.studies)

    @property
    def effect_estimate(self) -> str:
        return number(self.row.estimate)

    @property
    def effect_ci(self) -> str:
        return interval_text(None, self.row.ci_lb, self.row.ci_ub)


def row_anchor(row: PooledResult) -> str:
    base = f"{row.outcome.code}-{months_text(row.timepoint_months, short=True)}m"
    return f"{base}-{row.subgroup_value}".replace("_", "-") if row.subgroup_value else base.replace("_", "-")


def _svg(svg: str, prefix: str) -> str:
    """Stored plots all use ids t/d: make them unique on a page that inlines several."""
    if not svg:
        return ""
    return (
        svg.replace('aria-labelledby="t d"', f'aria-labelledby="{prefix}-t {prefix}-d"', 1)
        .replace('id="t"', f'id="{prefix}-t"', 1)
        .replace('id="d"', f'id="{prefix}-d"', 1)
    )


def natural_scale_values(values, ratio: bool) -> list[float]:
    """Study rows and sensitivity fits of a ratio are stored on the log scale, as pooled."""
    return [math.exp(v) for v in values] if ratio else list(values)


def _study_rows(row: PooledResult, public_ids: set[int], results: list[StudyResult]) -> list[dict]:
    ratio = row.effect_measure == "ratio"
    return [
        {
            "label": s.study_label,
            "study_id": s.study_id if s.study_id in public_ids else None,  # no link to a withdrawn study
            "year": s.publication_year or "",
            "n": s.n if s.n is not None else "not reported",
            "effect": interval_text(*natural_scale_values((s.yi, s.ci_lb, s.ci_ub), ratio)),
            "weight": f"{s.weight:.1f}%",
            "derivation": s.derivation,
            "role": s.role,
            "source": s.source,
        }
        for s in results
    ]


def _heaviest(results: list[StudyResult], cap: int | None) -> list[StudyResult]:
    """The ``cap`` studies with the largest weights, heaviest first; all of them, in their order, up to ``cap``."""
    if cap is None or len(results) <= cap:
        return results
    return sorted(results, key=lambda s: (-s.weight, s.study_label))[:cap]


def _remainder_text(row: PooledResult) -> str:
    """The remainder's derivation, so a reader can redo it: W from the published CI, minus the extracted."""
    d = row.remainder or {}
    if not d:
        return ""
    published = d["published"]
    extracted = "; ".join(f"{e['label']}: y = {number(e['yi'])}, v = {number(e['vi'])}" for e in d["extracted"])
    return (
        f"{d['label']}. Published row {number(published['estimate'])} "
        f"({number(published['ci_lb'])} to {number(published['ci_ub'])}): SE = (upper − lower)/(2 × 1.96) = "
        f"{number(d['published_se'], 4)}, W = 1/SE² = {number(d['published_weight'], 4)}"
        f"{' on the log scale' if d.get('scale') == 'log' else ''}. Extracted studies it pooled: "
        f"{extracted or 'none'} (Σw = {number(d['extracted_weight'], 4)}). Remainder weight W − Σw = "
        f"{number(d['weight'], 4)}, effect (W·θ − Σwy)/(W − Σw) = {number(d['effect'], 4)}."
    )


def _model_sensitivity(row: PooledResult) -> str:
    fit = (row.sensitivity or {}).get("model")
    if not fit:
        return ""
    ratio = row.effect_measure == "ratio"
    name = "Random effects (REML, Hartung–Knapp CI)" if fit["method"] == "REML" else "Fixed effect (Wald CI)"
    effect = interval_text(*natural_scale_values((fit["estimate"], fit["ci_lb"], fit["ci_ub"]), ratio))
    note = (
        "; approximate: the published remainder enters as one aggregate input, not as its separate studies"
        if fit.get("approximate")
        else ""
    )
    return f"Sensitivity analysis, {name}: {effect}{note}."


def _fits(entries: list[dict], label_key: str, ratio: bool) -> list[dict]:
    return [
        {
            "label": entry[label_key] if label_key != "r" else f"r = {entry['r']:g}",
            "k": entry.get("k", ""),
            "effect": interval_text(*natural_scale_values((entry["estimate"], entry["ci_lb"], entry["ci_ub"]), ratio)),
            "i2": i2_text(entry.get("i2")),
            "tau2": number(entry["tau2"], 3) if entry.get("tau2") is not None else "",
        }
        for entry in entries
    ]


def _no_plot(row: PooledResult, version: ReviewVersion) -> str:
    if row.forest_svg:
        return ""
    if row.awaiting:
        return f"Published result carried forward; {row.awaiting}."
    if version.kind == VersionKind.PUBLISHED_PAPER:
        return ""  # drawn from the published estimate (published_forest)
    source = "the published review" if version.kind == VersionKind.PUBLISHED_PAPER else "an earlier version"
    studies = ", ".join(name.split(" (")[0] for name in row.contributing_studies) or "the studies it pooled"
    return f"Published result from {source}; awaiting extraction of study-level data from {studies}."


def _subgroup_tests(row: PooledResult) -> list[str]:
    # In a fixed order: PostgreSQL's jsonb does not keep the keys in the order they were written.
    tests = row.subgroup_test or {}
    order = [name for name in SUBGROUP_VARIABLES if name in tests] + sorted(set(tests) - set(SUBGROUP_VARIABLES))
    return [
        f"{SUBGROUP_VARIABLES.get(variable, variable)}: Q = {number(tests[variable]['q_between'])}, "
        f"df = {tests[variable]['df']}, p = {p_text(tests[variable]['pval'])}"
        for variable in order
    ]


def row_view(
    row: PooledResult, version: ReviewVersion, *, public_ids: set[int] | None = None, cap: int | None = None
) -> RowView:
    """``public_ids``: the review's public studies (read here when not given), the only ones linked. ``cap``: the
    most studies listed; an analysis of more lists its heaviest and leaves its forest plot, cumulative and
    leave-one-out analyses (one line per study) to the outcome page, as RevMan and MAGICapp summaries do."""
    if public_ids is None:
        public_ids = public_study_ids(review=version.review)
    ratio = row.effect_measure == "ratio"
    sensitivity = row.sensitivity or {}
    anchor = row_anchor(row)
    results = list(row.study_results.all())
    shown = _heaviest(results, cap)
    whole = len(shown) == len(results)
    return RowView(
        row=row,
        anchor=anchor,
        outcome=row.outcome.name,
        timepoint=months_text(row.timepoint_months) + (" (inferred)" if "inferred" in row.timepoint_label else ""),
        subgroup=subgroup_label(row.subgroup_value, version.review),
        effect=effect_text(row),
        measure=measure_text(row),
        pi=interval_text(None, row.pi_lb, row.pi_ub) if row.pi_lb is not None else "not estimable",
        i2=i2_text(row.i2),
        p=p_text(row.p_value) if row.p_value is not None else (row.p_value_reported or "not reported"),
        direction=direction_words(row),
        certainty=row.get_certainty_display() or "not assessed",
        reasons=certainty_reasons(row.certainty_reasons),
        plain=plain_sentence(row),
        figure=_svg(row.forest_svg or published_forest(row, version), f"forest-{row.pk}") if whole else "",
        cumulative_figure=_svg(row.cumulative_svg, f"cumulative-{row.pk}") if whole else "",
        studies=_study_rows(row, public_ids, shown),
        studies_total=len(results),
        cumulative=_fits(sensitivity.get("cumulative", []), "added", ratio) if whole else [],
        leave_one_out=_fits(sensitivity.get("leave_one_out", []), "omitted", ratio) if whole else [],
        r_sensitivity=_fits(sensitivity.get("r_sensitivity", []), "r", ratio),
        subgroup_tests=_subgroup_tests(row),
        no_plot=_no_plot(row, version) if whole else "",
        remainder=_remainder_text(row),
        model_sensitivity=_model_sensitivity(row),
    )


def published_forest(row: PooledResult, version: ReviewVersion) -> str:
    """Version 0's rows were imported, not pooled: their plot shows the published estimate as one aggregate row
    (the studies it pooled, named) and its diamond."""
    if version.kind != VersionKind.PUBLISHED_PAPER:
        return ""
    names = ", ".join(name.split(" (")[0] for name in row.contributing_studies) or "studies not named"
    source = row_source_label(version)
    line = ForestLine(f"{source}: published estimate — {names}", row.estimate, row.ci_lb, row.ci_ub, 100.0, "remainder")
    ratio = row.effect_measure == "ratio"
    return forest_svg(
        [line],
        ForestSummary(f"Published ({source})", row.estimate, row.ci_lb, row.ci_ub),
        title=f"Forest plot: {row.outcome.name} at {months_text(row.timepoint_months)} (published synthesis)",
        axis_label="Ratio" if ratio else f"{row.effect_measure} ({row.outcome.unit or 'points'})",
        null_value=1.0 if ratio else 0.0,
        log_scale=ratio,
    )


def row_source_label(version: ReviewVersion) -> str:
    citation = version.source_citation
    if citation is not None and citation.first_author and citation.publication_year:
        return f"{citation.first_author} {citation.publication_year}"
    return "Published synthesis"


def version_rows(*, version: ReviewVersion, outcome_code: str | None = None, cap: int | None = None) -> list[RowView]:
    """Overall rows in display order, each carrying its subgroup rows; ``cap``: the most studies each lists."""
    rows = version.pooled_results.select_related("outcome").prefetch_related("study_results")
    if outcome_code:
        rows = rows.filter(outcome__code=outcome_code)
    public_ids = public_study_ids(review=version.review)
    views = [row_view(row, version, public_ids=public_ids, cap=cap) for row in rows]
    overall = {(v.row.outcome_id, v.row.timepoint_months): v for v in views if not v.row.subgroup_variable}
    orphans, controlled = [], []
    for view in views:
        if view.row.subgroup_variable == CONTROLLED_VARIABLE:
            controlled.append(view)  # its own row, never a subgroup of the before–after row
        elif view.row.subgroup_variable:
            parent = overall.get((view.row.outcome_id, view.row.timepoint_months))
            (parent.subgroups if parent else orphans).append(view)
    return [v for v in views if not v.row.subgroup_variable] + orphans + controlled
