"""`manage.py poll_pubmed` against the real local E-utilities server."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evidence.models import ReviewCitation, RunTrigger, SearchRun, SearchRunStatus, TriageStage
from tests import eutils_replay as replay
from tests.eutils_replay import Reply, SyntheticPubmed, msc_ssc_records, scripted
from tests.evidence.surveillance.test_search_run import fast_client

eutils_replay = replay.eutils_replay  # the fixture, bound in this module


def poll(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("poll_pubmed", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_fills_the_triage_queue_and_the_ledger(seeded, eutils_replay, settings):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    settings.EUTILS_BASE_URL = server.base_url  # the command builds its client from settings, as in production

    out, err = poll("--review", "msc-ssc")

    queued = ReviewCitation.objects.filter(review=seeded, stage=TriageStage.TITLE_ABSTRACT)
    assert sorted(queued.values_list("citation__pmid", flat=True)) == ["35358372", "38206544"]
    run = SearchRun.objects.get()
    assert run.status == SearchRunStatus.SUCCEEDED and run.triggered_by == "poll_pubmed"
    assert run.trigger == RunTrigger.COMMAND  # the ledger says which entry point started it
    assert (run.window_start, run.window_end) == (seeded.search_start_date, timezone.localdate())
    assert (run.records_found, run.records_new, run.requests_made) == (2, 2, 3)
    assert "2 found, 2 new in the screening queue" in out
    assert "[" + "#" * 30 + "] 2/2 records" in err
    assert {r.params["tool"] for r in server.requests} == {settings.NCBI_TOOL}


def test_it_searches_every_living_review_by_default(seeded, eutils_replay, monkeypatch):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    monkeypatch.setattr("evidence.surveillance.search.eutils_client_from_settings", lambda: fast_client(server))

    out, _ = poll("--since", "2023-01-01")

    run = SearchRun.objects.get()
    assert run.review == seeded and run.window_start == dt.date(2023, 1, 1)
    assert run.records_new == 1 and "msc-ssc" in out


def test_it_rejects_an_unknown_slug_naming_the_known_ones(seeded):
    with pytest.raises(CommandError, match=r"No review with slug 'nope'; known reviews: msc-ssc\."):
        poll("--review", "nope")
    assert not SearchRun.objects.exists()


@pytest.mark.parametrize("value", ["31/01/2024", "2024-02-30", "yesterday"])
def test_it_rejects_a_bad_date(seeded, value):
    with pytest.raises(CommandError, match="is not a date; use YYYY-MM-DD"):
        poll("--review", "msc-ssc", "--since", value)


def test_it_rejects_a_date_in_the_future(seeded):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(CommandError, match="is in the future"):
        poll("--since", tomorrow.isoformat())


def test_it_reports_a_failed_run_and_leaves_the_reason_in_the_ledger(seeded, eutils_replay, monkeypatch):
    error = b"<eSearchResult><ERROR>Search Backend failed</ERROR></eSearchResult>"
    server = eutils_replay(scripted({"esearch": [Reply(body=error)]}, fallback=SyntheticPubmed([])))
    monkeypatch.setattr("evidence.surveillance.search.eutils_client_from_settings", lambda: fast_client(server))
    with pytest.raises(CommandError, match="PubMed search failed for msc-ssc") as failed:
        call_command("poll_pubmed", "--review", "msc-ssc", stdout=io.StringIO(), stderr=io.StringIO())

    assert "Search Backend failed" in str(failed.value)
    run = SearchRun.objects.get()
    assert run.status == SearchRunStatus.FAILED and "Search Backend failed" in run.error


def test_it_says_so_when_the_review_is_already_being_searched(seeded):
    SearchRun.objects.create(review=seeded, query="q", window_start=dt.date(2024, 1, 1), window_end=dt.date(2024, 1, 2))

    with pytest.raises(CommandError, match="already has a PubMed search running"):
        poll("--review", "msc-ssc")


class _Offline:
    base_url = "http://127.0.0.1:1/"  # nothing listens on port 1: connection refused, as without a network


def test_without_network_it_ends_in_one_clear_line(seeded, monkeypatch, caplog):
    monkeypatch.setattr("evidence.surveillance.search.eutils_client_from_settings", lambda: fast_client(_Offline()))
    caplog.set_level("INFO")
    err = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("poll_pubmed", "--review", "msc-ssc", stdout=io.StringIO(), stderr=err)

    message = str(failed.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("PubMed search failed for msc-ssc: cannot reach PubMed (Connection refused, 3 attempts)")
    assert "HTTPConnectionPool" not in message
    assert err.getvalue().strip() == ""  # no retry lines, no second report of the same failure
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("evidence")]
    assert SearchRun.objects.get().status == SearchRunStatus.FAILED
