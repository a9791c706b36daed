"""The review page in headless Chromium, JavaScript off: forest plots and PRISMA render with a size."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connections

from tests.browser.csp import CspWatch

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium unavailable")
    sync_api = pytest.importorskip("playwright.sync_api", reason="chromium unavailable: playwright not installed")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright's sync API runs an event loop
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as error:  # a broken install is the same as none here
            pytest.skip(f"chromium unavailable: {error}")
        yield chromium
        chromium.close()
        # Inside sync_playwright the test's database work ran in another context (asgiref keys Django's
        # connections by context), on a connection of its own: closed here, or it would outlive the test
        # database and block PostgreSQL from dropping it.
        connections.close_all()


def recompute_with_study_data(review) -> None:
    """Study-level mRSS data at 6 months, recomputed: the page then draws forest plots from its own pooling."""
    from evidence.models import OutcomeMeasurement
    from evidence.synthesis.recompute import review_recompute
    from tests.evidence.publishing.test_pages_computed import MRSS_6M  # the same study-level data as the page tests

    for prefix, (bm, bsd, fm, fsd, n) in MRSS_6M.items():
        OutcomeMeasurement.objects.filter(
            study__review=review, study__label__startswith=prefix, outcome__code="mrss", timepoint_months=6
        ).update(
            data_format="baseline_followup", baseline_mean=bm, baseline_sd=bsd, baseline_n=n,
            followup_mean=fm, followup_sd=fsd, followup_n=n,
        )  # fmt: skip
    review_recompute(review=review, trigger="browser test")


@pytest.mark.slow
def test_it_renders_the_forest_plots_and_prisma_diagram_without_javascript(browser, live_server, seeded, tmp_path):
    recompute_with_study_data(seeded)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    csp = CspWatch(context)
    page = context.new_page()
    response = page.goto(f"{live_server.url}/reviews/msc-ssc/")
    assert response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    forests = page.locator("section.analysis figure svg")
    assert forests.count() >= 2, "expected the forest and cumulative plots of mRSS at 6 months"
    for i in range(forests.count()):
        box = forests.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, f"forest plot {i} rendered with no size: {box}"
        # On a phone a plot keeps its legible size inside its own scrolling region, which fits the screen.
        region = forests.nth(i).locator("xpath=ancestor::div[@class='figure-scroll']").bounding_box()
        assert region and region["width"] <= 390, "a plot's region is wider than a phone screen"
    prisma = page.locator("figure.prisma svg")
    assert prisma.count() == 2
    box = prisma.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    assert page.locator("h1").inner_text().startswith("Mesenchymal stem cell therapy")
    assert page.locator("table.sof").count() == 1
    shot = tmp_path / "review.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert csp.violations(page, javascript=False) == [], "the page breaks its Content-Security-Policy"
    context.close()
