"""From a parsed PubMed record to Citation field values, and the near-duplicate key."""

from __future__ import annotations

import datetime as dt
import re

from evidence.models import Citation
from evidence.surveillance.pubmed_xml import ParsedCitation, PubmedRecordError

# Fields a PubMed record supplies. The flags and comments_corrections are handled apart: a flag once
# set is never cleared by a later fetch.
PUBMED_FIELDS = (
    "pmcid",
    "doi",
    "title",
    "vernacular_title",
    "abstract",
    "abstract_sections",
    "authors",
    "first_author",
    "journal",
    "journal_citation",
    "publication_year",
    "publication_month",
    "publication_date_text",
    "publication_types",
    "mesh_terms",
    "keywords",
    "languages",
    "registry_ids",
)
FLAG_FIELDS = ("is_retracted", "has_erratum", "has_update", "has_expression_of_concern")
_NOT_WORD = re.compile(r"[\W_]+")


# Bounds checked before any insert, so one odd record is set aside instead of failing its batch with a
# database error (smallint out of range, value too long) or being stored wrong (SQLite checks no length).
PMID_SHAPE = re.compile(r"[1-9][0-9]*", re.ASCII)
EARLIEST_YEAR = 1000
TITLE_MAX_CHARS = 4000  # PubMed's longest titles run to about 1,000 characters


def citation_record_validate(record: ParsedCitation, *, today: dt.date | None = None) -> None:
    """Check the record's identifiers and numbers against the Citation columns they go into.

    Raises
    ------
    PubmedRecordError
        Naming the field, its value and the bound it breaks.
    """
    limit = Citation._meta.get_field("pmid").max_length
    if not PMID_SHAPE.fullmatch(record.pmid) or len(record.pmid) > limit:
        raise PubmedRecordError(record.pmid, f"pmid {record.pmid[:40]!r} is not 1 to {limit} digits")
    latest = (today or dt.date.today()).year + 2
    year = record.pub_date.year
    if year is not None and not EARLIEST_YEAR <= year <= latest:
        raise PubmedRecordError(record.pmid, f"publication_year {year} is outside {EARLIEST_YEAR}..{latest}")
    for name, value in (("doi", record.doi), ("pmcid", record.pmcid)):
        limit = Citation._meta.get_field(name).max_length
        if value and len(value) > limit:
            raise PubmedRecordError(record.pmid, f"{name} is {len(value)} characters, over the column's {limit}")
    if len(record.title) > TITLE_MAX_CHARS:
        raise PubmedRecordError(record.pmid, f"title is {len(record.title):,} characters, over {TITLE_MAX_CHARS:,}")


def _clip(text: str | None, field_name: str) -> str:
    limit = Citation._meta.get_field(field_name).max_length
    return (text or "")[:limit]


def _journal_citation(record: ParsedCitation) -> str:
    journal = record.journal
    text = journal.volume or ""
    if journal.issue:
        text += f"({journal.issue})"
    if journal.pages:
        text += f":{journal.pages}" if text else journal.pages
    return text


def citation_fields(record: ParsedCitation) -> dict:
    """The values of :data:`PUBMED_FIELDS` for ``record``."""
    journal = record.journal
    return {
        "pmcid": _clip(record.pmcid, "pmcid"),
        "doi": _clip(record.doi, "doi"),
        "title": record.title,
        "vernacular_title": record.vernacular_title or "",
        "abstract": record.abstract_text,
        "abstract_sections": [{"label": s.label, "category": s.nlm_category, "text": s.text} for s in record.abstract],
        "authors": list(record.authors),
        "first_author": _clip(record.first_author_last_name, "first_author"),
        "journal": _clip(journal.title or journal.iso_abbreviation, "journal"),
        "journal_citation": _clip(_journal_citation(record), "journal_citation"),
        "publication_year": record.pub_date.year,
        "publication_month": record.pub_date.month,
        "publication_date_text": _clip(record.pub_date.raw, "publication_date_text"),
        "publication_types": list(record.publication_types),
        "mesh_terms": [term.descriptor for term in record.mesh_terms],
        "keywords": list(record.keywords),
        "languages": list(record.languages),
        "registry_ids": [r.accession for r in record.registry_ids],
    }


def flag_fields(record: ParsedCitation) -> dict:
    return {
        "is_retracted": record.is_retracted,
        "has_erratum": record.has_erratum,
        "has_update": record.has_update,
        "has_expression_of_concern": record.has_expression_of_concern,
        "comments_corrections": [
            {"reftype": c.reftype, "pmid": c.pmid, "refsource": c.refsource} for c in record.corrections
        ],
    }


def citation_refresh(citation: Citation, record: ParsedCitation) -> list[str]:
    """Apply ``record`` to an existing ``citation`` in memory; the names of the fields that changed.

    A record the search created follows PubMed; a seeded or hand-entered one only has its blanks filled,
    so a reviewer's curation is never overwritten. Flags are only ever raised here.
    """
    changed = []
    overwrite = citation.origin == "search"
    for name, value in citation_fields(record).items():
        current = getattr(citation, name)
        if current != value and (overwrite or current in ("", None, [])) and value not in ("", None, []):
            setattr(citation, name, value)
            changed.append(name)
    flags = flag_fields(record)
    for name in FLAG_FIELDS:
        if flags[name] and not getattr(citation, name):
            setattr(citation, name, True)
            changed.append(name)
    if flags["comments_corrections"] and citation.comments_corrections != flags["comments_corrections"]:
        citation.comments_corrections = flags["comments_corrections"]
        changed.append("comments_corrections")
    return changed


def duplicate_key(title: str, year: int | None, first_author: str) -> tuple[str, int | None, str] | None:
    """Normalized title (casefolded, punctuation and whitespace removed), year and first author.

    None when the title is empty: an empty title matches nothing.
    """
    normalized = _NOT_WORD.sub("", (title or "").casefold())
    if not normalized:
        return None
    return normalized, year, _NOT_WORD.sub("", (first_author or "").casefold())
