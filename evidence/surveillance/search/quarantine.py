"""The quarantine: PubMed records a search run set aside, kept raw with the reason, retried or dismissed."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from evidence.models import QuarantinedRecord, QuarantineStatus, SearchRun
from evidence.surveillance.pubmed_xml import PubmedRecordError, RawRecord, parse_record

logger = logging.getLogger(__name__)

PMID_KEPT_CHARS = QuarantinedRecord._meta.get_field("pmid").max_length


def record_quarantine(*, run: SearchRun, pmid: str, stage: str, reason: str, raw_xml: bytes | str) -> QuarantinedRecord:
    """Hold one record of ``run``; a record already held for the review is updated, not held twice."""
    text = raw_xml.decode("utf-8", "replace") if isinstance(raw_xml, bytes) else raw_xml
    pmid = (pmid or "")[:PMID_KEPT_CHARS]
    values = {"search_run": run, "stage": stage, "reason": reason[:5000], "raw_xml": text}
    with transaction.atomic():
        held_before = QuarantinedRecord.objects.select_for_update().filter(
            review_id=run.review_id, pmid=pmid, status=QuarantineStatus.HELD
        )
        held = held_before.first() if pmid else None  # a record without a PMID cannot be matched: held anew
        if held is None:
            held = QuarantinedRecord.objects.create(review_id=run.review_id, pmid=pmid, **values)
        else:
            QuarantinedRecord.objects.filter(pk=held.pk).update(**values)
        SearchRun.objects.filter(pk=run.pk).update(records_quarantined=F("records_quarantined") + 1)
    logger.warning("search run %s: PMID %s quarantined (%s): %s", run.pk, pmid or "?", stage, reason)
    return held


@transaction.atomic
def quarantined_record_dismiss(*, record: QuarantinedRecord) -> None:
    """The editor judged the record not worth storing: it leaves the held list, kept for the audit."""
    QuarantinedRecord.objects.filter(pk=record.pk, status=QuarantineStatus.HELD).update(
        status=QuarantineStatus.DISMISSED, resolved_at=timezone.now()
    )


def quarantined_record_retry(*, record: QuarantinedRecord) -> None:
    """Parse and store the held record again (after a fix to the parser or the data).

    Raises
    ------
    ValidationError
        It still fails; the new reason is kept on the record.
    """
    from evidence.surveillance.search.ingest import DuplicateIndex, records_ingest
    from evidence.surveillance.search.records import citation_record_validate

    if record.status != QuarantineStatus.HELD:
        raise ValidationError(f"Only a held record can be retried; this one is {record.get_status_display()}.")
    if record.search_run is None:
        raise ValidationError("Its search run was deleted; run a new search to fetch the record again.")
    try:
        parsed = parse_record(RawRecord(pmid=record.pmid, xml=record.raw_xml.encode()))
        citation_record_validate(parsed)
        records_ingest(run=record.search_run, records=[parsed], index=DuplicateIndex.for_review(record.review))
    except (PubmedRecordError, DatabaseError) as exc:
        QuarantinedRecord.objects.filter(pk=record.pk).update(reason=f"retry failed: {exc}"[:5000])
        raise ValidationError(f"PMID {record.pmid or '?'} still fails: {exc}") from exc
    QuarantinedRecord.objects.filter(pk=record.pk).update(status=QuarantineStatus.RETRIED, resolved_at=timezone.now())
