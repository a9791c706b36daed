"""What the PubMed XML parser returns: frozen records, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass

CORRECTION_TYPES = ("RetractionIn", "ErratumIn", "UpdateIn", "ExpressionOfConcernIn")


class PubmedXmlError(ValueError):
    """The bytes are not acceptable PubMed XML (malformed, too large, unsafe)."""


class PubmedRecordError(PubmedXmlError):
    """One record cannot be read or stored as it is; ``pmid`` is as found in the XML ("" if none).

    The one error a record's fault raises, whatever the field, so a search run can set that record
    aside and go on with the others.
    """

    def __init__(self, pmid: str | None, reason: str) -> None:
        self.pmid, self.reason = (pmid or "").strip(), reason
        super().__init__(f"PMID {self.pmid or '(none)'}: {reason}")


@dataclass(frozen=True)
class AbstractSection:
    """One ``AbstractText`` paragraph; ``label`` is None when unlabelled."""

    label: str | None
    nlm_category: str | None
    text: str


@dataclass(frozen=True)
class PubDate:
    """A publication date as printed; parts are None when absent.

    ``raw`` is the text as given (``"1990 Spring"``, ``"1998 Dec-1999 Jan"``).
    """

    year: int | None
    month: int | None
    day: int | None
    raw: str


@dataclass(frozen=True)
class Journal:
    """Where the record appeared (for a book chapter: the book title only)."""

    title: str | None
    iso_abbreviation: str | None
    volume: str | None
    issue: str | None
    pages: str | None


@dataclass(frozen=True)
class MeshTerm:
    """A MeSH descriptor; major if the descriptor or a qualifier is starred."""

    descriptor: str
    major_topic: bool


@dataclass(frozen=True)
class RegistryId:
    """A trial-registry or databank accession and where it was found."""

    registry: str
    accession: str
    source: str  # "databank" or "text"


@dataclass(frozen=True)
class Correction:
    """A ``CommentsCorrections`` link that changes the record's standing."""

    reftype: str
    pmid: str | None
    refsource: str | None


@dataclass(frozen=True)
class ParsedCitation:
    """The fields of one PubMed record that the review needs."""

    pmid: str
    title: str
    vernacular_title: str | None
    abstract: tuple[AbstractSection, ...]
    abstract_text: str
    authors: tuple[str, ...]
    first_author_last_name: str | None
    journal: Journal
    pub_date: PubDate
    doi: str | None
    pmcid: str | None
    publication_types: tuple[str, ...]
    mesh_terms: tuple[MeshTerm, ...]
    keywords: tuple[str, ...]
    languages: tuple[str, ...]
    registry_ids: tuple[RegistryId, ...]
    corrections: tuple[Correction, ...]
    is_book: bool

    @property
    def is_retracted(self) -> bool:
        """A ``RetractionIn`` link or the "Retracted Publication" type."""
        return self._has("RetractionIn") or "Retracted Publication" in self.publication_types

    @property
    def has_erratum(self) -> bool:
        return self._has("ErratumIn")

    @property
    def has_update(self) -> bool:
        return self._has("UpdateIn")

    @property
    def has_expression_of_concern(self) -> bool:
        return self._has("ExpressionOfConcernIn")

    def _has(self, reftype: str) -> bool:
        return any(c.reftype == reftype for c in self.corrections)


@dataclass(frozen=True)
class EsearchResult:
    """An ``eSearchResult``.

    ``error`` holds a top-level ``<ERROR>``; ``errors`` the ``ErrorList``
    entries as ``(kind, text)`` (e.g. ``("PhraseNotFound", "abcXYZ")``);
    ``warnings`` the ``WarningList`` entries the same way.
    """

    count: int
    retmax: int
    retstart: int
    query_key: str | None
    webenv: str | None
    ids: tuple[str, ...]
    query_translation: str | None
    error: str | None
    errors: tuple[tuple[str, str], ...]
    warnings: tuple[tuple[str, str], ...]
