"""One efetch batch into the database: upsert citations, queue the new ones, flag near-duplicates."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from evidence.core.bulk_rows import rows_insert_with_history
from evidence.models import Citation, CitationOrigin, Review, ReviewCitation, SearchRun, TriageStage
from evidence.surveillance.pubmed_xml import ParsedCitation
from evidence.surveillance.search.flags import study_overlaps_flag
from evidence.surveillance.search.records import citation_fields, citation_refresh, duplicate_key, flag_fields

DuplicateKey = tuple[str, int | None, str]
CHANGE_REASON = "PubMed search"


@dataclass
class DuplicateIndex:
    """Near-duplicate keys of the citations already in a review's queue, built once per run."""

    review: Review
    keys: dict[DuplicateKey, int] = field(default_factory=dict)

    @classmethod
    def for_review(cls, review: Review) -> DuplicateIndex:
        index = cls(review=review)
        rows = ReviewCitation.objects.filter(review=review).values_list(
            "citation_id", "citation__title", "citation__publication_year", "citation__first_author"
        )
        for citation_id, title, year, first_author in rows.order_by("id").iterator(chunk_size=2000):
            index.add(citation_id, duplicate_key(title, year, first_author))
        return index

    def add(self, citation_id: int, key: DuplicateKey | None) -> None:
        if key is not None:
            self.keys.setdefault(key, citation_id)

    def match(self, citation: Citation) -> int | None:
        """Another citation of the review with the same key, or None."""
        key = duplicate_key(citation.title, citation.publication_year, citation.first_author)
        found = self.keys.get(key) if key else None
        return found if found != citation.pk else None


@dataclass(frozen=True)
class BatchCounts:
    new: int
    known: int
    possible_duplicates: int


def records_ingest(*, run: SearchRun, records: list[ParsedCitation], index: DuplicateIndex) -> BatchCounts:
    """Write one parsed batch in its own transaction; on a PMID race with another review's run, try once more."""
    try:
        return _records_ingest(run=run, records=records, index=index)
    except IntegrityError:
        # Another review's run inserted one of these PMIDs between our lookup and our insert: the lookup
        # now finds it. The index may hold keys of the rolled-back batch, so it is rebuilt.
        fresh = DuplicateIndex.for_review(run.review)
        index.keys = fresh.keys
        return _records_ingest(run=run, records=records, index=index)


@transaction.atomic
def _records_ingest(*, run: SearchRun, records: list[ParsedCitation], index: DuplicateIndex) -> BatchCounts:
    citations, doi_twins = _citations_upsert(run=run, records=records)
    counts = _review_citations_add(run=run, citations=citations, doi_twins=doi_twins, index=index)
    overlapping = study_overlaps_flag(review=run.review, citation_ids=[c.pk for c in citations])  # same NCT/DOI
    SearchRun.objects.filter(pk=run.pk).update(
        records_new=F("records_new") + counts.new,
        records_known=F("records_known") + counts.known,
        possible_duplicates=F("possible_duplicates") + counts.possible_duplicates + overlapping,
    )
    return counts


def _citations_by_doi(dois: list[str]) -> tuple[dict[str, Citation], dict[str, int]]:
    """Existing citations by lower-cased DOI: those without a PMID (to adopt), and the id of the first
    with a PMID (a twin to flag). Ids only for the latter: a common DOI may match many rows."""
    if not dois:
        return {}, {}
    matching = Citation.objects.annotate(doi_lower=Lower("doi")).filter(doi_lower__in=dois).order_by("-id")
    adoptable = {c.doi_lower: c for c in matching.filter(pmid__isnull=True)}
    twins = dict(matching.filter(pmid__isnull=False).values_list("doi_lower", "id"))  # the oldest wins
    return adoptable, twins


def _citations_upsert(
    *, run: SearchRun, records: list[ParsedCitation]
) -> tuple[list[Citation | NewCitation], dict[str, int]]:
    """Upsert by PMID, then by DOI for a new PMID; the citations in record order and, per PMID, the
    citation with the same DOI but another PMID (a possible duplicate, not merged)."""
    by_pmid = {r.pmid: r for r in records}  # a PMID twice in one batch is written once
    existing = {c.pmid: c for c in Citation.objects.filter(pmid__in=list(by_pmid))}
    dois = [r.doi.lower() for r in by_pmid.values() if r.doi and r.pmid not in existing]
    adoptable, twins = _citations_by_doi(dois)
    created, updated, changed_fields, doi_twins = [], [], set(), {}
    for pmid, record in by_pmid.items():
        citation, fields = existing.get(pmid), []
        doi = record.doi.lower() if citation is None and record.doi else None
        if doi in adoptable:
            citation, fields = adoptable.pop(doi), ["pmid"]  # adopt the PMID-less report with this DOI
            citation.pmid = pmid
        elif doi in twins:
            doi_twins[pmid] = twins[doi]
        if citation is None:
            created.append(_citation_row(run, record))
            continue
        existing[pmid] = citation
        fields += citation_refresh(citation, record)
        if fields:
            changed_fields.update(fields)
            updated.append(citation)
    _citations_update(updated, changed_fields)
    existing.update(_citations_insert(created))
    return [existing[pmid] for pmid in by_pmid], doi_twins


@dataclass(frozen=True)
class NewCitation:
    """What the queueing step reads of a citation this batch inserted (no model instance is built)."""

    pk: int
    pmid: str
    title: str
    publication_year: int | None
    first_author: str


def _citation_row(run: SearchRun, record: ParsedCitation) -> dict:
    return {
        "pmid": record.pmid,
        **citation_fields(record),
        **flag_fields(record),
        "origin": CitationOrigin.SEARCH,
        "origin_note": f"PubMed search run {run.pk} ({run.window_start:%Y-%m-%d} to {run.window_end:%Y-%m-%d})",
        "search_run_id": run.pk,
    }


def _citations_insert(rows: list[dict]) -> dict[str, NewCitation]:
    """Insert new citations and their creation history; the inserted citations by PMID."""
    ids = rows_insert_with_history(Citation, rows, key="pmid", change_reason=CHANGE_REASON)
    return {
        r["pmid"]: NewCitation(ids[r["pmid"]], r["pmid"], r["title"], r["publication_year"], r["first_author"])
        for r in rows
    }


def _citations_update(updated: list[Citation], changed_fields: set[str]) -> None:
    if updated:
        now = timezone.now()
        for citation in updated:
            citation.updated_at = now
        fields = sorted(changed_fields | {"updated_at"})
        bulk_update_with_history(updated, Citation, fields, batch_size=500, default_change_reason=CHANGE_REASON)


def _review_citations_add(
    *, run: SearchRun, citations: list[Citation | NewCitation], doi_twins: dict[str, int], index: DuplicateIndex
) -> BatchCounts:
    """Queue the citations not yet in the review for title/abstract screening; count the rest as known."""
    in_review = set(
        ReviewCitation.objects.filter(review=run.review, citation__in=[c.pk for c in citations]).values_list(
            "citation_id", flat=True
        )
    )
    queued = []
    for citation in citations:
        if citation.pk in in_review:
            continue
        twin = doi_twins.get(citation.pmid) or index.match(citation)
        queued.append(
            {
                "review_id": run.review_id,
                "citation_id": citation.pk,
                "stage": TriageStage.TITLE_ABSTRACT,
                "search_run_id": run.pk,
                "possible_duplicate_of_id": twin,
            }
        )
        index.add(citation.pk, duplicate_key(citation.title, citation.publication_year, citation.first_author))
    rows_insert_with_history(
        ReviewCitation, queued, key="citation_id", scope={"review_id": run.review_id}, change_reason=CHANGE_REASON
    )
    duplicates = sum(1 for row in queued if row["possible_duplicate_of_id"])
    return BatchCounts(new=len(queued), known=len(citations) - len(queued), possible_duplicates=duplicates)
