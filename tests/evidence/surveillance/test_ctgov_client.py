"""The ClinicalTrials.gov client and parser against a real local HTTP server (tests/ctgov_replay.py)."""

import ast
import datetime as dt
from pathlib import Path

import pytest

from evidence.surveillance.ctgov import (
    CtgovClient,
    CtgovConfig,
    CtgovNotFound,
    CtgovPermanentError,
    CtgovSchemaError,
    CtgovTransientError,
    last_update_filter,
)
from evidence.surveillance.ctgov_parse import parse_registration
from tests import eutils_replay as replay
from tests.ctgov_replay import SyntheticCtgov, base_url, fixture, json_reply
from tests.eutils_replay import Reply

eutils_replay = replay.eutils_replay  # the replay-server fixture, bound in this module


class Unlimited:
    def acquire(self) -> None:
        pass


def make_client(server, *, sleeps=None, **config) -> CtgovClient:
    return CtgovClient(
        CtgovConfig(base_url=base_url(server), timeout=2.0, **config),
        rate_limiter=Unlimited(),
        sleep=sleeps.append if sleeps is not None else (lambda _: None),
        rng=lambda: 0.5,
    )


def queue(*replies):
    """A handler answering the replies in order."""
    pending = list(replies)
    return lambda request: pending.pop(0) if pending else Reply(599, b"nothing scripted")


@pytest.mark.parametrize("module", ["ctgov.py", "ctgov_parse.py"])
def test_it_imports_nothing_of_django_or_the_models(module):
    source = Path(__file__).resolve().parents[3] / "evidence" / "surveillance" / module
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not [m for m in imported if m.startswith(("django", "evidence.models", "rest_framework"))]


def test_it_sends_the_query_the_window_and_the_fields(eutils_replay):
    server = eutils_replay(SyntheticCtgov.from_fixtures())
    client = make_client(server)

    studies = list(
        client.iter_studies(
            condition="systemic sclerosis",
            intervention="mesenchymal stem cells",
            term="adipose",
            updated_from=dt.date(2026, 11, 16),
            updated_to=dt.date(2026, 11, 30),
        )
    )

    (request,) = server.requests
    assert request.path == "/api/v2/studies" and request.method == "GET"
    assert request.params["query.cond"] == "systemic sclerosis"
    assert request.params["query.intr"] == "mesenchymal stem cells"
    assert request.params["query.term"] == "adipose"
    assert request.params["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-11-16,2026-11-30]"
    assert "protocolSection.statusModule" in request.params["fields"].split(",")
    ids = [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]
    assert ids == ["NCT02396238", "NCT07360808"]  # NCT00962923 was last updated on 2026-11-15


def test_it_follows_page_tokens_to_the_last_page(eutils_replay):
    server = eutils_replay(SyntheticCtgov.from_fixtures())
    client = make_client(server, page_size=1)

    ids = [s["protocolSection"]["identificationModule"]["nctId"] for s in client.iter_studies(condition="ssc")]

    assert ids == ["NCT00962923", "NCT02396238", "NCT07360808"]
    assert [r.params.get("pageToken") for r in server.requests] == [None, "tok1", "tok2"]


def test_it_refuses_a_page_token_that_loops(eutils_replay):
    page = {"studies": [fixture("study_NCT07360808_recruiting.json")], "nextPageToken": "same"}
    server = eutils_replay(queue(json_reply(page), json_reply(page), json_reply(page)))
    client = make_client(server)

    with pytest.raises(CtgovPermanentError, match="paging loops: page token 'same'"):
        list(client.iter_studies(condition="ssc"))
    assert len(server.requests) == 2


def test_it_refuses_a_body_that_is_not_json(eutils_replay):
    server = eutils_replay(queue(Reply(body=b"<html>maintenance</html>", headers={"Content-Type": "text/html"})))

    with pytest.raises(CtgovPermanentError, match="not JSON"):
        list(make_client(server).iter_studies(condition="ssc"))


def test_it_refuses_a_body_over_the_size_limit(eutils_replay):
    server = eutils_replay(queue(json_reply({"studies": [], "padding": "x" * 5000})))

    with pytest.raises(CtgovPermanentError, match="limit is 1000"):
        list(make_client(server, max_response_bytes=1000).iter_studies(condition="ssc"))


def test_it_retries_transient_errors_only(eutils_replay):
    sleeps = []
    server = eutils_replay(
        queue(Reply(503), Reply(429, headers={"Retry-After": "7"}), json_reply({"studies": []}), Reply(400, b"bad"))
    )
    client = make_client(server, sleeps=sleeps)

    assert list(client.iter_studies(condition="ssc")) == []
    assert sleeps == [0.75, 7.0] and client.requests_made == 3
    with pytest.raises(CtgovPermanentError, match="HTTP 400"):
        list(client.iter_studies(condition="ssc"))
    assert client.requests_made == 4  # a 400 is not retried


def test_it_gives_up_after_the_last_retry(eutils_replay):
    server = eutils_replay(queue(Reply(502), Reply(502)))

    with pytest.raises(CtgovTransientError, match="HTTP 502 after 2 attempts"):
        list(make_client(server, max_retries=1).iter_studies(condition="ssc"))


def test_it_times_out_and_retries(eutils_replay):
    server = eutils_replay(queue(Reply(delay=1.5), json_reply({"studies": []})))

    client = CtgovClient(CtgovConfig(base_url=base_url(server), timeout=0.5), rate_limiter=Unlimited(), sleep=id)

    assert list(client.iter_studies(condition="ssc")) == []
    assert client.requests_made == 2


def test_it_fetches_one_study_and_an_alias_answers_the_current_record(eutils_replay):
    server = eutils_replay(SyntheticCtgov.from_fixtures())
    client = make_client(server)

    study = client.get_study("NCT00971111")

    assert server.requests[0].path == "/api/v2/studies/NCT00971111"
    assert study["protocolSection"]["identificationModule"]["nctId"] == "NCT00962923"
    with pytest.raises(CtgovNotFound):
        client.get_study("NCT01234567")


def test_it_refuses_an_empty_query_and_a_half_window():
    client = CtgovClient(CtgovConfig(), rate_limiter=Unlimited())
    with pytest.raises(ValueError, match="give a condition"):
        list(client.iter_studies())
    with pytest.raises(ValueError, match="both updated_from"):
        list(client.iter_studies(condition="ssc", updated_from=dt.date(2026, 1, 1)))
    with pytest.raises(ValueError, match="after its end"):
        last_update_filter(dt.date(2026, 2, 1), dt.date(2026, 1, 1))


# ------------------------------------------------------------------ parsing


def test_it_parses_a_registration():
    parsed = parse_registration(fixture("study_NCT07360808_recruiting.json"))

    assert parsed.nct_id == "NCT07360808" and parsed.overall_status == "RECRUITING"
    assert (parsed.enrolment_count, parsed.enrolment_type) == (48, "ESTIMATED")
    assert parsed.phases == ("PHASE2",)
    assert parsed.primary_outcomes[0]["measure"].startswith("Change in Cochin Hand Function Scale")
    assert [a["label"] for a in parsed.arms] == ["ADRC", "Standard care"]
    assert parsed.completion_date == "2028-03" and parsed.completion_date_type == "ESTIMATED"
    assert parsed.last_update_posted == dt.date(2026, 11, 20)
    assert parsed.sponsor == "Cytori Therapeutics" and parsed.has_results is False


def test_it_names_a_missing_module():
    with pytest.raises(CtgovSchemaError, match=r"lacks protocolSection\.statusModule"):
        parse_registration(fixture("study_missing_status_module.json"))


def test_it_reads_aliases_and_a_withdrawn_registration():
    assert parse_registration(fixture("study_NCT00962923_aliased.json")).aliases == ("NCT00971111",)
    withdrawn = parse_registration(fixture("study_NCT05550001_withdrawn.json"))
    assert withdrawn.overall_status == "WITHDRAWN" and withdrawn.enrolment_count == 0


def test_it_refuses_malformed_values():
    study = fixture("study_NCT07360808_recruiting.json")
    study["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = "forty"
    with pytest.raises(CtgovSchemaError, match=r"enrollmentInfo\.count 'forty'"):
        parse_registration(study)
    study = fixture("study_NCT07360808_recruiting.json")
    study["protocolSection"]["statusModule"]["completionDateStruct"]["date"] = "March 2028"
    with pytest.raises(CtgovSchemaError, match=r"completionDateStruct\.date"):
        parse_registration(study)
