"""Write one version — rows, study rows, safety, plots, diff, PRISMA counts — in one transaction."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from evidence.models import (
    Outcome,
    PooledResult,
    Review,
    ReviewVersion,
    SafetyResult,
    StudyResult,
    VersionKind,
)
from evidence.plots import ForestLine, ForestSummary, forest_svg
from evidence.services.prisma import prisma_snapshot
from evidence.services.recompute.analyses import PooledRow, natural_scale
from evidence.services.recompute.carry import CarriedRow
from evidence.services.recompute.diff import row_title, version_changes
from evidence.services.recompute.inputs import CODE_VERSION, RecomputeInputs
from evidence.services.recompute.safety import SAFETY_METHODS_NOTE, SafetyRow

# A forest plot with more study lines than this is unreadable; it shows the pooled result and the page's table
# (and the downloads) give every study.
MAX_FOREST_LINES = 150


@transaction.atomic
def version_write(
    *,
    review: Review,
    inputs: RecomputeInputs,
    inputs_hash: str,
    trigger: str,
    computed: list[PooledRow],
    carried: list[CarriedRow],
    safety: list[SafetyRow],
    safety_table: list[dict],
) -> ReviewVersion:
    Review.objects.select_for_update().get(pk=review.pk)  # one writer per review: numbers never collide
    previous = review.versions.order_by("-number").first()
    version = ReviewVersion.objects.create(
        review=review,
        number=previous.number + 1 if previous else 0,
        kind=VersionKind.COMPUTED,
        published_at=timezone.now(),
        trigger=trigger[:300],
        inputs_hash=inputs_hash,
        analysis_settings=inputs.settings,
        code_version=CODE_VERSION,
        methods_note=_methods_note(inputs.settings),
        n_studies=len(inputs.studies),
        n_patients=sum(s.n or 0 for s in inputs.studies),
        studies=[
            {"id": s.study_id, "label": s.label, "year": s.year, "n": s.n, "flags": list(s.flags)}
            for s in inputs.studies
        ],
        safety_table=safety_table,
    )
    previous_rows = _rows_by_key(previous)
    outcomes = {o.code: o for o in Outcome.objects.filter(code__in={r.outcome_code for r in computed})}
    for row in computed:
        _computed_row_write(version, row, outcomes[row.outcome_code], inputs, previous_rows)
    for carried_row in carried:
        _carried_row_write(version, carried_row)
    SafetyResult.objects.bulk_create(SafetyResult(version=version, **vars(row)) for row in safety)
    version.changes, version.change_summary = version_changes(previous, version)
    version.prisma = prisma_snapshot(version=version)  # kept out of the inputs hash: screening alone makes no version
    version.save(update_fields=["changes", "change_summary", "prisma"])
    return version


def _rows_by_key(version: ReviewVersion | None) -> dict:
    if version is None:
        return {}
    return {
        (r.outcome.code, r.timepoint_months, r.subgroup_variable, r.subgroup_value): r
        for r in version.pooled_results.select_related("outcome")
    }


def _computed_row_write(version, row: PooledRow, outcome: Outcome, inputs: RecomputeInputs, previous_rows) -> None:
    core, log = row.core, row.scale == "log"
    nat = lambda value: natural_scale(row, value)  # noqa: E731
    months = Decimal(row.timepoint)
    certainty, reasons, change = _certainty(inputs, row, previous_rows.get((row.outcome_code, months, *row.key[2:])))
    pooled = PooledResult(
        version=version,
        outcome=outcome,
        timepoint_months=months,
        timepoint_label=f"{row.timepoint} months",
        subgroup_variable=row.subgroup_variable,
        subgroup_value=row.subgroup_value,
        k=core.k,
        n_participants=row.n_participants,
        effect_measure="ratio" if log else _measure(inputs.settings),
        orientation=inputs.settings["change_orientation"],
        model=core.method,
        ci_method=core.test,
        estimate=nat(core.estimate),
        ci_lb=nat(core.ci_lb),
        ci_ub=nat(core.ci_ub),
        pi_lb=nat(core.pi_lb),
        pi_ub=nat(core.pi_ub),
        se=core.se,
        p_value=core.pval,
        i2=core.i2 if core.k > 1 else None,
        tau2=core.tau2,
        h2=core.h2 if core.k > 1 else None,
        se_tau2=core.se_tau2,
        q=core.q,
        q_pval=core.q_pval if core.k > 1 else None,
        certainty=certainty,
        certainty_reasons=reasons,
        certainty_change=change,
        computed=True,
        subgroup_test=row.subgroup_test,
        sensitivity=row.sensitivity,
        contributing_studies=[s.study.label for s in row.studies],
        notes="; ".join(f"{_label(inputs, u.study_id)}: {u.reason}" for u in row.unpoolable),
    )
    # Plots are drawn before the single INSERT: a row is written once and never updated.
    pooled.forest_svg = _forest(pooled, row, outcome)
    if len(row.studies) > 1 and not row.subgroup_variable:
        pooled.cumulative_svg = _cumulative_forest(pooled, row, outcome)
    pooled.save(force_insert=True)
    _study_results_insert(
        (
            pooled.id,
            s.study.study_id,
            s.study.label,
            s.study.year,
            s.study.n,
            s.effect.yi,
            s.effect.vi,
            s.ci_lb,
            s.ci_ub,
            s.weight,
            s.effect.derivation,
        )
        for s in row.studies
    )


STUDY_RESULT_COLUMNS = (
    "pooled_result_id",
    "study_id",
    "study_label",
    "publication_year",
    "n",
    "yi",
    "vi",
    "ci_lb",
    "ci_ub",
    "weight",
    "derivation",
)


def _study_results_insert(rows) -> None:
    """One executemany per pooled row: the ORM's bulk_create costs ~20× more per row, and a 1,000-study
    review writes tens of thousands of these (the model's CHECK constraints still apply in the database)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in STUDY_RESULT_COLUMNS)
    marks = ", ".join(["%s"] * len(STUDY_RESULT_COLUMNS))
    with connection.cursor() as cursor:
        # Identifiers come from the model (quoted), values are parameters: nothing user-supplied is formatted in.
        sql = f"INSERT INTO {quote(StudyResult._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
        cursor.executemany(sql, list(rows))


def _carried_row_write(version: ReviewVersion, carried: CarriedRow) -> None:
    source = carried.published
    fields = {
        f.name: getattr(source, f.name)
        for f in PooledResult._meta.concrete_fields
        if f.name not in {"id", "version", "carried_from", "awaiting", "computed"}
    }
    PooledResult.objects.create(
        **fields, version=version, carried_from=source, awaiting=carried.awaiting, computed=False
    )


def _certainty(inputs: RecomputeInputs, row: PooledRow, previous) -> tuple[str, dict, str]:
    grade = inputs.grades.get(row.key)
    certainty, reasons = (
        grade if grade else ((previous.certainty, previous.certainty_reasons) if previous else ("", {}))
    )
    before = previous.certainty if previous else ""
    return certainty, reasons, f"{before} → {certainty}" if before and certainty and before != certainty else ""


def _forest(pooled: PooledResult, row: PooledRow, outcome: Outcome) -> str:
    nat = lambda value: natural_scale(row, value)  # noqa: E731
    if len(row.studies) > MAX_FOREST_LINES:
        lines = [ForestLine(f"{len(row.studies)} studies (see the table)", pooled.estimate, pooled.ci_lb, pooled.ci_ub)]
    else:
        lines = [ForestLine(s.study.label, nat(s.effect.yi), nat(s.ci_lb), nat(s.ci_ub), s.weight) for s in row.studies]
    summary = ForestSummary(
        f"Pooled ({pooled.model}, {pooled.ci_method})",
        pooled.estimate,
        pooled.ci_lb,
        pooled.ci_ub,
        pooled.pi_lb if row.core.k > 2 else None,
        pooled.pi_ub if row.core.k > 2 else None,
    )
    log = row.scale == "log"
    return forest_svg(
        lines,
        summary,
        title=f"Forest plot: {row_title(pooled)}",
        axis_label=_axis(pooled, outcome),
        null_value=1.0 if log else 0.0,
        log_scale=log,
        favours=_favours(pooled, outcome),
    )


def _cumulative_forest(pooled: PooledResult, row: PooledRow, outcome: Outcome) -> str:
    steps = row.sensitivity.get("cumulative", [])
    lines = [
        ForestLine(
            f"+ {step['added']}",
            natural_scale(row, step["estimate"]),
            natural_scale(row, step["ci_lb"]),
            natural_scale(row, step["ci_ub"]),
        )
        for step in steps
    ]
    log = row.scale == "log"
    return forest_svg(
        lines,
        None,
        title=f"Cumulative meta-analysis by publication date: {row_title(pooled)}",
        axis_label=_axis(pooled, outcome),
        null_value=1.0 if log else 0.0,
        log_scale=log,
    )


def _axis(pooled: PooledResult, outcome: Outcome) -> str:
    if pooled.effect_measure == "ratio":
        return "Ratio"
    orientation = "baseline − follow-up" if pooled.orientation == "baseline_minus_followup" else "follow-up − baseline"
    return f"{pooled.effect_measure} in {outcome.unit or 'points'} ({orientation})"


def _favours(pooled: PooledResult, outcome: Outcome) -> tuple[str, str]:
    """Which side of the null is improvement, given the outcome's direction and the orientation."""
    fell_is_positive = pooled.orientation == "baseline_minus_followup"
    lower_better = outcome.direction == "lower_is_better"
    return ("worse", "improvement") if fell_is_positive == lower_better else ("improvement", "worse")


def _measure(settings: dict) -> str:
    return settings["continuous_measure"]


def _label(inputs: RecomputeInputs, study_id: int) -> str:
    return next(s.label for s in inputs.studies if s.study_id == study_id)


def _methods_note(settings: dict) -> str:
    orientation = settings["change_orientation"].replace("_", " ")
    return (
        f"Computed from study-level data: {settings['continuous_measure']} ({orientation}), pre–post correlation "
        f"r = {settings['prepost_correlation']:g} where a study reports none, {settings['estimator']} estimator "
        f"of τ², {'Hartung–Knapp' if settings['ci_method'] == 'knha' else 'Wald (z)'} confidence intervals; "
        f"adverse events: {SAFETY_METHODS_NOTE}."
    )
