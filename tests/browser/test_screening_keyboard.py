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
        _shortcuts_start_off(page)
        page.click("#shortcuts-toggle")  # one click turns them on; the browser remembers
        assert page.get_attribute("#shortcuts-toggle", "aria-pressed") == "true"
        assert page.get_attribute("#btn-include", "aria-keyshortcuts") == "I"
        assert page.get_attribute("#btn-undo", "aria-keyshortcuts") == "U"
        _ignored_off_the_card_and_with_modifiers(page)
        page.focus("#citation")
        _press(page, "i")
        _expect_citation(page, rcs[1])  # the next card has focus again: the reviewer keeps going
        assert page.evaluate("document.activeElement.id") == "citation"
        assert page.get_attribute("#shortcuts-toggle", "aria-pressed") == "true", "the choice was not remembered"
        page.keyboard.press("1")  # the review's first exclusion reason
        _press(page, "x")
        _expect_citation(page, rcs[2])
        _press(page, "m")
        assert page.locator("#queue-empty").is_visible()
        assert page.locator("#btn-undo").is_visible() and _in_viewport(page, "#btn-undo")
        page.click("#btn-undo")  # undo the maybe: the third citation comes back
        _expect_citation(page, rcs[2])
        _press(page, "u")  # ...and the key does the same: undo the exclusion, the second comes back
        _expect_citation(page, rcs[1])
        page.keyboard.press("1")
        _press(page, "e")  # e is documented as exclude too
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


def _shortcuts_start_off(page) -> None:
    """A new reviewer: shortcuts off, every key documented in a legend visible on a phone, no key acts."""
    assert page.get_attribute("#shortcuts-toggle", "aria-pressed") == "false"
    legend = page.locator("#shortcuts")
    assert legend.is_visible()
    for key in ("i", "x", "e", "m", "n", "j", "p", "k", "u", "1", "9", "Shift", "Ctrl", "Alt"):
        assert f"{key}" in legend.inner_text(), f"the legend does not document {key}"
    assert page.get_attribute("#btn-include", "aria-keyshortcuts") is None
    page.focus("#citation")
    page.keyboard.press("i")
    _no_navigation(page)


def _ignored_off_the_card_and_with_modifiers(page) -> None:
    page.focus("#btn-include")
    page.keyboard.press("x")  # focus on Include: x must not submit Exclude
    _no_navigation(page)
    page.focus("#citation")
    for chord in ("Shift+I", "Control+i", "Alt+i"):
        page.keyboard.press(chord)
        _no_navigation(page)


def _no_navigation(page) -> None:
    before = page.evaluate("performance.timeOrigin")
    page.wait_for_timeout(300)
    assert page.evaluate("performance.timeOrigin") == before, "a key acted that should not have"


def _in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844


def _press(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def _expect_citation(page, rc) -> None:
    page.wait_for_selector(f'#citation[data-review-citation="{rc.pk}"]', timeout=10_000)
