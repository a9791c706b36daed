"""A local stand-in for NCBI E-utilities, for tests and benchmarks.

:class:`ReplayServer` is a real HTTP server on 127.0.0.1 (an ephemeral port,
one thread per connection). Every request is recorded with a monotonic
timestamp taken at the server, then answered by a *handler*: any callable
``(RecordedRequest) -> Reply``. Two handlers are provided:

- :func:`scripted`: a queue of replies per endpoint (``"esearch"``,
  ``"efetch"``), e.g. a 429 with ``Retry-After`` then a real body; a reply
  with ``delay`` longer than the client's timeout forces a timeout.
- :class:`SyntheticPubmed`: a tiny PubMed over a list of
  :class:`SyntheticRecord` (PMID, creation date, record XML). esearch matches
  any term, honours ``mindate``/``maxdate`` on the creation date,
  ``retstart``/``retmax`` and ``usehistory``; efetch serves ``id`` lists or a
  stored ``WebEnv``/``query_key``.

Use the ``eutils_replay`` fixture from any test module by binding it there:
``from tests import eutils_replay as replay`` then
``eutils_replay = replay.eutils_replay`` (or import it in a conftest.py).

Test records: :func:`msc_ssc_records` builds the MSC-SSc trials published
after the seed review's search (real PMIDs, DOIs and NCT ids from the seed's
``primary.json``); :func:`synthetic_records` makes N records with fresh PMIDs;
:func:`build_records_xml` repeats the recorded fixtures under fresh PMIDs.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from lxml import etree
from lxml.builder import E

DATA_DIR = Path(__file__).resolve().parent / "data" / "eutils"
PUBMED_DOCTYPE = (
    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC '
    b'"-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)
_ESEARCH_DOCTYPE = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC '
    b'"-//NLM//DTD esearch 20060628//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
# Recorded headers that describe the recorded transfer, not the replayed one.
_XML = {"Content-Type": "text/xml; charset=UTF-8"}
_DROPPED_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection"}


@dataclass(frozen=True)
class RecordedRequest:
    """What the server saw: query-string and form parameters merged."""

    method: str
    path: str
    endpoint: str
    params: Mapping[str, str]
    timestamp: float


@dataclass(frozen=True)
class Reply:
    """What to answer; ``delay`` seconds pass before anything is sent."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[RecordedRequest], Reply]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length))

    def _serve(self, body: bytes) -> None:
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        params.update(parse_qs(body.decode("utf-8"), keep_blank_values=True))
        request = RecordedRequest(
            method=self.command,
            path=url.path,
            endpoint=url.path.rsplit("/", 1)[-1].removesuffix(".fcgi"),
            params={k: v[-1] for k, v in params.items()},
            timestamp=time.monotonic(),
        )
        self.server.replay.requests.append(request)
        reply = self.server.replay.handler(request)
        time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a forced timeout): nothing to answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    replay: ReplayServer


class ReplayServer:
    """An E-utilities look-alike at :attr:`base_url`, answering by ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[RecordedRequest] = []
        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self._server.replay = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/entrez/eutils/"

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def eutils_replay() -> Iterator[Callable[[Handler], ReplayServer]]:
    """Factory fixture: ``server = eutils_replay(handler)``; closed after the test."""
    servers: list[ReplayServer] = []

    def start(handler: Handler) -> ReplayServer:
        servers.append(ReplayServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def scripted(programme: Mapping[str, Sequence[Reply | Handler]], fallback: Handler | None = None) -> Handler:
    """Answer each endpoint from its queue in order, then from ``fallback``.

    A queue item is a :class:`Reply` or a handler called for that request.
    With the queue empty and no fallback the server answers 599 so the test
    fails loudly rather than hangs.
    """
    queues = {name: deque(items) for name, items in programme.items()}
    lock = threading.Lock()

    def handle(request: RecordedRequest) -> Reply:
        with lock:
            queue = queues.get(request.endpoint)
            item = queue.popleft() if queue else fallback
        if item is None:
            return Reply(599, f"replay: nothing scripted for {request.endpoint}".encode())
        return item if isinstance(item, Reply) else item(request)

    return handle


def fixture_bytes(name: str) -> bytes:
    """A recorded file from ``tests/data/eutils`` (see PROVENANCE.md there)."""
    return (DATA_DIR / name).read_bytes()


def cassette_replies(name: str) -> list[tuple[str, Reply]]:
    """The ``(endpoint, Reply)`` pairs of a vcrpy cassette in ``tests/data/eutils``.

    The stored bodies are already decompressed, so the recorded
    ``content-encoding``/``transfer-encoding`` headers are dropped.
    """
    cassette = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
    pairs = []
    for interaction in cassette["interactions"]:
        response = interaction["response"]
        headers = {
            key: values[-1] for key, values in response["headers"].items() if key.lower() not in _DROPPED_HEADERS
        }
        endpoint = urlsplit(interaction["request"]["uri"]).path.rsplit("/", 1)[-1]
        body = response["body"]["string"]
        reply = Reply(
            status=response["status"]["code"],
            body=body.encode("utf-8") if isinstance(body, str) else body,
            headers=headers,
        )
        pairs.append((endpoint.removesuffix(".fcgi"), reply))
    return pairs


# ----------------------------------------------------------------- records


@dataclass(frozen=True)
class ArticleSpec:
    """The parts of a PubMed record a test needs; the XML follows efetch's shape."""

    pmid: str
    title: str
    created: dt.date
    journal: str = "Synthetic journal of systemic sclerosis"
    iso_abbreviation: str = "Synth J Syst Scler"
    pub_year: int | None = None
    pub_month: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    authors: tuple[str, ...] = ()
    abstract: tuple[tuple[str, str], ...] = ()
    nct_ids: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ("Journal Article",)


def _optional(tag: str, text: object | None) -> list[etree._Element]:
    return [] if text is None else [E(tag, str(text))]


def _author(name: str) -> etree._Element:
    *given, last = name.replace(".", "").split()
    initials = "".join(part[0] for part in given)
    parts = [E.LastName(last), E.ForeName(" ".join(given)), E.Initials(initials)]
    return E.Author(*parts, ValidYN="Y")


def _date(tag: str, day: dt.date, **attrs: str) -> etree._Element:
    return E(tag, E.Year(str(day.year)), E.Month(str(day.month)), E.Day(str(day.day)), **attrs)


def _journal(spec: ArticleSpec) -> etree._Element:
    pub_date = E.PubDate(*_optional("Year", spec.pub_year or spec.created.year), *_optional("Month", spec.pub_month))
    issue = E.JournalIssue(
        *_optional("Volume", spec.volume), *_optional("Issue", spec.issue), pub_date, CitedMedium="Internet"
    )
    return E.Journal(issue, E.Title(spec.journal), E.ISOAbbreviation(spec.iso_abbreviation))


def _article(spec: ArticleSpec) -> etree._Element:
    parts = [_journal(spec), E.ArticleTitle(spec.title)]
    if spec.pages:
        parts.append(E.Pagination(E.MedlinePgn(spec.pages)))
    if spec.doi:
        parts.append(E.ELocationID(spec.doi, EIdType="doi", ValidYN="Y"))
    if spec.abstract:
        texts = [E.AbstractText(t, Label=lb, NlmCategory=lb) for lb, t in spec.abstract]
        parts.append(E.Abstract(*texts))
    if spec.authors:
        parts.append(E.AuthorList(*map(_author, spec.authors), CompleteYN="Y"))
    parts.append(E.Language("eng"))
    if spec.nct_ids:
        numbers = E.AccessionNumberList(*(E.AccessionNumber(n) for n in spec.nct_ids))
        bank = E.DataBank(E.DataBankName("ClinicalTrials.gov"), numbers)
        parts.append(E.DataBankList(bank, CompleteYN="Y"))
    types = [E.PublicationType(t) for t in spec.publication_types]
    parts.append(E.PublicationTypeList(*types))
    return E.Article(*parts, PubModel="Print-Electronic")


def article_xml(spec: ArticleSpec) -> bytes:
    """One ``<PubmedArticle>`` element shaped like a 2025 efetch record."""
    citation = E.MedlineCitation(E.PMID(spec.pmid, Version="1"), _article(spec), Status="MEDLINE", Owner="NLM")
    ids = [E.ArticleId(spec.pmid, IdType="pubmed")]
    ids += [E.ArticleId(v, IdType=k) for k, v in (("doi", spec.doi), ("pmc", spec.pmcid)) if v]
    # ``created`` stands for PubMed's creation date (crdt), which efetch does
    # not print; the entrez date is the nearest History entry.
    history = E.History(_date("PubMedPubDate", spec.created, PubStatus="entrez"))
    data = E.PubmedData(history, E.PublicationStatus("ppublish"), E.ArticleIdList(*ids))
    return etree.tostring(E.PubmedArticle(citation, data), encoding="utf-8")


@dataclass(frozen=True)
class SyntheticRecord:
    """A record of the synthetic PubMed: one ``<PubmedArticle>``, built on first use."""

    pmid: str
    created: dt.date
    spec: ArticleSpec | None = None
    raw_xml: bytes | None = None

    @classmethod
    def from_spec(cls, spec: ArticleSpec) -> SyntheticRecord:
        return cls(pmid=spec.pmid, created=spec.created, spec=spec)

    @cached_property
    def xml(self) -> bytes:
        return self.raw_xml if self.raw_xml is not None else article_xml(self.spec)


# Real identifiers from the seed's primary.json ``new_studies``; the abstract
# text is assembled from the seed's notes, not copied from the publication.
# Creation dates are close to the PMIDs' assignment but not verified.
MSC_SSC_SPECS = (
    ArticleSpec(
        pmid="35358372",
        title=(
            "Adipose-Derived Regenerative Cell Transplantation for the Treatment of "
            "Hand Dysfunction in Systemic Sclerosis: A Randomized Clinical Trial"
        ),
        created=dt.date(2022, 3, 31),
        journal="Arthritis & rheumatology (Hoboken, N.J.)",
        iso_abbreviation="Arthritis Rheumatol",
        pub_year=2022,
        doi="10.1002/art.42133",
        pmcid="PMC9544105",
        authors=("Dinesh Khanna", "Paul Caldron", "Richard W. Martin", "Daniel E. Furst"),
        abstract=(
            (
                "OBJECTIVE",
                "Autologous adipose-derived regenerative cells (ADRCs) for hand "
                "dysfunction in systemic sclerosis (SSc).",
            ),
            (
                "METHODS",
                "Randomized, double-blind, placebo-controlled multicentre trial: "
                "48 ADRC and 40 placebo; primary end point change in Cochin Hand Function "
                "Scale (CHFS) at 24 and 48 weeks (STAR, NCT02396238).",
            ),
            ("RESULTS", "Mean +/- SD CHFS improvement at 48 weeks 11.0 +/- 12.5 vs 8.9 +/- 10.5 (P = 0.299)."),
        ),
        nct_ids=("NCT02396238",),
        publication_types=("Journal Article", "Multicenter Study", "Randomized Controlled Trial"),
    ),
    ArticleSpec(
        pmid="38206544",
        title=(
            "Umbilical cord mesenchymal stem cells transplantation in patients with "
            "systemic sclerosis: a 5-year follow-up study"
        ),
        created=dt.date(2024, 1, 11),
        journal="Clinical rheumatology",
        iso_abbreviation="Clin Rheumatol",
        pub_year=2024,
        pub_month="Mar",
        volume="43",
        issue="3",
        pages="1073-1082",
        doi="10.1007/s10067-024-06865-z",
        authors=("Mihribangvl Alip", "Dandan Wang", "Xuebing Feng", "Lingyun Sun"),
        abstract=(
            (
                "METHODS",
                "Longitudinal retrospective analysis of 41 patients with "
                "moderate-severe SSc given umbilical cord MSC transplantation, 2009-2017 "
                "(NCT00962923); primary outcome overall survival.",
            ),
            ("RESULTS", "mRSS 13.95 +/- 8.49 at 1 year (n = 41) and 13.29 +/- 7.67 at 3 years (n = 38)."),
        ),
        publication_types=("Comparative Study", "Journal Article"),
    ),
)


def msc_ssc_records() -> list[SyntheticRecord]:
    """The MSC-SSc studies a first living update should find (Khanna 2022, Alip 2024)."""
    return [SyntheticRecord.from_spec(spec) for spec in MSC_SSC_SPECS]


def synthetic_records(
    n: int, *, first_pmid: int = 90_000_001, start: dt.date = dt.date(2021, 2, 1), per_day: int = 5
) -> list[SyntheticRecord]:
    """``n`` small records with fresh PMIDs, ``per_day`` created per day from ``start``."""
    records = []
    for i in range(n):
        spec = ArticleSpec(
            pmid=str(first_pmid + i),
            title=f"Synthetic mesenchymal stromal cell record {i} in systemic sclerosis.",
            created=start + dt.timedelta(days=i // per_day),
        )
        records.append(SyntheticRecord.from_spec(spec))
    return records


def _esearch_xml(count: int, retstart: int, ids: Sequence[str], history: tuple[str, str] | None) -> bytes:
    parts = [E.Count(str(count)), E.RetMax(str(len(ids))), E.RetStart(str(retstart))]
    if history:
        parts += [E.QueryKey(history[1]), E.WebEnv(history[0])]
    parts += [E.IdList(*(E.Id(i) for i in ids)), E.TranslationSet()]
    parts.append(E.QueryTranslation("synthetic[All Fields]"))
    return _ESEARCH_DOCTYPE + etree.tostring(E.eSearchResult(*parts))


def articleset_xml(records: Sequence[bytes]) -> bytes:
    """A ``PubmedArticleSet`` document around record elements."""
    return PUBMED_DOCTYPE + b"<PubmedArticleSet>\n" + b"\n".join(records) + b"\n</PubmedArticleSet>\n"


class SyntheticPubmed:
    """A handler serving esearch and efetch over ``records`` (any term matches)."""

    def __init__(self, records: Sequence[SyntheticRecord]) -> None:
        self._ordered = sorted(records, key=lambda r: (r.created, int(r.pmid)), reverse=True)
        self._by_pmid = {r.pmid: r for r in records}
        self._history: dict[str, list[SyntheticRecord]] = {}
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.endpoint == "esearch":
            return self._esearch(request.params)
        if request.endpoint == "efetch":
            return self._efetch(request.params)
        return Reply(400, b"unknown endpoint")

    def _esearch(self, params: Mapping[str, str]) -> Reply:
        hits = self._ordered
        if params.get("mindate") and params.get("maxdate"):
            low = dt.datetime.strptime(params["mindate"], "%Y/%m/%d").date()
            high = dt.datetime.strptime(params["maxdate"], "%Y/%m/%d").date()
            hits = [r for r in hits if low <= r.created <= high]
        retstart, retmax = int(params.get("retstart", 0)), int(params.get("retmax", 20))
        history = None
        if params.get("usehistory") == "y":
            with self._lock:
                webenv = f"MCID_replay{len(self._history) + 1:06d}"
                self._history[webenv] = hits
            history = (webenv, "1")
        ids = [r.pmid for r in hits[retstart : retstart + retmax]]
        return Reply(body=_esearch_xml(len(hits), retstart, ids, history), headers=_XML)

    def _efetch(self, params: Mapping[str, str]) -> Reply:
        if params.get("id"):
            wanted = [self._by_pmid.get(p) for p in params["id"].split(",")]
            found = [r for r in wanted if r is not None]
        elif params.get("WebEnv") in self._history:
            start, size = int(params.get("retstart", 0)), int(params.get("retmax", 20))
            found = self._history[params["WebEnv"]][start : start + size]
        else:
            body = b"<eFetchResult><ERROR>Empty id list - nothing todo</ERROR></eFetchResult>"
            return Reply(body=body, headers=_XML)
        return Reply(body=articleset_xml([r.xml for r in found]), headers=_XML)


def _fixture_templates() -> list[bytes]:
    """Every recorded efetch record with its own PMID replaced by ``{{PMID}}``."""
    bodies = [p.read_bytes() for p in sorted(DATA_DIR.glob("efetch_pubmed_*.xml"))]
    bodies += [r.body for e, r in cassette_replies("cassette_efetch_pubmed_rct_with_headers.yaml")]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    templates = []
    for body in bodies:
        for record in etree.fromstring(body, parser):
            core = record.find("MedlineCitation")
            own = (core if core is not None else record.find("BookDocument")).find("PMID")
            pmid = own.text
            for node in [own, *record.iterfind("PubmedData/ArticleIdList/ArticleId")]:
                if node.text == pmid and node.get("IdType", "pubmed") == "pubmed":
                    node.text = "{{PMID}}"
            templates.append(etree.tostring(record, encoding="utf-8"))
    return templates


def build_records_xml(n: int, *, first_pmid: int = 80_000_001) -> bytes:
    """A ``PubmedArticleSet`` of ``n`` records: the fixtures repeated, fresh PMIDs."""
    templates = _fixture_templates()
    records = [templates[i % len(templates)].replace(b"{{PMID}}", str(first_pmid + i).encode()) for i in range(n)]
    return articleset_xml(records)
