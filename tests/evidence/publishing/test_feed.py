from __future__ import annotations

from defusedxml import ElementTree as ET

from evidence.models import OutcomeMeasurement
from evidence.synthesis.recompute import review_recompute

ATOM = "{http://www.w3.org/2005/Atom}"


def test_it_publishes_one_atom_entry_per_version_with_what_changed(client, seeded):
    OutcomeMeasurement.objects.filter(study__label__startswith="Wang", outcome__code="mrss", timepoint_months=12).update(
        data_format="baseline_followup", baseline_mean=25, baseline_sd=9, baseline_n=5, followup_mean=18,
        followup_sd=8, followup_n=5,
    )  # fmt: skip
    version = review_recompute(review=seeded, trigger="test").version
    response = client.get("/reviews/msc-ssc/feed/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text.split(" (")[0] for e in entries] == ["Version 1", "Version 0"]
    assert entries[0].find(f"{ATOM}link").get("href").endswith("/reviews/msc-ssc/v/1/")
    summary = entries[0].find(f"{ATOM}summary").text
    for line in version.change_summary:
        assert line.replace("'", "&#x27;") in summary or line in summary
    assert "First version: the published synthesis" in entries[1].find(f"{ATOM}summary").text


def test_it_answers_404_for_an_unknown_review(client, db):
    assert client.get("/reviews/nope/feed/").status_code == 404
