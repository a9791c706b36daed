"""Issue 20, "Done when", as one path through the admin and the public pages with the test client.

Given the seeded MSC review, an editor of it who is not a superuser sets up a second review ("AHSCT for SSc")
with a binary and a time-to-event outcome, staffs it, schedules it weekly and searches it now (against the local
E-utilities stand-in); two screeners include a record, two extractors extract a two-arm trial, a senior reviewer
reconciles, the editor approves and the recompute runs. Then the new review's page speaks of its own
intervention, pools TRM as a risk ratio with absolute effects and the HR as fewer events with the intervention,
its schedule is its own, a paused review is not searched, and the MSC review's page and API are unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence.models import (
    LivingStatus,
    Outcome,
    PooledResult,
    RecomputeRun,
    Review,
    ReviewCitation,
    ReviewMembership,
    ReviewRole,
    ReviewSchedule,
    SearchRun,
    Study,
    StudyStatus,
    TriageStage,
)
from evidence.publishing.selectors.stamp import next_search_text
from evidence.surveillance.search.schedule import search_schedule_dispatch_due
from evidence.surveillance.tasks import search_run_for_review
from evidence.surveillance.tasks_registry import registry_run_for_review
from evidence.synthesis.recompute.analyses import CONTROLLED_VARIABLE
from evidence.synthesis.tasks import review_recompute
from tests import eutils_replay as replay
from tests.eutils_replay import SyntheticPubmed, msc_ssc_records
from tests.evidence.screening_support import make_member
from tests.evidence.surveillance.test_search_run import fast_client

eutils_replay = replay.eutils_replay  # the fixture, bound in this module

MSC_PAGES = [
    "/reviews/msc-ssc/",
    "/api/v1/reviews/msc-ssc/",
    "/api/v1/reviews/msc-ssc/outcomes/",
    "/api/v1/reviews/msc-ssc/pooled-results/",
    "/api/v1/reviews/msc-ssc/studies/",
    "/api/v1/reviews/msc-ssc/versions/",
    "/reviews/msc-ssc/outcomes/mrss/",  # the new review has an mRSS of its own
    "/api/v1/outcomes/?review=msc-ssc",
    "/api/v1/outcomes/mrss/",  # a code both reviews define: it keeps answering the MSC review's
    "/reviews/msc-ssc/feed/",
]
# Times and the things that carry them (request ids, CSP nonces, ETags) differ between two reads of one page.
VOLATILE = [
    re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"),
    re.compile(r'nonce="[^"]*"'),
    re.compile(r"csrfmiddlewaretoken\" value=\"[^\"]*\""),
    re.compile(r"\d+\s(minutes?|hours?|days?|seconds?)(,\s\d+\s(minutes?|hours?))?\sago"),
]
WORDING = {
    "intervention_name": "AHSCT",
    "intervention_full": "autologous haematopoietic stem cell transplantation",
    "intervention_plain": "their own blood-forming stem cells, given back after intensive chemotherapy",
    "population_name": "systemic sclerosis",
    "population_plain": "people with severe, early systemic sclerosis",
}


def _msc_urls() -> list[str]:
    """Its pages and API, with its latest version's pages and downloads and a study's page."""
    msc = Review.objects.get(slug="msc-ssc")
    number = msc.versions.latest().number
    study = Study.objects.filter(review=msc, status=StudyStatus.INCLUDED).order_by("pk").first()
    return [
        *MSC_PAGES,
        f"/reviews/msc-ssc/v/{number}/",
        f"/reviews/msc-ssc/studies/{study.pk}/",
        f"/api/v1/reviews/msc-ssc/versions/{number}/",
        f"/api/v1/reviews/msc-ssc/versions/{number}/pooled-results/",
        "/api/v1/reviews/msc-ssc/citations/",
        "/api/v1/reviews/msc-ssc/ongoing-trials/",
    ]


def _snapshot(client: Client) -> dict[str, str]:
    """The MSC review as the public and the API see it, with times taken out."""
    pages = {}
    for url in _msc_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for pattern in VOLATILE:
            body = pattern.sub("<time>", body)
        pages[url] = body
    return pages


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form_data(client: Client, url: str, **changes) -> dict:
    """The admin form's own values (as its page would post them), with ``changes``."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = value
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _posted(response) -> None:
    """An admin post that saved redirects; one that did not shows its form's errors."""
    errors = ""
    if response.status_code == 200 and response.context and "adminform" in response.context:
        errors = response.context["adminform"].form.errors
    assert response.status_code == 302, errors or response.content.decode()[:2000]


@pytest.fixture
def sent(monkeypatch):
    """Tasks handed to the broker, (task name, args, kwargs); the test runs the ones it needs itself."""
    calls = []
    for task in (search_run_for_review, registry_run_for_review, review_recompute):

        def record(*args, _name=task.name, **kwargs):
            calls.append((_name, tuple(kwargs.get("args") or ()), kwargs.get("kwargs") or {}))

        monkeypatch.setattr(task, "apply_async", record)
    return calls


# --- The editor's steps -----------------------------------------------------------------------------------


def _create_review(ed: Client) -> Review:
    url = reverse("admin:evidence_review_add")
    data = _form_data(
        ed,
        url,
        slug="ahsct-ssc",
        title="Autologous haematopoietic stem cell transplantation for systemic sclerosis",
        population="Adults with early diffuse cutaneous systemic sclerosis",
        intervention="Autologous haematopoietic stem cell transplantation after immunoablative conditioning",
        comparator="Intravenous cyclophosphamide",
        pubmed_query="scleroderma AND (stem cell transplantation)",
        search_start_date="2021-01-01",
        binary_measure="RR",
        protocol_public="on",  # its protocol page is public before the first version
        arm_label="AHSCT",
        intervention_fields="Conditioning regimen\nGraft manipulation",
        pico_terms="systemic sclerosis\ntransplantation\nevent-free survival",
        exclusion_reasons="Not systemic sclerosis\nNot transplantation",
        **WORDING,
    )
    _posted(ed.post(url, data))
    return Review.objects.get(slug="ahsct-ssc")


OUTCOMES = [
    dict(code="trm", name="Treatment-related mortality", direction="lower_is_better", outcome_type="binary"),
    dict(
        code="efs",
        name="Event-free survival",
        direction="higher_is_better",
        outcome_type="time_to_event",
        benefit_in_words="higher = more patients alive without major organ failure",
    ),
    dict(
        code="mrss",
        name="Modified Rodnan skin score (mRSS)",
        unit="points (0–51)",
        direction="lower_is_better",
        outcome_type="continuous",
        plausible_min="0",
        plausible_max="51",
    ),
]


def _add_outcomes(ed: Client, review: Review) -> None:
    url = reverse("admin:evidence_outcome_add")
    for fields in OUTCOMES:
        _posted(ed.post(url, _form_data(ed, url, review=review.pk, **fields)))


def _add_members(ed: Client, review: Review) -> dict:
    users = {}
    url = reverse("admin:evidence_reviewmembership_add")
    for name, role in [
        ("scr1", ReviewRole.SCREENER),
        ("scr2", ReviewRole.SCREENER),
        ("ext1", ReviewRole.EXTRACTOR),
        ("ext2", ReviewRole.EXTRACTOR),
        ("senior", ReviewRole.SENIOR_REVIEWER),
    ]:
        users[name] = get_user_model().objects.create_user(name, f"{name}@example.org", None)
        _posted(ed.post(url, {"review": review.pk, "user": users[name].pk, "role": role}))
    return users


def _set_schedule_weekly(ed: Client, review: Review) -> None:
    url = reverse("admin:evidence_reviewschedule_change", args=[review.schedule.pk])
    _posted(ed.post(url, _form_data(ed, url, frequency="weekly", weekday="2", time_of_day="05:30")))


def _search_now(ed: Client, review: Review, sent, server, monkeypatch, capture) -> None:
    with capture(execute=True):
        response = ed.post(
            reverse("admin:evidence_review_changelist"), {"action": "search_now", "_selected_action": [review.pk]}
        )
    assert response.status_code == 302
    [(_, args, kwargs)] = [call for call in sent if call[0] == search_run_for_review.name]
    monkeypatch.setattr("evidence.surveillance.search.eutils_client_from_settings", lambda: fast_client(server))
    search_run_for_review(*args, **kwargs)  # what the worker runs


def _screen(users: dict, review: Review, record: ReviewCitation) -> None:
    for stage in ("title_abstract", "full_text"):
        for name in ("scr1", "scr2"):
            url = reverse("admin:screening_screen", args=[review.pk, stage])
            data = {"review_citation": record.pk, "decision": "include", "exclusion_reason": "", "pos": 0}
            assert _as(users[name]).post(url, data).status_code == 302


def _draft(review: Review) -> dict:
    """ASTIS-like: AHSCT 40 vs cyclophosphamide 40; TRM 2/40 vs 8/40; EFS HR 0.35 (0.16 to 0.74)."""
    fields = dict(review.intervention_vocabulary())
    conditioning = next(key for key, label in fields.items() if label == "Conditioning regimen")
    data = {
        "study-label": "Trial 2014",
        "study-first_author": "van Laar",
        "study-year": "2014",
        "study-design": "rct",
        "study-enrolment_n": "80",
        "arm-TOTAL_FORMS": "2",
        "arm-INITIAL_FORMS": "0",
        "arm-0-label": "AHSCT",
        "arm-0-role": "intervention",
        "arm-0-n_randomized": "40",
        f"arm-0-{conditioning}": "cyclophosphamide 200 mg/kg and rabbit ATG",
        "arm-1-label": "cyclophosphamide",
        "arm-1-role": "comparator",
        "arm-1-n_randomized": "40",
        "m-TOTAL_FORMS": "3",
        "m-INITIAL_FORMS": "0",
        "ae-TOTAL_FORMS": "0",
        "ae-INITIAL_FORMS": "0",
        "submit": "1",
    }
    rows = [
        {"outcome": "trm", "arm": "AHSCT", "data_format": "events", "events": "2", "total": "40"},
        {"outcome": "trm", "arm": "cyclophosphamide", "data_format": "events", "events": "8", "total": "40"},
        {"outcome": "efs", "arm": "AHSCT", "data_format": "effect_estimate", "effect_measure": "HR",
         "effect_estimate": "0.35", "effect_ci_lb": "0.16", "effect_ci_ub": "0.74"},
    ]  # fmt: skip
    for index, row in enumerate(rows):
        data.update({f"m-{index}-timepoint_months": "24", **{f"m-{index}-{k}": v for k, v in row.items()}})
    return data


def _extract_and_reconcile(users: dict, review: Review, record: ReviewCitation) -> Study:
    url = reverse("admin:extraction_draft", args=[review.pk, record.pk])
    form = _as(users["ext1"]).get(url).content.decode()
    assert "Conditioning regimen" in form and "Graft manipulation" in form  # the review's intervention fields
    assert "Cell product" not in form and "Cell source" not in form and 'value="MSC"' not in form
    for name in ("ext1", "ext2"):
        response = _as(users[name]).post(url, _draft(review))
        assert response.status_code == 302, [str(m) for m in response.context["messages"]] if response.context else ""
    compare = reverse("admin:extraction_compare", args=[review.pk, record.pk])
    assert _as(users["senior"]).get(compare).status_code == 200
    assert _as(users["senior"]).post(compare, {}).status_code == 302
    return Study.objects.get(review=review, label="Trial 2014")


def _approve(ed: Client, review: Review, study: Study, sent, capture) -> None:
    awaiting = ed.get(reverse("admin:approval_list", args=[review.pk]))
    assert awaiting.status_code == 200 and "Trial 2014" in awaiting.content.decode()
    with capture(execute=True):
        response = ed.post(reverse("admin:approval_list", args=[review.pk]), {"study": study.pk, "action": "approve"})
    assert response.status_code == 302
    [run_id] = [args[0] for name, args, _ in sent if name == review_recompute.name]
    assert review_recompute(run_id) == "published"  # what the worker runs
    assert RecomputeRun.objects.get(pk=run_id).review == review


# --- The path -------------------------------------------------------------------------------------------


def test_it_takes_a_second_review_from_setup_to_its_public_page(
    seeded, eutils_replay, sent, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    public = Client()
    msc_before = _snapshot(public)
    editor = make_member("ed", seeded, ReviewRole.EDITOR)
    ed = _as(editor)

    # The editor sets the review up, becomes its admin, defines its outcomes, staffs and schedules it.
    review = _create_review(ed)
    assert ReviewMembership.objects.get(review=review, user=editor).role == ReviewRole.ADMIN
    assert not editor.is_superuser
    _add_outcomes(ed, review)
    assert set(Outcome.objects.filter(review=review).values_list("code", flat=True)) == {"trm", "efs", "mrss"}
    users = _add_members(ed, review)
    _set_schedule_weekly(ed, review)
    before_results = public.get(f"/reviews/{review.slug}/")
    assert before_results.status_code == 200  # before its first version: its protocol and status, not a 404
    assert "first study is approved" in before_results.content.decode()
    assert f"/reviews/{review.slug}/" in public.get("/").content.decode()

    # Search now: the run is in the review's ledger, and its records are in its own screening queue.
    _search_now(ed, review, sent, eutils_replay(SyntheticPubmed(msc_ssc_records())), monkeypatch, capture)
    run = SearchRun.objects.filter(review=review).get()
    assert run.records_new >= 1 and run.triggered_by == "search now (ed)"
    assert not SearchRun.objects.filter(review=seeded).exists()
    ledger = ed.get(reverse("admin:evidence_searchrun_changelist")).content.decode()
    assert "ahsct-ssc" in ledger
    record = ReviewCitation.objects.filter(review=review, stage=TriageStage.TITLE_ABSTRACT).order_by("pk").first()

    # Screening, extraction, reconciliation and approval, each by its own role.
    assert (
        _as(users["scr1"]).get(reverse("admin:screening_screen", args=[review.pk, "title_abstract"])).status_code == 200
    )
    _screen(users, review, record)
    record.refresh_from_db()
    assert record.stage == TriageStage.EXTRACTION
    study = _extract_and_reconcile(users, review, record)
    _approve(ed, review, study, sent, capture)
    study.refresh_from_db()
    assert study.status == StudyStatus.INCLUDED

    # Its public page speaks of its own intervention and pools its own outcomes the right way round.
    page = public.get(f"/reviews/{review.slug}/").content.decode()
    assert "autologous haematopoietic stem cell transplantation" in page.lower()
    assert WORDING["intervention_plain"] in page
    assert "mesenchymal" not in page.lower() and not re.search(r"\bMSCs?\b", page)
    trm = PooledResult.objects.get(version__review=review, outcome__code="trm", subgroup_variable=CONTROLLED_VARIABLE)
    assert trm.effect_measure_note.startswith("Risk ratio")
    assert "RR &lt; 1 = fewer events with the intervention" in page
    assert "Per 1,000 patients: 200 with the comparator, 50 (" in page
    assert trm.estimate == pytest.approx((2 / 40) / (8 / 40)) and "150 fewer per 1,000" in trm.absolute_effect["words"]
    efs = PooledResult.objects.get(version__review=review, outcome__code="efs")
    assert efs.estimate == pytest.approx(0.35) and efs.subgroup_variable == CONTROLLED_VARIABLE
    assert "HR &lt; 1 = fewer events with the intervention" in page
    assert "higher = more patients alive" not in page

    _its_other_pages_speak_of_it(public, review, study)

    # Its schedule is its own, and a paused review is not searched by the dispatcher.
    assert "weekly on Wednesday at 05:30 UTC" in page
    review.schedule.refresh_from_db()
    assert review.schedule.describe() == "weekly on Wednesday at 05:30 UTC"
    assert next_search_text(review=seeded) == "daily at 02:30 UTC"  # the seed's default, unchanged

    # The MSC review is as it was.
    assert _snapshot(public) == msc_before

    # The dispatcher searches the review at its slot, and not once it is paused.
    assert _dispatched_when_due(review, sent, capture)
    paused = ed.post(reverse("admin:evidence_review_changelist"), {"action": "pause", "_selected_action": [review.pk]})
    assert paused.status_code == 302
    review.refresh_from_db()
    assert review.living_status == LivingStatus.PAUSED
    assert not _dispatched_when_due(review, sent, capture)


def _its_other_pages_speak_of_it(public: Client, review: Review, study: Study) -> None:
    """The study page, the outcome pages, the API and the home page: its own words and outcomes."""
    study_page = public.get(f"/reviews/{review.slug}/studies/{study.pk}/").content.decode()
    assert "cyclophosphamide 200 mg/kg and rabbit ATG" in study_page and "Conditioning regimen" in study_page
    assert "Cell source" not in study_page
    efs_page = public.get(f"/reviews/{review.slug}/outcomes/efs/").content.decode()
    assert "HR &lt; 1 = fewer events with the intervention" in efs_page, efs_page[:3000]
    assert "higher = more patients alive" not in efs_page
    trm_page = public.get(f"/reviews/{review.slug}/outcomes/trm/").content.decode()
    assert "per 1,000" in trm_page.lower()
    outcomes = public.get(f"/api/v1/reviews/{review.slug}/outcomes/").json()
    rows = outcomes["results"] if isinstance(outcomes, dict) else outcomes
    assert sorted(row["code"] for row in rows) == ["efs", "mrss", "trm"]
    detail = public.get(f"/api/v1/reviews/{review.slug}/").json()
    assert "mesenchymal" not in str(detail).lower()
    number = review.versions.latest().number
    version = public.get(f"/reviews/{review.slug}/v/{number}/").content.decode()
    assert WORDING["intervention_plain"] in version and "HR &lt; 1 = fewer events with the intervention" in version
    assert public.get(f"/reviews/{review.slug}/feed/").status_code == 200
    home = public.get("/").content.decode()
    assert f"/reviews/{review.slug}/" in home and "/reviews/msc-ssc/" in home


def _dispatched_when_due(review: Review, sent, capture) -> bool:
    """Whether the dispatcher sends the review's search once its slot has passed."""
    ReviewSchedule.objects.filter(review=review).update(next_search_at=timezone.now() - dt.timedelta(minutes=5))
    sent.clear()
    with capture(execute=True):
        search_schedule_dispatch_due()
    return review.pk in [args[0] for name, args, _ in sent if name == search_run_for_review.name]
