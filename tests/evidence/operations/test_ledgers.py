"""The search and recompute ledgers fit the page; details, in words, are on each run's own page."""

import datetime as dt
import re

from django.urls import reverse

from evidence.models import RecomputeRun, SearchRun


def _columns(body: str) -> int:
    head = body.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return len(re.findall(r"<th\b", head))


def test_the_search_ledger_has_the_columns_that_fit_and_the_run_page_has_the_rest(admin_client, seeded):
    run = SearchRun.objects.create(
        review=seeded, query="q", window_start=dt.date(2024, 1, 1), window_end=dt.date(2024, 2, 1),
        triggered_by="beat", records_found=17, records_new=3, records_known=14, requests_made=4,
    )  # fmt: skip

    body = admin_client.get(reverse("admin:evidence_searchrun_changelist")).content.decode()
    detail = admin_client.get(reverse("admin:evidence_searchrun_change", args=[run.pk])).content.decode()

    assert _columns(body) <= 8, "the ledger must fit a 1280 px page"
    assert "17 found, 3 new" in body and "2024-01-01 to 2024-02-01" in body
    assert "Requests made" in detail and "Records known" in detail


def test_recompute_triggers_read_as_text_not_json(admin_client, seeded):
    run = RecomputeRun.objects.create(review=seeded, triggers=["approval of Zhang 2017", "approval of Li 2022"])

    body = admin_client.get(reverse("admin:evidence_recomputerun_changelist")).content.decode()
    detail = admin_client.get(reverse("admin:evidence_recomputerun_change", args=[run.pk])).content.decode()

    assert _columns(body) <= 8
    for page in (body, detail):
        assert "approval of Zhang 2017; approval of Li 2022" in page
        assert "[&quot;approval" not in page and '["approval' not in page
