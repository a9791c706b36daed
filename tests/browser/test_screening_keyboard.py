"""A screener works through three citations with the keyboard only, in headless Chromium."""

import os
import shutil

import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import ReviewRole, ScreeningDecision, ScreeningStage
from tests.browser.csp import CspWatch
from tests.evidence.screening_support import make_citation, make_member, make_review

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("chromium unavailable")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("chromium unavailable: the playwright package is not installed")
    return sync_playwright


@pytest.fixture
def arranged(transactional_db):
    review = make_review("keys")
    screener = make_member("keyboard", review, ReviewRole.SCREENER)
    rcs = [make_citation(review, n) for n in range(3)]
    for rc, score in zip(rcs, (0.9, 0.5, 0.1)):  # the queue's order, most relevant first
        rc.relevance_score = score
        rc.save(update_fields=["relevance_score"])
    client = Client()
    client.force_login(screener)
    return review, screener, rcs, client.cookies["sessionid"].value


def test_it_screens_three_citations_with_the_keyboard(arranged, live_server, monkeypatch):
    sync_playwright = _browser_or_skip()
    review, screener, rcs, session = arranged
    url = live_server.url + reverse("admin:screening_screen", args=[review.pk, ScreeningStage.TITLE_ABSTRACT])
    # Playwright's sync API keeps an event loop in this thread; the ORM calls here happen between its calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone-sized screen
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        csp = CspWatch(context)
        page = context.new_page()
        response = page.goto(url)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        _expect_citation(page, rcs[0])
        _press(page, "i")
        _expect_citation(page, rcs[1])
        page.keyboard.press("1")  # the review's first exclusion reason
        _press(page, "x")
        _expect_citation(page, rcs[2])
        _press(page, "m")
        assert page.locator("#queue-empty").is_visible()
        _press(page, "u")  # undo the maybe: the third citation comes back
        _expect_citation(page, rcs[2])
        _press(page, "i")
        assert csp.violations(page) == [], "the screening page breaks its Content-Security-Policy"
        browser.close()
    decisions = {d.review_citation_id: d for d in ScreeningDecision.objects.filter(reviewer=screener)}
    assert {rc.pk: decisions[rc.pk].decision for rc in rcs} == {
        rcs[0].pk: "include",
        rcs[1].pk: "exclude",
        rcs[2].pk: "include",
    }
    assert decisions[rcs[1].pk].exclusion_reason == "Not systemic sclerosis"


def _press(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def _expect_citation(page, rc) -> None:
    page.wait_for_selector(f'#citation[data-review-citation="{rc.pk}"]', timeout=10_000)
