"""A small NCBI E-utilities client for PubMed searches and fetches.

Everything it needs is injected: an :class:`EutilsConfig`, optionally a
``requests.Session``, a rate limiter, and the ``sleep``/``clock``/``random``
functions (so tests of backoff run instantly). It imports nothing of Django or
of ``evidence.models``; callers turn its results into rows.

NCBI rules kept here (NBK25497, "Usage Guidelines and Requirements"): ``tool``
and ``email`` (and ``api_key`` when set) on every request; at most 3 requests
per second without an API key and 10 with one, across every process sharing
the key or the IP address (hence the Redis limiter); long queries by POST;
esearch can page through at most the first 10,000 records of a query, so a
larger creation-date window is bisected into smaller ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests

from evidence.surveillance.pubmed_xml import PubmedXmlError, parse_esearch

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
ESEARCH_MAX_RECORDS = 10_000  # esearch cannot page beyond the first 10,000 ids
EFETCH_MAX_BATCH = 500
_RETRY_AFTER_CAP = 300.0  # seconds; a longer Retry-After is treated as this


class EutilsError(Exception):
    """Any failure talking to E-utilities."""


class EutilsTransientError(EutilsError):
    """429, 5xx, timeout or connection failure that outlived every retry."""


class EutilsPermanentError(EutilsError):
    """A failure that retrying cannot fix: 4xx, an ``<ERROR>`` body, bad XML."""


@dataclass(frozen=True)
class EutilsConfig:
    """How to reach E-utilities.

    Parameters
    ----------
    base_url
        Ends with ``/``; ``esearch.fcgi``/``efetch.fcgi`` are appended.
    tool, email
        Sent on every request, as NCBI requires.
    api_key
        Raises the default rate from 3 to 10 requests per second.
    timeout
        Seconds for connecting and for each read of a response.
    max_retries
        Retries after the first attempt for 429, 5xx, timeouts and resets.
    backoff_base, backoff_max
        Exponential backoff ``base * 2**attempt`` capped at ``max``, jittered.
    redis_url
        When set, the rate limit is shared through Redis by every process.
    requests_per_second
        Overrides the rate implied by ``api_key``.
    page_size
        ``retmax`` when paging esearch ids (at most 10,000).
    efetch_batch_size
        Ids per efetch POST (at most 500).
    """

    base_url: str = DEFAULT_BASE_URL
    tool: str = "msc-ssc-living-review"
    email: str = ""
    api_key: str | None = None
    timeout: float = 30.0
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    redis_url: str | None = None
    requests_per_second: float | None = None
    page_size: int = 5_000
    efetch_batch_size: int = EFETCH_MAX_BATCH

    def __post_init__(self) -> None:
        if not 1 <= self.efetch_batch_size <= EFETCH_MAX_BATCH:
            raise ValueError(f"efetch_batch_size must be 1..{EFETCH_MAX_BATCH}")
        if not 1 <= self.page_size <= ESEARCH_MAX_RECORDS:
            raise ValueError(f"page_size must be 1..{ESEARCH_MAX_RECORDS}")
        if self.max_retries < 0 or self.timeout <= 0:
            raise ValueError("max_retries must be >= 0 and timeout > 0")

    @property
    def rate(self) -> float:
        """Requests per second this configuration may make."""
        if self.requests_per_second:
            return self.requests_per_second
        return 10.0 if self.api_key else 3.0


@dataclass(frozen=True)
class EsearchPage:
    """One esearch response; ``warnings`` hold ``ErrorList``/``WarningList`` text."""

    count: int
    retstart: int
    retmax: int
    ids: tuple[str, ...]
    webenv: str | None
    query_key: str | None
    query_translation: str | None
    warnings: tuple[str, ...]


# ------------------------------------------------------------- rate limiting


class RateLimiter(Protocol):
    """Blocks in ``acquire`` until one more request may be sent."""

    def acquire(self) -> None: ...


class LocalRateLimiter:
    """Spaces requests at least ``1/rate`` seconds apart within one process.

    Each caller reserves the next free slot under a lock and sleeps until it,
    so any ``k + 1`` consecutive requests span at least ``k / rate`` seconds.
    """

    def __init__(
        self, rate: float, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


# Reserve the next slot atomically on the Redis server's own clock, so the
# spacing holds for every process (and host) sharing the key. Returns the
# microseconds the caller must wait before sending.
_RESERVE_SLOT_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', tonumber(ARGV[2]))
return slot - now
"""


class RedisRateLimiter:
    """Spaces requests ``1/rate`` apart across processes through one Redis key.

    If Redis fails the limiter logs a warning and limits in-process for
    ``retry_redis_after`` seconds rather than stopping the search run; NCBI
    answers any excess with 429, which the client retries.
    """

    def __init__(
        self,
        client: object,
        rate: float,
        *,
        key: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        retry_redis_after: float = 30.0,
    ) -> None:
        self.interval_us = int(1_000_000 / rate)
        self.key = key
        self._sleep, self._clock = sleep, clock
        self._script = client.register_script(_RESERVE_SLOT_LUA)
        self._fallback = LocalRateLimiter(rate, clock=clock, sleep=sleep)
        self._retry_redis_after = retry_redis_after
        self._redis_down_until = float("-inf")

    def acquire(self) -> None:
        import redis

        if self._clock() < self._redis_down_until:
            self._fallback.acquire()
            return
        try:
            wait_us = int(self._script(keys=[self.key], args=[self.interval_us, 60_000]))
        except redis.RedisError as exc:
            logger.warning("eutils rate limiter: redis failed (%s); limiting in-process", exc)
            self._redis_down_until = self._clock() + self._retry_redis_after
            self._fallback.acquire()
            return
        if wait_us > 0:
            self._sleep(wait_us / 1_000_000)


def rate_limit_key(config: EutilsConfig) -> str:
    """The Redis key for ``config``: NCBI counts per API key (else per IP)."""
    owner = hashlib.sha256(config.api_key.encode()).hexdigest()[:16] if config.api_key else "ip"
    return f"eutils:ratelimit:{owner}"


def make_rate_limiter(
    config: EutilsConfig, *, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
) -> RateLimiter:
    """A Redis-shared limiter when ``config.redis_url`` is set, else in-process."""
    if not config.redis_url:
        return LocalRateLimiter(config.rate, clock=clock, sleep=sleep)
    import redis

    client = redis.Redis.from_url(config.redis_url, socket_timeout=5, socket_connect_timeout=2)
    return RedisRateLimiter(client, config.rate, key=rate_limit_key(config), sleep=sleep, clock=clock)


# -------------------------------------------------------------------- client


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), _RETRY_AFTER_CAP)


def _chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


class EutilsClient:
    """Searches and fetches PubMed records by E-utilities.

    ``requests_made`` counts every HTTP attempt (retries included) so a search
    run can record it.
    """

    def __init__(
        self,
        config: EutilsConfig,
        *,
        session: requests.Session | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.rate_limiter = rate_limiter or make_rate_limiter(config, sleep=sleep, clock=clock)
        self._sleep, self._rng = sleep, rng
        self.requests_made = 0

    # ---------------------------------------------------------------- HTTP

    def _params(self, params: dict[str, str]) -> dict[str, str]:
        common = {"db": "pubmed", "tool": self.config.tool, "email": self.config.email}
        if self.config.api_key:
            common["api_key"] = self.config.api_key
        return {**common, **params}

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        cap = min(self.config.backoff_max, self.config.backoff_base * 2**attempt)
        return cap / 2 + self._rng() * cap / 2  # "equal jitter"

    def _attempt(self, url: str, data: dict[str, str]) -> tuple[bytes | None, str, float | None]:
        """One POST: ``(body, "", None)`` on 200, else ``(None, reason, retry_after)``."""
        self.rate_limiter.acquire()
        self.requests_made += 1
        try:
            response = self.session.post(url, data=data, timeout=self.config.timeout)
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            return None, f"{type(exc).__name__}: {exc}", None
        if response.status_code == 200:
            return response.content, "", None
        if response.status_code == 429 or response.status_code >= 500:
            reason = f"HTTP {response.status_code}"
            return None, reason, _retry_after(response)
        raise EutilsPermanentError(f"{url} answered HTTP {response.status_code}: {response.text[:300]!r}")

    def _post(self, endpoint: str, params: dict[str, str]) -> bytes:
        """POST with rate limiting and retries; the body of the 200 answer."""
        url = self.config.base_url + endpoint
        data = self._params(params)
        for attempt in range(self.config.max_retries + 1):
            body, reason, retry_after = self._attempt(url, data)
            if body is not None:
                return body
            if attempt == self.config.max_retries:
                break
            delay = self._backoff(attempt, retry_after)
            logger.info("eutils %s: %s; retry %d in %.1fs", endpoint, reason, attempt + 1, delay)
            self._sleep(delay)
        raise EutilsTransientError(f"{endpoint}: {reason} after {self.config.max_retries + 1} attempts")

    # -------------------------------------------------------------- esearch

    def esearch(
        self,
        term: str,
        *,
        mindate: dt.date | None = None,
        maxdate: dt.date | None = None,
        datetype: str = "crdt",
        retstart: int = 0,
        retmax: int = 20,
        usehistory: bool = True,
    ) -> EsearchPage:
        """One esearch POST; dates bound the ``datetype`` (creation date) window.

        Raises
        ------
        EutilsPermanentError
            A top-level ``<ERROR>`` or an unreadable body.
        """
        params = {"term": term, "retstart": str(retstart), "retmax": str(retmax)}
        if usehistory:
            params["usehistory"] = "y"
        if mindate or maxdate:
            if not (mindate and maxdate):
                raise ValueError("give both mindate and maxdate, or neither")
            params |= {
                "datetype": datetype,
                "mindate": mindate.strftime("%Y/%m/%d"),
                "maxdate": maxdate.strftime("%Y/%m/%d"),
            }
        return self._esearch_page(self._post("esearch.fcgi", params))

    @staticmethod
    def _esearch_page(body: bytes) -> EsearchPage:
        try:
            result = parse_esearch(body)
        except PubmedXmlError as exc:
            raise EutilsPermanentError(f"esearch returned unreadable XML: {exc}") from exc
        if result.error:
            raise EutilsPermanentError(f"esearch ERROR: {result.error}")
        # ErrorList entries (PhraseNotFound, FieldNotFound, ...) come with a
        # usable Count: zero is just an empty result, more is a partial match.
        # Either way the search ran, so they are kept as warnings to record.
        notes = [f"{kind}: {text}" for kind, text in result.errors + result.warnings]
        return EsearchPage(
            count=result.count,
            retstart=result.retstart,
            retmax=result.retmax,
            ids=result.ids,
            webenv=result.webenv,
            query_key=result.query_key,
            query_translation=result.query_translation,
            warnings=tuple(notes),
        )

    def iter_pmids(self, term: str, *, mindate: dt.date, maxdate: dt.date) -> Iterator[str]:
        """Yield every PMID of ``term`` created in ``[mindate, maxdate]``, once each.

        A window holding more than 10,000 records is bisected by date.

        Raises
        ------
        EutilsPermanentError
            A single day still holds more than 10,000 records.
        """
        if mindate > maxdate:
            raise ValueError(f"mindate {mindate} is after maxdate {maxdate}")
        seen: set[str] = set()
        for pmid in self._iter_window(term, mindate, maxdate):
            if pmid not in seen:
                seen.add(pmid)
                yield pmid

    def _iter_window(self, term: str, start: dt.date, end: dt.date) -> Iterator[str]:
        size = self.config.page_size
        page = self.esearch(term, mindate=start, maxdate=end, retmax=size, usehistory=False)
        if page.count > ESEARCH_MAX_RECORDS:
            if start == end:
                raise EutilsPermanentError(
                    f"{page.count} records created on {start:%Y-%m-%d} alone; esearch "
                    f"pages only the first {ESEARCH_MAX_RECORDS}: narrow the query"
                )
            middle = start + (end - start) // 2
            logger.info("eutils: %d records in %s..%s; splitting", page.count, start, end)
            yield from self._iter_window(term, start, middle)
            yield from self._iter_window(term, middle + dt.timedelta(days=1), end)
            return
        yield from page.ids
        retstart = len(page.ids)
        while retstart < page.count:
            page = self.esearch(term, mindate=start, maxdate=end, retstart=retstart, retmax=size, usehistory=False)
            if not page.ids:  # the set shrank while paging; nothing more to read
                return
            yield from page.ids
            retstart += len(page.ids)

    # --------------------------------------------------------------- efetch

    def efetch(self, ids: Sequence[str]) -> bytes:
        """Fetch up to ``efetch_batch_size`` records as raw PubMed XML bytes."""
        if not ids:
            raise ValueError("efetch needs at least one id")
        if len(ids) > self.config.efetch_batch_size:
            raise ValueError(f"{len(ids)} ids in one efetch; at most {self.config.efetch_batch_size} (use iter_efetch)")
        body = self._post("efetch.fcgi", {"id": ",".join(ids), "retmode": "xml"})
        return self._check_efetch(body)

    def iter_efetch(self, ids: Iterable[str]) -> Iterator[bytes]:
        """Fetch ``ids`` in batches of ``efetch_batch_size``, one body per batch."""
        for batch in _chunks(list(ids), self.config.efetch_batch_size):
            yield self.efetch(batch)

    def efetch_history(self, webenv: str, query_key: str, *, retstart: int, retmax: int) -> bytes:
        """Fetch one batch of a stored esearch result (``usehistory=y``)."""
        if not 1 <= retmax <= self.config.efetch_batch_size:
            raise ValueError(f"retmax must be 1..{self.config.efetch_batch_size}")
        params = {
            "WebEnv": webenv,
            "query_key": query_key,
            "retstart": str(retstart),
            "retmax": str(retmax),
            "retmode": "xml",
        }
        return self._check_efetch(self._post("efetch.fcgi", params))

    @staticmethod
    def _check_efetch(body: bytes) -> bytes:
        """Refuse an ``<eFetchResult><ERROR>`` (sent with HTTP 200) or a stray body."""
        head = body[:4096]
        if b"<PubmedArticleSet" in head:
            return body
        if b"<ERROR>" in head:
            start = head.index(b"<ERROR>") + len(b"<ERROR>")
            message = head[start : head.find(b"</ERROR>", start)].decode("utf-8", "replace")
            raise EutilsPermanentError(f"efetch ERROR: {message}")
        raise EutilsPermanentError(f"efetch returned no PubmedArticleSet: {head[:200]!r}")
