"""The full text beside the extraction form, in headless Chromium: a second column at 1280 px, below it at 390 px.

The extractor attaches the PDF through the page's own form; the page then frames it from the access-checked
URL, with no Content-Security-Policy or X-Frame-Options refusal.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import FullText, ReviewRole, TriageStage
from tests.browser.csp import CspWatch
from tests.browser.test_screening_keyboard import CHROMIUM, CHROMIUM_ARGS, _browser_or_skip
from tests.evidence.screening_support import make_citation, make_member, make_review

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def arranged(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    review = make_review("full-text")
    extractor = make_member("extractor", review, ReviewRole.EXTRACTOR)
    entry = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    client = Client()
    client.force_login(extractor)
    pdf = tmp_path / "Zhang 2017.pdf"
    pdf.write_bytes(PDF)
    return review, entry, client.cookies["sessionid"].value, pdf


def _box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def _page_tops(page, *selectors: str) -> list[dict]:
    """Boxes in page coordinates, read in one step: the PDF viewer may scroll the page to its frame as it loads,
    which would move a viewport box read between two steps."""
    return page.evaluate(
        """(selectors) => selectors.map((s) => {
            const r = document.querySelector(s).getBoundingClientRect();
            return {x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height};
        })""",
        list(selectors),
    )


def _open(browser, live_server, session, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    refusals: list[str] = []
    context.on("console", lambda message: refusals.append(message.text) if "Refused" in message.text else None)
    return context, CspWatch(context), refusals


def test_the_full_text_sits_beside_the_form_at_1280_and_below_it_at_390(arranged, live_server, monkeypatch):
    sync_playwright = _browser_or_skip()
    review, entry, session, pdf = arranged
    url = live_server.url + reverse("admin:extraction_draft", args=[review.pk, entry.pk])
    pdf_path = reverse("admin:full_text_file", args=[review.pk, entry.pk])
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context, csp, refusals = _open(browser, live_server, session, 1280, 900)
        page = context.new_page()
        page.goto(url)
        assert "We measured mRSS in 11 patients." in page.locator("#source-abstract").inner_text()
        page.set_input_files("#id_full_text_pdf", str(pdf))
        with page.expect_response(lambda response: response.url.endswith(pdf_path)) as framed:
            page.click("#full-text-form button[type=submit]")
        assert framed.value.status == 200 and framed.value.headers["content-type"] == "application/pdf"
        work, source = _box(page, ".with-source > .work"), _box(page, "#full-text")
        assert source["x"] >= work["x"] + work["width"] and source["y"] < 400  # a second column, in view
        assert _box(page, "#full-text-pdf")["height"] > 500
        assert page.locator(".skip-source").is_hidden()
        assert csp.violations(page) == [] and refusals == []
        context.close()

        context, csp, refusals = _open(browser, live_server, session, 390, 844)
        page = context.new_page()
        page.goto(url)
        work, source = _page_tops(page, ".with-source > .work", "#full-text")
        assert source["y"] >= work["y"] + work["height"] - 1  # stacked below the form
        assert source["x"] + source["width"] <= 390 and page.locator(".skip-source a").is_visible()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390  # no sideways scrolling
        assert page.locator("#full-text-pdf").count() == 1
        assert csp.violations(page) == [] and refusals == []
        browser.close()
    assert FullText.objects.get(review_citation=entry).pdf_name == "Zhang 2017.pdf"
