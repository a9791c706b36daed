"""An extractor enters a three-arm trial in the extraction form, in headless Chromium: arms are added by saving
(each save offers empty arm rows), a bad arm is refused with its field named, and nothing is half-saved."""

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from evidence.models import ExtractionDraft, ReviewRole, TriageStage
from tests.browser.test_screening_keyboard import CHROMIUM, CHROMIUM_ARGS, _browser_or_skip
from tests.evidence.extraction.test_extraction_arms import chfs
from tests.evidence.screening_support import make_citation, make_member, make_review


@pytest.fixture
def arranged(transactional_db):
    review = make_review("arms")
    chfs()
    extractor = make_member("extractor", review, ReviewRole.EXTRACTOR)
    entry = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    client = Client()
    client.force_login(extractor)
    return review, entry, client.cookies["sessionid"].value


def _arm(page, index: int, label: str, role: str, n: str) -> None:
    page.fill(f'[name="arm-{index}-label"]', label)
    page.select_option(f'[name="arm-{index}-role"]', role)
    page.fill(f'[name="arm-{index}-n_randomized"]', n)


def _change(page, index: int, arm: str, mean: str, sd: str) -> None:
    page.select_option(f'[name="m-{index}-outcome"]', "chfs")
    page.fill(f'[name="m-{index}-timepoint_months"]', "12")
    page.fill(f'[name="m-{index}-arm"]', arm)
    page.select_option(f'[name="m-{index}-data_format"]', "change")
    page.fill(f'[name="m-{index}-change_mean"]', mean)
    page.fill(f'[name="m-{index}-change_sd"]', sd)


def test_an_extractor_enters_three_arms_and_a_bad_arm_is_named(arranged, live_server, monkeypatch):
    sync_playwright = _browser_or_skip()
    review, entry, session = arranged
    url = live_server.url + reverse("admin:extraction_draft", args=[review.pk, entry.pk])
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        page.goto(url)
        assert "change = follow-up − baseline" in page.locator(".sign-convention").inner_text()
        page.fill('[name="study-label"]', "STAR 2022")
        page.select_option('[name="study-design"]', "rct")
        page.fill('[name="study-enrolment_n"]', "130")
        _arm(page, 0, "ADRC high dose", "intervention", "48")
        _arm(page, 1, "placebo", "comparator", "40")
        page.click('button[name="save"]')
        # The saved draft comes back with its two arms and two empty rows: a third arm can be added.
        assert page.input_value('[name="arm-1-label"]') == "placebo"
        _arm(page, 2, "ADRC low dose", "intervention", "")  # no n: refused on submit
        _change(page, 0, "ADRC high dose", "-11.0", "12.5")
        _change(page, 1, "placebo", "-8.9", "10.5")
        page.click('button[name="submit"]')
        assert "arms[adrc low dose].n_randomized" in page.locator(".messagelist").inner_text().lower()
        assert ExtractionDraft.objects.get(review_citation=entry).status == "draft"  # the submit changed nothing
        page.fill('[name="arm-2-n_randomized"]', "42")
        page.click('button[name="submit"]')
        assert "Draft submitted" in page.locator(".messagelist").inner_text()
        browser.close()
        # The ORM call above ran in sync_playwright's context, on a connection of its own: closed here, or it
        # would outlive the test database and keep PostgreSQL from dropping it.
        connections.close_all()
    draft = ExtractionDraft.objects.get(review_citation=entry)
    assert draft.status == "submitted"
    assert [(arm["label"], arm["n_randomized"]) for arm in draft.payload["arms"]] == [
        ("ADRC high dose", 48),
        ("placebo", 40),
        ("ADRC low dose", 42),
    ]
    assert {row["arm"] for row in draft.payload["measurements"]} == {"ADRC high dose", "placebo"}
