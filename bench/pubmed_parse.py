"""Benchmark of the PubMed efetch parser against Biopython (a script, not a test).

Run: ``.venv/bin/python bench/pubmed_parse.py [n]``. Builds ``n`` records
(default 10,000) by repeating the recorded efetch fixtures under fresh PMIDs
(:func:`tests.eutils_replay.build_records_xml`), then times, on the same bytes,

- ``evidence.surveillance.pubmed_xml.parse_citations`` (streaming lxml, every field the
  review stores), best of 2;
- ``Bio.Entrez.read(..., validate=False)`` (expat into nested dicts, with the
  DTDs Biopython ships), once.

Prints records per CPU second for both and the ratio; target >= 3x Biopython.
Exits 1 below target.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evidence.surveillance.pubmed_xml import parse_citations
from tests.eutils_replay import build_records_xml

TARGET_RATIO = 3.0


def timed(fn, expected: int) -> float:
    """CPU seconds of one ``fn()``, which must return ``expected`` records.

    CPU time rather than wall time: both parsers are single-threaded, and the
    figure should not depend on what else the machine is running.
    """
    start = time.process_time()
    count = fn()
    elapsed = time.process_time() - start
    assert count == expected, f"{fn.__name__} read {count} records, expected {expected}"
    return elapsed


def ours(data: bytes) -> int:
    return len(parse_citations(data))


def biopython(data: bytes) -> int:
    from Bio import Entrez

    parsed = Entrez.read(io.BytesIO(data), validate=False)
    return len(parsed["PubmedArticle"]) + len(parsed["PubmedBookArticle"])


def main(n: int) -> int:
    data = build_records_xml(n)
    print(f"{n:,} records, {len(data) / 1e6:.1f} MB of efetch XML")
    mine = min(timed(lambda: ours(data), n) for _ in range(2))
    theirs = timed(lambda: biopython(data), n)
    print(f"evidence.surveillance.pubmed_xml : {n / mine:10,.0f} records/s ({mine:.2f} s, best of 2)")
    print(f"Bio.Entrez.read     : {n / theirs:10,.0f} records/s ({theirs:.2f} s)")
    ratio = theirs / mine
    print(f"ratio               : {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x)")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
