"""The Content-Security-Policy in a real browser: the violation detector sees a refused inline style, and the
API docs, the admin sign-in page and a study page work under the policy with nothing refused."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.browser.csp import CspWatch
from tests.browser.test_review_page import browser  # noqa: F401  (the shared Chromium fixture)

VIOLATING_PAGE = "<!doctype html><style>p{color:red}</style><p style='color:blue'>x</p><script>1</script>"


def _policy() -> str:
    return Client().get("/healthz")["Content-Security-Policy"]


@pytest.mark.slow
@pytest.mark.parametrize("javascript", [True, False])
def test_it_detects_a_refused_inline_style_and_script(browser, db, javascript):  # noqa: F811
    # given a page served under the site's policy that breaks it three times
    context = browser.new_context(java_script_enabled=javascript)
    watch = CspWatch(context)
    page = context.new_page()
    page.route(
        "http://csp.test/",
        lambda route: route.fulfill(
            body=VIOLATING_PAGE, content_type="text/html", headers={"Content-Security-Policy": _policy()}
        ),
    )
    # when it is opened
    page.goto("http://csp.test/")
    page.wait_for_timeout(200)
    # then every refusal is seen: the watch cannot pass by seeing nothing
    found = watch.violations(page, javascript=javascript)
    assert any("style" in v for v in found), found
    context.close()


@pytest.mark.slow
def test_it_serves_the_api_docs_and_admin_sign_in_with_nothing_refused(browser, live_server, seeded):  # noqa: F811
    context = browser.new_context()
    watch = CspWatch(context)
    page = context.new_page()
    for path in ("/api/docs/", "/admin/login/", f"/reviews/msc-ssc/studies/{seeded.studies.first().pk}/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200 and "default-src 'self'" in response.headers["content-security-policy"]
        assert watch.violations(page) == [], path
    # the docs' stylesheet applied (it was an inline <style> the policy would refuse)
    page.goto(f"{live_server.url}/api/docs/")
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "960px"
    context.close()


@pytest.mark.slow
def test_it_serves_the_admin_with_nothing_refused(browser, live_server, seeded, django_user_model):  # noqa: F811
    # given a superuser's session (the admin pages with the most widgets and scripts)
    admin = django_user_model.objects.create_superuser("csp-admin", "csp-admin@example.org", None)
    client = Client()
    client.force_login(admin)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    watch = CspWatch(context)
    page = context.new_page()
    study = seeded.studies.first()
    paths = ["/admin/", "/admin/evidence/study/", f"/admin/evidence/study/{study.pk}/change/"]
    paths.append(f"/admin/evidence/study/{study.pk}/history/")  # simple-history's page, with its hashed style
    # when each is opened, then it loads and the browser refuses nothing
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert watch.violations(page) == [], path
    context.close()
