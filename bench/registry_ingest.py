"""Benchmark of the registry ingest: parse ClinicalTrials.gov study JSON and upsert registrations (a script).

Run: ``.venv/bin/python bench/registry_ingest.py [n]``. Builds ``n`` studies (default 2,000) by repeating the
documentation-shaped fixtures of ``tests/data/ctgov`` under fresh NCT ids, as ``/studies`` pages of 100
(``{"studies": [...]}`` bytes, what the client receives), migrates a temporary SQLite database, then times
on the same bytes, in CPU seconds (the machine may be shared):

- ours, new: per page ``json.loads``, :func:`evidence.surveillance.ctgov_parse.parse_registration` for every study, then
  the run's store step (upsert with validation and audit history, status history, links, tasks) in one
  transaction, exactly what ``registry_run_execute`` does;
- ours, re-run: the same pages again (the second night): every registration known and unchanged;
- baseline: ``json.loads`` and a plain ``Registration.objects.create`` per study from dict look-ups (no
  validation, no history, no change detection), one transaction, into a fresh review.

Prints records/s for each and the ratio to the baseline. No network.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGE = 100


def _django(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["EVIDENCE_VAR_DIR"] = str(tmp)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "evidence.config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _pages(n: int) -> list[bytes]:
    from tests.ctgov_replay import REVIEW_STUDIES, fixture

    templates = [fixture(name) for name in (*REVIEW_STUDIES, "study_NCT05550001_withdrawn.json")]
    studies = []
    for i in range(n):
        study = copy.deepcopy(templates[i % len(templates)])
        study["protocolSection"]["identificationModule"]["nctId"] = f"NCT{90_000_000 + i:08d}"
        study["protocolSection"]["identificationModule"].pop("nctIdAliases", None)
        studies.append(study)
    return [json.dumps({"studies": studies[i : i + PAGE]}).encode() for i in range(0, n, PAGE)]


def _review(slug: str):
    from evidence.models import Review

    return Review.objects.create(
        slug=slug, title=slug, pubmed_query="bench", search_start_date=dt.date(2021, 2, 1), registry_condition="ssc"
    )


def _ours(pages: list[bytes], review, run) -> float:
    from evidence.surveillance.ctgov_parse import parse_registration
    from evidence.surveillance.registry import registrations_store

    start = time.process_time()
    parsed = [parse_registration(study) for body in pages for study in json.loads(body)["studies"]]
    registrations_store(review=review, run=run, parsed=parsed)
    return time.process_time() - start


def _baseline(pages: list[bytes], review) -> float:
    from django.db import transaction

    from evidence.models import Registration

    start = time.process_time()
    with transaction.atomic():
        for body in pages:
            for study in json.loads(body)["studies"]:
                protocol = study["protocolSection"]
                status, design = protocol["statusModule"], protocol["designModule"]
                Registration.objects.create(
                    review=review,
                    nct_id=protocol["identificationModule"]["nctId"],
                    brief_title=protocol["identificationModule"].get("briefTitle", ""),
                    overall_status=status["overallStatus"],
                    enrolment_count=design.get("enrollmentInfo", {}).get("count"),
                    primary_outcomes=protocol.get("outcomesModule", {}).get("primaryOutcomes", []),
                    has_results=study.get("hasResults", False),
                    raw=study,
                )
    return time.process_time() - start


def main(n: int) -> int:
    pages = _pages(n)
    print(f"{n:,} studies in {len(pages)} pages, {sum(map(len, pages)) / 1e6:.1f} MB of JSON")
    with tempfile.TemporaryDirectory(prefix="registry-ingest-") as tmp:
        _django(Path(tmp))
        from evidence.models import Registration, RegistrySearchRun

        review = _review("bench")
        run = RegistrySearchRun.objects.create(
            review=review,
            query={},
            window_start=dt.date(2000, 1, 1),
            window_end=dt.date(2026, 11, 30),
            status="running",
        )
        new = _ours(pages, review, run)
        again = _ours(pages, review, run)
        assert Registration.objects.filter(review=review).count() == n
        base = _baseline(pages, _review("baseline"))
        assert Registration.objects.count() == 2 * n
    print(f"ours, new        : {n / new:8,.0f} records/s ({new:.2f} s: parse, validate, upsert, history, links)")
    print(f"ours, re-run     : {n / again:8,.0f} records/s ({again:.2f} s: all known and unchanged)")
    print(f"json + ORM create: {n / base:8,.0f} records/s ({base:.2f} s: the baseline)")
    print(f"ours / baseline  : new {base / new:.2f}x, re-run {base / again:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000))
