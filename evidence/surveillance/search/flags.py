"""Flags on citations: included reports PubMed now marks retracted, corrected or updated; and records that
may report a study already in the review (a shared registry id or DOI; weaker: same first author or centre
with overlapping recruitment years), so overlapping cohorts are not counted twice."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F

from evidence.models import (
    Citation,
    OverlapStrength,
    Review,
    ReviewCitation,
    SearchRun,
    Study,
    StudyOverlapFlag,
    StudyStatus,
    TriageStage,
)
from evidence.surveillance.pubmed import EutilsClient
from evidence.surveillance.pubmed_xml import ParsedCitation, parse_citations
from evidence.surveillance.search.overlap_keys import (
    centres_match,
    first_author_key,
    has_surname,
    recruitment_interval,
    years_overlap,
)
from evidence.surveillance.search.records import FLAG_FIELDS, flag_fields

logger = logging.getLogger(__name__)


def included_citations_recheck(*, run: SearchRun, client: EutilsClient) -> int:
    """Flag the review's included citations newly retracted, corrected (erratum), updated or under an
    expression of concern; the number newly flagged, also added to ``run.citations_flagged``."""
    included = {
        c.pmid: c
        for c in Citation.objects.filter(
            review_citations__review=run.review, review_citations__stage=TriageStage.INCLUDED, pmid__isnull=False
        ).order_by("pmid")
    }
    flagged = 0
    for body in client.iter_efetch(list(included)):
        for record in parse_citations(body):
            citation = included.get(record.pmid)
            if citation is not None and citation_flags_update(citation=citation, record=record, run=run):
                flagged += 1
    return flagged


@transaction.atomic
def citation_flags_update(*, citation: Citation, record: ParsedCitation, run: SearchRun) -> bool:
    """Raise the flags PubMed now sets on ``citation`` (never lowers one); True if any was newly raised."""
    flags = flag_fields(record)
    raised = [name for name in FLAG_FIELDS if flags[name] and not getattr(citation, name)]
    corrections_changed = bool(flags["comments_corrections"]) and (
        citation.comments_corrections != flags["comments_corrections"]
    )
    if not raised and not corrections_changed:
        return False
    for name in raised:
        setattr(citation, name, True)
    if corrections_changed:
        citation.comments_corrections = flags["comments_corrections"]
    citation._change_reason = f"PubMed search run {run.pk}: {', '.join(raised) or 'corrections changed'}"
    citation.save(update_fields=[*raised, "comments_corrections", "updated_at"])
    if raised:
        SearchRun.objects.filter(pk=run.pk).update(citations_flagged=F("citations_flagged") + 1)
        logger.warning(
            "review %s: included PMID %s is now flagged by PubMed: %s",
            run.review.slug,
            citation.pmid,
            ", ".join(raised),
        )
    return bool(raised)


# --- Overlapping cohorts: a citation or study that may report a study already in the review -------------

REGISTRY_ID = re.compile(r"\bNCT\d{8}\b", re.IGNORECASE)
ACTIVE = (StudyStatus.INCLUDED, StudyStatus.EXTRACTION)


@dataclass(frozen=True)
class Overlap:
    study_id: int
    study_label: str
    strength: str  # OverlapStrength
    reason: str


def registry_ids_in(*sources: str | list[str]) -> set[str]:
    """NCT numbers in free text or lists ('NCT00962923 (registered 19 August 2009)' → {'NCT00962923'})."""
    texts = [" ".join(map(str, source)) if isinstance(source, list) else source or "" for source in sources]
    return {match.upper() for text in texts for match in REGISTRY_ID.findall(text)}


def _described(study: Study) -> str:
    return f"{'included study' if study.status == StudyStatus.INCLUDED else 'study in extraction'} {study.label}"


@dataclass
class StudyOverlapIndex:
    """The registry ids and DOIs of a review's active studies (their reports and their registration field)."""

    registry: dict[str, list[Study]] = field(default_factory=dict)
    doi: dict[str, list[Study]] = field(default_factory=dict)
    authors: dict[str, list[Study]] = field(default_factory=dict)  # first author's key ('zhang h') → studies
    report_citations: dict[int, set[int]] = field(default_factory=dict)  # study id → its citation ids

    @classmethod
    def for_review(cls, review: Review) -> StudyOverlapIndex:
        index = cls()
        studies = Study.objects.filter(review=review, status__in=ACTIVE).prefetch_related("reports__citation")
        for study in studies.order_by("id"):
            citations = [report.citation for report in study.reports.all()]
            index.report_citations[study.pk] = {citation.pk for citation in citations}
            ids = registry_ids_in(study.trial_registration, *[citation.registry_ids for citation in citations])
            for registry_id in sorted(ids):
                index.registry.setdefault(registry_id, []).append(study)
            for doi in {citation.doi.lower() for citation in citations if citation.doi}:
                index.doi.setdefault(doi, []).append(study)
            key = study_author_key(study, citations)
            if key:
                index.authors.setdefault(key, []).append(study)
        return index

    def __bool__(self) -> bool:
        return bool(self.registry or self.doi or self.authors)

    def match_author(self, *, key: str, shown: str, citation_id: int | None, skip: set[int]) -> list[Overlap]:
        """Weaker: studies whose first author has this key (recruitment years are compared at extraction)."""
        found = []
        for study in self.authors.get(key, []) if key else []:
            if study.pk in skip or citation_id in self.report_citations.get(study.pk, set()):
                continue
            reason = f"same first author as {_described(study)} ({shown}) — possible overlap; compare recruitment years"
            found.append(Overlap(study.pk, study.label, OverlapStrength.WEAK, reason))
        return found

    def match(
        self, *, registry_ids: set[str], doi: str, citation_id: int | None = None, study_id: int | None = None
    ) -> list[Overlap]:
        """Other studies sharing a registry id or the DOI (never the study this citation already reports)."""
        found: dict[int, Overlap] = {}
        shared = [(f"shares {rid} with", self.registry.get(rid, [])) for rid in sorted(registry_ids)]
        shared.append((f"shares DOI {doi} with", self.doi.get((doi or "").lower(), []) if doi else []))
        for what, studies in shared:
            for study in studies:
                if study.pk == study_id or citation_id in self.report_citations.get(study.pk, set()):
                    continue
                reason = f"{what} {_described(study)}"
                found.setdefault(study.pk, Overlap(study.pk, study.label, OverlapStrength.STRONG, reason))
        return list(found.values())


def study_author_key(study: Study, citations: list[Citation]) -> str:
    """The study's first author as surname + initial: the first report (main first) whose by-line starts with the
    study's first author gives the initial; a later report by another group (Alip 2024 of Zhang 2017) never does."""
    for citation in citations:
        key = first_author_key(citation.authors, study.first_author)
        if key and has_surname(key, study.first_author):
            return key
    return first_author_key([], study.first_author)


def citation_overlaps(*, review: Review, citation: Citation, index: StudyOverlapIndex | None = None) -> list[Overlap]:
    """Studies of the review that this citation may report: same registry id or DOI; weaker, same first author."""
    index = index if index is not None else StudyOverlapIndex.for_review(review)
    strong = index.match(registry_ids=registry_ids_in(citation.registry_ids), doi=citation.doi, citation_id=citation.pk)
    shown = citation.authors[0] if citation.authors else citation.first_author
    weak = index.match_author(
        key=first_author_key(citation.authors, citation.first_author),
        shown=shown,
        citation_id=citation.pk,
        skip={overlap.study_id for overlap in strong},
    )
    return strong + weak


def study_overlaps(*, study: Study) -> list[Overlap]:
    """Other active studies this study may duplicate: strong (registry id, DOI), then weak (author/centre)."""
    index = StudyOverlapIndex.for_review(study.review)
    citations = [report.citation for report in study.reports.select_related("citation")]  # main report first
    found: dict[int, Overlap] = {}
    ids = registry_ids_in(study.trial_registration, *[c.registry_ids for c in citations])
    for doi in [c.doi for c in citations] or [""]:
        for overlap in index.match(registry_ids=ids, doi=doi, study_id=study.pk):
            found.setdefault(overlap.study_id, overlap)
    key = study_author_key(study, citations)
    others = Study.objects.filter(review=study.review, status__in=ACTIVE).exclude(pk=study.pk)
    for other in others.exclude(pk__in=list(found)).prefetch_related("reports__citation").order_by("id"):
        other_key = study_author_key(other, [report.citation for report in other.reports.all()])
        reason = _weak_reason(study, other, same_author=bool(key) and key == other_key)
        if reason:
            found[other.pk] = Overlap(other.pk, other.label, OverlapStrength.WEAK, reason)
    return list(found.values())


def _weak_reason(study: Study, other: Study, *, same_author: bool) -> str:
    """Same first author or centre with overlapping recruitment years; with a year unknown, the first author alone.

    Years that do not overlap clear the flag; a shared centre with unknown years is too weak to flag.
    """
    same_centre = centres_match(study.centre, other.centre)
    years = recruitment_interval(study.recruitment_start_year, study.recruitment_end_year)
    other_years = recruitment_interval(other.recruitment_start_year, other.recruitment_end_year)
    overlapping = years_overlap(years, other_years)
    if overlapping is False or not (same_author or same_centre) or (overlapping is None and not same_author):
        return ""
    what = " and ".join(name for name, same in (("first author", same_author), ("centre", same_centre)) if same)
    who = f"same {what}" + (f" ({study.centre})" if same_centre else "") + f" as {_described(other)}"
    if overlapping is None:
        return f"{who}; recruitment years not stated for both — possible overlap"
    stated = f"{years[0]}–{years[1]} ({other.label}: {other_years[0]}–{other_years[1]})"
    return f"{who} and overlapping recruitment {stated} — possible overlap"


def study_overlaps_flag(*, review: Review, citation_ids: list[int]) -> int:
    """Record, for the review's queue entries of these citations, every study they may report; the number
    of entries newly flagged that carry no near-duplicate flag already (the run counts them once)."""
    index = StudyOverlapIndex.for_review(review)
    if not index:
        return 0
    entries = ReviewCitation.objects.filter(review=review, citation_id__in=citation_ids).select_related("citation")
    flagged = 0
    for entry in entries.order_by("id"):
        created = [
            StudyOverlapFlag.objects.get_or_create(
                review_citation=entry,
                study_id=overlap.study_id,
                defaults={"strength": overlap.strength, "reason": overlap.reason[:300]},
            )[1]
            for overlap in citation_overlaps(review=review, citation=entry.citation, index=index)
        ]
        if any(created) and entry.possible_duplicate_of_id is None:
            flagged += 1
    if flagged:
        logger.warning("review %s: %d new record(s) may report a study already in the review", review.slug, flagged)
    return flagged
