"""A small ClinicalTrials.gov API v2 client: search studies by condition, intervention and term within a
last-update window, page through them, fetch one study, and read a study's JSON into a flat registration.

Like :mod:`evidence.surveillance.pubmed` it imports nothing of Django or of ``evidence.models``; everything it needs is
injected (config, session, rate limiter, sleep, random), so tests of backoff run instantly.

API rules kept here (https://clinicaltrials.gov/data-api/api): ``GET /studies`` pages by ``pageToken``
(the answer's ``nextPageToken``, absent on the last page), at most 1,000 studies a page; ``fields`` narrows
the answer to the modules named; ``filter.advanced`` takes Essie expressions such as
``AREA[LastUpdatePostDate]RANGE[2024-01-01,2024-12-31]``; ``GET /studies/{nctId}`` answers 404 for an
unknown id and, since API 2.0.2, redirects a merged id (an ``nctIdAliases`` entry) to the current record.
The site asks for about 50 requests a minute per address, hence the default rate.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from evidence.surveillance.pubmed import LocalRateLimiter, RateLimiter, RedisRateLimiter, _retry_after

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2/"
MAX_PAGE_SIZE = 1_000
NCT_ID = re.compile(r"^NCT\d{8}$")
# Only the modules a registration keeps: a full record with results can run to megabytes.
FIELDS = (
    "protocolSection.identificationModule",
    "protocolSection.statusModule",
    "protocolSection.sponsorCollaboratorsModule",
    "protocolSection.designModule",
    "protocolSection.armsInterventionsModule",
    "protocolSection.outcomesModule",
    "hasResults",
)
REQUIRED_MODULES = ("identificationModule", "statusModule", "designModule", "sponsorCollaboratorsModule")


class CtgovError(Exception):
    """Any failure talking to ClinicalTrials.gov."""


class CtgovTransientError(CtgovError):
    """429, 5xx, timeout or connection failure that outlived every retry."""


class CtgovPermanentError(CtgovError):
    """A failure that retrying cannot fix: 4xx, a body that is not JSON, a looping page token, a too-large body."""


class CtgovNotFound(CtgovPermanentError):
    """``/studies/{nctId}`` answered 404: no such registration."""


class CtgovSchemaError(CtgovPermanentError):
    """A study whose JSON lacks what a registration needs (the API's schema changed, or a module is missing)."""


@dataclass(frozen=True)
class CtgovConfig:
    """How to reach the API. ``max_response_bytes`` bounds one answer; ``max_pages`` bounds one search."""

    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    redis_url: str | None = None
    requests_per_second: float = 0.8
    page_size: int = 100
    max_response_bytes: int = 20_000_000
    max_pages: int = 1_000

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/"):
            raise ValueError("base_url must end with /")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        if self.max_retries < 0 or self.timeout <= 0 or self.requests_per_second <= 0:
            raise ValueError("max_retries must be >= 0, timeout and requests_per_second > 0")


def make_rate_limiter(config: CtgovConfig, *, sleep: Callable[[float], None] = time.sleep) -> RateLimiter:
    """A Redis-shared limiter when ``config.redis_url`` is set (every worker shares the address), else local."""
    if not config.redis_url:
        return LocalRateLimiter(config.requests_per_second, sleep=sleep)
    import redis

    client = redis.Redis.from_url(config.redis_url, socket_timeout=5, socket_connect_timeout=2)
    return RedisRateLimiter(client, config.requests_per_second, key="ctgov:ratelimit:ip", sleep=sleep)


def last_update_filter(start: dt.date, end: dt.date) -> str:
    """The ``filter.advanced`` expression for a last-update-posted window, both ends inclusive."""
    if start > end:
        raise ValueError(f"window start {start} is after its end {end}")
    return f"AREA[LastUpdatePostDate]RANGE[{start.isoformat()},{end.isoformat()}]"


class CtgovClient:
    """Searches and fetches ClinicalTrials.gov studies; ``requests_made`` counts every HTTP attempt."""

    def __init__(
        self,
        config: CtgovConfig,
        *,
        session: requests.Session | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.rate_limiter = rate_limiter or make_rate_limiter(config, sleep=sleep)
        self._sleep, self._rng = sleep, rng
        self.requests_made = 0

    # ---------------------------------------------------------------- HTTP

    def _read(self, response: requests.Response, url: str) -> bytes:
        """The body, refusing one larger than ``max_response_bytes`` before reading it all."""
        limit = self.config.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise CtgovPermanentError(f"{url} answered {declared} bytes; the limit is {limit}")
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise CtgovPermanentError(f"{url} answered more than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _attempt(self, url: str, params: dict[str, str]) -> tuple[bytes | None, str, float | None]:
        self.rate_limiter.acquire()
        self.requests_made += 1
        try:
            response = self.session.get(url, params=params, timeout=self.config.timeout, stream=True)
            with response:
                if response.status_code == 200:
                    return self._read(response, url), "", None
                if response.status_code == 429 or response.status_code >= 500:
                    return None, f"HTTP {response.status_code}", _retry_after(response)
                text = response.text[:300]
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            return None, f"{type(exc).__name__}: {exc}", None
        if response.status_code == 404:
            raise CtgovNotFound(f"{url} answered HTTP 404: {text!r}")
        raise CtgovPermanentError(f"{url} answered HTTP {response.status_code}: {text!r}")

    def _get_json(self, path: str, params: dict[str, str]) -> dict:
        """GET with rate limiting and retries (transient errors only); the JSON object of the 200 answer."""
        url = self.config.base_url + path
        for attempt in range(self.config.max_retries + 1):
            body, reason, retry_after = self._attempt(url, params)
            if body is not None:
                return _json_object(body, url)
            if attempt == self.config.max_retries:
                break
            cap = min(self.config.backoff_max, self.config.backoff_base * 2**attempt)
            delay = retry_after if retry_after is not None else cap / 2 + self._rng() * cap / 2
            logger.info("ctgov %s: %s; retry %d in %.1fs", path, reason, attempt + 1, delay)
            self._sleep(delay)
        raise CtgovTransientError(f"{path}: {reason} after {self.config.max_retries + 1} attempts")

    # ------------------------------------------------------------- studies

    def search_page(self, params: dict[str, str], page_token: str | None = None) -> dict:
        """One ``GET /studies`` page: ``{"studies": [...], "nextPageToken": ...}``."""
        query = dict(params) | {"format": "json", "pageSize": str(self.config.page_size)}
        if page_token:
            query["pageToken"] = page_token
        page = self._get_json("studies", query)
        if not isinstance(page.get("studies", []), list):
            raise CtgovSchemaError("/studies answered a 'studies' that is not a list")
        return page

    def iter_studies(
        self,
        *,
        condition: str = "",
        intervention: str = "",
        term: str = "",
        updated_from: dt.date | None = None,
        updated_to: dt.date | None = None,
        fields: tuple[str, ...] = FIELDS,
    ) -> Iterator[dict]:
        """Every study matching the query, once each, following ``nextPageToken`` to the last page.

        Raises
        ------
        CtgovPermanentError
            A page token came back a second time (the paging loops) or the search passed ``max_pages``.
        """
        params = search_params(
            condition=condition, intervention=intervention, term=term, updated_from=updated_from, updated_to=updated_to
        )
        params["fields"] = ",".join(fields)
        seen_tokens: set[str] = set()
        seen_ids: set[str] = set()
        token: str | None = None
        for _ in range(self.config.max_pages):
            page = self.search_page(params, token)
            for study in page.get("studies", []):
                nct_id = _nct_id_of(study)
                if nct_id not in seen_ids:
                    seen_ids.add(nct_id)
                    yield study
            token = page.get("nextPageToken")
            if not token:
                return
            if token in seen_tokens:
                raise CtgovPermanentError(f"/studies paging loops: page token {token!r} came back a second time")
            seen_tokens.add(token)
        raise CtgovPermanentError(f"/studies still had pages after {self.config.max_pages}; narrow the query")

    def get_study(self, nct_id: str, *, fields: tuple[str, ...] = FIELDS) -> dict:
        """One study by NCT id; a merged id is answered with the current record (compare its ``nctId``)."""
        if not NCT_ID.match(nct_id):
            raise ValueError(f"nct_id {nct_id!r} is not NCT followed by 8 digits")
        return self._get_json(f"studies/{nct_id}", {"format": "json", "fields": ",".join(fields)})


def search_params(
    *,
    condition: str = "",
    intervention: str = "",
    term: str = "",
    updated_from: dt.date | None = None,
    updated_to: dt.date | None = None,
) -> dict[str, str]:
    """The ``query.*`` and ``filter.advanced`` parameters of a search; at least one query part is needed."""
    params = {
        name: value.strip()
        for name, value in (("query.cond", condition), ("query.intr", intervention), ("query.term", term))
        if value and value.strip()
    }
    if not params:
        raise ValueError("give a condition, an intervention or a term: an empty query would page the whole registry")
    if updated_from or updated_to:
        if not (updated_from and updated_to):
            raise ValueError("give both updated_from and updated_to, or neither")
        params["filter.advanced"] = last_update_filter(updated_from, updated_to)
    return params


def _json_object(body: bytes, url: str) -> dict:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CtgovPermanentError(f"{url} answered a body that is not JSON ({exc}): {body[:120]!r}") from exc
    if not isinstance(value, dict):
        raise CtgovPermanentError(f"{url} answered JSON that is not an object: {body[:120]!r}")
    return value


def _nct_id_of(study: object) -> str:
    try:
        nct_id = study["protocolSection"]["identificationModule"]["nctId"]
    except (TypeError, KeyError) as exc:
        raise CtgovSchemaError(f"a study without protocolSection.identificationModule.nctId ({exc!r})") from exc
    if not isinstance(nct_id, str) or not NCT_ID.match(nct_id):
        raise CtgovSchemaError(f"a study whose nctId {nct_id!r} is not NCT followed by 8 digits")
    return nct_id
