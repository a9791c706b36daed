"""The OpenAPI schema: valid, documented in a page, and true of the live server (schemathesis)."""

from __future__ import annotations

import time

import hypothesis
import pytest
import schemathesis
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SCHEMATHESIS_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_it_generates_a_valid_openapi_3_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    validate_schema(schema)  # raises on an invalid document

    assert schema["openapi"].startswith("3.")
    assert "/api/v1/reviews/{slug}/pooled-results/" in schema["paths"]


def test_it_generates_the_schema_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "pooled-results" in (tmp_path / "schema.yaml").read_text()


def test_it_documents_formats_filters_and_errors(api, db):
    schema = api.get("/api/schema/?format=json").json()

    pooled = schema["paths"]["/api/v1/reviews/{slug}/pooled-results/"]["get"]
    parameters = {p["name"]: p for p in pooled["parameters"]}
    assert {"outcome", "timepoint", "subgroup", "cursor", "page_size", "format"} <= set(parameters)
    assert set(parameters["format"]["schema"]["enum"]) == {"json", "csv", "fhir"}
    assert set(pooled["responses"]["200"]["content"]) == {"application/json", "text/csv", "application/fhir+json"}
    assert {"304", "400", "404", "429"} <= set(pooled["responses"])
    assert "ETag" in pooled["responses"]["200"]["headers"]


def test_it_serves_a_docs_page_listing_every_endpoint_without_external_assets(api, db):
    page = api.get("/api/docs/")
    body = page.content.decode()

    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "/api/v1/reviews/{slug}/pooled-results/" in body
    assert "If-None-Match" in body and "format=fhir" in body
    assert "<script" not in body and "cdn" not in body.lower()


@pytest.fixture
def live_seeded(transactional_db, live_server, settings):
    from evidence.seed.load import seed_load

    seed_load()
    # No quota while schemathesis fires its requests.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "registry": None}}
    return live_server


@pytest.mark.slow
def test_it_passes_schemathesis_against_a_live_server(live_seeded):
    """No 5xx and no response outside the schema, for every operation; bounded to stay under a minute."""
    schema = schemathesis.openapi.from_url(f"{live_seeded.url}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    started = time.monotonic()

    for operation in operations:
        _fuzz(operation.as_strategy(), max_examples=8)
        # Again with the path pointing at real rows, so the 200 answers (every format) are exercised too.
        _fuzz(operation.as_strategy().map(_at_seed_rows), max_examples=20)

    assert len(operations) >= 12
    assert time.monotonic() - started < 60


def _at_seed_rows(case):
    from evidence.models import Study

    real = {"slug": "msc-ssc", "number": "latest", "code": "mrss"}
    for name in case.path_parameters or {}:
        if name in ("pk", "id"):
            case.path_parameters[name] = Study.objects.order_by("pk").values_list("pk", flat=True).first()
        elif name in real:
            case.path_parameters[name] = real[name]
    return case


def _fuzz(strategy, *, max_examples: int) -> None:
    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def run(case):
        case.call_and_validate(checks=SCHEMATHESIS_CHECKS)

    run()
