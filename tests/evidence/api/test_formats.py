"""JSON, CSV, RIS and FHIR R5, by ?format= and by Accept; the FHIR bundles validated with fhir.resources."""

from __future__ import annotations

import csv
import io

import pytest
import rispy
from fhir.resources.bundle import Bundle
from fhir.resources.evidence import Evidence

REVIEW = "/api/v1/reviews/msc-ssc"
LISTS = [
    "/api/v1/reviews/",
    "/api/v1/outcomes/",
    f"{REVIEW}/versions/",
    f"{REVIEW}/pooled-results/",
    f"{REVIEW}/versions/0/pooled-results/",
    f"{REVIEW}/studies/",
    f"{REVIEW}/citations/",
]


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("url", LISTS)
def test_it_offers_csv_for_every_list(api, computed, url):
    response = api.get(url, {"format": "csv"})

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert len(_csv(response)) == len(api.get(url).json()["results"]) > 0


def test_it_writes_the_latest_mrss_result_as_csv(api, seeded):
    response = api.get(f"{REVIEW}/pooled-results/?outcome=mrss&timepoint=12&format=csv")

    (row,) = _csv(response)
    assert row["outcome"] == "mrss" and row["version"] == "0"
    assert (row["estimate"], row["ci_lb"], row["ci_ub"], row["k"]) == ("6.49", "4.61", "8.37", "2")


def test_it_flattens_nested_objects_and_keeps_lists_as_json_in_csv(api, seeded):
    rows = _csv(api.get(f"{REVIEW}/versions/?format=csv"))

    assert rows[0]["source_citation.pmid"] == "35313985"
    assert rows[0]["studies"].startswith("[{")


def test_it_writes_the_header_of_an_empty_csv_page(api, seeded):
    response = api.get(f"{REVIEW}/citations/?status=pending&format=csv")

    assert response.content.decode().splitlines()[0].startswith("id,pmid,pmcid,doi,title")


def test_it_neutralises_spreadsheet_formulas_in_csv(api, seeded):
    from evidence.models import Citation

    Citation.objects.filter(pmid="31314805").update(title="=HYPERLINK(1)")  # a published study's report

    rows = _csv(api.get(f"{REVIEW}/citations/?format=csv&pmid=31314805"))

    assert rows[0]["title"] == "'=HYPERLINK(1)"


def test_it_negotiates_csv_by_accept_header(api, seeded):
    response = api.get(f"{REVIEW}/studies/", HTTP_ACCEPT="text/csv")

    assert response["Content-Type"].startswith("text/csv")


def test_it_exports_citations_as_ris(api, seeded):
    response = api.get(f"{REVIEW}/citations/?format=ris")

    entries = rispy.loads(response.content.decode())
    assert response["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert len(entries) == len(api.get(f"{REVIEW}/citations/").json()["results"])
    almadori = next(e for e in entries if e.get("accession_number") == "31314805")
    assert almadori["year"] == "2019" and almadori["doi"] == "10.1371/journal.pone.0218068"
    assert almadori["notes"] == ["Screening status: included"]


def test_it_negotiates_ris_by_accept_header(api, seeded):
    response = api.get(f"{REVIEW}/citations/", HTTP_ACCEPT="application/x-research-info-systems")

    assert response.content.startswith(b"1.\nTY  - JOUR") or b"TY  - JOUR" in response.content[:20]


@pytest.mark.parametrize(
    "url", [f"{REVIEW}/studies/?format=ris", f"{REVIEW}/?format=csv", f"{REVIEW}/citations/?format=x"]
)
def test_it_answers_400_naming_the_formats_an_endpoint_offers(api, seeded, url):
    response = api.get(url)

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert "this endpoint offers: json" in response.json()["detail"]


def test_it_answers_406_for_an_accept_header_it_cannot_meet(api, seeded):
    assert api.get(f"{REVIEW}/studies/", HTTP_ACCEPT="application/xml").status_code == 406


def _bundle(response) -> Bundle:
    assert response["Content-Type"] == "application/fhir+json"
    return Bundle.model_validate_json(response.content)


def _resources(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry if e.resource.get_resource_type() == kind]


def test_it_builds_a_valid_fhir_bundle_per_version(api, computed):
    bundle = _bundle(api.get(f"{REVIEW}/versions/1/fhir/"))

    assert bundle.type == "collection" and bundle.id == "msc-ssc-v1"
    assert len(_resources(bundle, "Citation")) == 2  # one per report of the two included studies
    assert [v.shortTitle for v in _resources(bundle, "EvidenceVariable")] == ["mrss"]
    pooled = next(e for e in _resources(bundle, "Evidence") if e.synthesisType)
    statistic = pooled.statistic[0]
    assert statistic.statisticType.coding[0].code == "0000457"  # difference in means
    assert float(statistic.quantity.value) == -5.2
    assert (statistic.sampleSize.numberOfStudies, statistic.sampleSize.numberOfParticipants) == (2, 9)
    estimates = {a.type.text: a for a in statistic.attributeEstimate}
    assert (
        float(estimates["Confidence interval"].range.low.value),
        float(estimates["Confidence interval"].range.high.value),
    ) == (-8.1, -2.3)
    assert (
        float(estimates["I-squared"].quantity.value) == 41.5 and float(estimates["Tau squared"].quantity.value) == 2.25
    )
    assert pooled.certainty[0].rating.coding[0].code == "low"
    assert len(pooled.relatedArtifact) == 2  # composed of the two study-level results


def test_it_gives_each_study_result_its_own_evidence_citing_the_report(api, computed):
    bundle = _bundle(api.get(f"{REVIEW}/versions/1/fhir/"))
    urls = {e.fullUrl for e in bundle.entry}

    per_study = [e for e in _resources(bundle, "Evidence") if e.id.startswith("study-result-")]

    assert len(per_study) == 2
    assert all(e.citeAsReference.reference in urls for e in per_study)
    assert all(e.relatedArtifact[0].type == "part-of" for e in per_study)
    assert all(Evidence.model_validate(e.model_dump()) for e in per_study)


def test_it_builds_the_seed_versions_bundle_with_every_pooled_row(api, seeded):
    bundle = _bundle(api.get(f"{REVIEW}/versions/0/?format=fhir"))

    assert len(_resources(bundle, "Evidence")) == 11
    assert len(_resources(bundle, "Citation")) >= 9


def test_it_serves_the_latest_pooled_mrss_result_as_fhir(api, seeded):
    bundle = _bundle(api.get(f"{REVIEW}/pooled-results/?outcome=mrss&timepoint=12&subgroup=overall&format=fhir"))

    (evidence,) = _resources(bundle, "Evidence")
    assert float(evidence.statistic[0].quantity.value) == 6.49
    assert evidence.certainty[0].rating.coding[0].code == "moderate"


def test_it_negotiates_fhir_by_accept_header(api, seeded):
    response = api.get(f"{REVIEW}/versions/latest/", HTTP_ACCEPT="application/fhir+json")

    assert _bundle(response).id == "msc-ssc-v0"


def test_it_gives_the_same_bundle_bytes_on_every_request(api, seeded):
    first = api.get(f"{REVIEW}/versions/0/fhir/").content

    assert api.get(f"{REVIEW}/versions/0/fhir/").content == first
