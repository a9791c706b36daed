"""An extractor adds and removes outcome and adverse-event rows in the extraction form, in headless Chromium."""

from django.db import connections
from django.urls import reverse

from evidence.models import ExtractionDraft
from tests.browser.csp import CspWatch
from tests.browser.test_extraction_arms_form import arranged  # noqa: F401  the fixture
from tests.browser.test_screening_keyboard import CHROMIUM, CHROMIUM_ARGS, _browser_or_skip


def _measurement(page, index: int, months: str, mean: str) -> None:
    page.select_option(f'[name="m-{index}-outcome"]', "chfs")
    page.fill(f'[name="m-{index}-timepoint_months"]', months)
    page.select_option(f'[name="m-{index}-data_format"]', "change")
    page.fill(f'[name="m-{index}-change_mean"]', mean)
    page.fill(f'[name="m-{index}-change_sd"]', "4")


def test_an_extractor_adds_and_removes_rows(arranged, live_server, monkeypatch):  # noqa: F811
    sync_playwright = _browser_or_skip()
    review, entry, session = arranged
    url = live_server.url + reverse("admin:extraction_draft", args=[review.pk, entry.pk])
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        csp = CspWatch(context)
        page = context.new_page()
        page.goto(url)
        page.fill('[name="study-label"]', "Rows 2024")
        page.select_option('[name="study-design"]', "single_arm_before_after")
        page.fill('[name="study-enrolment_n"]', "20")
        shown = int(page.input_value('[name="m-TOTAL_FORMS"]'))
        for index in range(shown):
            _measurement(page, index, str(3 * (index + 1)), "-1")
        page.click("#measurements .formset-add")  # one row more than the page offered
        assert page.input_value('[name="m-TOTAL_FORMS"]') == str(shown + 1)
        _measurement(page, shown, "24", "-5")
        page.locator("#measurements .formset-row").nth(0).locator(".formset-remove").click()
        assert page.locator("#measurements .formset-row").nth(0).is_hidden()
        page.click("#adverse-events .formset-add")
        ae = int(page.input_value('[name="ae-TOTAL_FORMS"]')) - 1
        page.fill(f'[name="ae-{ae}-term"]', "Fever")
        page.fill(f'[name="ae-{ae}-patients_with_event"]', "1")
        page.fill(f'[name="ae-{ae}-patients_at_risk"]', "20")
        page.click('button[name="save"]')
        page.wait_for_load_state()
        assert csp.violations(page) == []
        browser.close()
    connections.close_all()
    payload = ExtractionDraft.objects.get(review_citation=entry).payload
    months = sorted(row["timepoint_months"] for row in payload["measurements"])
    assert months == [3.0 * (index + 1) for index in range(1, shown)] + [24.0]  # the first row removed, one added
    assert [event["term"] for event in payload["adverse_events"]] == ["Fever"]
