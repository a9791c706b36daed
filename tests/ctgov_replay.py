"""A local stand-in for the ClinicalTrials.gov API v2, on the replay server of ``tests/eutils_replay.py``.

:class:`SyntheticCtgov` serves ``GET /api/v2/studies`` (any query matches; ``filter.advanced``'s
``AREA[LastUpdatePostDate]RANGE[a,b]`` is honoured; ``pageSize``/``pageToken`` page the answer) and
``GET /api/v2/studies/{nctId}`` (404 for an unknown id; an id in a record's ``nctIdAliases`` answers that
record). Its studies are the documentation-shaped fixtures of ``tests/data/ctgov`` (see README.md there), which
a test may change between runs (``set_status``, ``post_results``).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from pathlib import Path

from tests.eutils_replay import RecordedRequest, Reply

DATA_DIR = Path(__file__).resolve().parent / "data" / "ctgov"
JSON = {"Content-Type": "application/json"}
_RANGE = re.compile(r"AREA\[LastUpdatePostDate\]RANGE\[(\d{4}-\d{2}-\d{2}),(\d{4}-\d{2}-\d{2})\]")
REVIEW_STUDIES = (
    "study_NCT07360808_recruiting.json",
    "study_NCT02396238_active.json",
    "study_NCT00962923_aliased.json",
)


def fixture(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def json_reply(value: object, status: int = 200) -> Reply:
    return Reply(status=status, body=json.dumps(value).encode(), headers=JSON)


def base_url(server) -> str:
    host_port = server.base_url.split("/entrez/")[0]
    return f"{host_port}/api/v2/"


class SyntheticCtgov:
    """A handler over a list of study dicts, kept in ``self.studies`` by NCT id."""

    def __init__(self, studies: list[dict]) -> None:
        self.studies = {s["protocolSection"]["identificationModule"]["nctId"]: copy.deepcopy(s) for s in studies}
        self._lock = threading.Lock()

    @classmethod
    def from_fixtures(cls, names: tuple[str, ...] = REVIEW_STUDIES) -> SyntheticCtgov:
        return cls([fixture(name) for name in names])

    def set_status(self, nct_id: str, status: str, *, updated: str) -> None:
        module = self.studies[nct_id]["protocolSection"]["statusModule"]
        module["overallStatus"] = status
        module["lastUpdatePostDateStruct"] = {"date": updated, "type": "ACTUAL"}

    def post_results(self, nct_id: str, *, updated: str) -> None:
        self.studies[nct_id]["hasResults"] = True
        self.studies[nct_id]["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = updated

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.path.rstrip("/").endswith("/api/v2/studies"):
            return self._search(request.params)
        if "/api/v2/studies/" in request.path:
            return self._one(request.endpoint)
        return json_reply({"message": "unknown path"}, 404)

    def _hits(self, params) -> list[dict]:
        hits = sorted(self.studies.values(), key=lambda s: s["protocolSection"]["identificationModule"]["nctId"])
        match = _RANGE.search(params.get("filter.advanced", ""))
        if match:
            low, high = match.groups()
            hits = [s for s in hits if low <= _updated(s) <= high]
        return hits

    def _search(self, params) -> Reply:
        with self._lock:
            hits = self._hits(params)
        size = int(params.get("pageSize", 10))
        start = int(params.get("pageToken", "tok0").removeprefix("tok"))
        page = {"studies": hits[start : start + size]}
        if start + size < len(hits):
            page["nextPageToken"] = f"tok{start + size}"
        return json_reply(page)

    def _one(self, nct_id: str) -> Reply:
        with self._lock:
            study = self.studies.get(nct_id)
            if study is None:
                study = next(
                    (
                        s
                        for s in self.studies.values()
                        if nct_id in s["protocolSection"]["identificationModule"].get("nctIdAliases", [])
                    ),
                    None,
                )
        if study is None:
            return json_reply({"message": f"NCT id {nct_id} not found"}, 404)
        return json_reply(study)


def _updated(study: dict) -> str:
    return study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
