"""axe-core on every public page at 1280 and 390 px and on the reviewer's workspace pages: no serious or critical
WCAG 2.1 A/AA violation, and markup that parses strictly (tests/browser/a11y.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.browser.a11y import axe_blocking, markup_errors
from tests.browser.test_review_page import browser  # noqa: F401  (the fixture)

WIDTHS = (1280, 390)


def _public_paths(review) -> list[str]:
    from evidence.models import ReviewVersion, Study

    version = ReviewVersion.objects.filter(review=review).order_by("number").first()
    study = Study.objects.filter(review=review).order_by("pk").first()
    return [
        "/",
        reverse("review", args=[review.slug]),
        reverse("review_version", args=[review.slug, version.number]),
        reverse("review_outcome", args=[review.slug, "mrss"]),
        reverse("review_study", args=[review.slug, study.pk]),
        "/api/docs/",
    ]


def _check(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"
    problems = [f"{url}: {line}" for line in axe_blocking(page)]
    # axe reports an empty header only as a minor issue; an action column's header still needs its name.
    empty = page.evaluate("[...document.querySelectorAll('th')].filter((th) => !th.textContent.trim()).length")
    problems += [f"{url}: {empty} empty table header(s)"] if empty else []
    return problems + [f"{url} markup: {line}" for line in markup_errors(response.text())]


@pytest.mark.slow
def test_it_finds_no_serious_violation_on_the_public_pages(browser, live_server, seeded):  # noqa: F811
    from tests.browser.test_review_page import recompute_with_study_data

    recompute_with_study_data(seeded)  # forest plots and study tables on the page, not only printed rows
    problems = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        for path in _public_paths(seeded):
            problems += [f"{width}px {line}" for line in _check(page, live_server.url + path)]
        context.close()
    assert problems == [], "\n".join(problems)


def _workspace_paths(world) -> list[str]:
    from tests.evidence.permission_world import TA

    review = world.reviews["A"]
    done, extracted, draft = world.rc["done_A"], world.rc["extracted_A"], world.rc["draft"]
    return [
        reverse("admin:screening_home"),
        reverse("admin:screening_screen", args=[review.pk, TA]),
        reverse("admin:screening_conflicts", args=[review.pk, TA]),
        reverse("admin:screening_adjudicate", args=[review.pk, TA, done.pk]),
        reverse("admin:screening_agreement", args=[review.pk]),
        reverse("admin:screening_prisma", args=[review.pk]),
        reverse("admin:extraction_list", args=[review.pk]),
        reverse("admin:extraction_draft", args=[review.pk, draft.pk]),
        reverse("admin:extraction_compare", args=[review.pk, extracted.pk]),
        reverse("admin:approval_list", args=[review.pk]),
    ]


@pytest.mark.slow
def test_it_finds_no_serious_violation_on_the_reviewer_pages(browser, live_server, transactional_db):  # noqa: F811
    from tests.evidence.permission_world import build_world

    world = build_world()
    client = Client()
    client.force_login(world.users["superuser"])
    problems = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        page = context.new_page()
        for path in _workspace_paths(world):
            problems += [f"{width}px {line}" for line in _check(page, live_server.url + path)]
        context.close()
    assert problems == [], "\n".join(problems)


# Each figure's smallest text as rendered (font size × the SVG's scale), and each reflowed table's overflow.
MEASURE = """() => ({
  smallestText: [...document.querySelectorAll("figure svg")].map((svg) => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const sizes = [...svg.querySelectorAll("text")].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
    return Math.min(...sizes);
  }),
  tableOverflow: [...document.querySelectorAll("table.reflow")].map((t) => t.scrollWidth - t.parentElement.clientWidth),
  pageOverflow: document.scrollingElement.scrollWidth - window.innerWidth,
  unreachableRegions: [...document.querySelectorAll(".table-wrap, .figure-scroll")]
    .filter((el) => el.scrollWidth > el.clientWidth && el.tabIndex < 0).length,
})"""


@pytest.mark.slow
def test_it_keeps_figures_legible_and_tables_unscrolled_on_a_phone(browser, live_server, seeded):  # noqa: F811
    from tests.browser.test_review_page import recompute_with_study_data

    recompute_with_study_data(seeded)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + reverse("review", args=[seeded.slug]))
    measured = page.evaluate(MEASURE)
    assert len(measured["smallestText"]) >= 3, "expected forest, cumulative and PRISMA figures"
    assert min(measured["smallestText"]) >= 12, f"figure text below 12 CSS px: {measured['smallestText']}"
    assert max(measured["tableOverflow"]) <= 0, f"a table scrolls sideways: {measured['tableOverflow']}"
    assert measured["pageOverflow"] <= 0, "the page scrolls sideways"
    assert measured["unreachableRegions"] == 0, "a scrolling region cannot be reached with the keyboard"
    counts = page.locator("table.prisma-counts").first.inner_text()
    assert "Records screened" in counts, "the PRISMA counts are not on the page as text"
    for path in _public_paths(seeded):  # every other public page: nothing scrolls sideways either
        page.goto(live_server.url + path)
        measured = page.evaluate(MEASURE)
        assert measured["pageOverflow"] <= 0, f"{path} scrolls sideways on a phone"
        assert min(measured["smallestText"], default=12) >= 12, f"{path}: figure text below 12 CSS px"
        assert max(measured["tableOverflow"], default=0) <= 0, f"{path}: a table scrolls sideways on a phone"
        assert measured["unreachableRegions"] == 0, f"{path}: a scrolling region cannot be reached with the keyboard"
    context.close()
