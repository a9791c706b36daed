"""Reads for the public evidence pages: one published version, ready to render, every number pre-formatted.

Nothing here pools or plots: a page shows the stored rows of one immutable ReviewVersion (its stored SVG and
its stored PRISMA counts); the only live reads are the review's status, its last search, the screening done
since the latest version (on that version's page) and the studies' current retraction/correction flags,
which a reader must see even on an old version.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from evidence.models import (
    AdverseEvent,
    CellSource,
    Donor,
    Outcome,
    OutcomeMeasurement,
    PooledResult,
    Review,
    ReviewCitation,
    ReviewVersion,
    Route,
    SafetyResult,
    SearchRun,
    SearchRunStatus,
    Study,
    StudyApproval,
    StudyResult,
    VersionKind,
)
from evidence.prisma_svg import PrismaFlow, prisma_svg
from evidence.services.prisma import PrismaPanel, prisma_in_progress, prisma_panels, prisma_snapshot_panels

SUBGROUP_VARIABLES = {"cell_source": "Cell source", "route": "Route", "donor": "Donor"}
SUBGROUP_VALUES = {**dict(CellSource.choices), **dict(Route.choices), **dict(Donor.choices)}
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


def measure_text(row: PooledResult) -> str:
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


def plain_sentence(row: PooledResult) -> str:
    """'Modified Rodnan skin score (mRSS) fell by 5.09 points (95% CI 3.38 to 6.81) at 6 months in 5 studies,
    52 patients (lower mRSS = less skin thickening); moderate certainty.'"""
    where = f"at {months_text(row.timepoint_months)} in {row.k} {'study' if row.k == 1 else 'studies'}"
    if row.n_participants:
        where += f", {row.n_participants} patients"
    certainty = f"; {row.get_certainty_display().lower()} certainty" if row.certainty else ""
    benefit = f" ({row.outcome.benefit_in_words})" if row.outcome.benefit_in_words else ""
    if row.effect_measure == "ratio":
        body = f"{row.outcome.name}: ratio {interval_text(row.estimate, row.ci_lb, row.ci_ub)}"
        return f"{body} {where}{benefit}{certainty}."
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


# --- The page stamp: what a cached page and its ETag depend on ---------------------------------------


@dataclass(frozen=True)
class ReviewStamp:
    review_id: int
    latest_version_id: int | None
    latest_published_at: datetime.datetime | None
    last_search_id: int | None
    citations_changed_at: datetime.datetime | None
    approved_at: datetime.datetime | None

    @property
    def last_modified(self) -> datetime.datetime | None:
        moments = [m for m in (self.latest_published_at, self.citations_changed_at, self.approved_at) if m]
        return max(moments) if moments else None

    def parts(self) -> str:
        changed = self.citations_changed_at.timestamp() if self.citations_changed_at else 0
        approved = self.approved_at.timestamp() if self.approved_at else 0
        return f"{self.review_id}.{self.latest_version_id}.{self.last_search_id}.{changed}.{approved}"


def review_stamp(*, slug: str) -> ReviewStamp | None:
    """One query: the latest published version, the last successful search, the last triage change and the
    last study approval (the last two move the live PRISMA counts of screening not yet in a version)."""
    published = ReviewVersion.objects.filter(review=OuterRef("pk"), published_at__isnull=False).order_by("-number")
    searches = _succeeded_searches().filter(review=OuterRef("pk"))
    changed = (
        ReviewCitation.objects.filter(review=OuterRef("pk")).order_by().values("review").annotate(m=Max("updated_at"))
    )
    approved = (
        StudyApproval.objects.filter(study__review=OuterRef("pk"))
        .order_by()
        .values("study__review")
        .annotate(m=Max("created_at"))
    )
    row = (
        Review.objects.filter(slug=slug)
        .annotate(
            latest_version_id=Subquery(published.values("id")[:1]),
            latest_published_at=Subquery(published.values("published_at")[:1]),
            last_search_id=Subquery(searches.values("id")[:1]),
            citations_changed_at=Subquery(changed.values("m")),
            approved_at=Subquery(approved.values("m")),
        )
        .values(
            "id", "latest_version_id", "latest_published_at", "last_search_id", "citations_changed_at", "approved_at"
        )
        .first()
    )
    return ReviewStamp(row.pop("id"), **row) if row else None


# --- Home ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeRow:
    review: Review
    latest_version: ReviewVersion | None
    last_search: str
    n_studies: int
    n_patients: int


def home_rows() -> list[HomeRow]:
    from evidence.selectors import review_summaries

    return [
        HomeRow(
            review=s.review,
            latest_version=s.latest_version,
            last_search=last_search_text(review=s.review),
            n_studies=s.latest_version.n_studies if s.latest_version else s.n_studies,
            n_patients=s.latest_version.n_patients if s.latest_version else s.n_patients,
        )
        for s in review_summaries()
    ]


def _succeeded_searches():
    return SearchRun.objects.filter(status=SearchRunStatus.SUCCEEDED).order_by("-window_end", "-finished_at")


def last_search_text(*, review: Review) -> str:
    run = _succeeded_searches().filter(review=review).first()
    if run is None:
        return "not yet searched"
    finished = f" (run {timezone.localtime(run.finished_at):%-d %b %Y %H:%M} UTC)" if run.finished_at else ""
    return f"PubMed searched up to {run.window_end:%-d %b %Y}{finished}"


def next_search_text(*, review: Review) -> str:
    """From the review's beat schedule when one exists; the platform's default otherwise."""
    from django_celery_beat.models import PeriodicTask

    task = (
        PeriodicTask.objects.filter(name__icontains=review.slug)
        .select_related("crontab", "interval")
        .order_by("-enabled", "id")
        .first()
    )
    if task is None:
        return "nightly"
    if not task.enabled:
        return "scheduled search disabled"
    if task.crontab is not None:
        c = task.crontab
        if c.minute.isdigit() and c.hour.isdigit() and c.day_of_week == "*" and c.day_of_month == "*":
            return f"nightly at {int(c.hour):02d}:{int(c.minute):02d} ({c.timezone})"
        return f"on schedule '{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}' ({c.timezone})"
    if task.interval is not None:
        return f"every {task.interval.every} {task.interval.period}"
    return "scheduled"


# --- Version page ---------------------------------------------------------------------------------------


def published_versions(*, review: Review) -> list[ReviewVersion]:
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

    @property
    def effect_estimate(self) -> str:
        return number(self.row.estimate)

    @property
    def effect_ci(self) -> str:
        return interval_text(None, self.row.ci_lb, self.row.ci_ub)


def _anchor(row: PooledResult) -> str:
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


def _natural(values, ratio: bool) -> list[float]:
    """Study rows and sensitivity fits of a ratio are stored on the log scale, as pooled."""
    return [math.exp(v) for v in values] if ratio else list(values)


def _study_rows(row: PooledResult) -> list[dict]:
    ratio = row.effect_measure == "ratio"
    return [
        {
            "label": s.study_label,
            "study_id": s.study_id,
            "year": s.publication_year or "",
            "n": s.n if s.n is not None else "not reported",
            "effect": interval_text(*_natural((s.yi, s.ci_lb, s.ci_ub), ratio)),
            "weight": f"{s.weight:.1f}%",
            "derivation": s.derivation,
        }
        for s in row.study_results.all()
    ]


def _fits(entries: list[dict], label_key: str, ratio: bool) -> list[dict]:
    return [
        {
            "label": entry[label_key] if label_key != "r" else f"r = {entry['r']:g}",
            "k": entry.get("k", ""),
            "effect": interval_text(*_natural((entry["estimate"], entry["ci_lb"], entry["ci_ub"]), ratio)),
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


def row_view(row: PooledResult, version: ReviewVersion) -> RowView:
    ratio = row.effect_measure == "ratio"
    sensitivity = row.sensitivity or {}
    anchor = _anchor(row)
    return RowView(
        row=row,
        anchor=anchor,
        outcome=row.outcome.name,
        timepoint=months_text(row.timepoint_months) + (" (inferred)" if "inferred" in row.timepoint_label else ""),
        subgroup=SUBGROUP_VALUES.get(row.subgroup_value, row.subgroup_value),
        effect=effect_text(row),
        measure=measure_text(row),
        pi=interval_text(None, row.pi_lb, row.pi_ub) if row.pi_lb is not None else "not estimable",
        i2=i2_text(row.i2),
        p=p_text(row.p_value) if row.p_value is not None else (row.p_value_reported or "not reported"),
        direction=direction_words(row),
        certainty=row.get_certainty_display() or "not assessed",
        reasons=certainty_reasons(row.certainty_reasons),
        plain=plain_sentence(row),
        figure=_svg(row.forest_svg, f"forest-{row.pk}"),
        cumulative_figure=_svg(row.cumulative_svg, f"cumulative-{row.pk}"),
        studies=_study_rows(row),
        cumulative=_fits(sensitivity.get("cumulative", []), "added", ratio),
        leave_one_out=_fits(sensitivity.get("leave_one_out", []), "omitted", ratio),
        r_sensitivity=_fits(sensitivity.get("r_sensitivity", []), "r", ratio),
        subgroup_tests=_subgroup_tests(row),
        no_plot=_no_plot(row, version),
    )


def version_rows(*, version: ReviewVersion, outcome_code: str | None = None) -> list[RowView]:
    """Overall rows in display order, each carrying its subgroup rows."""
    rows = version.pooled_results.select_related("outcome").prefetch_related("study_results")
    if outcome_code:
        rows = rows.filter(outcome__code=outcome_code)
    views = [row_view(row, version) for row in rows]
    overall = {(v.row.outcome_id, v.row.timepoint_months): v for v in views if not v.row.subgroup_variable}
    orphans = []
    for view in views:
        if view.row.subgroup_variable:
            parent = overall.get((view.row.outcome_id, view.row.timepoint_months))
            (parent.subgroups if parent else orphans).append(view)
    return [v for v in views if not v.row.subgroup_variable] + orphans


# --- Safety ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyView:
    pooled: list[dict]
    per_study: list[dict]
    serious: str
    summary: dict


def safety_view(*, version: ReviewVersion) -> SafetyView:
    pooled = [_safety_row(r) for r in SafetyResult.objects.filter(version=version)]
    if version.kind == VersionKind.COMPUTED:
        per_study = [_event_dict(e) for e in version.safety_table]
    else:
        ids = [s["id"] for s in version.studies]
        events = (
            AdverseEvent.objects.filter(study_id__in=ids)
            .select_related("study")
            .order_by("study__year", "study__label", "term")
        )
        per_study = [_event_dict(_adverse_event_as_dict(e)) for e in events]
    return SafetyView(pooled, per_study, _serious_statement(version, pooled, per_study), version.safety_summary or {})


def _safety_row(result: SafetyResult) -> dict:
    return {
        "category": result.category,
        "is_serious_rate": result.is_serious_rate,
        "k": result.k,
        "events": result.events,
        "n": result.n,
        "proportion": proportion_text(result.proportion, result.ci_lb, result.ci_ub),
        "i2": i2_text(result.i2),
        "studies": ", ".join(f"{s['study']} {s['events']}/{s['n']}" for s in result.studies),
    }


def _adverse_event_as_dict(event: AdverseEvent) -> dict:
    return {
        "study": event.study.label,
        "term": event.term,
        "category": event.category,
        "serious": event.serious,
        "patients_with_event": event.patients_with_event,
        "patients_at_risk": event.patients_at_risk,
        "source": event.origin,
        "note": event.note,
    }


def _event_dict(event: dict) -> dict:
    serious = {True: "yes", False: "no", None: "not reported"}[event.get("serious")]
    with_event, at_risk = event.get("patients_with_event"), event.get("patients_at_risk")
    return {
        **event,
        "serious_text": serious,
        "count": f"{with_event if with_event is not None else 'not reported'} of {at_risk or 'not reported'}",
    }


def _serious_statement(version: ReviewVersion, pooled: list[dict], per_study: list[dict]) -> str:
    rate = next((r for r in pooled if r["is_serious_rate"]), None)
    if rate is not None:
        if rate["events"] == 0:
            return f"Serious adverse events: none reported in {rate['k']} studies ({rate['n']} patients)."
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


# --- Included studies -------------------------------------------------------------------------------------

NCT = re.compile(r"NCT\d{8}")


def _links(study: Study) -> list[tuple[str, str]]:
    links, registrations = [], set(NCT.findall(study.trial_registration))
    for report in study.reports.all():
        c = report.citation
        if c.pmid:
            links.append((f"PubMed {c.pmid}", f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/"))
        if c.doi:
            links.append((f"DOI {c.doi}", f"https://doi.org/{c.doi}"))
        registrations.update(r for r in c.registry_ids if NCT.fullmatch(str(r)))
    links += [(nct, f"https://clinicaltrials.gov/study/{nct}") for nct in sorted(registrations)]
    return list(dict.fromkeys(links))


def citation_flags(citation) -> list[str]:
    return [
        text
        for text, on in (
            ("RETRACTED", citation.is_retracted),
            ("expression of concern", citation.has_expression_of_concern),
            ("erratum / correction published", citation.has_erratum),
            ("updated", citation.has_update),
        )
        if on
    ]


def study_view(study: Study) -> dict:
    interventions = list(study.interventions.all())
    nos = [q for q in study.quality_assessments.all() if q.instrument == "nos"]
    flags = sorted({flag for r in study.reports.all() for flag in citation_flags(r.citation)})
    return {
        "study": study,
        "design": study.get_design_display(),
        "n": study.enrolment_n if study.enrolment_n is not None else "not reported",
        "cell_source": "; ".join(i.get_cell_source_display() for i in interventions) or "not reported",
        "donor": "; ".join(i.get_donor_display() for i in interventions) or "not reported",
        "route": "; ".join(i.get_route_display() for i in interventions) or "not reported",
        "dose": "; ".join(i.dose for i in interventions if i.dose) or "not reported",
        "followup": _followup(study),
        "nos": f"{nos[0].total_score:g} of {nos[0].max_score:g}" if nos and nos[0].total_score is not None else "",
        "links": _links(study),
        "flags": flags,
    }


def _followup(study: Study) -> str:
    if study.followup_months is None:
        return "not reported"
    return f"{study.followup_months:g} months"


def version_studies(*, version: ReviewVersion) -> list[dict]:
    """The studies the version included, in its order, with their details as stored now."""
    ids = [s["id"] for s in version.studies]
    found = {
        s.id: s
        for s in Study.objects.filter(id__in=ids).prefetch_related(
            "reports__citation", "interventions", "quality_assessments"
        )
    }
    views = []
    for entry in version.studies:
        study = found.get(entry["id"])
        view = study_view(study) if study else {"study": None, "links": [], "flags": []}
        view.update(label=entry["label"], version_flags=entry.get("flags", []))
        views.append(view)
    return views


# --- PRISMA ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrismaFigure:
    title: str
    svg: str
    flow: PrismaFlow
    in_progress: bool = False


def _figure(panel: PrismaPanel) -> PrismaFigure:
    """Drawn once per distinct set of counts (the counts are the cache key)."""
    prefix = f"prisma-{panel.key}"
    key = "prisma-svg:" + hashlib.sha256(repr((panel.flow, panel.title, prefix)).encode()).hexdigest()
    svg = cache.get_or_set(key, lambda: prisma_svg(panel.flow, title=panel.title, id_prefix=prefix))
    return PrismaFigure(panel.title, svg, panel.flow, in_progress=panel.key == "progress")


def prisma_figures(*, version: ReviewVersion, latest: ReviewVersion, live: bool = False) -> list[PrismaFigure]:
    """The flows `version` was published with and, on the live review page (not a version's own page), the
    screening done since the latest version, which no version holds yet. Only a version written before
    versions kept their flows is counted live."""
    panels = prisma_snapshot_panels(version.prisma) or prisma_panels(version=version)
    progress = prisma_in_progress(latest=latest) if live and version.pk == latest.pk else None
    return [_figure(panel) for panel in [*panels, progress] if panel]


# --- The whole page -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewPage:
    review: Review
    version: ReviewVersion
    latest: ReviewVersion
    versions: list[ReviewVersion]
    rows: list[RowView]
    narrative: list[dict]
    safety: SafetyView
    studies: list[dict]
    prisma: list[PrismaFigure]
    last_search: str
    next_search: str
    changes: dict

    @property
    def is_latest(self) -> bool:
        return self.version.pk == self.latest.pk


def _narrative(version: ReviewVersion) -> list[dict]:
    names = dict(Outcome.objects.values_list("code", "name"))
    return [
        {**entry, "outcome_name": names.get(entry["outcome"], entry["outcome"]), "months": entry["timepoint_months"]}
        for entry in version.narrative_findings
    ]


def _changes(version: ReviewVersion) -> dict:
    changes = version.changes or {}
    studies = changes.get("studies", {})
    return {
        "lines": list(version.change_summary),
        "added": studies.get("added", []),
        "removed": studies.get("removed", []),
        "flagged": [f"{s['label']}: {', '.join(s['flags'])}" for s in studies.get("flagged", [])],
        "significance": [o["title"] for o in changes.get("outcomes", []) if o.get("significance_changed")],
        "direction": [o["title"] for o in changes.get("outcomes", []) if o.get("direction_changed")],
    }


def review_page(
    *, review: Review, version: ReviewVersion, outcome_code: str | None = None, live: bool = False
) -> ReviewPage:
    """The page of ``version``; ``live`` for the review's own page, which also shows screening in progress."""
    versions = published_versions(review=review)
    return ReviewPage(
        review=review,
        version=version,
        latest=versions[0],
        versions=versions,
        rows=version_rows(version=version, outcome_code=outcome_code),
        narrative=[n for n in _narrative(version) if outcome_code in (None, n["outcome"])],
        safety=safety_view(version=version),
        studies=version_studies(version=version),
        prisma=prisma_figures(version=version, latest=versions[0], live=live) if outcome_code is None else [],
        last_search=last_search_text(review=review),
        next_search=next_search_text(review=review),
        changes=_changes(version),
    )


# --- Study page -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyPage:
    review: Review
    latest: ReviewVersion | None
    study: dict
    reports: list[dict]
    measurements: list[OutcomeMeasurement]
    adverse_events: list[dict]
    quality: list
    contributions: list[dict]


def study_page(*, review: Review, study_id: int) -> StudyPage | None:
    study = (
        Study.objects.filter(review=review, pk=study_id)
        .prefetch_related("reports__citation", "interventions", "quality_assessments")
        .first()
    )
    if study is None:
        return None
    latest = published_version(review=review, number=None)
    results = StudyResult.objects.filter(study=study, pooled_result__version=latest).select_related(
        "pooled_result__outcome"
    )
    return StudyPage(
        review=review,
        latest=latest,
        study=study_view(study),
        reports=[
            {"citation": r.citation, "main": r.is_main_report, "flags": citation_flags(r.citation)}
            for r in study.reports.all()
        ],
        measurements=list(study.measurements.select_related("outcome")),
        adverse_events=[_event_dict(_adverse_event_as_dict(e)) for e in study.adverse_events.select_related("study")],
        quality=list(study.quality_assessments.all()),
        contributions=[_contribution(r) for r in results],
    )


def _contribution(result: StudyResult) -> dict:
    row = result.pooled_result
    return {
        "anchor": _anchor(row),
        "outcome": row.outcome.name,
        "code": row.outcome.code,
        "timepoint": months_text(row.timepoint_months),
        "subgroup": SUBGROUP_VALUES.get(row.subgroup_value, row.subgroup_value),
        "effect": interval_text(*_natural((result.yi, result.ci_lb, result.ci_ub), row.effect_measure == "ratio")),
        "weight": f"{result.weight:.1f}%",
        "derivation": result.derivation,
    }
