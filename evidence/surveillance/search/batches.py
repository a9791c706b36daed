"""One efetch answer into the review, record by record when it must be: a poison record is quarantined and
the rest of its batch is stored."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import DatabaseError

from evidence.models import SearchRun
from evidence.surveillance.pubmed_xml import (
    ParsedCitation,
    PubmedRecordError,
    PubmedXmlError,
    check_document,
    parse_citations,
    parse_record,
    split_records,
)
from evidence.surveillance.search.ingest import DuplicateIndex, records_ingest
from evidence.surveillance.search.quarantine import record_quarantine
from evidence.surveillance.search.records import citation_record_validate

logger = logging.getLogger(__name__)

NOT_RETURNED = "asked for by efetch but absent from PubMed's answer"


@dataclass
class _Batch:
    run: SearchRun
    body: bytes
    quarantined: set[str] = field(default_factory=set)
    _raw: dict[str, bytes] | None = None

    def raw_xml(self, pmid: str) -> bytes:
        if self._raw is None:
            self._raw = {r.pmid: r.xml for r in split_records(self.body)}
        return self._raw.get(pmid, b"")

    def hold(self, error: PubmedRecordError, stage: str, raw_xml: bytes | None = None) -> None:
        raw = raw_xml if raw_xml is not None else self.raw_xml(error.pmid)
        record_quarantine(run=self.run, pmid=error.pmid, stage=stage, reason=error.reason, raw_xml=raw)
        self.quarantined.add(error.pmid)


def batch_ingest(*, run: SearchRun, body: bytes, requested: list[str], index: DuplicateIndex) -> int:
    """Store every readable, valid record of one efetch answer; quarantine the others. The number quarantined.

    Raises
    ------
    PubmedXmlError
        The whole answer is refused (too large, declares entities, holds no record): nothing is written.
    """
    check_document(body)
    batch = _Batch(run=run, body=body)
    valid = []
    for record in _records(batch):
        try:
            citation_record_validate(record)
        except PubmedRecordError as error:
            batch.hold(error, "parse")
            continue
        valid.append(record)
    for pmid in sorted(set(requested) - {r.pmid for r in valid} - batch.quarantined):
        batch.hold(PubmedRecordError(pmid, NOT_RETURNED), "parse", raw_xml=b"")
    _store(batch, valid, index)
    return len(batch.quarantined)


def _records(batch: _Batch) -> list[ParsedCitation]:
    """The batch parsed whole; if that fails, each record cut out and parsed on its own."""
    try:
        return parse_citations(batch.body)
    except PubmedXmlError as batch_error:
        raw_records = split_records(batch.body)
        if not raw_records:
            raise
        logger.warning("search run %s: batch unreadable (%s); reading it record by record", batch.run.pk, batch_error)
    records = []
    for raw in raw_records:
        try:
            records.append(parse_record(raw))
        except PubmedRecordError as error:
            batch.hold(error, "parse", raw_xml=raw.xml)
    return records


def _store(batch: _Batch, records: list[ParsedCitation], index: DuplicateIndex) -> None:
    """The batch in one transaction; if the database refuses it, each record in its own."""
    if not records:
        return
    try:
        records_ingest(run=batch.run, records=records, index=index)
        return
    except DatabaseError as exc:
        logger.warning("search run %s: batch refused by the database (%s); storing record by record", batch.run.pk, exc)
    index.keys = DuplicateIndex.for_review(batch.run.review).keys  # drop keys of the rolled-back batch
    for record in records:
        try:
            records_ingest(run=batch.run, records=[record], index=index)
        except DatabaseError as exc:
            index.keys = DuplicateIndex.for_review(batch.run.review).keys
            batch.hold(PubmedRecordError(record.pmid, f"{type(exc).__name__}: {exc}".strip()), "store")
