"""Benchmark of the search run's ingest: parse efetch XML and upsert it into SQLite (a script, not a test).

Run: ``.venv/bin/python bench/pubmed_ingest.py [n] [--small]``. Builds ``n`` records (default 10,000) in efetch
batches of 500 by repeating the recorded fixtures under fresh PMIDs
(:func:`tests.eutils_replay.build_records_xml`: ~16 KB per record, reference lists included), migrates a
temporary SQLite database, then times (``--small``: ~1 KB synthetic records instead), on the same bytes,

- parse only: :func:`evidence.surveillance.pubmed_xml.parse_citations` over every batch;
- end to end: per batch, parse then :func:`evidence.surveillance.search.ingest.records_ingest` (PMID and DOI
  look-ups, bulk inserts of Citation, ReviewCitation and their history rows, one transaction per batch),
  exactly what ``search_run_execute`` does after each efetch.

Prints records per CPU second (the machine may be shared; the database is a real file, and its I/O
happens in this process) with the wall-clock figure beside it, and where the time goes; target
>= 5,000 records/s end to end. Exits 1 below target. No network: nothing is fetched.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 5_000
BATCH = 500  # records per efetch POST, as the client fetches them


def _django(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["EVIDENCE_VAR_DIR"] = str(tmp)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production: with DEBUG on, Django keeps every query's SQL text (~10% of the database time).
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "evidence.config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _run():
    from evidence.models import Review, SearchRun

    review = Review.objects.create(
        slug="bench", title="Benchmark review", pubmed_query="bench", search_start_date=dt.date(2021, 2, 1)
    )
    return SearchRun.objects.create(
        review=review, query="bench", window_start=dt.date(2021, 2, 1), window_end=dt.date(2025, 6, 30)
    )


def _bodies(n: int, *, small: bool) -> list[bytes]:
    from tests.eutils_replay import articleset_xml, build_records_xml, synthetic_records

    if small:  # ~1 KB records: title, journal, date, no abstract or reference list
        records = synthetic_records(n, first_pmid=80_000_001)
        return [articleset_xml([r.xml for r in records[i : i + BATCH]]) for i in range(0, n, BATCH)]
    return [build_records_xml(min(BATCH, n - i), first_pmid=80_000_001 + i) for i in range(0, n, BATCH)]


def main(n: int, *, small: bool = False) -> int:
    bodies = _bodies(n, small=small)
    megabytes = sum(map(len, bodies)) / 1e6
    print(f"{n:,} records in {len(bodies)} efetch batches, {megabytes:.1f} MB of XML")
    with tempfile.TemporaryDirectory(prefix="pubmed-ingest-") as tmp:
        _django(Path(tmp))
        from evidence.models import Citation, ReviewCitation
        from evidence.surveillance.pubmed_xml import parse_citations
        from evidence.surveillance.search.ingest import DuplicateIndex, records_ingest

        start = time.process_time()
        assert sum(len(parse_citations(body)) for body in bodies) == n
        parse_only = time.process_time() - start

        run = _run()
        index = DuplicateIndex.for_review(run.review)
        parse_time = write_time = 0.0
        wall = time.perf_counter()
        for body in bodies:
            t0 = time.process_time()
            records = parse_citations(body)
            t1 = time.process_time()
            records_ingest(run=run, records=records, index=index)
            parse_time, write_time = parse_time + t1 - t0, write_time + time.process_time() - t1
        wall = time.perf_counter() - wall
        total = parse_time + write_time
        assert Citation.objects.count() == ReviewCitation.objects.count() == n

        start = time.process_time()  # the same night again: every record known, nothing written
        for body in bodies:
            records_ingest(run=run, records=parse_citations(body), index=index)
        again = time.process_time() - start
        assert Citation.objects.count() == n

    print(f"parse only          : {n / parse_only:8,.0f} records/s ({parse_only:.2f} s)")
    print(
        f"end to end (new)    : {n / total:8,.0f} records/s ({total:.2f} s: parse {parse_time:.2f} s, "
        f"database {write_time:.2f} s; wall clock {n / wall:,.0f} records/s)"
    )
    print(f"database alone      : {n / write_time:8,.0f} records/s")
    print(f"end to end (re-run) : {n / again:8,.0f} records/s ({again:.2f} s, all records already known)")
    print(f"target              : {TARGET:8,} records/s end to end -> {'met' if n / total >= TARGET else 'NOT met'}")
    return 0 if n / total >= TARGET else 1


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--small"]
    sys.exit(main(int(args[0]) if args else 10_000, small="--small" in sys.argv))
