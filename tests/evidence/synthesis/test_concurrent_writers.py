"""Concurrent writers (issue 15): no request sees "database is locked" on SQLite, and concurrent recomputes
of one change make one version on both databases. Real threads and real processes, no retries."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import close_old_connections, connection

from evidence.models import RecomputeRun, RecomputeStatus, RunTrigger, ScreeningStage
from evidence.screening.services import screening_decision_record
from evidence.synthesis.tasks import review_recompute
from tests.conftest import _test_database_url
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set
from tests.evidence.screening_support import make_citation, make_member, make_review

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


def all_at_once(jobs) -> list[object]:
    """Run each job in its own thread with its own connection, released together; each result or error."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def work(index, job):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = job()
        except Exception as error:
            outcomes[index] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_sixteen_simultaneous_screening_decisions_all_succeed_first_time():
    review = make_review("race16")
    screeners = [make_member(f"s{i}", review, "screener") for i in range(2)]  # two decide each citation
    citations = [make_citation(review, n) for n in range(8)]
    jobs = [
        (lambda rc=rc, who=who: screening_decision_record(
            review_citation=rc, reviewer=who, stage=ScreeningStage.TITLE_ABSTRACT, decision="include"
        ))
        for rc in citations
        for who in screeners
    ]  # fmt: skip

    outcomes = all_at_once(jobs)

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == [], f"{len(errors)} of {len(jobs)} failed: {errors[:3]}"


def test_simultaneous_recompute_requests_fold_into_one_queued_run(monkeypatch):
    from evidence.models import RecomputeRun
    from evidence.synthesis.recompute import review_recompute_request

    monkeypatch.setattr(review_recompute, "apply_async", lambda *args, **kwargs: None)
    review = make_review("race-approvals")
    jobs = [lambda i=i: review_recompute_request(review=review, trigger=f"approval {i}") for i in range(10)]

    outcomes = all_at_once(jobs)

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == [], errors[:3]
    run = RecomputeRun.objects.get(review=review)
    assert sorted(run.triggers) == sorted(f"approval {i}" for i in range(10))


def test_concurrent_manage_py_recompute_processes_make_one_version():
    from evidence.models import Review
    from evidence.seed.load import seed_load

    seed_load()
    review = Review.objects.get(slug="msc-ssc")
    measurement_set(review, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)  # one change
    before = review.versions.count()
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    command = [sys.executable, "manage.py", "recompute", "--review", "msc-ssc"]

    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in processes]

    assert [p.returncode for p in processes] == [0] * 4, outputs
    assert review.versions.count() == before + 1, outputs
    # Each process's run is in the ledger (trigger: command); processes that joined the same queued run report
    # that run, so exactly one run published and the others found the inputs unchanged.
    published = {re.search(r"\(run (\d+)\)", out).group(1) for out in outputs if "published" in out}
    assert len(published) == 1, outputs
    runs = RecomputeRun.objects.filter(review=review)
    assert set(runs.values_list("trigger", flat=True)) == {RunTrigger.COMMAND}
    assert runs.filter(status=RecomputeStatus.PUBLISHED).count() == 1
