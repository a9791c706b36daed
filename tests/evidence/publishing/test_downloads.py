from __future__ import annotations

import csv
import io
import json

import rispy

from evidence.models import PooledResult, StudyResult
from tests.evidence.publishing.test_pages_computed import computed_version  # noqa: F401  (fixture)


def test_it_downloads_the_pooled_results_as_csv_with_the_stored_numbers(client, seeded):
    response = client.get("/reviews/msc-ssc/v/0/pooled.csv")
    assert response["Content-Disposition"] == 'attachment; filename="msc-ssc-v0-pooled.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    stored = PooledResult.objects.filter(version__review=seeded, version__number=0).order_by("id")
    assert len(rows) == stored.count() == 11
    by_key = {(r["outcome"], float(r["timepoint_months"]), r["subgroup_value"]): r for r in rows}
    for row in stored.select_related("outcome"):
        got = by_key[(row.outcome.code, float(row.timepoint_months), row.subgroup_value)]
        assert (float(got["estimate"]), float(got["ci_lb"]), float(got["ci_ub"])) == (
            row.estimate,
            row.ci_lb,
            row.ci_ub,
        )
        assert int(got["k"]) == row.k and got["certainty"] == row.certainty


def test_it_downloads_the_pooled_results_as_json_naming_the_version(client, seeded):
    data = json.loads(client.get("/reviews/msc-ssc/v/0/pooled.json").content)
    assert data["version"] == 0 and data["kind"] == "published_paper" and "Cui J" in data["attribution"]
    assert len(data["pooled"]) == 11 and {r["estimate"] for r in data["pooled"]} >= {5.09, 4.11, 21.1}


def test_it_downloads_study_level_rows_of_a_computed_version(client, computed_version):  # noqa: F811
    rows = list(csv.DictReader(io.StringIO(client.get("/reviews/msc-ssc/v/1/studies.csv").content.decode())))
    stored = StudyResult.objects.filter(pooled_result__version=computed_version)
    assert len(rows) == stored.count() > 0
    assert {(r["study_label"], float(r["yi"])) for r in rows} == {(s.study_label, s.yi) for s in stored}
    data = json.loads(client.get("/reviews/msc-ssc/v/1/studies.json").content)
    assert data["version"] == 1 and len(data["studies"]) == stored.count()


def test_it_downloads_the_included_reports_as_ris(client, seeded):
    entries = rispy.loads(client.get("/reviews/msc-ssc/v/0/reports.ris").content.decode())
    assert len(entries) == 11
    assert {"10.1186/s13075-017-1373-2", "10.3390/jcm9093023"} <= {e.get("doi") for e in entries}
    assert any("PMID: 28724445" in e.get("notes", []) for e in entries)


def test_it_answers_404_for_an_unknown_download(client, seeded):
    assert client.get("/reviews/msc-ssc/v/0/pooled.xlsx").status_code == 404
    assert client.get("/reviews/msc-ssc/v/5/pooled.csv").status_code == 404
