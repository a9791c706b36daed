"""Poison records (issue 15): a record that cannot be read or stored is quarantined with its raw XML and the
reason; the rest of its batch and window are stored and the run completes "with N quarantined"."""

import datetime as dt
import io
import logging

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DataError

from evidence.models import Citation, QuarantinedRecord, QuarantineStatus, SearchRun, SearchRunStatus
from evidence.surveillance.pubmed import EutilsPermanentError
from evidence.surveillance.pubmed_xml import PubmedRecordError, RawRecord, parse_record
from evidence.surveillance.search import ingest as ingest_module
from evidence.surveillance.search.quarantine import quarantined_record_dismiss, quarantined_record_retry
from tests import eutils_replay as replay
from tests.eutils_replay import (
    Reply,
    SyntheticPubmed,
    SyntheticRecord,
    articleset_xml,
    scripted,
    synthetic_records,
)
from tests.evidence.surveillance.test_search_run import XML, execute, fast_client, poisoned, queue

eutils_replay = replay.eutils_replay
SIX = 6  # records in the window; the client fetches them 3 a batch


def replaced(record: SyntheticRecord, old: bytes, new: bytes) -> SyntheticRecord:
    assert old in record.xml, "the synthetic record changed shape; update the test"
    return SyntheticRecord(pmid=record.pmid, created=record.created, raw_xml=record.xml.replace(old, new))


def run_window(review, eutils_replay, records) -> SearchRun:
    server = eutils_replay(SyntheticPubmed(records))
    return execute(review, server, client=fast_client(server, efetch_batch_size=3))


def assert_only_poison_held(review, run, records, poison_pmid: str) -> QuarantinedRecord:
    run.refresh_from_db()
    assert run.status == SearchRunStatus.SUCCEEDED
    assert (run.records_found, run.records_new, run.records_quarantined) == (SIX, SIX - 1, 1)
    assert queue(review) == sorted(r.pmid for r in records if r.pmid != poison_pmid)
    held = QuarantinedRecord.objects.get()
    assert held.status == QuarantineStatus.HELD and held.search_run == run and held.review == review
    assert "<PubmedArticle" in held.raw_xml
    return held


def test_a_year_out_of_range_is_quarantined_and_the_rest_of_the_window_stored(seeded, eutils_replay):
    records = synthetic_records(SIX)
    records[1] = replaced(records[1], b"<Year>2021</Year></PubDate>", b"<Year>99999</Year></PubDate>")

    run = run_window(seeded, eutils_replay, records)

    held = assert_only_poison_held(seeded, run, records, records[1].pmid)
    assert held.pmid == records[1].pmid and "publication_year 99999 is outside" in held.reason
    assert "99999" in held.raw_xml


@pytest.mark.parametrize(
    "bad_pmid, reason",
    [("9000000100001", "not 1 to 12 digits"), ("=1+1 &lt;b&gt;x", "not 1 to 12 digits")],
    ids=["13-digits", "formula-markup"],
)
def test_a_pmid_of_the_wrong_shape_is_quarantined_not_stored(seeded, eutils_replay, bad_pmid, reason):
    records = synthetic_records(SIX)
    old = records[4].pmid
    records[4] = replaced(
        records[4], f'<PMID Version="1">{old}</PMID>'.encode(), f'<PMID Version="1">{bad_pmid}</PMID>'.encode()
    )

    run = run_window(seeded, eutils_replay, records)

    run.refresh_from_db()
    assert run.status == SearchRunStatus.SUCCEEDED and run.records_new == SIX - 1
    held = QuarantinedRecord.objects.filter(status=QuarantineStatus.HELD)
    assert any(reason in h.reason for h in held)
    assert not Citation.objects.filter(pmid__startswith="=").exists()
    assert not Citation.objects.filter(pmid="9000000100001").exists()


def test_an_unescaped_ampersand_spoils_only_its_own_record(seeded, eutils_replay):
    records = synthetic_records(SIX)
    records[2] = replaced(records[2], b"Synthetic mesenchymal", b"Stromal & mesenchymal")

    run = run_window(seeded, eutils_replay, records)

    held = assert_only_poison_held(seeded, run, records, records[2].pmid)
    assert held.stage == "parse" and "malformed PubMed XML" in held.reason
    assert "Stromal & mesenchymal" in held.raw_xml


def test_superscript_digits_in_a_date_are_one_clear_record_error(seeded, eutils_replay):
    records = synthetic_records(SIX)
    records[0] = replaced(records[0], b"<Year>2021</Year></PubDate>", "<Year>²⁰²¹</Year></PubDate>".encode())

    with pytest.raises(PubmedRecordError, match=rf"PMID {records[0].pmid}: PubDate/Year '²⁰²¹' is not a whole number"):
        parse_record(RawRecord(pmid=records[0].pmid, xml=records[0].xml))
    run = run_window(seeded, eutils_replay, records)

    assert_only_poison_held(seeded, run, records, records[0].pmid)


def test_a_truncated_batch_stores_its_whole_records_and_quarantines_the_cut_one(seeded, eutils_replay):
    records = synthetic_records(SIX)  # esearch order: newest first, so records[0] is in the second batch
    truncated = articleset_xml([r.xml for r in records[:3]])[:-60]
    server = eutils_replay(poisoned(SyntheticPubmed(records), records[0].pmid, truncated))

    run = execute(seeded, server, client=fast_client(server, efetch_batch_size=3))

    assert run.status == SearchRunStatus.SUCCEEDED and run.records_quarantined == 1
    assert Citation.objects.filter(pmid__in=[r.pmid for r in records]).count() == SIX - 1
    assert QuarantinedRecord.objects.get().pmid == records[2].pmid


def test_a_record_the_database_refuses_is_quarantined_and_its_batch_stored(seeded, eutils_replay, monkeypatch):
    records = synthetic_records(SIX)
    poison = records[3].pmid
    real = ingest_module._records_ingest

    def refusing(*, run, records, index):
        if any(r.pmid == poison for r in records):
            raise DataError("value too long for type character varying(12)")
        return real(run=run, records=records, index=index)

    monkeypatch.setattr(ingest_module, "_records_ingest", refusing)

    run = run_window(seeded, eutils_replay, records)

    held = assert_only_poison_held(seeded, run, records, poison)
    assert held.stage == "store" and "value too long" in held.reason


def test_a_record_missing_from_the_efetch_answer_is_held_not_lost(seeded, eutils_replay):
    records = synthetic_records(SIX)
    short = articleset_xml([r.xml for r in records[:2]])  # the batch asks for records[0..2]
    server = eutils_replay(poisoned(SyntheticPubmed(records), records[0].pmid, short))

    run = execute(seeded, server, client=fast_client(server, efetch_batch_size=3))

    assert run.records_quarantined == 1 and "absent from PubMed's answer" in QuarantinedRecord.objects.get().reason


def test_a_poison_record_found_again_is_held_once(seeded, eutils_replay):
    records = synthetic_records(SIX)
    records[1] = replaced(records[1], b"<Year>2021</Year></PubDate>", b"<Year>99999</Year></PubDate>")
    server = eutils_replay(SyntheticPubmed(records))

    execute(seeded, server, client=fast_client(server, efetch_batch_size=3), since=dt.date(2021, 2, 1))
    second = execute(seeded, server, client=fast_client(server, efetch_batch_size=3), since=dt.date(2021, 2, 1))

    assert second.records_quarantined == 1 and second.records_known == SIX - 1
    held = QuarantinedRecord.objects.get()
    assert held.search_run == second


def test_retry_stores_a_held_record_once_it_reads(seeded, eutils_replay):
    records = synthetic_records(SIX)
    records[1] = replaced(records[1], b"<Year>2021</Year></PubDate>", b"<Year>99999</Year></PubDate>")
    run_window(seeded, eutils_replay, records)
    held = QuarantinedRecord.objects.get()

    with pytest.raises(ValidationError, match=r"still fails: PMID .* publication_year 99999"):
        quarantined_record_retry(record=held)
    QuarantinedRecord.objects.filter(pk=held.pk).update(raw_xml=held.raw_xml.replace("99999", "2021"))
    held.refresh_from_db()
    quarantined_record_retry(record=held)

    held.refresh_from_db()
    assert held.status == QuarantineStatus.RETRIED and held.resolved_at is not None
    assert queue(seeded) == sorted(r.pmid for r in records)


def test_dismiss_takes_a_record_off_the_held_list(seeded, eutils_replay):
    records = synthetic_records(SIX)
    records[1] = replaced(records[1], b"<Year>2021</Year></PubDate>", b"<Year>99999</Year></PubDate>")
    run_window(seeded, eutils_replay, records)
    held = QuarantinedRecord.objects.get()

    quarantined_record_dismiss(record=held)

    held.refresh_from_db()
    assert held.status == QuarantineStatus.DISMISSED
    assert not Citation.objects.filter(pmid=held.pmid).exists()


def test_the_admin_lists_held_records_and_retries_or_dismisses_them(admin_client, seeded, eutils_replay):
    records = synthetic_records(SIX)
    records[1] = replaced(records[1], b"<Year>2021</Year></PubDate>", b"<Year>99999</Year></PubDate>")
    run_window(seeded, eutils_replay, records)
    held = QuarantinedRecord.objects.get()

    page = admin_client.get("/admin/evidence/quarantinedrecord/")
    assert page.status_code == 200 and held.pmid in page.content.decode()
    retried = admin_client.post(
        "/admin/evidence/quarantinedrecord/",
        {"action": "retry_records", "_selected_action": [held.pk]},
        follow=True,
    )
    assert "still fails" in retried.content.decode()
    admin_client.post(
        "/admin/evidence/quarantinedrecord/", {"action": "dismiss_records", "_selected_action": [held.pk]}
    )

    held.refresh_from_db()
    assert held.status == QuarantineStatus.DISMISSED


# ---------------------------------------------------------------------- esearch numbers and the command


@pytest.mark.parametrize("count", ["abc", "1e9", "²"])
def test_an_esearch_count_that_is_not_a_number_fails_the_run_with_a_clear_error(seeded, eutils_replay, count):
    body = f"<eSearchResult><Count>{count}</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList/></eSearchResult>"
    server = eutils_replay(
        scripted({"esearch": [Reply(body=body.encode(), headers=XML)]}, fallback=SyntheticPubmed([]))
    )

    with pytest.raises(EutilsPermanentError, match=rf"esearch Count '{count}' is not a whole number"):
        execute(seeded, server)

    assert SearchRun.objects.get().status == SearchRunStatus.FAILED


def test_an_esearch_count_beyond_pubmed_is_refused(seeded, eutils_replay):
    body = b"<eSearchResult><Count>1000000000</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList/></eSearchResult>"
    server = eutils_replay(scripted({"esearch": [Reply(body=body, headers=XML)]}, fallback=SyntheticPubmed([])))

    with pytest.raises(EutilsPermanentError, match="more than PubMed holds"):
        execute(seeded, server)


def test_poll_pubmed_ends_a_database_failure_in_one_line(seeded, eutils_replay, monkeypatch, caplog):
    server = eutils_replay(SyntheticPubmed(synthetic_records(SIX)))
    monkeypatch.setattr("evidence.surveillance.search.eutils_client_from_settings", lambda: fast_client(server))

    def broken(**kwargs):
        raise DataError('smallint out of range\nCONTEXT: COPY "evidence_citation"')

    monkeypatch.setattr("evidence.surveillance.search.batches.batch_ingest", broken)
    monkeypatch.setattr("evidence.surveillance.search.batch_ingest", broken)
    err = io.StringIO()

    with pytest.raises(CommandError, match="PubMed search failed for msc-ssc") as failed:
        call_command("poll_pubmed", "--review", "msc-ssc", stdout=io.StringIO(), stderr=err)

    # The command's last line (its error) is the one line that names the failure; stderr holds the bar alone.
    assert str(failed.value).startswith("PubMed search failed for msc-ssc: DataError: smallint out of range")
    assert "\n" not in str(failed.value) and "DataError" not in err.getvalue()
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO], "a traceback was logged"


def test_poll_pubmed_says_completed_with_n_quarantined(seeded, eutils_replay, monkeypatch):
    records = synthetic_records(SIX)
    records[1] = replaced(records[1], b"<Year>2021</Year></PubDate>", b"<Year>99999</Year></PubDate>")
    server = eutils_replay(SyntheticPubmed(records))
    monkeypatch.setattr("evidence.surveillance.search.eutils_client_from_settings", lambda: fast_client(server))
    out = io.StringIO()

    call_command("poll_pubmed", "--review", "msc-ssc", stdout=out, stderr=io.StringIO())

    assert "completed with 1 quarantined" in out.getvalue()
