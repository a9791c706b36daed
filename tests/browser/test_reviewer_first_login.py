"""A reviewer given only an account and a membership signs in and finds their task, at 1280 and 390 px."""

import pytest
from django.urls import reverse

from evidence.models import ReviewRole
from tests.browser.csp import CspWatch
from tests.browser.test_screening_keyboard import CHROMIUM, CHROMIUM_ARGS, _browser_or_skip
from tests.evidence.screening_support import make_citation, make_member, make_review

PASSWORD = "a-long-test-password-42"


@pytest.fixture
def newcomer(transactional_db):
    review = make_review("first-login")
    screener = make_member("newcomer", review, ReviewRole.SCREENER)
    screener.set_password(PASSWORD)
    screener.save(update_fields=["password"])
    citations = [make_citation(review, n) for n in range(2)]
    return review, citations


@pytest.mark.parametrize("width", [1280, 390])
def test_a_new_reviewer_signs_in_and_finds_their_screening_queue(newcomer, live_server, monkeypatch, width):
    sync_playwright = _browser_or_skip()
    review, citations = newcomer
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": 900})
        csp = CspWatch(context)
        page = context.new_page()
        page.goto(live_server.url + reverse("admin:index"))  # where a bare "/admin/" link sends them
        page.fill("#id_username", "newcomer")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")

        work = page.locator(".your-work")
        work.wait_for()
        assert review.title in work.inner_text()
        task = work.get_by_role("link", name="To screen (title/abstract)")
        assert task.is_visible()
        box = work.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"'Your work' overflows {width} px: {box}"
        assert "2" in task.locator("xpath=..").inner_text()

        task.click()
        page.wait_for_selector("[data-review-citation]")
        assert (
            page.locator(f'[data-review-citation="{citations[0].pk}"]').count()
            + page.locator(f'[data-review-citation="{citations[1].pk}"]').count()
            >= 1
        )
        home = page.get_by_role("link", name="Screening workspace")
        assert home.count() >= 1, "every workspace page links back"
        assert csp.violations(page) == []
        browser.close()
