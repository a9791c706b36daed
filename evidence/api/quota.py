"""API quotas as one counter per client per time window, as django-ratelimit counts them.

A request adds one to its client's counter for the current window in a single atomic step, and is refused once
the counter passes the limit; ``Retry-After`` is the rest of the window. DRF's own throttles keep each client's
list of request times and write the whole list back on every request: on the embedded stack a pickled,
compressed file written by rename (~1 ms a request, half the cost of a held FHIR answer), and two concurrent
requests could each write back a list without the other's time, so a quota shared by workers leaked.

The counters live where the "throttle" cache points: Redis in production (``INCR`` and ``EXPIRE`` in one round
trip), a folder on the embedded stack (a byte appended to a file; ``O_APPEND`` writes are atomic on a local
file system and the file offset after the write is this request's own count). Every worker of the host shares
them.

The price of a window over a list of times: a client may spend its quota at the end of one window and again at
the start of the next (at most twice the limit within one window's span). Each client's windows are shifted by
an offset from its key, so that not every client's quota starts afresh in the same second.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import zlib
from pathlib import Path

from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def rate_parse(rate: str) -> tuple[int, int]:
    """``"60/minute"`` as (60 requests, 60 seconds); the first letter of the period is enough, as in DRF."""
    count, _, period = rate.partition("/")
    if not (count.isdigit() and period[:1] in PERIODS):
        raise ValueError(f"{rate!r} is not a rate like 60/minute (a count, '/', and second, minute, hour or day).")
    return int(count), PERIODS[period[0]]


def window_of(key: str, period: int, now: float) -> tuple[int, float]:
    """The window ``now`` falls in for this client, and the seconds left in it."""
    shifted = now + zlib.crc32(key.encode()) % period
    index = math.floor(shifted / period)
    return index, (index + 1) * period - shifted


class RedisCounters:
    """Counters as Redis keys under the throttle cache's prefix, each expiring one second after its window."""

    def __init__(self, cache: RedisCache):
        self._cache = cache
        self._prefix = f"{cache.key_prefix}:quota"

    def hit(self, key: str, period: int, window: int) -> int:
        name = f"{self._prefix}:{key}:{period}:{window}"
        pipe = self._cache._cache.get_client(write=True).pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, period + 1)
        return int(pipe.execute()[0])

    def clear(self) -> None:
        client = self._cache._cache.get_client(write=True)
        for name in client.scan_iter(f"{self._prefix}:*"):
            client.delete(name)


class FileCounters:
    """Counters as files: one folder per window, one file per client, one byte per request.

    Opening a window's folder removes those of windows that ended before the previous one began, so the
    folder holds at most a few windows' worth of clients.
    """

    def __init__(self, root: Path):
        self.root = root

    def hit(self, key: str, period: int, window: int) -> int:
        folder = self.root / f"{period}s-{window}"
        path = folder / hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        try:
            fd = os.open(path, _APPEND, 0o600)
        except FileNotFoundError:
            self._window_open(folder, period, window)
            fd = os.open(path, _APPEND, 0o600)
        try:
            os.write(fd, b".")
            return os.lseek(fd, 0, os.SEEK_CUR)  # where this request's byte landed: its place in the window
        finally:
            os.close(fd)

    def _window_open(self, folder: Path, period: int, window: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for old in self.root.glob(f"{period}s-*"):
            # a key's offset puts it in this window or the next, and a request may have read the clock just
            # before the turn: windows from two before this one are no longer counted by anyone
            if int(old.name.partition("-")[2]) < window - 2:
                shutil.rmtree(old, ignore_errors=True)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def counters_for(cache) -> RedisCounters | FileCounters:
    """The counters kept in the throttle cache's store: its Redis, or a folder beside its files."""
    if isinstance(cache, RedisCache):
        return RedisCounters(cache)
    if isinstance(cache, FileBasedCache):
        return FileCounters(Path(cache._dir) / "windows")
    raise ImproperlyConfigured(
        f"The 'throttle' cache must be Redis or files, shared by every web worker; it is {type(cache).__name__}."
    )


def quota_take(counters, key: str, rate: str, now: float) -> tuple[bool, float]:
    """Count one request of ``key`` against ``rate``: whether it is within the quota, and the seconds until the
    client's window turns (its Retry-After when refused). A refused request counts too: it is still a request."""
    limit, period = rate_parse(rate)
    window, left = window_of(key, period, now)
    return counters.hit(key, period, window) <= limit, left
