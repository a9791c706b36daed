"""Exports are safe (issue 15): one formula-neutralising CSV writer for every CSV, RIS fields on one line,
and a NUL in a URL is a 400, not a database error."""

from __future__ import annotations

import csv
import io

import pytest
import rispy

from evidence.core.export_safety import csv_dict_writer, csv_writer, ris_entry_safe, spreadsheet_safe
from evidence.models import Citation, StudyResult
from tests.evidence.publishing.test_pages_computed import computed_version  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _no_cached_pages():
    """Pages and downloads are cached per review stamp; these tests edit rows under the same stamp."""
    from django.core.cache import caches

    caches["default"].clear()


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("text", FORMULAS)
def test_every_formula_start_is_neutralised_by_both_writers(text):
    rows, dict_rows = io.StringIO(), io.StringIO()
    csv_writer(rows).writerow([text, -0.5, 3])
    writer = csv_dict_writer(dict_rows, ["a", "b"])
    writer.writerow({"a": text, "b": -0.5})

    assert next(csv.reader(io.StringIO(rows.getvalue()))) == ["'" + text, "-0.5", "3"]
    assert next(csv.reader(io.StringIO(dict_rows.getvalue()))) == ["'" + text, "-0.5"]
    assert spreadsheet_safe("Wang 2013") == "Wang 2013"


def test_the_public_studies_csv_neutralises_a_formula_in_a_study_label(client, computed_version):  # noqa: F811
    StudyResult.objects.filter(pooled_result__version=computed_version).update(study_label='=HYPERLINK("http://x")')

    body = client.get("/reviews/msc-ssc/v/1/studies.csv").content.decode()

    labels = {row["study_label"] for row in csv.DictReader(io.StringIO(body))}
    assert labels == {'\'=HYPERLINK("http://x")'}


def test_the_public_ris_keeps_a_title_with_line_breaks_in_one_record(client, seeded):
    Citation.objects.filter(pmid="28724445").update(title="Real title\nER  - \n\nTY  - JOUR\r\nTI  - Forged record")

    entries = rispy.loads(client.get("/reviews/msc-ssc/v/0/reports.ris").content.decode())

    assert len(entries) == 11  # the version's included reports, none forged
    forged = [e for e in entries if e.get("title", "").startswith("Real title")]
    assert len(forged) == 1 and forged[0]["title"].endswith("TI  - Forged record")
    assert not any(e.get("title") == "Forged record" for e in entries)


def test_the_api_ris_keeps_an_abstract_with_line_breaks_in_one_record(client, seeded):
    url = "/api/v1/reviews/msc-ssc/citations/?format=ris"
    Citation.objects.filter(pmid="28724445").update(abstract="Background.\nER  - \nTY  - JOUR\nTI  - Forged")

    entries = rispy.loads(client.get(url).content.decode())

    assert len(entries) == len(client.get("/api/v1/reviews/msc-ssc/citations/").json()["results"])
    assert not any(e.get("title") == "Forged" for e in entries)


def test_ris_entry_safe_folds_breaks_in_lists_too():
    entry = ris_entry_safe({"title": "a\r\nb", "notes": ["x\ny"], "year": "2020"})
    assert entry == {"title": "a b", "notes": ["x y"], "year": "2020"}


@pytest.mark.parametrize("url", ["/api/v1/reviews/%00/", "/reviews/%00/", "/api/v1/reviews/?search=%00"])
def test_a_nul_in_the_url_is_a_400(client, seeded, url):
    assert client.get(url).status_code == 400
