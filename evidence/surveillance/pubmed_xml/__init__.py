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

from evidence.surveillance.pubmed_xml.fields import (
    FieldError,
    child_pairs,
    child_text,
    citation_from_record,
    whole_number,
)
from evidence.surveillance.pubmed_xml.types import (
    AbstractSection,
    Correction,
    EsearchResult,
    Journal,
    MeshTerm,
    ParsedCitation,
    PubDate,
    PubmedRecordError,
    PubmedXmlError,
    RegistryId,
)

__all__ = [
    "MAX_INPUT_BYTES",
    "AbstractSection",
    "Correction",
    "EsearchResult",
    "Journal",
    "MeshTerm",
    "ParsedCitation",
    "PubDate",
    "PubmedRecordError",
    "PubmedXmlError",
    "RawRecord",
    "RegistryId",
    "check_document",
    "iter_citations",
    "parse_citations",
    "parse_esearch",
    "parse_record",
    "split_records",
]

MAX_INPUT_BYTES = 200 * 1024 * 1024

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")


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
            yield citation_from_record(element)
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


def check_document(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES) -> None:
    """Refuse a whole efetch body that is too large or declares entities (no record of it is read)."""
    _check_size(data, max_bytes)
    _reject_entities(data)


@dataclass(frozen=True)
class RawRecord:
    """One record's element as sent, cut out of a batch that would not parse whole."""

    pmid: str  # as found between <PMID> tags, unchecked; "" if none
    xml: bytes


_RECORD = re.compile(rb"<(PubmedArticle|PubmedBookArticle)\b.*?</\1\s*>", re.DOTALL)
_PMID = re.compile(rb"<PMID\b[^>]*>([^<]{0,64})</PMID>")


def split_records(data: bytes) -> list[RawRecord]:
    """Cut a batch into its records by their tags, without an XML parser: a record with an
    unescaped ``&`` or a truncated tail spoils only itself. A trailing record cut off before its
    end tag is returned as it is, so it is not lost."""
    records, end = [], 0
    for match in _RECORD.finditer(data):
        records.append(_raw(match.group(0)))
        end = match.end()
    tail = re.search(rb"<(PubmedArticle|PubmedBookArticle)\b", data[end:])
    if tail:
        records.append(_raw(data[end + tail.start() :]))
    return records


def _raw(xml: bytes) -> RawRecord:
    found = _PMID.search(xml)
    return RawRecord(pmid=found.group(1).decode("utf-8", "replace").strip() if found else "", xml=xml)


def parse_record(record: RawRecord) -> ParsedCitation:
    """One record's fields, read on its own.

    Raises
    ------
    PubmedRecordError
        Whatever is wrong with it, with the PMID found in its text.
    """
    document = b"<PubmedArticleSet>" + record.xml + b"</PubmedArticleSet>"
    try:
        parsed = parse_citations(document)
    except PubmedRecordError:
        raise
    except PubmedXmlError as exc:
        raise PubmedRecordError(record.pmid, str(exc)) from exc
    if len(parsed) != 1:
        raise PubmedRecordError(record.pmid, f"{len(parsed)} records where one was cut out")
    return parsed[0]


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
        count=_esearch_number(root, "Count"),
        retmax=_esearch_number(root, "RetMax"),
        retstart=_esearch_number(root, "RetStart"),
        query_key=child_text(root, "QueryKey"),
        webenv=child_text(root, "WebEnv"),
        ids=tuple(i.text.strip() for i in root.iterfind("IdList/Id") if i.text),
        query_translation=child_text(root, "QueryTranslation"),
        error=child_text(root, "ERROR"),
        errors=child_pairs(root.find("ErrorList")),
        warnings=child_pairs(root.find("WarningList")),
    )


# More than PubMed holds: a Count this large is a corrupt answer, not a search to page through.
ESEARCH_COUNT_LIMIT = 100_000_000


def _esearch_number(root: etree._Element, tag: str) -> int:
    try:
        value = whole_number(child_text(root, tag), f"esearch {tag}") or 0
    except FieldError as exc:
        raise PubmedXmlError(str(exc)) from None
    if value > ESEARCH_COUNT_LIMIT:
        raise PubmedXmlError(f"esearch {tag} {value:,} is more than PubMed holds ({ESEARCH_COUNT_LIMIT:,})")
    return value
