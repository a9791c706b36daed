"""From one ``PubmedArticle`` / ``PubmedBookArticle`` element to a :class:`ParsedCitation`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from lxml import etree

from evidence.surveillance.pubmed_xml.types import (
    CORRECTION_TYPES,
    AbstractSection,
    Correction,
    Journal,
    MeshTerm,
    ParsedCitation,
    PubDate,
    PubmedRecordError,
    RegistryId,
)

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

_REGISTRY_LITERALS = re.compile("|".join(re.escape(literal) for _, literal, _ in _REGISTRY_PATTERNS))


# ------------------------------------------------------------------- helpers
#
# Why the record code reads the way it does: libxml2 takes ~0.14 ms to build a
# 16 KB record, and reading the fields out used to take more than that.
# - lxml runs ``find``/``findtext``/``iterfind`` through ElementPath in Python
#   (~1 us a call, ~4 us for a three-step path); a record needs dozens. Each
#   container is instead iterated once and its children grouped by tag
#   (:func:`_children`), subtrees never read (reference lists, investigators,
#   affiliations) are never entered, and the same first-match and
#   document-order rules as the paths are kept, duplicates included.
# - Every element touched costs a Python proxy: text under markup is taken with
#   ``tostring(method="text")``, which walks the subtree in C.

_Elements = list[etree._Element]


def _flat(element: etree._Element | None) -> str:
    """Element text with inline markup (``<i>``, ``<sup>``, MathML) flattened."""
    if element is None:
        return ""
    if len(element) == 0:  # the common case: no markup inside
        text = element.text
        if not text:
            return ""
    elif next(element.iter(etree.Entity), None) is None:
        # tostring() walks the subtree in C; itertext() makes a proxy per element.
        text = etree.tostring(element, method="text", encoding=str, with_tail=False)
    else:  # an unexpanded entity reference: itertext() gives "&name;", tostring() nothing
        text = "".join(element.itertext())
    # Abstracts run to kilobytes and are hardly ever messy: checking costs half
    # of splitting. isprintable() is False for every whitespace character but
    # " " (and for a few others, which then take the split).
    if len(text) > 40 and text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text
    return " ".join(text.split())


def child_text(parent: etree._Element, tag: str) -> str | None:
    """Flattened text of the first ``tag`` child (as ``find(tag)``); None if absent or empty."""
    for child in parent:  # parents here have a few children: cheaper than iterchildren(tag)
        if child.tag == tag:
            return _flat(child) or None
    return None


def _first_text(elements: _Elements | None) -> str | None:
    """Flattened text of the first of ``elements``; None if there is none or it is empty."""
    return (_flat(elements[0]) or None) if elements else None


def _children(parents: Iterable[etree._Element]) -> dict[str, _Elements]:
    """The children of ``parents`` grouped by tag, each group in document order.

    ``groups[tag]`` is what ``iterfind`` gives for one more path step
    ``.../tag`` from ``parents``, and ``groups[tag][0]`` what ``find`` gives.
    """
    # Plain iteration beats iterchildren(*tags): lxml builds a tag matcher on
    # each call (~0.2 us a tag), dearer than the few children it would skip.
    groups: dict[str, _Elements] = {}
    for parent in parents:
        for child in parent:
            groups.setdefault(child.tag, []).append(child)
    return groups


def _below(parents: Iterable[etree._Element], tag: str) -> _Elements:
    """The ``tag`` children of every parent, in document order (``iterfind("List/tag")``)."""
    return [child for parent in parents for child in parent.iterchildren(tag)]


def child_pairs(element: etree._Element | None) -> tuple[tuple[str, str], ...]:
    if element is None:
        return ()
    return tuple((child.tag, _flat(child)) for child in element if isinstance(child.tag, str))


def _unique(items: list[str]) -> tuple[str, ...]:
    """``items`` without repeats or empty strings, in first-seen order."""
    unique = dict.fromkeys(items)
    unique.pop("", None)
    return tuple(unique)


# ------------------------------------------------------------------- records


_ASCII_DIGITS = re.compile(r"[0-9]+")


class FieldError(ValueError):
    """A field's text is not what its element allows; the message names the element and the text."""


def whole_number(text: str | None, element: str) -> int | None:
    """``text`` as an int (None when absent).

    Raises
    ------
    FieldError
        Not ASCII digits: ``str.isdigit`` accepts superscripts ("²⁰²³") that ``int`` refuses bare.
    """
    if not text:
        return None
    if not _ASCII_DIGITS.fullmatch(text):
        raise FieldError(f"{element} {text[:40]!r} is not a whole number")
    return int(text)


def citation_from_record(record: etree._Element) -> ParsedCitation:
    """The record's fields; any fault is a :class:`PubmedRecordError` naming the record's PMID."""
    try:
        return _citation_from_record(record)
    except PubmedRecordError:
        raise
    except FieldError as exc:
        raise PubmedRecordError(_pmid_of(record), str(exc)) from exc
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise PubmedRecordError(_pmid_of(record), f"unreadable record: {type(exc).__name__}: {exc}") from exc


def _pmid_of(record: etree._Element) -> str:
    node = next(record.iter("PMID"), None)
    return (node.text or "").strip() if node is not None else ""


def _citation_from_record(record: etree._Element) -> ParsedCitation:
    is_book = record.tag == "PubmedBookArticle"
    core, data = _record_parts(record, is_book)
    core_kids = _children((core,))
    pmid = _first_text(core_kids.get("PMID"))
    if not pmid:
        raise PubmedRecordError(None, f"{record.tag} without a PMID")
    art = core_kids if is_book else _article_children(core_kids, pmid)
    id_lists = [] if data is None else list(data.iterchildren("ArticleIdList"))
    sections = _abstract(art)
    authors, first_author_last_name = _authors(art.get("AuthorList", ()))
    title = _title(art)
    journal, pub_date = _book(art) if is_book else _journal(art)
    return ParsedCitation(
        pmid=pmid,
        title=title,
        vernacular_title=_first_text(art.get("VernacularTitle")),
        abstract=sections,
        abstract_text="\n\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in sections),
        authors=authors,
        first_author_last_name=first_author_last_name,
        journal=journal,
        pub_date=pub_date,
        doi=_doi(art.get("ELocationID", ()), id_lists, core_kids.get("ArticleIdList", ())),
        pmcid=_article_id(id_lists, "pmc"),
        publication_types=_unique(
            [_flat(p) for p in _below(art.get("PublicationTypeList", ()), "PublicationType")]
            + [_flat(p) for p in art.get("PublicationType", ())]
        ),
        mesh_terms=_mesh(core_kids.get("MeshHeadingList")),
        keywords=_unique([_flat(k) for k in _below(core_kids.get("KeywordList", ()), "Keyword")]),
        languages=_unique([_flat(x) for x in art.get("Language", ())]),
        registry_ids=_registry_ids(art.get("DataBankList", ()), title, sections),
        corrections=_corrections(core_kids.get("CommentsCorrectionsList", ())),
        is_book=is_book,
    )


def _record_parts(record: etree._Element, is_book: bool) -> tuple[etree._Element, etree._Element | None]:
    """``MedlineCitation`` and ``PubmedData`` (of a book: ``BookDocument`` and ``PubmedBookData``)."""
    core_tag, data_tag = ("BookDocument", "PubmedBookData") if is_book else ("MedlineCitation", "PubmedData")
    parts = _children((record,))
    if core_tag not in parts:
        raise PubmedRecordError(_pmid_of(record), f"{record.tag} without MedlineCitation/BookDocument")
    return parts[core_tag][0], parts[data_tag][0] if data_tag in parts else None


def _article_children(core_kids: dict[str, _Elements], pmid: str) -> dict[str, _Elements]:
    if "Article" not in core_kids:
        raise PubmedRecordError(pmid, "MedlineCitation without Article")
    return _children(core_kids["Article"][:1])


def _title(art: dict[str, _Elements]) -> str:
    title = _first_text(art.get("ArticleTitle"))
    if not title:
        title = _first_text(_below(art.get("Book", ()), "BookTitle"))
    return title or ""


def _abstract(art: dict[str, _Elements]) -> tuple[AbstractSection, ...]:
    return tuple(
        AbstractSection(label=node.get("Label") or None, nlm_category=node.get("NlmCategory") or None, text=_flat(node))
        for node in _below(art.get("Abstract", ()), "AbstractText")
    )


_NAME_TAGS = ("Author", "LastName", "ForeName", "Initials", "CollectiveName")


def _authors(author_lists: Iterable[etree._Element]) -> tuple[tuple[str, ...], str | None]:
    """Display names ("Last Initials", collective names as given) and the
    first author's family name (or a collective name listed first).

    Book editors sit under ``Book/AuthorList`` and are not the chapter's authors.
    """
    people: list[dict[str, str]] = []
    person: dict[str, str] | None = None  # the last Author opened; names before any are ignored
    for author_list in author_lists:
        if author_list.get("Type", "authors") != "authors":
            continue
        # One C-level walk over the name elements only (author lists run to
        # hundreds of entries with affiliations that need not be touched).
        for node in author_list.iter(_NAME_TAGS):
            tag = node.tag
            if tag == "Author":
                person = {}
                people.append(person)
            elif person is not None:
                text = node.text
                if text:
                    person[tag] = text.strip()
    names = tuple(name for name in map(_display_name, people) if name)
    first = next((p.get("LastName") or p.get("CollectiveName") for p in people if p), None)
    return names, first


def _display_name(parts: dict[str, str]) -> str:
    if "CollectiveName" in parts:
        return parts["CollectiveName"]
    last, initials = parts.get("LastName", ""), parts.get("Initials", "")
    if last:
        return f"{last} {initials}" if initials else last
    return parts.get("ForeName", "")


def _journal(art: dict[str, _Elements]) -> tuple[Journal, PubDate]:
    journal = _children(art.get("Journal", ()))
    issue = _children(journal.get("JournalIssue", ()))
    found = Journal(
        title=_first_text(journal.get("Title")),
        iso_abbreviation=_first_text(journal.get("ISOAbbreviation")),
        volume=_first_text(issue.get("Volume")),
        issue=_first_text(issue.get("Issue")),
        pages=_pages(art.get("Pagination", ())),
    )
    return found, _pub_date(issue.get("PubDate"))


def _pages(paginations: _Elements) -> str | None:
    pagination = _children(paginations)
    pages = _first_text(pagination.get("MedlinePgn"))
    if not pages:
        start, end = _first_text(pagination.get("StartPage")), _first_text(pagination.get("EndPage"))
        pages = f"{start}-{end}" if start and end else start
    return pages


def _book(book_document: dict[str, _Elements]) -> tuple[Journal, PubDate]:
    book = _children(book_document.get("Book", ()))
    found = Journal(
        title=_first_text(book.get("BookTitle")), iso_abbreviation=None, volume=None, issue=None, pages=None
    )
    return found, _pub_date(book.get("PubDate"))


def _month(text: str | None) -> int | None:
    if not text:
        return None
    if text[:1].isdigit():
        value = whole_number(text, "PubDate/Month")
        return value if 1 <= value <= 12 else None
    return _MONTHS.get(text[:3].lower())


_MEDLINE_DATE = re.compile(r"\b([0-9]{4})(?:\s+([A-Za-z]+)(?:\s+([0-9]{1,2})\b)?)?", re.ASCII)


def _medline_date(raw: str) -> PubDate:
    """``"1998 Dec-1999 Jan"`` -> 1998-12; ``"2000 Spring"`` -> 2000-03."""
    match = _MEDLINE_DATE.search(raw)
    if not match:
        return PubDate(year=None, month=None, day=None, raw=raw)
    word = (match.group(2) or "").lower()
    month = _SEASONS.get(word) or _month(word)
    day = int(match.group(3)) if match.group(3) and month else None
    return PubDate(year=int(match.group(1)), month=month, day=day, raw=raw)


def _pub_date(nodes: _Elements | None) -> PubDate:
    if not nodes:
        return PubDate(year=None, month=None, day=None, raw="")
    parts = _children(nodes[:1])
    medline = _first_text(parts.get("MedlineDate"))
    if medline:
        return _medline_date(medline)
    year, month, day = _first_text(parts.get("Year")), _first_text(parts.get("Month")), _first_text(parts.get("Day"))
    season = _first_text(parts.get("Season"))
    raw = " ".join(p for p in (year, month or season, day) if p)
    return PubDate(
        year=whole_number(year, "PubDate/Year"),
        month=_month(month) if month else _SEASONS.get((season or "").lower()),
        day=whole_number(day, "PubDate/Day"),
        raw=raw,
    )


def _article_id(id_lists: Iterable[etree._Element], id_type: str) -> str | None:
    for node in _below(id_lists, "ArticleId"):
        if node.get("IdType") == id_type and node.text:
            return node.text.strip()
    return None


def _doi(elocations: _Elements, data_ids: _Elements, core_ids: _Elements) -> str | None:
    """The record's own DOI; ``ReferenceList`` ids are other papers' and ignored."""
    for node in elocations:
        if node.get("EIdType") == "doi" and node.text:
            return node.text.strip()
    return _article_id(data_ids, "doi") or _article_id(core_ids, "doi")


def _mesh(heading_lists: _Elements | None) -> tuple[MeshTerm, ...]:
    if not heading_lists:
        return ()
    terms: list[MeshTerm] = []
    for node in heading_lists[0].iter("DescriptorName", "QualifierName"):
        major = node.get("MajorTopicYN") == "Y"
        if node.tag == "DescriptorName":
            terms.append(MeshTerm(_flat(node), major))  # positional: ~25% cheaper
        elif major and terms and not terms[-1].major_topic:  # a starred qualifier stars its heading
            terms[-1] = MeshTerm(terms[-1].descriptor, True)
    return tuple(terms)


def _registry_ids(bank_lists: _Elements, title: str, sections: tuple[AbstractSection, ...]) -> tuple[RegistryId, ...]:
    found: dict[str, RegistryId] = {}
    for bank in _below(bank_lists, "DataBank"):
        name = child_text(bank, "DataBankName") or ""
        for acc in _below(bank.iterchildren("AccessionNumberList"), "AccessionNumber"):
            accession = _flat(acc)
            if accession:
                found.setdefault(accession.upper(), RegistryId(name, accession, "databank"))
    text = " ".join([title, *(s.text for s in sections)])
    if not _REGISTRY_LITERALS.search(text):  # one pass over the abstract instead of one a registry
        return tuple(found.values())
    for registry, literal, pattern in _REGISTRY_PATTERNS:
        for match in _matches(pattern, literal, text):
            accession = match.group(match.lastindex or 0)
            found.setdefault(accession.upper(), RegistryId(registry, accession, "text"))
    return tuple(found.values())


def _matches(pattern: re.Pattern, literal: str, text: str) -> Iterator[re.Match]:
    """``pattern.finditer(text)``, for a pattern whose every match starts with ``literal``.

    ``re`` scans a pattern opening with ``\\b`` one position at a time (~45 us
    over a long abstract); ``str.find`` jumps straight to the candidates.
    """
    start = text.find(literal)
    while start >= 0:
        match = pattern.match(text, start)  # \b still sees the character before start
        if match:
            yield match
            start = text.find(literal, match.end())
        else:
            start = text.find(literal, start + 1)


def _corrections(correction_lists: _Elements) -> tuple[Correction, ...]:
    return tuple(
        Correction(
            reftype=node.get("RefType", ""), pmid=child_text(node, "PMID"), refsource=child_text(node, "RefSource")
        )
        for node in _below(correction_lists, "CommentsCorrections")
        if node.get("RefType") in CORRECTION_TYPES
    )
