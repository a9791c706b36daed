"""The E-utilities client against a real local HTTP server (tests/eutils_replay.py)."""

import ast
import datetime as dt
import multiprocessing
import os
import uuid
from pathlib import Path

import pytest

from evidence.surveillance.pubmed import (
    EutilsClient,
    EutilsConfig,
    EutilsPermanentError,
    EutilsTransientError,
    LocalRateLimiter,
    RedisRateLimiter,
)
from evidence.surveillance.pubmed_xml import parse_citations
from tests import eutils_replay as replay
from tests.eutils_replay import (
    Reply,
    SyntheticPubmed,
    cassette_replies,
    fixture_bytes,
    msc_ssc_records,
    scripted,
    synthetic_records,
)

# The shape of the review's MSC-SSc query (~700 characters), sent by POST.
MSC_SSC_QUERY = (
    '("Mesenchymal Stem Cells"[Mesh] OR "Mesenchymal Stem Cell Transplantation"[Mesh] OR '
    '"mesenchymal stem cell*"[tiab] OR "mesenchymal stromal cell*"[tiab] OR "MSC"[tiab] OR '
    '"stromal vascular fraction"[tiab] OR "adipose-derived regenerative cell*"[tiab] OR '
    '"adipose derived stem cell*"[tiab] OR "ADSC"[tiab] OR "umbilical cord"[tiab] OR '
    '"Wharton jelly"[tiab] OR "fat graft*"[tiab] OR "lipofilling"[tiab]) AND '
    '("Scleroderma, Systemic"[Mesh] OR "systemic sclerosis"[tiab] OR "scleroderma"[tiab] OR '
    '"SSc"[tiab] OR "CREST syndrome"[tiab] OR "diffuse cutaneous"[tiab] OR '
    '"limited cutaneous"[tiab] OR "digital ulcer*"[tiab] OR "Raynaud*"[tiab] OR '
    '"sclerodactyly"[tiab]) NOT ("animals"[Mesh] NOT "humans"[Mesh])'
)
eutils_replay = replay.eutils_replay  # the fixture, bound in this module
XML = {"Content-Type": "text/xml; charset=UTF-8"}
# Only a Redis the environment names (REDIS_URL, or the run's Redis broker): never one that merely answers on
# this machine, which may be another run's or a running site's.
_BROKER = os.environ.get("CELERY_BROKER_URL", "")
REDIS_URL = os.environ.get("REDIS_URL") or (_BROKER if _BROKER.startswith(("redis://", "rediss://")) else "")


class Unlimited:
    """No rate limit, so recorded sleeps are the backoff alone."""

    def acquire(self) -> None:
        pass


def make_client(server, *, sleeps=None, limiter=None, **config) -> EutilsClient:
    settings = {"tool": "msc-ssc-tests", "email": "tests@example.org", "timeout": 2.0} | config
    return EutilsClient(
        EutilsConfig(base_url=server.base_url, **settings),
        rate_limiter=limiter or Unlimited(),
        sleep=sleeps.append if sleeps is not None else (lambda _: None),
        rng=lambda: 0.5,
    )


def ok(name: str) -> Reply:
    return Reply(body=fixture_bytes(name), headers=XML)


# ------------------------------------------------------------------ layering


@pytest.mark.parametrize(
    "module", ["pubmed.py", "pubmed_xml/__init__.py", "pubmed_xml/types.py", "pubmed_xml/fields.py"]
)
def test_it_imports_nothing_of_django_or_the_models(module):
    source = Path(__file__).resolve().parents[3] / "evidence" / "surveillance" / module
    tree = ast.parse(source.read_text(encoding="utf-8"))

    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}

    assert not [m for m in imported if m.startswith(("django", "evidence.models", "rest_framework"))]


# ------------------------------------------------------------------ esearch


def test_it_posts_esearch_with_a_creation_date_window(eutils_replay):
    server = eutils_replay(scripted({"esearch": [ok("esearch_pubmed_usehistory_reldate.xml")]}))
    client = make_client(server)

    page = client.esearch(MSC_SSC_QUERY, mindate=dt.date(2021, 2, 1), maxdate=dt.date(2024, 12, 31))

    (request,) = server.requests
    assert request.method == "POST" and request.endpoint == "esearch"
    assert request.params["term"] == MSC_SSC_QUERY and len(MSC_SSC_QUERY) > 650
    assert request.params["datetype"] == "crdt"
    assert (request.params["mindate"], request.params["maxdate"]) == ("2021/02/01", "2024/12/31")
    assert request.params["usehistory"] == "y" and request.params["db"] == "pubmed"
    assert (page.count, page.query_key, page.webenv) == (42249, "1", "MCID_6927d6e7fee3e90f880ec190")
    assert len(page.ids) == 100


def test_it_pages_through_every_pmid_of_a_window(eutils_replay):
    records = synthetic_records(120, start=dt.date(2021, 3, 1), per_day=10)
    server = eutils_replay(SyntheticPubmed(records))
    client = make_client(server, page_size=50)

    pmids = list(client.iter_pmids("msc ssc", mindate=dt.date(2021, 3, 1), maxdate=dt.date(2021, 3, 31)))

    assert sorted(pmids) == sorted(r.pmid for r in records)
    assert [r.params["retstart"] for r in server.requests] == ["0", "50", "100"]
    assert {r.params["retmax"] for r in server.requests} == {"50"}
    assert client.requests_made == 3


def test_it_keeps_to_the_date_window(eutils_replay):
    records = synthetic_records(40, start=dt.date(2021, 3, 1), per_day=2)
    server = eutils_replay(SyntheticPubmed(records))
    client = make_client(server)

    pmids = list(client.iter_pmids("x", mindate=dt.date(2021, 3, 5), maxdate=dt.date(2021, 3, 6)))

    assert sorted(pmids) == [r.pmid for r in records if dt.date(2021, 3, 5) <= r.created <= dt.date(2021, 3, 6)]
    assert len(pmids) == 4


def test_it_splits_a_window_over_10000_records_by_date(eutils_replay):
    records = synthetic_records(12_000, start=dt.date(2021, 1, 1), per_day=200)  # 60 days
    server = eutils_replay(SyntheticPubmed(records))
    client = make_client(server, page_size=10_000)

    pmids = list(client.iter_pmids("x", mindate=dt.date(2021, 1, 1), maxdate=dt.date(2021, 3, 1)))

    assert len(pmids) == 12_000 and set(pmids) == {r.pmid for r in records}
    windows = [(r.params["mindate"], r.params["maxdate"]) for r in server.requests]
    assert windows == [("2021/01/01", "2021/03/01"), ("2021/01/01", "2021/01/30"), ("2021/01/31", "2021/03/01")]


def test_it_refuses_a_single_day_over_10000_records(eutils_replay):
    records = synthetic_records(10_001, start=dt.date(2021, 1, 1), per_day=20_000)
    server = eutils_replay(SyntheticPubmed(records))
    client = make_client(server, page_size=10)

    with pytest.raises(EutilsPermanentError, match="10001 records created on 2021-01-01 alone"):
        list(client.iter_pmids("x", mindate=dt.date(2021, 1, 1), maxdate=dt.date(2021, 1, 4)))


def test_it_reads_phrase_not_found_as_an_empty_result(eutils_replay):
    empty = ok("esearch_empty_phrasenotfound.xml")
    server = eutils_replay(scripted({"esearch": [empty, empty]}))
    client = make_client(server)

    pmids = list(client.iter_pmids("abcXYZ", mindate=dt.date(2024, 1, 1), maxdate=dt.date(2024, 1, 31)))
    page = client.esearch("abcXYZ")

    assert pmids == []
    assert page.count == 0 and page.ids == ()
    assert page.warnings == ("PhraseNotFound: abcXYZ", "OutputMessage: No items found.")


def test_it_reports_a_partial_error_list_as_a_warning(eutils_replay):
    server = eutils_replay(scripted({"esearch": [ok("esearch_partial_errorlist.xml")]}))

    page = make_client(server).esearch("obstetrics[MeSH Terms] OR fleegle[MeSH Terms]")

    assert page.count == 5163 and len(page.ids) == 20
    assert page.warnings == ("PhraseNotFound: fleegle[MeSH Terms]",)


def test_it_raises_a_permanent_error_on_an_error_body(eutils_replay):
    server = eutils_replay(scripted({"esearch": [ok("esearch_error_invalid_db.xml")]}))
    client = make_client(server)

    with pytest.raises(EutilsPermanentError, match="Invalid db name specified: fleegle"):
        client.esearch("cat")
    assert client.requests_made == 1, "an ERROR body is not retried"


def test_it_raises_a_permanent_error_on_malformed_xml(eutils_replay):
    server = eutils_replay(scripted({"esearch": [Reply(body=b"<eSearchResult><Count>3")]}))

    with pytest.raises(EutilsPermanentError, match="unreadable XML"):
        make_client(server).esearch("x")


def test_it_does_not_retry_a_client_error(eutils_replay):
    server = eutils_replay(scripted({"esearch": [Reply(400, b"bad request")]}))
    client = make_client(server)

    with pytest.raises(EutilsPermanentError, match="HTTP 400"):
        client.esearch("x")
    assert client.requests_made == 1


def test_it_replays_a_recorded_esearch_cassette(eutils_replay):
    (_, (endpoint, reply)) = cassette_replies("cassette_esearch_pubmed_ratelimit10.yaml")
    server = eutils_replay(scripted({endpoint: [reply]}))

    page = make_client(server).esearch("hart rk[author]")

    assert page.count == 34 and page.query_key == "1"
    assert reply.headers["X-RateLimit-Limit"] == "10"


# ------------------------------------------------------------------ retries


def test_it_retries_a_429_after_the_retry_after_seconds(eutils_replay):
    throttled = Reply(429, b'{"error":"API rate limit exceeded"}', {"Retry-After": "2"})
    server = eutils_replay(scripted({"esearch": [throttled, ok("esearch_pubmed_basic.xml")]}))
    sleeps = []
    client = make_client(server, sleeps=sleeps)

    page = client.esearch("biopython")

    assert page.count == 63
    assert sleeps == [2.0]
    assert client.requests_made == 2 and len(server.requests) == 2


def test_it_retries_a_server_error_with_jittered_backoff(eutils_replay):
    server = eutils_replay(scripted({"esearch": [Reply(500, b"oops"), ok("esearch_pubmed_basic.xml")]}))
    sleeps = []
    client = make_client(server, sleeps=sleeps, backoff_base=1.0)

    assert client.esearch("biopython").count == 63
    assert sleeps == [0.75], "equal jitter: cap/2 + rng * cap/2 with rng = 0.5"


def test_it_retries_after_a_timeout(eutils_replay):
    slow = Reply(body=fixture_bytes("esearch_pubmed_basic.xml"), delay=0.6)
    server = eutils_replay(scripted({"esearch": [slow, ok("esearch_pubmed_basic.xml")]}))
    sleeps = []
    client = make_client(server, sleeps=sleeps, timeout=0.2)

    assert client.esearch("biopython").count == 63
    assert len(sleeps) == 1 and client.requests_made == 2


def test_it_retries_a_refused_connection():
    config = EutilsConfig(base_url="http://127.0.0.1:9/entrez/eutils/", max_retries=1, timeout=1.0)
    client = EutilsClient(config, rate_limiter=Unlimited(), sleep=lambda _: None)

    with pytest.raises(EutilsTransientError, match="ConnectionError"):
        client.esearch("x")
    assert client.requests_made == 2


def test_it_gives_up_with_a_transient_error_when_retries_run_out(eutils_replay):
    server = eutils_replay(scripted({"esearch": [Reply(503, b"busy")] * 4}))
    sleeps = []
    client = make_client(server, sleeps=sleeps, max_retries=3, backoff_base=1.0, backoff_max=3.0)

    with pytest.raises(EutilsTransientError, match="HTTP 503 after 4 attempts"):
        client.esearch("x")
    assert sleeps == [0.75, 1.5, 2.25], "doubling, capped at backoff_max"
    assert client.requests_made == 4


# ------------------------------------------------------------------- efetch


def test_it_fetches_in_post_batches_of_at_most_500(eutils_replay):
    records = synthetic_records(1_201)
    server = eutils_replay(SyntheticPubmed(records))
    client = make_client(server)

    bodies = list(client.iter_efetch([r.pmid for r in records]))

    fetches = server.requests_to("efetch")
    assert [len(r.params["id"].split(",")) for r in fetches] == [500, 500, 201]
    assert {(r.method, r.params["retmode"], r.params["db"]) for r in fetches} == {("POST", "xml", "pubmed")}
    parsed = [c.pmid for body in bodies for c in parse_citations(body)]
    assert parsed == [r.pmid for r in records]


def test_it_refuses_an_efetch_over_the_batch_size(eutils_replay):
    client = make_client(eutils_replay(scripted({})))

    with pytest.raises(ValueError, match="at most 500"):
        client.efetch([str(i) for i in range(501)])


def test_it_fetches_a_stored_search_by_webenv(eutils_replay):
    records = synthetic_records(30)
    server = eutils_replay(SyntheticPubmed(records))
    client = make_client(server)

    page = client.esearch("x", retmax=0)
    body = client.efetch_history(page.webenv, page.query_key, retstart=10, retmax=5)

    assert page.count == 30
    fetched = server.requests[-1].params
    assert (fetched["WebEnv"], fetched["query_key"], fetched["retstart"]) == (page.webenv, "1", "10")
    assert len(parse_citations(body)) == 5


def test_it_raises_a_permanent_error_on_an_efetch_error_body(eutils_replay):
    error = Reply(body=b"<eFetchResult>\n<ERROR>UID=abc: cannot get document summary</ERROR>\n</eFetchResult>")
    server = eutils_replay(scripted({"efetch": [error]}))

    with pytest.raises(EutilsPermanentError, match="efetch ERROR: UID=abc"):
        make_client(server).efetch(["abc"])


def test_it_replays_the_recorded_efetch_cassette_without_its_encoding_headers(eutils_replay):
    ((endpoint, reply),) = cassette_replies("cassette_efetch_pubmed_rct_with_headers.yaml")
    server = eutils_replay(scripted({endpoint: [reply]}))

    (citation,) = parse_citations(make_client(server).efetch(["23121403"]))

    assert {k.lower() for k in reply.headers}.isdisjoint({"content-encoding", "transfer-encoding"})
    assert citation.pmid == "23121403"
    assert [r.accession for r in citation.registry_ids] == ["ACTRN12605000004662"]


def test_it_finds_the_new_msc_ssc_trials(eutils_replay):
    records = msc_ssc_records() + synthetic_records(20, start=dt.date(2019, 6, 1))
    server = eutils_replay(SyntheticPubmed(records))
    client = make_client(server)

    pmids = list(client.iter_pmids(MSC_SSC_QUERY, mindate=dt.date(2021, 2, 1), maxdate=dt.date(2024, 12, 31)))
    citations = {c.pmid: c for body in client.iter_efetch(pmids) for c in parse_citations(body)}

    assert sorted(pmids) == ["35358372", "38206544"]
    khanna, alip = citations["35358372"], citations["38206544"]
    assert khanna.doi == "10.1002/art.42133" and khanna.pmcid == "PMC9544105"
    assert [r.accession for r in khanna.registry_ids] == ["NCT02396238"]
    assert "Randomized Controlled Trial" in khanna.publication_types
    assert [r.accession for r in alip.registry_ids] == ["NCT00962923"]
    assert (alip.journal.iso_abbreviation, alip.journal.pages) == ("Clin Rheumatol", "1073-1082")


# ---------------------------------------------------------- identification


def test_it_sends_tool_email_and_api_key_on_every_request(eutils_replay):
    records = synthetic_records(3)
    programme = {"esearch": [Reply(502, b"bad gateway")]}
    server = eutils_replay(scripted(programme, fallback=SyntheticPubmed(records)))
    client = make_client(server, api_key="k3y")

    pmids = list(client.iter_pmids("x", mindate=dt.date(2021, 1, 1), maxdate=dt.date(2021, 12, 31)))
    list(client.iter_efetch(pmids))
    client.efetch_history(*_history(client), retstart=0, retmax=3)

    assert {r.endpoint for r in server.requests} == {"esearch", "efetch"}
    assert len(server.requests) == client.requests_made == 5
    for request in server.requests:
        assert (request.params["tool"], request.params["email"]) == ("msc-ssc-tests", "tests@example.org")
        assert request.params["api_key"] == "k3y"


def _history(client: EutilsClient) -> tuple[str, str]:
    page = client.esearch("x", retmax=0)
    return page.webenv, page.query_key


def test_it_sends_no_api_key_when_none_is_set(eutils_replay):
    server = eutils_replay(SyntheticPubmed(synthetic_records(2)))

    make_client(server).esearch("x")

    assert "api_key" not in server.requests[0].params


# -------------------------------------------------------------- rate limit


def spans(timestamps: list[float], k: int) -> list[float]:
    """The time covered by every run of ``k + 1`` consecutive requests."""
    ordered = sorted(timestamps)
    return [ordered[i + k] - ordered[i] for i in range(len(ordered) - k)]


def test_it_holds_three_requests_per_second_at_the_server(eutils_replay):
    server = eutils_replay(SyntheticPubmed(synthetic_records(5)))
    client = make_client(server, limiter=LocalRateLimiter(3.0))

    for _ in range(7):
        client.esearch("x", usehistory=False)

    assert len(server.requests) == 7
    assert min(spans([r.timestamp for r in server.requests], 3)) >= 0.97, "any 4 requests span >= 1 s"


def test_it_derives_the_rate_from_the_api_key():
    assert EutilsConfig().rate == 3.0
    assert EutilsConfig(api_key="k").rate == 10.0
    assert EutilsConfig(api_key="k", requests_per_second=5).rate == 5.0


def _redis_or_skip():
    if not REDIS_URL:
        pytest.skip("redis unavailable: the environment names none (REDIS_URL or a redis:// CELERY_BROKER_URL)")
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"redis unavailable at {REDIS_URL}: {exc}")
    return client


def _limited_requests(base_url: str, key: str, count: int) -> None:
    """Run in a separate process: ``count`` esearch calls through the shared limiter."""
    import redis

    config = EutilsConfig(base_url=base_url, tool="msc-ssc-tests", email="tests@example.org", api_key="k")
    limiter = RedisRateLimiter(redis.Redis.from_url(REDIS_URL), config.rate, key=key)
    client = EutilsClient(config, rate_limiter=limiter)
    for _ in range(count):
        client.esearch("x", usehistory=False)


@pytest.mark.services
@pytest.mark.slow
def test_it_shares_the_rate_limit_across_processes_through_redis(eutils_replay):
    redis_client = _redis_or_skip()
    key = f"eutils:ratelimit:test:{uuid.uuid4().hex}"
    server = eutils_replay(SyntheticPubmed(synthetic_records(5)))
    # fork keeps the test fast; the children only use their own sessions.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    workers = [context.Process(target=_limited_requests, args=(server.base_url, key, 8)) for _ in range(2)]

    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    redis_client.delete(key)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(server.requests) == 16
    # NCBI's rule is requests per second. Two unshared 10/s limiters would put all 16 requests in ~0.8 s;
    # the shared one reserves slots 0.1 s apart, and a busy machine may delay up to two sends into a later
    # slot's second, hence 12 at most.
    timestamps = sorted(r.timestamp for r in server.requests)
    busiest = max(sum(1 for t in timestamps if start <= t < start + 1.0) for start in timestamps)
    assert busiest <= 12, f"{busiest} requests reached the server within one second at 10/s"
    assert timestamps[-1] - timestamps[0] >= 1.45, "16 requests at 10/s span at least 1.5 s"


@pytest.mark.services
def test_it_spaces_two_redis_limiter_instances_sharing_a_key():
    redis_client = _redis_or_skip()
    key = f"eutils:ratelimit:test:{uuid.uuid4().hex}"
    sleeps = []
    first, second = (RedisRateLimiter(redis_client, 10.0, key=key, sleep=sleeps.append) for _ in range(2))

    first.acquire()
    second.acquire()
    first.acquire()

    redis_client.delete(key)
    assert sleeps[0] == pytest.approx(0.1, abs=0.02)
    assert sleeps[1] == pytest.approx(0.2, abs=0.02)


class BrokenRedis:
    """A Redis client whose every script call fails as if the server were down."""

    def __init__(self):
        self.calls = 0

    def register_script(self, _source):
        import redis

        def run(**_):
            self.calls += 1
            raise redis.ConnectionError("Connection refused")

        return run


def test_it_falls_back_to_an_in_process_limit_when_redis_is_down():
    broken = BrokenRedis()
    sleeps = []
    limiter = RedisRateLimiter(broken, 3.0, key="k", sleep=sleeps.append, clock=lambda: 100.0)

    limiter.acquire()
    limiter.acquire()

    assert sleeps == [pytest.approx(1 / 3)]
    assert broken.calls == 1, "redis is left alone for a while after a failure"
