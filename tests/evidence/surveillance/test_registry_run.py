"""registry_run_execute against the local ClinicalTrials.gov stand-in (tests/ctgov_replay.py)."""

import datetime as dt

import pytest

from evidence.models import (
    Citation,
    CitationOrigin,
    Registration,
    RegistrationStatusChange,
    RegistrySearchRun,
    RegistryTask,
    Review,
    ReviewCitation,
)
from evidence.surveillance.ctgov import CtgovClient, CtgovConfig, CtgovPermanentError, CtgovSchemaError
from evidence.surveillance.registry import RegistryRunAlreadyRunning, registry_run_execute
from evidence.surveillance.registry.runs import REGISTRY_EPOCH
from tests import eutils_replay as replay
from tests.ctgov_replay import SyntheticCtgov, base_url, fixture, json_reply
from tests.eutils_replay import Reply

eutils_replay = replay.eutils_replay
TODAY = dt.date(2026, 11, 30)
IDS = ["NCT00962923", "NCT02396238", "NCT07360808"]


class Unlimited:
    def acquire(self) -> None:
        pass


@pytest.fixture
def review(db):
    return Review.objects.create(
        slug="msc-ssc-registry",
        title="MSC in SSc (registry)",
        pubmed_query="msc AND ssc",
        search_start_date=dt.date(2021, 2, 1),
        registry_condition="systemic sclerosis",
        registry_intervention="mesenchymal stem cells OR adipose-derived regenerative cells",
    )


def execute(review, server, *, today=TODAY, page_size=2, **kwargs):
    client = CtgovClient(
        CtgovConfig(base_url=base_url(server), timeout=2.0, max_retries=1, page_size=page_size),
        rate_limiter=Unlimited(),
        sleep=lambda _: None,
    )
    return registry_run_execute(review=review, triggered_by="test", client=client, today=today, **kwargs)


def cite(review, nct_id, pmid="35358372"):
    citation = Citation.objects.create(
        pmid=pmid, title="ADRC for hand dysfunction in SSc", registry_ids=[nct_id], origin=CitationOrigin.SEARCH
    )
    ReviewCitation.objects.create(review=review, citation=citation)
    return citation


def test_it_stores_the_reviews_registrations_once_and_a_second_run_adds_nothing(review, eutils_replay):
    ctgov = SyntheticCtgov.from_fixtures()
    server = eutils_replay(ctgov)

    first = execute(review, server)
    second = execute(review, server)

    assert sorted(Registration.objects.filter(review=review).values_list("nct_id", flat=True)) == IDS
    assert (first.status, first.records_found, first.records_new) == ("succeeded", 3, 3)
    assert (first.window_start, first.window_end) == (REGISTRY_EPOCH, TODAY)
    assert (second.status, second.records_new, second.records_updated, second.tasks_raised) == ("succeeded", 0, 0, 0)
    assert second.window_start == TODAY - dt.timedelta(days=3)  # gap-free: overlaps the last window
    assert Registration.history.count() == 3 and not RegistrationStatusChange.objects.exists()
    adrc = Registration.objects.get(nct_id="NCT07360808")
    assert (adrc.enrolment_count, adrc.enrolment_type, adrc.completion_date) == (48, "ESTIMATED", "2028-03")
    assert adrc.primary_outcomes[0]["timeFrame"] == "Baseline to 24 weeks" and adrc.first_run == first
    assert server.requests[-1].params["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-11-27,2026-11-30]"


def test_a_status_change_to_completed_raises_a_reviewer_task_once(review, eutils_replay):
    ctgov = SyntheticCtgov.from_fixtures()
    server = eutils_replay(ctgov)
    execute(review, server, today=dt.date(2026, 11, 25))
    ctgov.set_status("NCT02396238", "COMPLETED", updated="2026-11-29")

    run = execute(review, server)
    again = execute(review, server)

    (change,) = RegistrationStatusChange.objects.all()
    assert (change.from_status, change.to_status, change.run) == ("ACTIVE_NOT_RECRUITING", "COMPLETED", run)
    (task,) = RegistryTask.objects.filter(review=review)
    assert task.kind == "completed" and task.message == "NCT02396238 is now completed — check for results and data"
    assert (run.status_changes, run.tasks_raised, again.tasks_raised) == (1, 1, 0)
    assert Registration.objects.get(nct_id="NCT02396238").overall_status == "COMPLETED"


def test_results_posted_raise_a_task(review, eutils_replay):
    ctgov = SyntheticCtgov.from_fixtures()
    server = eutils_replay(ctgov)
    execute(review, server, today=dt.date(2026, 11, 25))
    ctgov.post_results("NCT07360808", updated="2026-11-28")

    execute(review, server)

    (task,) = RegistryTask.objects.all()
    assert task.message == "Results posted for NCT07360808 — check for data"
    assert Registration.objects.get(nct_id="NCT07360808").has_results is True


def test_a_pubmed_report_with_the_nct_id_is_linked_and_raises_a_task(review, eutils_replay):
    citation = cite(review, "NCT02396238")
    server = eutils_replay(SyntheticCtgov.from_fixtures())

    run = execute(review, server)
    execute(review, server)

    star = Registration.objects.get(nct_id="NCT02396238")
    assert list(star.citations.all()) == [citation]
    (task,) = RegistryTask.objects.filter(kind="publication_linked")
    assert task.message == "PMID 35358372 cites NCT02396238 — check for data" and task.run == run


def test_a_report_citing_a_merged_id_is_linked_to_the_current_registration(review, eutils_replay):
    citation = cite(review, "NCT00971111", pmid="38206544")
    server = eutils_replay(SyntheticCtgov.from_fixtures())

    execute(review, server)

    assert list(Registration.objects.get(nct_id="NCT00962923").citations.all()) == [citation]


def test_a_row_stored_under_a_merged_id_takes_the_current_id(review, eutils_replay):
    Registration.objects.create(review=review, nct_id="NCT00971111", overall_status="RECRUITING")
    server = eutils_replay(SyntheticCtgov.from_fixtures())

    run = execute(review, server)

    assert not Registration.objects.filter(nct_id="NCT00971111").exists()
    assert Registration.objects.get(nct_id="NCT00962923").aliases == ["NCT00971111"]
    assert run.notes == ["NCT00971111 was merged into NCT00962923 (an alias); the row now uses the new id"]


def test_a_withdrawn_registration_is_stored_and_noted(review, eutils_replay):
    server = eutils_replay(SyntheticCtgov([fixture("study_NCT05550001_withdrawn.json")]))

    run = execute(review, server)

    assert Registration.objects.get().overall_status == "WITHDRAWN"
    assert run.notes == ["NCT05550001 is withdrawn (no participants enrolled); kept, never public as ongoing"]


@pytest.mark.parametrize(
    ("replies", "error"),
    [
        ([Reply(body=b"<html>down for maintenance</html>")], "CtgovPermanentError: "),
        ([json_reply({"studies": [fixture("study_NCT07360808_recruiting.json")], "nextPageToken": "t"})] * 2, "loops"),
        (
            [json_reply({"studies": [fixture(f) for f in ("study_NCT07360808_recruiting.json",)]}, 200)],
            None,
        ),
    ],
)
def test_bad_pages_fail_the_run_with_the_reason_and_store_nothing(review, eutils_replay, replies, error):
    pending = list(replies)
    server = eutils_replay(lambda request: pending.pop(0))
    if error is None:  # the control: the same study on a sound page is stored
        execute(review, server)
        assert Registration.objects.count() == 1
        return

    with pytest.raises(CtgovPermanentError):
        execute(review, server)

    run = RegistrySearchRun.objects.get()
    assert run.status == "failed" and error in run.error
    assert not Registration.objects.exists()


def test_a_study_missing_a_module_fails_the_run_and_stores_none_of_its_page(review, eutils_replay):
    page = {"studies": [fixture("study_NCT07360808_recruiting.json"), fixture("study_missing_status_module.json")]}
    server = eutils_replay(lambda request: json_reply(page))

    with pytest.raises(CtgovSchemaError):
        execute(review, server)

    run = RegistrySearchRun.objects.get()
    assert run.status == "failed" and "lacks protocolSection.statusModule" in run.error
    assert not Registration.objects.exists()
    retry = execute(review, eutils_replay(SyntheticCtgov.from_fixtures()))
    assert retry.window_start == REGISTRY_EPOCH  # the failed window is searched again


def test_a_second_run_is_refused_while_one_runs(review, eutils_replay):
    RegistrySearchRun.objects.create(
        review=review, query={}, window_start=TODAY, window_end=TODAY, status="running", triggered_by="other"
    )
    server = eutils_replay(SyntheticCtgov.from_fixtures())

    with pytest.raises(RegistryRunAlreadyRunning):
        execute(review, server)
    assert not server.requests


def test_a_review_without_a_registry_query_is_not_searched(review, eutils_replay):
    Review.objects.filter(pk=review.pk).update(registry_condition="", registry_intervention="")
    review.refresh_from_db()
    server = eutils_replay(SyntheticCtgov.from_fixtures())

    assert execute(review, server) is None
    assert not server.requests and not RegistrySearchRun.objects.exists()


def test_a_study_of_the_review_with_the_nct_id_is_linked(review, eutils_replay):
    from evidence.models import Study

    study = Study.objects.create(
        review=review, label="Khanna 2022", design="rct", trial_registration="NCT02396238 (STAR)"
    )
    server = eutils_replay(SyntheticCtgov.from_fixtures())

    execute(review, server)

    assert list(Registration.objects.get(nct_id="NCT02396238").studies.all()) == [study]
    assert not Registration.objects.get(nct_id="NCT07360808").studies.exists()
