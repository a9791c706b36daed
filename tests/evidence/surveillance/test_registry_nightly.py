"""The issue's done-when, end to end on the seeded review: the nightly job against the local ClinicalTrials.gov
stand-in stores the review's registrations once each, a second night adds nothing, a status change raises a
reviewer task, the PubMed report citing the same NCT id (found by the PubMed search) is linked, and the public
page lists the trials a reviewer included as ongoing; plus the command, the beat entry and the screening."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from evidence.config.celery import app
from evidence.models import Registration, RegistrySearchRun, RegistryTask, Review, ReviewRole, ReviewSchedule
from evidence.surveillance.pubmed import EutilsClient, EutilsConfig
from evidence.surveillance.registry.screening import registration_screen, registry_task_complete
from evidence.surveillance.search import search_run_execute
from evidence.surveillance.search.schedule import review_schedule_ensure, search_schedule_dispatch_due
from evidence.surveillance.tasks import search_run_for_review
from tests import eutils_replay as replay
from tests.ctgov_replay import SyntheticCtgov, base_url
from tests.eutils_replay import SyntheticPubmed, msc_ssc_records
from tests.evidence.screening_support import make_member

eutils_replay = replay.eutils_replay
URL = "/reviews/msc-ssc/"


class Unlimited:
    def acquire(self) -> None:
        pass


@pytest.fixture
def review(seeded):
    seeded.registry_condition = "systemic sclerosis"
    seeded.registry_intervention = "mesenchymal stem cells OR adipose-derived regenerative cells"
    seeded.save()
    return seeded


@pytest.fixture
def ctgov(eutils_replay, settings):
    handler = SyntheticCtgov.from_fixtures()
    settings.CTGOV_BASE_URL = base_url(eutils_replay(handler))
    return handler


@pytest.fixture
def eager():
    """The nightly task enqueues one task per review on commit; run them in-process."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def nightly(django_capture_on_commit_callbacks) -> None:
    """The review's scheduled slot comes: the dispatcher sends its registry search (its PubMed search is
    stubbed out here; this test runs the PubMed search itself)."""
    for review in Review.objects.all():
        review_schedule_ensure(review=review)
    ReviewSchedule.objects.update(next_search_at=timezone.now() - dt.timedelta(minutes=1))
    with (
        mock.patch.object(search_run_for_review, "apply_async", lambda *args, **kwargs: None),
        django_capture_on_commit_callbacks(execute=True),
    ):
        search_schedule_dispatch_due()


def test_the_nightly_job_stores_links_raises_tasks_and_publishes_ongoing_trials(
    review, ctgov, eager, eutils_replay, django_capture_on_commit_callbacks
):
    pubmed = eutils_replay(SyntheticPubmed(msc_ssc_records()))  # Khanna 2022 cites NCT02396238
    client = EutilsClient(EutilsConfig(base_url=pubmed.base_url, timeout=2.0), rate_limiter=Unlimited())
    search_run_execute(review=review, triggered_by="test", client=client, today=dt.date(2026, 11, 30))

    nightly(django_capture_on_commit_callbacks)
    nightly(django_capture_on_commit_callbacks)

    assert sorted(Registration.objects.filter(review=review).values_list("nct_id", flat=True)) == [
        "NCT00962923",
        "NCT02396238",
        "NCT07360808",
    ]
    first, second = RegistrySearchRun.objects.filter(review=review).order_by("started_at")
    assert (first.records_new, second.records_new, second.records_updated) == (3, 0, 0)
    star = Registration.objects.get(review=review, nct_id="NCT02396238")
    assert star.citations.filter(pmid="35358372").exists()
    assert RegistryTask.objects.filter(registration=star, key=f"citation:{star.citations.get(pmid='35358372').pk}")

    ctgov.set_status("NCT02396238", "COMPLETED", updated=dt.date.today().isoformat())
    nightly(django_capture_on_commit_callbacks)

    assert RegistryTask.objects.filter(registration=star, kind="completed").count() == 1
    assert star.status_changes.get().to_status == "COMPLETED"

    editor = make_member("registry-screener", review, ReviewRole.SCREENER)
    adrc = Registration.objects.get(review=review, nct_id="NCT07360808")
    registration_screen(registration=adrc, decision="ongoing", user=editor)
    body = Client().get(URL).content.decode()

    assert "Ongoing and unpublished trials" in body
    assert '<a href="https://clinicaltrials.gov/study/NCT07360808" rel="external">NCT07360808</a>' in body
    assert "48 planned" in body and "Change in Cochin Hand Function Scale (CHFS) (Baseline to 24 weeks)" in body
    assert "2028-03 (expected)" in body
    assert "NCT00962923" not in body.split("Ongoing and unpublished trials")[1]  # not screened: private


def test_nothing_shows_until_a_reviewer_includes_a_registration_as_ongoing_and_then_at_once(
    review, ctgov, db, client, settings
):
    from evidence.surveillance.registry import registry_run_execute

    settings.PAGES_STAMP_SECONDS = 0  # the page cache keyed by the stamp is under test, not the stamp's memo

    registry_run_execute(review=review, triggered_by="test")
    screener = make_member("registry-screener", review, ReviewRole.SCREENER)
    registration_screen(registration=Registration.objects.get(nct_id="NCT07360808"), decision="awaiting", user=screener)

    assert "Ongoing and unpublished trials" not in client.get(URL).content.decode()  # now cached

    registration_screen(registration=Registration.objects.get(nct_id="NCT07360808"), decision="ongoing", user=screener)

    assert "Ongoing and unpublished trials" in client.get(URL).content.decode()  # the stamp moved: not stale


def test_screening_needs_a_screener_and_an_exclusion_needs_a_reason(review, db):
    registration = Registration.objects.create(review=review, nct_id="NCT07360808", overall_status="RECRUITING")
    extractor = make_member("registry-extractor", review, ReviewRole.EXTRACTOR)
    screener = make_member("registry-screener", review, ReviewRole.SCREENER)

    with pytest.raises(PermissionDenied):
        registration_screen(registration=registration, decision="ongoing", user=extractor)
    with pytest.raises(ValidationError) as error:
        registration_screen(registration=registration, decision="excluded", user=screener)
    assert "screening_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        registration_screen(registration=registration, decision="included", user=screener)
    assert "screening" in error.value.message_dict

    registration.refresh_from_db()
    assert registration.screening == "pending" and registration.screened_by is None
    registration_screen(registration=registration, decision="excluded", user=screener, reason="Not MSC")
    registration.refresh_from_db()
    assert (registration.screening, registration.screening_reason) == ("excluded", "Not MSC")


def test_a_task_is_marked_done_once(review, db):
    registration = Registration.objects.create(review=review, nct_id="NCT07360808", overall_status="RECRUITING")
    task = RegistryTask.objects.create(
        review=review, registration=registration, kind="results_posted", key="results", message="m"
    )
    member = make_member("registry-extractor", review, ReviewRole.EXTRACTOR)

    assert registry_task_complete(task=task, user=member) is True
    assert registry_task_complete(task=task, user=member) is False
    task.refresh_from_db()
    assert task.done_by == member


def test_poll_registry_runs_the_search_and_reports_it(review, ctgov, capsys):
    call_command("poll_registry", "--review", review.slug)
    call_command("poll_registry", "--review", review.slug)

    out = capsys.readouterr().out
    assert "3 found, 3 new" in out and "0 new, 0 updated" in out
    assert Registration.objects.filter(review=review).count() == 3
    with pytest.raises(CommandError, match="No review with slug 'nope'"):
        call_command("poll_registry", "--review", "nope")
    with pytest.raises(CommandError, match="is not a date"):
        call_command("poll_registry", "--since", "yesterday")


def test_poll_registry_fails_with_the_reason_on_a_bad_body(review, eutils_replay, settings, capsys):
    from tests.eutils_replay import Reply

    settings.CTGOV_BASE_URL = base_url(eutils_replay(lambda request: Reply(body=b"not json")))

    with pytest.raises(CommandError, match="Registry search failed for msc-ssc"):
        call_command("poll_registry", "--review", review.slug)
    assert "not JSON" in capsys.readouterr().err
    assert not Registration.objects.exists()


def test_the_registry_search_follows_the_review_schedule_and_its_task_is_registered(db):
    """No global registry entry: the dispatcher's entry sends each due review's registry search."""
    assert not PeriodicTask.objects.filter(task="evidence.registry_runs_nightly").exists()
    assert PeriodicTask.objects.get(task="evidence.search_schedule_dispatch").enabled
    app.loader.import_default_modules()
    assert {"evidence.search_schedule_dispatch", "evidence.registry_run_for_review"} <= set(app.tasks)
