"""Write one version — rows, study rows, safety, plots, diff, PRISMA counts — in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
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
    StudyRole,
    VersionKind,
)
from evidence.synthesis.plots import ForestLine, ForestSummary, forest_svg
from evidence.synthesis.prisma import prisma_snapshot
from evidence.synthesis.recompute.analyses import PooledRow, natural_scale
from evidence.synthesis.recompute.binary import PROPORTION_NAMES, PROPORTION_SCALES, natural, ratio_direction
from evidence.synthesis.recompute.carry import CarriedRow, SynthesisPlan
from evidence.synthesis.recompute.diff import row_title, version_changes
from evidence.synthesis.recompute.inputs import CODE_VERSION, RecomputeInputs
from evidence.synthesis.recompute.problems import input_problems, published_narrative
from evidence.synthesis.recompute.safety import CONTROLLED_SAFETY_NOTE, SAFETY_METHODS_NOTE, SafetyRow
from evidence.synthesis.recompute.trace import study_row_sources

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
    plan: SynthesisPlan | None = None,
    controlled_safety: list[dict] | None = None,
    published: ReviewVersion | None = None,
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
        safety_summary={"controlled": controlled_safety} if controlled_safety else {},
        narrative_findings=published_narrative(published, computed, plan.source if plan else ""),
        input_problems=input_problems(inputs, computed, carried),
    )
    previous_rows = _rows_by_key(previous)
    outcomes = {o.code: o for o in Outcome.objects.filter(review=review, code__in={r.outcome_code for r in computed})}
    context = RowContext(inputs, previous_rows, plan, study_row_sources(review=review) if computed or carried else {})
    for row in computed:
        _computed_row_write(version, row, outcomes[row.outcome_code], context)
    for carried_row in carried:
        _carried_row_write(version, carried_row, context)
    SafetyResult.objects.bulk_create(SafetyResult(version=version, **vars(row)) for row in safety)
    version.changes, version.change_summary = version_changes(previous, version)
    version.prisma = prisma_snapshot(version=version)  # kept out of the inputs hash: screening alone makes no version
    version.save(update_fields=["changes", "change_summary", "prisma"])
    return version


@dataclass(frozen=True)
class RowContext:
    inputs: RecomputeInputs
    previous_rows: dict
    plan: SynthesisPlan | None
    sources: dict  # (study id, outcome, time point) -> where its numbers come from


def _rows_by_key(version: ReviewVersion | None) -> dict:
    if version is None:
        return {}
    return {
        (r.outcome.code, r.timepoint_months, r.subgroup_variable, r.subgroup_value): r
        for r in version.pooled_results.select_related("outcome")
    }


def _computed_row_write(version, row: PooledRow, outcome: Outcome, context: RowContext) -> None:
    inputs = context.inputs
    core = row.core
    nat = lambda value: natural_scale(row, value)  # noqa: E731
    months = Decimal(row.timepoint)
    previous = context.previous_rows.get((row.outcome_code, months, *row.key[2:]))
    certainty, reasons, change = _certainty(inputs, row, previous)
    pooled = PooledResult(
        version=version,
        outcome=outcome,
        timepoint_months=months,
        timepoint_label=f"{row.timepoint} months",
        subgroup_variable=row.subgroup_variable,
        subgroup_value=row.subgroup_value,
        k=row.k,
        n_participants=row.n_participants,
        effect_measure=_row_measure(row, inputs.settings),
        effect_measure_note=_measure_note(row),
        absolute_effect=row.absolute,
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
        remainder=row.remainder,
        contributing_studies=[s.study.label for s in row.studies],
        notes="; ".join(
            [row.note] * bool(row.note) + [f"{_label(inputs, u.study_id)}: {u.reason}" for u in row.unpoolable]
        ),
    )
    if row.remainder and core.method != "FE":
        pooled.notes = "; ".join(
            filter(None, [pooled.notes, "the published remainder enters as one aggregate input: an approximation "
                          "under random effects"])
        )  # fmt: skip
    if row.reproduces_published and core.method == "FE":  # exact by construction only under fixed effect
        _as_published(pooled, row.published)
    # Plots are drawn before the single INSERT: a row is written once and never updated.
    pooled.forest_svg = _forest(pooled, row, outcome, context.plan, previous)
    if len(row.studies) > 1 and not row.subgroup_variable and row.sensitivity.get("cumulative"):
        pooled.cumulative_svg = _cumulative_forest(pooled, row, outcome)
    pooled.save(force_insert=True)
    _study_results_insert(_study_result_values(pooled.id, row, context))


def _as_published(pooled: PooledResult, published: PooledResult) -> None:
    """Nothing entered the row beyond the published studies: the fixed-effect pool of the remainder and the
    extracted studies is the published estimate by construction; show it as printed (the printed CI may be
    asymmetric by rounding, which a recomputation from θ and SE cannot restore)."""
    for name in ("estimate", "ci_lb", "ci_ub", "se", "p_value", "p_value_reported", "n_participants", "k"):
        setattr(pooled, name, getattr(published, name))
    pooled.pi_lb, pooled.pi_ub = pooled.ci_lb, pooled.ci_ub
    pooled.source = published.source
    pooled.notes = "; ".join(
        filter(None, ["Nothing new in this row: the published estimate, as printed", pooled.notes])
    )


def study_role(study_id: int, plan: SynthesisPlan | None) -> str:
    if study_id < 0:
        return StudyRole.REMAINDER
    if plan is not None and plan.cells and study_id not in plan.published_study_ids:
        return StudyRole.NEW
    return StudyRole.EXTRACTED


def _reported(inputs: RecomputeInputs, study_id: int, row: PooledRow) -> str:
    measurement = inputs.measurement_by_key.get((study_id, row.outcome_code, row.timepoint))
    return measurement.reported_months if measurement and measurement.reported_months else row.timepoint


def _study_result_values(pooled_id: int, row: PooledRow, context: RowContext):
    for s in row.studies:
        study_id = s.study.study_id
        role = study_role(study_id, context.plan)
        source = (
            f"derived from the published estimate ({context.plan.source})"
            if role == StudyRole.REMAINDER
            else context.sources.get((study_id, row.outcome_code, _reported(context.inputs, study_id, row)), "")
        )
        yield (
            pooled_id,
            study_id if study_id > 0 else None,
            s.study.label[:120],
            s.study.year,
            s.study.n,
            *_study_values(row, s),
            s.weight,
            s.effect.derivation[:200],
            role,
            source,
        )


def _study_values(row: PooledRow, s) -> tuple:
    """yi, vi, CI as pooled; a proportion's yi and CI back-transformed (vi stays on the pooled scale), since the
    pages show study rows of a non-ratio row as stored."""
    if row.scale not in PROPORTION_SCALES:
        return s.effect.yi, s.effect.vi, s.ci_lb, s.ci_ub
    n = [s.study.n or 1]
    return (
        natural(row.scale, s.effect.yi, n),
        s.effect.vi,
        natural(row.scale, s.ci_lb, n),
        natural(row.scale, s.ci_ub, n),
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
    "role",
    "source",
)


def _study_results_insert(rows) -> None:
    """One executemany per pooled row: the ORM's bulk_create costs ~20× more per row, and a 1,000-study
    review writes tens of thousands of these (the model's CHECK constraints still apply in the database)."""
    rows = list(rows)
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in STUDY_RESULT_COLUMNS)
    marks = ", ".join(["%s"] * len(STUDY_RESULT_COLUMNS))
    with connection.cursor() as cursor:
        # Identifiers come from the model (quoted), values are parameters: nothing user-supplied is formatted in.
        sql = f"INSERT INTO {quote(StudyResult._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
        cursor.executemany(sql, list(rows))


def _carried_row_write(version: ReviewVersion, carried: CarriedRow, context: RowContext) -> None:
    source = carried.published
    fields = {
        f.name: getattr(source, f.name)
        for f in PooledResult._meta.concrete_fields
        if f.name not in {"id", "version", "carried_from", "awaiting", "computed"}
    }
    row = PooledResult.objects.create(
        **fields, version=version, carried_from=source, awaiting=carried.awaiting, computed=False
    )
    # The studies with data here stay traceable (and in studies.csv), listed with weight 0: not pooled.
    half = 1.959963984540054
    code, timepoint = carried.key[:2]
    _study_results_insert(
        (
            row.id,
            study.study_id,
            study.label[:120],
            study.year,
            study.n,
            effect.yi,
            effect.vi,
            effect.yi - half * effect.vi**0.5,
            effect.yi + half * effect.vi**0.5,
            0.0,
            f"{effect.derivation}; not pooled: {carried.awaiting}"[:200],
            StudyRole.NOT_POOLED,
            context.sources.get((study.study_id, code, timepoint), ""),
        )
        for study, effect in carried.not_pooled
    )


def _certainty(inputs: RecomputeInputs, row: PooledRow, previous) -> tuple[str, dict, str]:
    grade = inputs.grades.get(row.key)
    certainty, reasons = (
        grade if grade else ((previous.certainty, previous.certainty_reasons) if previous else ("", {}))
    )
    before = previous.certainty if previous else ""
    return certainty, reasons, f"{before} → {certainty}" if before and certainty and before != certainty else ""


def _forest(pooled: PooledResult, row: PooledRow, outcome: Outcome, plan, previous: PooledResult | None) -> str:
    nat = lambda value: natural_scale(row, value)  # noqa: E731
    if len(row.studies) > MAX_FOREST_LINES:
        lines = [ForestLine(f"{len(row.studies)} studies (see the table)", pooled.estimate, pooled.ci_lb, pooled.ci_ub)]
    else:
        lines = [
            ForestLine(
                s.study.label,
                nat(s.effect.yi),
                nat(s.ci_lb),
                nat(s.ci_ub),
                s.weight,
                {"new": "new", "remainder": "remainder"}.get(study_role(s.study.study_id, plan), "study"),
            )
            for s in row.studies
        ]
    summary = ForestSummary(
        f"Pooled ({pooled.model}, {pooled.ci_method})",
        pooled.estimate,
        pooled.ci_lb,
        pooled.ci_ub,
        pooled.pi_lb if row.core.k > 2 else None,
        pooled.pi_ub if row.core.k > 2 else None,
        previous.estimate if previous is not None else None,
        f"Previous version: {_plain_number(previous.estimate)}" if previous is not None else "",
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


def _plain_number(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


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
        return (pooled.effect_measure_note or "Ratio").split(" (")[0] + " (log scale)"
    if pooled.effect_measure == "proportion":
        return "Proportion of patients with the event"
    if pooled.effect_measure == "RD":
        return "Risk difference (intervention − comparator)"
    orientation = "baseline − follow-up" if pooled.orientation == "baseline_minus_followup" else "follow-up − baseline"
    return f"{pooled.effect_measure} in {outcome.unit or 'points'} ({orientation})"


def _favours(pooled: PooledResult, outcome: Outcome) -> tuple[str, str]:
    """Which side of the null is improvement, given the outcome's direction and the orientation; for events,
    which side has fewer events with the intervention (an event is not always a harm, so no side is 'better')."""
    if pooled.effect_measure == "proportion":
        return ("", "")
    if "fewer events" in pooled.effect_measure_note:
        return ("fewer events with the intervention", "more events with the intervention")
    fell_is_positive = pooled.orientation == "baseline_minus_followup"
    lower_better = outcome.direction == "lower_is_better"
    return ("worse", "improvement") if fell_is_positive == lower_better else ("improvement", "worse")


def _measure(settings: dict) -> str:
    return settings["continuous_measure"]


def _row_measure(row: PooledRow, settings: dict) -> str:
    """'ratio' for any log-scale row (RR, OR, HR: the public pages read it so), 'RD', 'proportion', or the
    review's continuous measure."""
    if row.scale == "log":
        return "ratio"
    if row.scale in PROPORTION_SCALES:
        return "proportion"
    return row.measure or _measure(settings)


def _measure_note(row: PooledRow) -> str:
    """Which ratio and which side of it means fewer events; how a proportion was pooled."""
    if row.scale in PROPORTION_SCALES:
        return f"Proportion of patients with the event ({PROPORTION_NAMES[row.scale]}, back-transformed)"
    return ratio_direction(row.measure) if row.measure else ""


def _label(inputs: RecomputeInputs, study_id: int) -> str:
    return next(s.label for s in inputs.studies if s.study_id == study_id)


def _methods_note(settings: dict) -> str:
    orientation = settings["change_orientation"].replace("_", " ")
    if settings.get("prepost_independent"):
        correlation = "before and after treated as independent (r = 0)"
    else:
        correlation = f"pre–post correlation r = {settings['prepost_correlation']:g} where a study reports none"
    source = (
        f" Primary analysis from: {settings['primary_analysis_source']}."
        if settings.get("primary_analysis_source")
        else ""
    )
    return (
        f"Computed from study-level data: {settings['continuous_measure']} ({orientation}), {correlation}, "
        f"{settings['estimator']} estimator of τ², {'Hartung–Knapp' if settings['ci_method'] == 'knha' else 'Wald (z)'} "
        f"confidence intervals; events / n between arms: {settings.get('binary_measure', 'OR')}, in single arms: "
        f"proportions ({settings.get('proportion_measure', 'PLO')}), a zero cell corrected by "
        f"{settings.get('continuity_correction', 0.5):g}; time to event: hazard ratios on the log scale (generic "
        f"inverse variance); adverse events: {SAFETY_METHODS_NOTE}; between arms: {CONTROLLED_SAFETY_NOTE}.{source} Each row of "
        "the published synthesis enters as its published remainder (the published estimate less the extracted "
        "studies it pooled, by inverse variance) beside the extracted and new studies; sensitivity analyses: "
        "the other model (REML with Hartung–Knapp, or fixed effect) and r = 0.2, 0.5, 0.8."
    )
