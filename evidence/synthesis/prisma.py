"""PRISMA 2020 flow counts, derived from stored events only; nothing here is typed in.

Counts are for the whole review, or for what happened since a datetime (the previous version's). A version
stores the flows it was published with (`prisma_snapshot`), so its page never shows later screening.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field

from django.db.models import Count, QuerySet
from django.utils import timezone

from evidence.models import (
    ApprovalAction,
    CitationOrigin,
    Decision,
    FullTextExclusionReason,
    Registration,
    RegistrationScreening,
    Review,
    ReviewCitation,
    ReviewVersion,
    ScreeningResolution,
    ScreeningStage,
    Study,
    StudyApproval,
    StudyReport,
    StudyStatus,
    TriageStage,
    VersionKind,
)
from evidence.synthesis.prisma_svg import PrismaFlow


@dataclass(frozen=True)
class PrismaCounts:
    identified_by_source: dict[str, int]
    duplicates_removed: int
    records_screened: int
    records_excluded: int
    full_texts_assessed: int
    full_texts_excluded_by_reason: dict[str, int] = field(default_factory=dict)
    studies_included: int = 0
    reports_included: int = 0
    reports_not_retrieved: int = 0

    @property
    def reports_sought(self) -> int:
        """PRISMA 2020: reports sought for retrieval = those not retrieved + those assessed for eligibility."""
        return self.full_texts_assessed + self.reports_not_retrieved

    @property
    def records_identified(self) -> int:
        return sum(self.identified_by_source.values())

    @property
    def full_texts_excluded(self) -> int:
        return sum(self.full_texts_excluded_by_reason.values())


def _since(queryset: QuerySet, since: datetime.datetime | None, field_name: str) -> QuerySet:
    return queryset if since is None else queryset.filter(**{f"{field_name}__gte": since})


def identified_by_source(*, review: Review, since: datetime.datetime | None = None) -> dict[str, int]:
    """Records identified, per source: 'pubmed' for records a search run put in the review's queue (counted
    once, by the run that first found them, so overlapping search windows never double-count), else the
    citation's origin (manual, seed)."""
    rows = (
        _since(ReviewCitation.objects.filter(review=review), since, "added_at")
        .values("search_run_id", "citation__origin")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, int] = {}
    for row in rows:
        source = row["citation__origin"] if row["search_run_id"] is None else "pubmed"
        counts[source] = counts.get(source, 0) + row["n"]
    # PRISMA 2020's "registers": registrations the registry search found (never one typed in by hand).
    registers = _since(Registration.objects.filter(review=review, first_run__isnull=False), since, "created_at")
    if n_registers := registers.count():
        counts["registers"] = n_registers
    return dict(sorted(counts.items()))


def _registrations_screened(review: Review, since: datetime.datetime | None) -> tuple[int, int]:
    """Registrations a reviewer screened (they are records of the registers) and those excluded."""
    screened = _since(
        Registration.objects.filter(review=review).exclude(screening=RegistrationScreening.PENDING),
        since,
        "screened_at",
    )
    return screened.count(), screened.filter(screening=RegistrationScreening.EXCLUDED).count()


def identified_by_search_run(*, review: Review, since: datetime.datetime | None = None) -> dict[int, int]:
    """Records identified by each search run (run id -> records it added to the review's queue)."""
    rows = (
        _since(ReviewCitation.objects.filter(review=review, search_run__isnull=False), since, "added_at")
        .values("search_run_id")
        .annotate(n=Count("id"))
        .order_by("search_run_id")
    )
    return {row["search_run_id"]: row["n"] for row in rows}


def _duplicates_removed(review: Review, since: datetime.datetime | None) -> int:
    """A flagged near-duplicate counts as removed once a reviewer confirmed it by excluding the record."""
    confirmed = ReviewCitation.objects.filter(
        review=review, possible_duplicate_of__isnull=False, stage=TriageStage.EXCLUDED
    )
    return _since(confirmed, since, "updated_at").count()


def _resolutions(review: Review, stage: str, since: datetime.datetime | None) -> QuerySet[ScreeningResolution]:
    return _since(ScreeningResolution.objects.filter(review_citation__review=review, stage=stage), since, "created_at")


def _included(review: Review, since: datetime.datetime | None) -> tuple[int, int]:
    if since is None:
        studies = Study.objects.filter(review=review, status=StudyStatus.INCLUDED)
    else:
        approved = StudyApproval.objects.filter(
            study__review=review, action=ApprovalAction.APPROVE, created_at__gte=since
        ).values("study")
        studies = Study.objects.filter(pk__in=approved, status=StudyStatus.INCLUDED)
    return studies.count(), StudyReport.objects.filter(study__in=studies).count()


def prisma_counts(*, review: Review, since: datetime.datetime | None = None) -> PrismaCounts:
    title_abstract = _resolutions(review, ScreeningStage.TITLE_ABSTRACT, since)
    full_text = _resolutions(review, ScreeningStage.FULL_TEXT, since)
    not_retrieved = full_text.filter(outcome=Decision.EXCLUDE, exclusion_reason=FullTextExclusionReason.NOT_RETRIEVED)
    reasons = (
        full_text.filter(outcome=Decision.EXCLUDE)
        .exclude(pk__in=not_retrieved.values("pk"))
        .values("exclusion_reason")
        .annotate(n=Count("id"))
        .order_by("exclusion_reason")
    )
    studies, reports = _included(review, since)
    registrations_screened, registrations_excluded = _registrations_screened(review, since)
    return PrismaCounts(
        identified_by_source=identified_by_source(review=review, since=since),
        duplicates_removed=_duplicates_removed(review, since),
        records_screened=title_abstract.count() + registrations_screened,
        records_excluded=title_abstract.filter(outcome=Decision.EXCLUDE).count() + registrations_excluded,
        full_texts_assessed=full_text.count() - not_retrieved.count(),
        reports_not_retrieved=not_retrieved.count(),
        full_texts_excluded_by_reason={row["exclusion_reason"]: row["n"] for row in reasons},
        studies_included=studies,
        reports_included=reports,
    )


# --- Flows: the counts as a diagram draws them, and as a version stores them ----------------------------

SOURCE_LABELS = {
    "search": "PubMed searches",
    "pubmed": "PubMed searches",
    "manual": "added by hand",
    "registers": "ClinicalTrials.gov (register)",
}
FLOW_PAIRS = ("identified_by_source", "reports_excluded_by_reason")


def reasons_in_words(by_reason: dict[str, int]) -> dict[str, int]:
    """PRISMA's reasons as a reader reads them ("Wrong population"), not as stored ("wrong_population");
    a reason typed in words (the seed's) is kept as it is."""
    labels = dict(FullTextExclusionReason.choices)
    worded: dict[str, int] = {}
    for reason, n in by_reason.items():
        label = labels.get(reason, reason)
        worded[label] = worded.get(label, 0) + n
    return worded


@dataclass(frozen=True)
class PrismaPanel:
    """One diagram of a page: `key` ('all', 'update', 'progress') names it, `title` says what it counts."""

    key: str
    title: str
    flow: PrismaFlow


def prisma_flow(counts: PrismaCounts, *, previous: tuple[int, int], new: tuple[int, int], label: str) -> PrismaFlow:
    """`previous` and `new` are (studies, reports); the seed's records are the previous version's, not new."""
    sources: dict[str, int] = {}
    for source, n in counts.identified_by_source.items():
        if source != CitationOrigin.SEED:
            name = SOURCE_LABELS.get(source, source)
            sources[name] = sources.get(name, 0) + n  # 'search' and 'pubmed' are both PubMed searches
    return PrismaFlow(
        previous_studies=previous[0],
        previous_reports=previous[1],
        identified_by_source=sources,
        duplicates_removed=counts.duplicates_removed,
        records_screened=counts.records_screened,
        records_excluded=counts.records_excluded,
        reports_assessed=counts.full_texts_assessed,
        reports_excluded_by_reason=reasons_in_words(counts.full_texts_excluded_by_reason),
        reports_not_retrieved=counts.reports_not_retrieved,
        new_studies=new[0],
        new_reports=new[1],
        previous_label=label,
    )


def _seed_included(review: Review) -> tuple[int, int]:
    """Studies and reports that came from the published review the living review started from."""
    reports = StudyReport.objects.filter(
        study__review=review, study__status=StudyStatus.INCLUDED, citation__origin=CitationOrigin.SEED
    )
    return reports.values("study").distinct().count(), reports.count()


def _first_version_label(review: Review) -> str:
    seed_paper = (
        review.versions.filter(kind=VersionKind.PUBLISHED_PAPER, published_at__isnull=False)
        .select_related("source_citation")
        .order_by("number")
        .first()
    )
    paper = seed_paper.source_citation if seed_paper else None
    return f"the published review ({paper.first_author} {paper.publication_year})" if paper else "the first version"


def _whole_review_panel(review: Review, number: int) -> PrismaPanel:
    counts = prisma_counts(review=review)
    seed = _seed_included(review)
    new = (max(counts.studies_included - seed[0], 0), max(counts.reports_included - seed[1], 0))
    flow = prisma_flow(counts, previous=seed, new=new, label=_first_version_label(review))
    return PrismaPanel("all", f"PRISMA 2020 flow: the whole review, as of version {number}", flow)


def _flow_since(review: Review, counts: PrismaCounts, base: ReviewVersion) -> PrismaFlow:
    """Counts since `base` was published; what was included before then is `base`'s, so the total box
    matches the whole review's."""
    studies, reports = _included(review, None)
    new = (counts.studies_included, counts.reports_included)
    previous = (studies - new[0], reports - new[1])
    return prisma_flow(counts, previous=previous, new=new, label=f"version {base.number}")


def prisma_panels(*, version: ReviewVersion) -> list[PrismaPanel]:
    """`version`'s diagrams from the counts as they stand now: the whole review, and the version's update
    (since the previous published version; version 0 has none)."""
    review = version.review
    panels = [_whole_review_panel(review, version.number)]
    previous = review.versions.filter(number__lt=version.number, published_at__isnull=False).order_by("-number").first()
    if previous is not None:
        counts = prisma_counts(review=review, since=previous.published_at)
        title = (
            f"PRISMA 2020 flow: the update in version {version.number} "
            f"(since version {previous.number}, {previous.published_at:%-d %b %Y})"
        )
        panels.append(PrismaPanel("update", title, _flow_since(review, counts, previous)))
    return panels


def prisma_in_progress(*, latest: ReviewVersion) -> PrismaPanel | None:
    """Screening since `latest` was published, which no version holds yet; None when there was none."""
    counts = prisma_counts(review=latest.review, since=latest.published_at)
    flow = _flow_since(latest.review, counts, latest)
    active = (
        sum(flow.identified_by_source.values()),
        flow.duplicates_removed,
        flow.records_screened,
        flow.reports_sought,
        flow.new_studies,
    )
    if not any(active):
        return None
    title = f"PRISMA 2020 flow: screening since version {latest.number} (not yet in a published version)"
    return PrismaPanel("progress", title, flow)


def prisma_snapshot(*, version: ReviewVersion) -> dict:
    """What `version`'s page draws, counted now: stored on the version in the transaction that writes it,
    so its page keeps showing the counts it was published with."""
    return {"as_of": timezone.now().isoformat(), "figures": [_panel_json(p) for p in prisma_panels(version=version)]}


def _panel_json(panel: PrismaPanel) -> dict:
    flow = asdict(panel.flow)
    for name in FLOW_PAIRS:  # pairs: PostgreSQL's jsonb does not keep an object's keys in the written order
        flow[name] = [[key, n] for key, n in flow[name].items()]
    return {"key": panel.key, "title": panel.title, "flow": flow}


def prisma_snapshot_panels(snapshot: dict) -> list[PrismaPanel]:
    """The diagrams a version stored; [] for a version written before versions kept them."""
    panels = []
    for figure in (snapshot or {}).get("figures", []):
        flow = {**figure["flow"], **{name: dict(figure["flow"][name]) for name in FLOW_PAIRS}}
        panels.append(PrismaPanel(figure["key"], figure["title"], PrismaFlow(**flow)))
    return panels
