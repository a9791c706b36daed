"""search_run_execute against the real local E-utilities server (tests/eutils_replay.py)."""

import datetime as dt

import pytest
from lxml import etree
from lxml.builder import E

from evidence.models import Citation, CitationOrigin, ReviewCitation, SearchRun, SearchRunStatus, TriageStage
from evidence.surveillance.pubmed import EutilsClient, EutilsConfig, EutilsPermanentError, EutilsTransientError
from evidence.surveillance.pubmed_xml import PubmedXmlError
from evidence.surveillance.search import SearchRunAlreadyRunning, search_run_execute
from tests import eutils_replay as replay
from tests.eutils_replay import (
    ArticleSpec,
    Reply,
    SyntheticPubmed,
    SyntheticRecord,
    article_xml,
    msc_ssc_records,
    scripted,
    synthetic_records,
)

eutils_replay = replay.eutils_replay  # the fixture, bound in this module
TODAY = dt.date(2025, 6, 30)
XML = {"Content-Type": "text/xml; charset=UTF-8"}
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>&xxe;</MedlineCitation>"
    b"</PubmedArticle></PubmedArticleSet>"
)
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'.encode() for i in range(1, 10))
    + b"]>\n<PubmedArticleSet><PubmedArticle>&lol9;</PubmedArticle></PubmedArticleSet>"
)


class Unlimited:
    def acquire(self) -> None:
        pass


def fast_client(server, **config) -> EutilsClient:
    """No rate limit and no backoff sleeps, so retry tests run instantly."""
    settings = {"tool": "msc-ssc-tests", "email": "tests@example.org", "timeout": 1.0, "max_retries": 2} | config
    return EutilsClient(
        EutilsConfig(base_url=server.base_url, **settings), rate_limiter=Unlimited(), sleep=lambda _: None
    )


def execute(review, server, **kwargs) -> SearchRun:
    client = kwargs.pop("client", None) or fast_client(server)
    return search_run_execute(review=review, triggered_by="test", client=client, today=TODAY, **kwargs)


def queue(review) -> list[str]:
    rows = ReviewCitation.objects.filter(review=review, stage=TriageStage.TITLE_ABSTRACT)
    return sorted(rows.values_list("citation__pmid", flat=True))


def with_corrections(record: SyntheticRecord, *links: tuple[str, str]) -> SyntheticRecord:
    """The record with ``CommentsCorrections`` links ``(RefType, PMID)`` added, as PubMed adds them."""
    root = etree.fromstring(record.xml)
    items = [E.CommentsCorrections(E.RefSource("Notice"), E.PMID(pmid), RefType=kind) for kind, pmid in links]
    root.find("MedlineCitation").append(E.CommentsCorrectionsList(*items))
    return SyntheticRecord(pmid=record.pmid, created=record.created, raw_xml=etree.tostring(root))


def poisoned(handler, pmid: str, body: bytes):
    """``handler``, except an efetch asking for ``pmid`` is answered with ``body``."""

    def handle(request):
        if request.endpoint == "efetch" and pmid in request.params.get("id", "").split(","):
            return Reply(body=body, headers=XML)
        return handler(request)

    return handle


# ---------------------------------------------------------------------- the happy path


def test_it_queues_new_records_for_title_abstract_screening(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))

    run = execute(seeded, server)

    assert run.status == SearchRunStatus.SUCCEEDED
    assert queue(seeded) == ["35358372", "38206544"]
    khanna = Citation.objects.get(pmid="35358372")
    assert khanna.doi == "10.1002/art.42133"
    assert khanna.first_author == "Khanna"
    assert khanna.registry_ids == ["NCT02396238"]
    assert khanna.abstract_sections[0]["label"] == khanna.abstract_sections[0]["category"] == "OBJECTIVE"
    assert khanna.abstract.startswith("OBJECTIVE: Autologous adipose-derived regenerative cells")
    assert khanna.origin == CitationOrigin.SEARCH and khanna.search_run == run
    assert set(ReviewCitation.objects.filter(search_run=run).values_list("citation__pmid", flat=True)) == {
        "35358372",
        "38206544",
    }


def test_it_records_the_run_in_the_ledger(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))

    run = execute(seeded, server)

    run.refresh_from_db()
    assert (run.window_start, run.window_end) == (dt.date(2021, 2, 1), TODAY)
    assert run.query == seeded.pubmed_query
    # Alip 2024 shares NCT00962923 with the included Zhang 2017: a possible overlapping cohort (issue 14).
    assert (run.records_found, run.records_new, run.records_known, run.possible_duplicates) == (2, 2, 0, 1)
    # esearch, the included reports' re-check, the window's efetch
    assert run.requests_made == len(server.requests) == 3
    assert run.triggered_by == "test" and run.finished_at >= run.started_at and run.error == ""


def test_it_starts_the_next_window_three_days_before_the_last_successful_one_ended(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    execute(seeded, server)

    run = search_run_execute(
        review=seeded, triggered_by="test", client=fast_client(server), today=TODAY + dt.timedelta(days=1)
    )

    assert (run.window_start, run.window_end) == (TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=1))


def test_it_searches_from_since_when_given(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))

    run = execute(seeded, server, since=dt.date(2023, 1, 1))

    assert run.window_start == dt.date(2023, 1, 1)
    assert queue(seeded) == ["38206544"]  # Khanna 2022 was created before the window


def test_it_pages_through_esearch_and_fetches_in_batches(seeded, eutils_replay):
    records = synthetic_records(23)
    server = eutils_replay(SyntheticPubmed(records))
    progress = []

    run = execute(
        seeded,
        server,
        client=fast_client(server, page_size=5, efetch_batch_size=10),
        progress=lambda *a: progress.append(a),
    )

    assert queue(seeded) == sorted(r.pmid for r in records)
    assert len(server.requests_to("esearch")) == 5
    assert [len(r.params["id"].split(",")) for r in server.requests_to("efetch")][1:] == [10, 10, 3]
    assert progress == [(0, 23), (10, 23), (20, 23), (23, 23)]
    assert run.records_found == run.records_new == 23


def test_it_succeeds_with_nothing_found(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed([]))

    run = execute(seeded, server)

    assert run.status == SearchRunStatus.SUCCEEDED
    assert (run.records_found, run.records_new) == (0, 0)
    assert queue(seeded) == []


# ---------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    "first",
    [Reply(429, b"Too Many Requests", headers={"Retry-After": "0"}), Reply(500, b"Internal Server Error")],
    ids=["429", "500"],
)
def test_it_retries_a_transient_answer_then_succeeds(seeded, eutils_replay, first):
    server = eutils_replay(
        scripted({"esearch": [first], "efetch": [first]}, fallback=SyntheticPubmed(msc_ssc_records()))
    )

    run = execute(seeded, server)

    assert run.status == SearchRunStatus.SUCCEEDED
    assert queue(seeded) == ["35358372", "38206544"]
    assert run.requests_made == len(server.requests) == 5


def test_it_retries_a_timeout_then_succeeds(seeded, eutils_replay):
    synthetic = SyntheticPubmed(msc_ssc_records())
    server = eutils_replay(scripted({"esearch": [Reply(body=b"late", delay=0.6)]}, fallback=synthetic))

    run = execute(seeded, server, client=fast_client(server, timeout=0.3))

    assert run.status == SearchRunStatus.SUCCEEDED
    assert queue(seeded) == ["35358372", "38206544"]


def test_it_fails_the_run_when_the_timeouts_outlast_the_retries(seeded, eutils_replay):
    server = eutils_replay(lambda request: Reply(body=b"late", delay=0.6))

    with pytest.raises(EutilsTransientError):
        execute(seeded, server, client=fast_client(server, timeout=0.3, max_retries=1))

    run = SearchRun.objects.get()
    assert run.status == SearchRunStatus.FAILED
    assert "EutilsTransientError" in run.error and "ReadTimeout" in run.error
    assert run.requests_made == 2


# ---------------------------------------------------------------------- bad answers


def test_it_fails_cleanly_on_an_error_body(seeded, eutils_replay):
    error = b"<eSearchResult><ERROR>Invalid query syntax</ERROR></eSearchResult>"
    server = eutils_replay(scripted({"esearch": [Reply(body=error, headers=XML)]}, fallback=SyntheticPubmed([])))
    before = Citation.objects.count()

    with pytest.raises(EutilsPermanentError):
        execute(seeded, server)

    run = SearchRun.objects.get()
    assert run.status == SearchRunStatus.FAILED
    assert "Invalid query syntax" in run.error
    assert Citation.objects.count() == before and queue(seeded) == []


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["external-entity", "billion-laughs"])
def test_it_refuses_xml_that_declares_entities(seeded, eutils_replay, payload):
    records = msc_ssc_records()
    server = eutils_replay(poisoned(SyntheticPubmed(records), records[0].pmid, payload))

    with pytest.raises(PubmedXmlError, match="declares entities"):
        execute(seeded, server)

    run = SearchRun.objects.get()
    assert run.status == SearchRunStatus.FAILED and "declares entities" in run.error
    assert queue(seeded) == []


# ---------------------------------------------------------------------- idempotency and crashes


def test_it_writes_the_same_rows_when_the_same_night_runs_twice(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    execute(seeded, server)
    rows = sorted(ReviewCitation.objects.values_list("id", "citation_id", "stage", "search_run_id"))
    citations = Citation.objects.count()

    second = execute(seeded, server, since=dt.date(2021, 2, 1))  # the same window again

    assert sorted(ReviewCitation.objects.values_list("id", "citation_id", "stage", "search_run_id")) == rows
    assert Citation.objects.count() == citations
    assert (second.records_found, second.records_new, second.records_known) == (2, 0, 2)


@pytest.mark.django_db(transaction=True)
def test_a_crash_after_the_first_batch_loses_nothing_and_the_next_run_completes(seeded, eutils_replay, monkeypatch):
    from evidence.surveillance.search import batches as search

    records = synthetic_records(9)
    server = eutils_replay(SyntheticPubmed(records))
    real_ingest = search.records_ingest

    def crash_after_first_batch(**kwargs):
        real_ingest(**kwargs)
        raise RuntimeError("worker lost after batch 1")

    monkeypatch.setattr(search, "records_ingest", crash_after_first_batch)
    with pytest.raises(RuntimeError):
        execute(seeded, server, client=fast_client(server, efetch_batch_size=4))
    assert len(queue(seeded)) == 4  # batch 1 committed
    monkeypatch.setattr(search, "records_ingest", real_ingest)

    run = execute(seeded, server, client=fast_client(server, efetch_batch_size=4))

    failed = SearchRun.objects.get(status=SearchRunStatus.FAILED)
    assert "worker lost after batch 1" in failed.error
    assert run.window_start == failed.window_start  # the failed window is searched again
    assert queue(seeded) == sorted(r.pmid for r in records)
    assert Citation.objects.filter(pmid__in=[r.pmid for r in records]).count() == 9
    assert (run.records_new, run.records_known) == (5, 4)


def test_a_second_run_of_the_same_review_is_refused_while_one_runs(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    running = SearchRun.objects.create(
        review=seeded, query="q", window_start=dt.date(2021, 2, 1), window_end=TODAY, triggered_by="beat"
    )

    with pytest.raises(SearchRunAlreadyRunning, match="already has a PubMed search running"):
        execute(seeded, server)

    assert list(SearchRun.objects.all()) == [running]
    assert server.requests == []


def test_a_run_whose_heartbeat_stopped_two_minutes_ago_stops_blocking(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    stale = SearchRun.objects.create(review=seeded, query="q", window_start=dt.date(2021, 2, 1), window_end=TODAY)
    silent_since = stale.started_at - dt.timedelta(minutes=3)
    SearchRun.objects.filter(pk=stale.pk).update(started_at=silent_since, heartbeat_at=silent_since)

    run = execute(seeded, server)

    stale.refresh_from_db()
    assert stale.status == SearchRunStatus.FAILED and "Abandoned" in stale.error
    assert run.status == SearchRunStatus.SUCCEEDED


def test_a_long_run_with_a_fresh_heartbeat_still_blocks(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    running = SearchRun.objects.create(review=seeded, query="q", window_start=dt.date(2021, 2, 1), window_end=TODAY)
    SearchRun.objects.filter(pk=running.pk).update(started_at=running.started_at - dt.timedelta(hours=7))
    SearchRun.objects.filter(pk=running.pk).update(heartbeat_at=running.started_at)

    with pytest.raises(SearchRunAlreadyRunning):
        execute(seeded, server)


# ---------------------------------------------------------------------- deduplication


def test_it_adopts_a_report_without_pmid_that_has_the_same_doi(seeded, eutils_replay):
    existing = Citation.objects.create(doi="10.1002/ART.42133", title="Khanna 2022 (hand entered)", origin="manual")
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))

    execute(seeded, server)

    existing.refresh_from_db()
    assert existing.pmid == "35358372"
    assert existing.title == "Khanna 2022 (hand entered)"  # a curated field is not overwritten
    assert existing.abstract  # a blank one is filled
    assert Citation.objects.filter(pmid="35358372").count() == 1


def test_it_flags_a_near_duplicate_for_a_reviewer_without_merging(seeded, eutils_replay):
    title = "Umbilical cord mesenchymal stem-cells transplantation in patients with systemic sclerosis — a 5 year follow up study!"
    earlier = Citation.objects.create(title=title, publication_year=2024, first_author="ALIP", origin="manual")
    ReviewCitation.objects.create(review=seeded, citation=earlier)
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))

    run = execute(seeded, server)

    alip = ReviewCitation.objects.get(review=seeded, citation__pmid="38206544")
    assert alip.possible_duplicate_of == earlier
    assert alip.stage == TriageStage.TITLE_ABSTRACT
    assert ReviewCitation.objects.get(review=seeded, citation__pmid="35358372").possible_duplicate_of is None
    assert run.possible_duplicates == 1


def test_it_counts_a_citation_already_in_the_review_as_known(seeded, eutils_replay):
    existing = Citation.objects.create(pmid="38206544", title="Alip 2024", origin="manual")
    ReviewCitation.objects.create(review=seeded, citation=existing, stage=TriageStage.FULL_TEXT)
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))

    run = execute(seeded, server)

    assert ReviewCitation.objects.get(review=seeded, citation=existing).stage == TriageStage.FULL_TEXT
    assert (run.records_new, run.records_known) == (1, 1)


# ---------------------------------------------------------------------- included reports re-checked


def included_citation(review) -> Citation:
    rc = ReviewCitation.objects.filter(review=review, stage=TriageStage.INCLUDED, citation__pmid__isnull=False)
    return rc.order_by("citation__pmid").first().citation


def test_it_flags_an_included_report_that_pubmed_now_marks_retracted(seeded, eutils_replay):
    included = included_citation(seeded)
    spec = ArticleSpec(pmid=included.pmid, title=included.title, created=dt.date(2015, 1, 1))
    record = SyntheticRecord(pmid=spec.pmid, created=spec.created, raw_xml=article_xml(spec))
    retracted = with_corrections(record, ("RetractionIn", "39999999"), ("ErratumIn", "39999998"))
    server = eutils_replay(SyntheticPubmed([*msc_ssc_records(), retracted]))

    run = execute(seeded, server)

    included.refresh_from_db()
    assert included.is_retracted and included.has_erratum
    assert {"reftype": "RetractionIn", "pmid": "39999999", "refsource": "Notice"} in included.comments_corrections
    assert run.citations_flagged == 1
    assert included.history.first().history_change_reason.startswith(f"PubMed search run {run.pk}")
    assert execute(seeded, server).citations_flagged == 0  # flagged once, not every night


# ---------------------------------------------------------------------- the ledger in the admin


def test_the_ledger_is_read_only_in_the_admin(admin_client, seeded, eutils_replay):
    from django.urls import reverse

    error = b"<eSearchResult><ERROR>Invalid query syntax</ERROR></eSearchResult>"
    server = eutils_replay(scripted({"esearch": [Reply(body=error, headers=XML)]}, fallback=SyntheticPubmed([])))
    with pytest.raises(EutilsPermanentError):
        execute(seeded, server)
    run = SearchRun.objects.get()

    page = admin_client.get(reverse("admin:evidence_searchrun_changelist"), {"status__exact": "failed", "q": "msc"})

    assert page.status_code == 200
    assert "Invalid query syntax" in page.content.decode()
    assert admin_client.get(reverse("admin:evidence_searchrun_add")).status_code == 403
    assert admin_client.post(reverse("admin:evidence_searchrun_delete", args=[run.pk])).status_code == 403
