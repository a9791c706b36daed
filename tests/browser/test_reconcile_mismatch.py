"""A senior reviewer reconciles two extractions that disagree, in headless Chromium at 1280 and 390 px: the
discrepancies read as the form's labels, and choosing a value per discrepancy reconciles the study."""

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from evidence.extraction.services import extraction_draft_save
from evidence.models import ReviewRole, Study, TriageStage
from tests.browser.csp import CspWatch
from tests.browser.test_screening_keyboard import CHROMIUM, CHROMIUM_ARGS, _browser_or_skip
from tests.evidence.extraction.test_extraction import payload
from tests.evidence.screening_support import make_citation, make_member, make_outcomes, make_review


@pytest.fixture
def mismatch(transactional_db):
    review = make_review("reconcile")
    make_outcomes()
    senior = make_member("senior", review, ReviewRole.SENIOR_REVIEWER)
    entry = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    first = payload(baseline_mean=20, followup_mean=14, followup_sd=3)
    second = payload(baseline_mean=20, followup_mean=14, followup_sd=4)
    second["intervention"]["cell_source"] = "adipose_msc"
    for name, entered in (("ext1", first), ("ext2", second)):
        extractor = make_member(name, review, ReviewRole.EXTRACTOR)
        extraction_draft_save(review_citation=entry, extractor=extractor, payload=entered, submit=True)
    client = Client()
    client.force_login(senior)
    return review, entry, client.cookies["sessionid"].value


@pytest.mark.parametrize("width", [1280, 390])
def test_a_senior_reviewer_reconciles_a_mismatch_by_its_labels(mismatch, live_server, monkeypatch, width):
    sync_playwright = _browser_or_skip()
    review, entry, session = mismatch
    url = live_server.url + reverse("admin:extraction_compare", args=[review.pk, entry.pk])
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        csp = CspWatch(context)
        page = context.new_page()
        page.goto(url)
        differs = page.locator("tr.differs")
        assert differs.count() == 2
        labels = [differs.nth(i).locator("th").inner_text() for i in range(2)]
        assert "Intervention: Cell source" in labels
        assert "Measurement (Modified Rodnan skin score (mRSS), 6 months, arm MSC): Follow-up SD" in labels
        assert page.get_by_text("Umbilical-cord MSC").count() >= 1
        for i in range(2):
            differs.nth(i).locator('input[type="radio"]').first.check()
        page.click('form.card button[type="submit"]')
        page.wait_for_load_state()
        assert "Reconciled into Li 2022" in page.content()
        assert csp.violations(page) == []
        browser.close()
    connections.close_all()
    study = Study.objects.get(review=review, label="Li 2022")
    assert study.interventions.get().cell_source == "umbilical_cord_msc"
