"""The pages themselves: a version's PRISMA figures, the whole review page and one study's page."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache

from evidence.models import Outcome, OutcomeMeasurement, Review, ReviewVersion, StudyResult
from evidence.publishing.selectors.published import announced_review, public_studies, studies_as_published
from evidence.publishing.selectors.registry import ongoing_trials
from evidence.publishing.selectors.rows import (
    RowView,
    natural_scale_values,
    published_version,
    published_versions,
    row_anchor,
    subgroup_label,
    version_rows,
)
from evidence.publishing.selectors.safety import SafetyView, adverse_event_as_dict, event_view, safety_view
from evidence.publishing.selectors.stamp import last_search_text, next_search_text
from evidence.publishing.selectors.studies import (
    citation_flags,
    intervention_labels,
    rob_tools_used,
    study_view,
    version_studies,
)
from evidence.publishing.selectors.text import interval_text, months_text
from evidence.synthesis.prisma import PrismaPanel, prisma_in_progress, prisma_panels, prisma_snapshot_panels
from evidence.synthesis.prisma_svg import PrismaFlow, count_rows, prisma_svg

# --- PRISMA ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrismaFigure:
    title: str
    svg: str
    flow: PrismaFlow
    in_progress: bool = False

    @property
    def counts(self) -> list[tuple[str, int]]:
        return count_rows(self.flow)


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

# Studies listed per analysis on the review page: a 1,000-study review's page listed every study in each of its
# 60 analyses (68 MB); the outcome page lists them all, with the forest plot.
REVIEW_PAGE_STUDIES = 25


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
    ongoing_trials: list = field(default_factory=list)  # registrations included as ongoing (live page only)

    @property
    def is_latest(self) -> bool:
        return self.version.pk == self.latest.pk

    @property
    def intervention_labels(self) -> list[str]:
        """The studies table's intervention columns: the review's own vocabulary."""
        return intervention_labels(self.review)

    @property
    def rob_tools(self) -> list[str]:
        """The risk-of-bias tools the review uses for the designs of the studies listed."""
        designs = [s["study"].design for s in self.studies if s.get("study")]
        return rob_tools_used(self.review, designs) if designs else [self.review.rob_tool_non_randomized]

    @property
    def rob_nos_only(self) -> bool:
        return self.rob_tools == ["nos"]

    @property
    def rob_heading(self) -> str:
        return "Quality (NOS)" if self.rob_nos_only else "Risk of bias"


def _narrative(version: ReviewVersion) -> list[dict]:
    names = dict(Outcome.objects.filter(review=version.review_id).values_list("code", "name"))
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
        rows=version_rows(
            version=version, outcome_code=outcome_code, cap=None if outcome_code else REVIEW_PAGE_STUDIES
        ),
        narrative=[n for n in _narrative(version) if outcome_code in (None, n["outcome"])],
        safety=safety_view(version=version),
        studies=version_studies(version=version),
        prisma=prisma_figures(version=version, latest=versions[0], live=live) if outcome_code is None else [],
        last_search=last_search_text(review=review),
        next_search=next_search_text(review=review),
        changes=_changes(version),
        ongoing_trials=ongoing_trials(review=review) if live else [],
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
    """A published study's page; None for any other (in extraction, withdrawn, unpublished, another review's)."""
    found = list(public_studies(review=review).filter(pk=study_id).prefetch_related("reports__citation"))
    if not found:
        return None
    (study,) = studies_as_published(found, review=review)
    latest = published_version(review=review, number=None)
    results = StudyResult.objects.filter(study=study, pooled_result__version=latest).select_related(
        "pooled_result__outcome"
    )
    return StudyPage(
        review=review,
        latest=latest,
        study=study_view(study, review),
        reports=[
            {"citation": r.citation, "main": r.is_main_report, "flags": citation_flags(r.citation)}
            for r in study.reports.all()
        ],
        measurements=list(study.measurements.all()),
        adverse_events=[event_view(adverse_event_as_dict(e, study=study)) for e in study.adverse_events.all()],
        quality=list(study.quality_assessments.all()),
        contributions=[_contribution(r, review) for r in results],
    )


def _contribution(result: StudyResult, review: Review) -> dict:
    row = result.pooled_result
    return {
        "anchor": row_anchor(row),
        "outcome": row.outcome.name,
        "code": row.outcome.code,
        "timepoint": months_text(row.timepoint_months),
        "subgroup": subgroup_label(row.subgroup_value, review),
        "effect": interval_text(
            *natural_scale_values((result.yi, result.ci_lb, result.ci_ub), row.effect_measure == "ratio")
        ),
        "weight": f"{result.weight:.1f}%",
        "derivation": result.derivation,
    }


# --- Before the first version -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingPage:
    """A review announced before its first version: its protocol, question and search status, nothing else."""

    review: Review
    outcomes: list[Outcome]
    last_search: str
    next_search: str


def pending_page(*, slug: str) -> PendingPage | None:
    review = announced_review(slug=slug)
    if review is None:
        return None
    return PendingPage(
        review=review,
        outcomes=list(review.outcomes.all()),
        last_search=last_search_text(review=review),
        next_search=next_search_text(review=review),
    )
