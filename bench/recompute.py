"""Benchmark: end-to-end recompute (read the database, pool everything, write the version).

Prints the time for the seed review and for a generated review of 1,000 studies × 20 outcomes × 3 time points
on the embedded default (a temporary SQLite file). Targets: under 0.2 s and under 5 s.

    .venv/bin/python bench/recompute.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="bench-recompute-"))
# Production-like: DEBUG off (no per-query logging); still SQLite, the embedded default's database.
os.environ.update(
    DATABASE_URL=f"sqlite:///{TMP / 'bench.sqlite3'}",
    EVIDENCE_VAR_DIR=str(TMP / "var"),
    DEBUG="0",
    SECRET_KEY="bench-only-secret-key-not-used-for-anything-else-0123456789",
    SECURE_SSL_REDIRECT="0",
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evidence.config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from bench.generated import generated_review  # noqa: E402
from evidence.models import Review  # noqa: E402
from evidence.seed.load import seed_load  # noqa: E402
from evidence.synthesis.recompute import review_recompute  # noqa: E402


def _timed(label: str, fn) -> float:
    """Wall-clock seconds (the target); the CPU seconds beside them tell a busy machine from a slow recompute."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"{label:<58} {elapsed:8.3f} s  (CPU {cpu:.3f} s; version {result.version.number}, "
        f"{result.version.pooled_results.count()} pooled rows)"
    )
    return elapsed


def main() -> None:
    call_command("migrate", verbosity=0)
    seed_load()
    seed = Review.objects.get(slug="msc-ssc")
    print(f"recompute benchmark (SQLite at {TMP})")
    t_seed = _timed("seed review (9 studies)", lambda: review_recompute(review=seed, trigger="bench"))
    start = time.perf_counter()
    big = generated_review()
    print(f"{'(generate 1,000 studies × 20 outcomes × 3 time points)':<58} {time.perf_counter() - start:8.3f} s")
    t_big = _timed("generated review (60,000 measurements)", lambda: review_recompute(review=big, trigger="bench"))
    print(
        f"targets: seed < 0.2 s: {'met' if t_seed < 0.2 else 'NOT met'}; generated < 5 s: {'met' if t_big < 5 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
