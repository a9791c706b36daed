"""Run a review's PubMed search by hand, with a progress bar on stderr."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from evidence.management.commands._search_args import reviews_to_search, since_date
from evidence.models import Review, RunTrigger, SearchRun
from evidence.surveillance.pubmed import EutilsError, EutilsTransientError
from evidence.surveillance.pubmed_xml import PubmedXmlError
from evidence.surveillance.search import SearchRunAlreadyRunning, search_run_execute

BAR_WIDTH = 30


class ProgressBar:
    """``[#####.....] 1,000/2,000 records`` redrawn in place on a stream."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        filled = BAR_WIDTH if total == 0 else BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._write(f"\r  [{bar}] {done:,}/{total:,} records")
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self._write("\n")
            self.drawn = False

    def _write(self, text: str) -> None:
        self.stream.write(text, style_func=str, ending="")
        self.stream.flush()


# The innermost reason requests buries in its repr: "[Errno 111] Connection refused", a name-resolution failure.
_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")(]+)")
_ATTEMPTS = re.compile(r"after (\d+) attempts")


def _one_line(exc: BaseException) -> str:
    """The error's type (unless it is one of ours, which say what happened) and its first line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, EutilsTransientError) and ("ConnectionError" in text or "Timeout" in text):
        reason = _OS_REASON.search(text)
        attempts = _ATTEMPTS.search(text)
        why = reason.group(1).strip() if reason else ("timed out" if "Timeout" in text else "no connection")
        tries = f", {attempts.group(1)} attempts" if attempts else ""
        return f"cannot reach PubMed ({why}{tries}); check the network or EUTILS_BASE_URL"
    known = isinstance(exc, (EutilsError, PubmedXmlError))
    return text if known and text else f"{type(exc).__name__}: {text}".rstrip(": ")


@contextlib.contextmanager
def _quiet_logs(verbosity: int):
    """The command reports each run itself; the client's retry lines and the service's log would repeat it."""
    if verbosity >= 2:
        yield
        return
    loggers = [logging.getLogger(name) for name in ("evidence.surveillance.pubmed", "evidence.surveillance.search")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels):
            each.setLevel(level)


class Command(BaseCommand):
    help = (
        "Search PubMed now for new records of a review (default: every living review) and queue them for "
        "title/abstract screening; the same service its scheduled Celery task runs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--review", help="The review's slug, e.g. msc-ssc (default: every living review).")
        parser.add_argument(
            "--since", help="Start the creation-date window here (YYYY-MM-DD) instead of after the last run."
        )

    def handle(self, *args, review: str | None, since: str | None, **options) -> None:
        start = since_date(since)
        with _quiet_logs(options.get("verbosity", 1)):
            failures = [failed for found in self._reviews(review) if (failed := self._search(found, start))]
        if len(failures) == 1:  # one review: its reason is the last line, and the only one
            raise CommandError(f"PubMed search failed for {failures[0]}; nothing was queued.")
        if failures:
            for failure in failures:
                self.stderr.write(f"  {failure}")
            slugs = ", ".join(failure.split(":")[0] for failure in failures)
            raise CommandError(f"PubMed search failed for {slugs}; see the search runs in the admin.")

    def _reviews(self, slug: str | None) -> list[Review]:
        reviews = reviews_to_search(slug)
        if slug is None and not reviews:
            self.stdout.write("No living review to search.")
        return reviews

    def _search(self, review: Review, since: dt.date | None) -> str | None:
        """Run one review's search; "<slug>: <reason> (search run N)" if the run failed."""
        self.stdout.write(f"Searching PubMed for {review.slug}…")
        bar = ProgressBar(self.stderr)
        try:
            run = search_run_execute(
                review=review, triggered_by="poll_pubmed", trigger=RunTrigger.COMMAND, since=since, progress=bar
            )
        except SearchRunAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            run = SearchRun.objects.filter(review=review).order_by("-pk").first()
            return f"{review.slug}: {_one_line(exc)}" + (f" (search run {run.pk})" if run else "")
        finally:
            bar.close()
        self._summary(run)
        return None

    def _summary(self, run: SearchRun) -> None:
        held = (
            f" with {run.records_quarantined:,} quarantined (see Quarantined records)"
            if run.records_quarantined
            else ""
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"  {run.review.slug}: completed{held}: window {run.window_start}–{run.window_end}: {run.records_found:,} found, "
                f"{run.records_new:,} new in the screening queue, {run.records_known:,} already known, "
                f"{run.possible_duplicates:,} possible duplicates, {run.citations_flagged:,} included reports "
                f"flagged, {run.requests_made:,} requests (run {run.pk})."
            )
        )
