"""Hardened, streaming parsers for PubMed E-utilities XML.

``iter_citations`` walks an efetch ``PubmedArticleSet`` with
``lxml.etree.iterparse`` and yields one frozen :class:`ParsedCitation` per
``PubmedArticle`` or ``PubmedBookArticle``, clearing each record once read so
memory stays flat however large the batch. ``parse_esearch`` reads an
``eSearchResult``.

The parser never loads a DTD, never touches the network, never expands an
entity and keeps libxml2's size limits (``huge_tree=False``). A document that
declares entities in an internal DTD subset (XXE, "billion laughs") is
refused with :class:`PubmedXmlError`: PubMed never sends one.

Imports nothing of Django or of ``evidence.models``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

MAX_INPUT_BYTES = 200 * 1024 * 1024

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")
_CORRECTION_TYPES = ("RetractionIn", "ErratumIn", "UpdateIn", "ExpressionOfConcernIn")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
# A season becomes the first month of the northern-hemisphere meteorological
# season (MEDLINE dates are northern by convention); the raw text is kept.
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
# Trial-registry numbers searched for in the title and abstract text.
_REGISTRY_PATTERNS = (
    # (registry, literal that must occur first, pattern; group 1 if any)
    ("ClinicalTrials.gov", "NCT", re.compile(r"\bNCT\d{8}\b")),
    ("ANZCTR", "ACTRN", re.compile(r"\bACTRN\d{14}\b")),
    ("ISRCTN", "ISRCTN", re.compile(r"\bISRCTN\d{8}\b")),
    ("ChiCTR", "ChiCTR", re.compile(r"\bChiCTR(?:-[A-Z]{2,5}-)?\d{8,10}\b")),
    ("DRKS", "DRKS", re.compile(r"\bDRKS\d{8}\b")),
    ("UMIN-CTR", "UMIN", re.compile(r"\bUMIN\d{9}\b")),
    ("CTRI", "CTRI/", re.compile(r"\bCTRI/\d{4}/\d{2,3}/\d{6}\b")),
    ("EudraCT", "EudraCT", re.compile(r"EudraCT[^0-9]{0,30}?(\d{4}-\d{6}-\d{2})\b")),
)


class PubmedXmlError(ValueError):
    """The bytes are not acceptable PubMed XML (malformed, too large, unsafe)."""


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


# --------------------------------------------------------------------- input


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise PubmedXmlError(
            f"PubMed XML input is {len(data):,} bytes, over the {max_bytes:,}-byte limit; "
            "fetch smaller batches or raise max_bytes"
        )


def _iterparse(data: bytes, tag: tuple[str, ...] | None) -> etree.iterparse:
    return etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


_ROOT_START = re.compile(rb"<[A-Za-z_:]")
_ENTITY_MESSAGE = (
    "XML declares entities ({}); refused: PubMed XML never declares entities "
    "and expanding them is unsafe (XXE / billion laughs)"
)


def _reject_entities(data: bytes) -> None:
    """Refuse ``<!ENTITY`` in the prolog before libxml2 reads the DTD subset."""
    root = _ROOT_START.search(data)
    prolog = data[: root.start()] if root else data
    if b"<!ENTITY" in prolog:
        names = re.findall(rb"<!ENTITY\s+%?\s*([^\s]+)", prolog)
        raise PubmedXmlError(_ENTITY_MESSAGE.format(b", ".join(names[:5]).decode("ascii", "replace")))


def _reject_parsed_entities(element: etree._Element) -> None:
    # Second line of defence for encodings the byte scan cannot read (UTF-16).
    dtd = element.getroottree().docinfo.internalDTD
    names = [e.name for e in dtd.iterentities()] if dtd is not None else []
    if names:
        raise PubmedXmlError(_ENTITY_MESSAGE.format(", ".join(names[:5])))


def iter_citations(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES) -> Iterator[ParsedCitation]:
    """Yield a :class:`ParsedCitation` per record of an efetch ``PubmedArticleSet``.

    Parameters
    ----------
    data
        The raw efetch body (``db=pubmed&retmode=xml``).
    max_bytes
        Refuse larger input with :class:`PubmedXmlError`.

    Raises
    ------
    PubmedXmlError
        Input too large, malformed, declaring entities, not a
        ``PubmedArticleSet``, or a record without PMID. Records before the
        fault have already been yielded.
    """
    _check_size(data, max_bytes)
    _reject_entities(data)
    events = _iterparse(data, _RECORD_TAGS)
    try:
        for count, (_, element) in enumerate(events):
            if count == 0:
                _reject_parsed_entities(element)
            yield _citation(element)
            element.clear(keep_tail=False)
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise PubmedXmlError(f"malformed PubMed XML: {exc}") from exc
    if events.root is None or events.root.tag != "PubmedArticleSet":
        # e.g. <eFetchResult><ERROR>...: not an empty set, a failed fetch
        tag = None if events.root is None else events.root.tag
        raise PubmedXmlError(f"expected a PubmedArticleSet document, got root {tag!r}")
    _reject_parsed_entities(events.root)


def parse_citations(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES) -> list[ParsedCitation]:
    """All records of ``data`` as a list (see :func:`iter_citations`)."""
    return list(iter_citations(data, max_bytes=max_bytes))


def parse_esearch(data: bytes, *, max_bytes: int = 20 * 1024 * 1024) -> EsearchResult:
    """Read an ``eSearchResult`` body.

    Raises
    ------
    PubmedXmlError
        Malformed, oversized or entity-declaring XML, or a root that is not
        ``eSearchResult``.
    """
    _check_size(data, max_bytes)
    _reject_entities(data)
    root = None
    try:
        for _, element in _iterparse(data, None):
            root = element
    except etree.XMLSyntaxError as exc:
        raise PubmedXmlError(f"malformed esearch XML: {exc}") from exc
    if root is None or root.tag != "eSearchResult":
        tag = None if root is None else root.tag
        raise PubmedXmlError(f"expected an eSearchResult document, got root {tag!r}")
    _reject_parsed_entities(root)
    return EsearchResult(
        count=int(_text(root, "Count") or 0),
        retmax=int(_text(root, "RetMax") or 0),
        retstart=int(_text(root, "RetStart") or 0),
        query_key=_text(root, "QueryKey"),
        webenv=_text(root, "WebEnv"),
        ids=tuple(i.text.strip() for i in root.iterfind("IdList/Id") if i.text),
        query_translation=_text(root, "QueryTranslation"),
        error=_text(root, "ERROR"),
        errors=_pairs(root.find("ErrorList")),
        warnings=_pairs(root.find("WarningList")),
    )


# ------------------------------------------------------------------- helpers


def _flat(element: etree._Element | None) -> str:
    """Element text with inline markup (``<i>``, ``<sup>``, MathML) flattened."""
    if element is None:
        return ""
    if len(element) == 0:  # the common case: no markup inside
        text = element.text
        return " ".join(text.split()) if text else ""
    return " ".join("".join(element.itertext()).split())


def _text(parent: etree._Element, path: str) -> str | None:
    found = parent.find(path)
    if found is None:
        return None
    return _flat(found) or None


def _pairs(element: etree._Element | None) -> tuple[tuple[str, str], ...]:
    if element is None:
        return ()
    return tuple((child.tag, _flat(child)) for child in element if isinstance(child.tag, str))


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


# ------------------------------------------------------------------- records


def _citation(record: etree._Element) -> ParsedCitation:
    is_book = record.tag == "PubmedBookArticle"
    core = record.find("BookDocument" if is_book else "MedlineCitation")
    if core is None:
        raise PubmedXmlError(f"{record.tag} without MedlineCitation/BookDocument")
    pmid = _text(core, "PMID")
    if not pmid:
        raise PubmedXmlError(f"{record.tag} without a PMID")
    article = core if is_book else core.find("Article")
    if article is None:
        raise PubmedXmlError(f"PMID {pmid}: MedlineCitation without Article")
    data = record.find("PubmedBookData" if is_book else "PubmedData")
    sections = _abstract(article)
    authors, first_author_last_name = _authors(article)
    title = _text(article, "ArticleTitle") or _text(article, "Book/BookTitle") or ""
    return ParsedCitation(
        pmid=pmid,
        title=title,
        vernacular_title=_text(article, "VernacularTitle"),
        abstract=sections,
        abstract_text="\n\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in sections),
        authors=authors,
        first_author_last_name=first_author_last_name,
        journal=_book_journal(article) if is_book else _journal(article),
        pub_date=_pub_date(article.find("Book/PubDate" if is_book else "Journal/JournalIssue/PubDate")),
        doi=_doi(article, core, data),
        pmcid=_article_id(data, "pmc"),
        publication_types=_unique(
            [_flat(p) for p in article.iterfind("PublicationTypeList/PublicationType")]
            + [_flat(p) for p in article.iterfind("PublicationType")]
        ),
        mesh_terms=_mesh(core),
        keywords=_unique([_flat(k) for k in core.iterfind("KeywordList/Keyword")]),
        languages=_unique([_flat(x) for x in article.iterfind("Language")]),
        registry_ids=_registry_ids(article, title, sections),
        corrections=_corrections(core),
        is_book=is_book,
    )


def _abstract(article: etree._Element) -> tuple[AbstractSection, ...]:
    return tuple(
        AbstractSection(label=node.get("Label") or None, nlm_category=node.get("NlmCategory") or None, text=_flat(node))
        for node in article.iterfind("Abstract/AbstractText")
    )


_NAME_TAGS = ("Author", "LastName", "ForeName", "Initials", "CollectiveName")


def _authors(article: etree._Element) -> tuple[tuple[str, ...], str | None]:
    """Display names ("Last Initials", collective names as given) and the
    first author's family name (or a collective name listed first).

    Book editors sit under ``Book/AuthorList`` and are not the chapter's authors.
    """
    people: list[dict[str, str]] = []
    for author_list in article.iterchildren("AuthorList"):
        if author_list.get("Type", "authors") != "authors":
            continue
        # One C-level walk over the name elements only (author lists run to
        # hundreds of entries with affiliations that need not be touched).
        for node in author_list.iter(_NAME_TAGS):
            if node.tag == "Author":
                people.append({})
            elif people and node.text:
                people[-1][node.tag] = node.text.strip()
    names = [_display_name(p) for p in people]
    first = next((p.get("LastName") or p.get("CollectiveName") for p in people if len(p)), None)
    return tuple(n for n in names if n), first


def _display_name(parts: dict[str, str]) -> str:
    if "CollectiveName" in parts:
        return parts["CollectiveName"]
    last, initials = parts.get("LastName", ""), parts.get("Initials", "")
    if last:
        return f"{last} {initials}" if initials else last
    return parts.get("ForeName", "")


def _journal(article: etree._Element) -> Journal:
    pages = _text(article, "Pagination/MedlinePgn")
    if not pages:
        start, end = (_text(article, "Pagination/StartPage"), _text(article, "Pagination/EndPage"))
        pages = f"{start}-{end}" if start and end else start
    return Journal(
        title=_text(article, "Journal/Title"),
        iso_abbreviation=_text(article, "Journal/ISOAbbreviation"),
        volume=_text(article, "Journal/JournalIssue/Volume"),
        issue=_text(article, "Journal/JournalIssue/Issue"),
        pages=pages,
    )


def _book_journal(book_document: etree._Element) -> Journal:
    title = _text(book_document, "Book/BookTitle")
    return Journal(title=title, iso_abbreviation=None, volume=None, issue=None, pages=None)


def _month(text: str | None) -> int | None:
    if not text:
        return None
    if text.isdigit():
        value = int(text)
        return value if 1 <= value <= 12 else None
    return _MONTHS.get(text[:3].lower())


def _medline_date(raw: str) -> PubDate:
    """``"1998 Dec-1999 Jan"`` -> 1998-12; ``"2000 Spring"`` -> 2000-03."""
    match = re.search(r"\b(\d{4})(?:\s+([A-Za-z]+)(?:\s+(\d{1,2})\b)?)?", raw)
    if not match:
        return PubDate(year=None, month=None, day=None, raw=raw)
    word = (match.group(2) or "").lower()
    month = _SEASONS.get(word) or _month(word)
    day = int(match.group(3)) if match.group(3) and month else None
    return PubDate(year=int(match.group(1)), month=month, day=day, raw=raw)


def _pub_date(node: etree._Element | None) -> PubDate:
    if node is None:
        return PubDate(year=None, month=None, day=None, raw="")
    medline = _text(node, "MedlineDate")
    if medline:
        return _medline_date(medline)
    year, month, day = _text(node, "Year"), _text(node, "Month"), _text(node, "Day")
    season = _text(node, "Season")
    raw = " ".join(p for p in (year, month or season, day) if p)
    return PubDate(
        year=int(year) if year and year.isdigit() else None,
        month=_month(month) if month else _SEASONS.get((season or "").lower()),
        day=int(day) if day and day.isdigit() else None,
        raw=raw,
    )


def _article_id(data: etree._Element | None, id_type: str) -> str | None:
    if data is None:
        return None
    for node in data.iterfind("ArticleIdList/ArticleId"):
        if node.get("IdType") == id_type and node.text:
            return node.text.strip()
    return None


def _doi(article: etree._Element, core: etree._Element, data: etree._Element | None) -> str | None:
    """The record's own DOI; ``ReferenceList`` ids are other papers' and ignored."""
    for node in article.iterfind("ELocationID"):
        if node.get("EIdType") == "doi" and node.text:
            return node.text.strip()
    return _article_id(data, "doi") or _article_id(core, "doi")


def _mesh(core: etree._Element) -> tuple[MeshTerm, ...]:
    headings = core.find("MeshHeadingList")
    if headings is None:
        return ()
    terms: list[list] = []  # [descriptor, major]; a starred qualifier stars its heading
    for node in headings.iter("DescriptorName", "QualifierName"):
        major = node.get("MajorTopicYN") == "Y"
        if node.tag == "DescriptorName":
            terms.append([_flat(node), major])
        elif terms and major:
            terms[-1][1] = True
    return tuple(MeshTerm(descriptor=d, major_topic=m) for d, m in terms)


def _registry_ids(article: etree._Element, title: str, sections: tuple[AbstractSection, ...]) -> tuple[RegistryId, ...]:
    found: dict[str, RegistryId] = {}
    for bank in article.iterfind("DataBankList/DataBank"):
        name = _text(bank, "DataBankName") or ""
        for acc in bank.iterfind("AccessionNumberList/AccessionNumber"):
            accession = _flat(acc)
            if accession:
                found.setdefault(accession.upper(), RegistryId(name, accession, "databank"))
    text = " ".join([title, *(s.text for s in sections)])
    for registry, literal, pattern in _REGISTRY_PATTERNS:
        if literal not in text:
            continue
        for match in pattern.finditer(text):
            accession = match.group(match.lastindex or 0)
            found.setdefault(accession.upper(), RegistryId(registry, accession, "text"))
    return tuple(found.values())


def _corrections(core: etree._Element) -> tuple[Correction, ...]:
    return tuple(
        Correction(reftype=node.get("RefType", ""), pmid=_text(node, "PMID"), refsource=_text(node, "RefSource"))
        for node in core.iterfind("CommentsCorrectionsList/CommentsCorrections")
        if node.get("RefType") in _CORRECTION_TYPES
    )
