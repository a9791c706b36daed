"""A ClinicalTrials.gov API v2 study (``protocolSection`` + ``hasResults``) read into a flat registration.

Pure: no Django, no models, no I/O. A study lacking a module a registration needs raises
:class:`~evidence.surveillance.ctgov.CtgovSchemaError` naming the module, so a changed schema fails loudly and nothing of
the study is stored; modules a registration may lack (arms, outcomes) read as empty.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from evidence.surveillance.ctgov import NCT_ID, REQUIRED_MODULES, CtgovSchemaError

PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")  # the API's "yyyy, yyyy-MM, or yyyy-MM-dd"


@dataclass(frozen=True)
class ParsedRegistration:
    """What the platform keeps of one registration; ``raw`` is the study JSON as received."""

    nct_id: str
    aliases: tuple[str, ...]
    brief_title: str
    official_title: str
    overall_status: str
    phases: tuple[str, ...]
    study_type: str
    enrolment_count: int | None
    enrolment_type: str  # ACTUAL or ESTIMATED (the classic site's "anticipated")
    arms: list[dict] = field(default_factory=list)
    interventions: list[dict] = field(default_factory=list)
    primary_outcomes: list[dict] = field(default_factory=list)
    start_date: str = ""
    primary_completion_date: str = ""
    completion_date: str = ""
    completion_date_type: str = ""
    sponsor: str = ""
    has_results: bool = False
    last_update_posted: dt.date | None = None
    raw: dict = field(default_factory=dict)


def _module(protocol: dict, name: str) -> dict:
    module = protocol.get(name)
    if module is None:
        if name in REQUIRED_MODULES:
            raise CtgovSchemaError(f"study lacks protocolSection.{name}")
        return {}
    if not isinstance(module, dict):
        raise CtgovSchemaError(f"protocolSection.{name} is not an object")
    return module


def _text(module: dict, key: str, where: str) -> str:
    value = module.get(key, "")
    if not isinstance(value, str):
        raise CtgovSchemaError(f"{where}.{key} is not text: {value!r}")
    return value


def _date_struct(module: dict, key: str) -> tuple[str, str]:
    struct = module.get(key) or {}
    date = struct.get("date", "") if isinstance(struct, dict) else ""
    if date and not (isinstance(date, str) and PARTIAL_DATE.match(date)):
        raise CtgovSchemaError(f"statusModule.{key}.date {date!r} is not yyyy, yyyy-MM or yyyy-MM-dd")
    return date or "", (struct.get("type", "") if isinstance(struct, dict) else "") or ""


def _list_of_objects(module: dict, key: str, where: str) -> list[dict]:
    value = module.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CtgovSchemaError(f"{where}.{key} is not a list of objects")
    return value


def _enrolment(design: dict) -> tuple[int | None, str]:
    info = design.get("enrollmentInfo") or {}
    count = info.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise CtgovSchemaError(f"designModule.enrollmentInfo.count {count!r} is not a whole number")
    return count, info.get("type", "") or ""


def _last_update(status: dict) -> dt.date | None:
    date, _ = _date_struct(status, "lastUpdatePostDateStruct")
    if not date:
        return None
    if len(date) != 10:
        raise CtgovSchemaError(f"statusModule.lastUpdatePostDateStruct.date {date!r} is not a full date")
    return dt.date.fromisoformat(date)


def parse_registration(study: dict) -> ParsedRegistration:
    """Read one study; raises ``CtgovSchemaError`` naming what is missing or malformed."""
    if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
        raise CtgovSchemaError("study lacks protocolSection")
    protocol = study["protocolSection"]
    ident, status = _module(protocol, "identificationModule"), _module(protocol, "statusModule")
    design, sponsor = _module(protocol, "designModule"), _module(protocol, "sponsorCollaboratorsModule")
    arms_module, outcomes = _module(protocol, "armsInterventionsModule"), _module(protocol, "outcomesModule")
    nct_id = _text(ident, "nctId", "identificationModule")
    if not NCT_ID.match(nct_id):
        raise CtgovSchemaError(f"identificationModule.nctId {nct_id!r} is not NCT followed by 8 digits")
    overall = _text(status, "overallStatus", "statusModule")
    if not overall:
        raise CtgovSchemaError(f"{nct_id}: statusModule.overallStatus is missing")
    count, count_type = _enrolment(design)
    completion, completion_type = _date_struct(status, "completionDateStruct")
    lead = sponsor.get("leadSponsor") or {}
    return ParsedRegistration(
        nct_id=nct_id,
        aliases=tuple(a for a in ident.get("nctIdAliases", []) if isinstance(a, str) and NCT_ID.match(a)),
        brief_title=_text(ident, "briefTitle", "identificationModule"),
        official_title=_text(ident, "officialTitle", "identificationModule"),
        overall_status=overall,
        phases=tuple(p for p in design.get("phases", []) if isinstance(p, str)),
        study_type=_text(design, "studyType", "designModule"),
        enrolment_count=count,
        enrolment_type=count_type,
        arms=_list_of_objects(arms_module, "armGroups", "armsInterventionsModule"),
        interventions=_list_of_objects(arms_module, "interventions", "armsInterventionsModule"),
        primary_outcomes=_list_of_objects(outcomes, "primaryOutcomes", "outcomesModule"),
        start_date=_date_struct(status, "startDateStruct")[0],
        primary_completion_date=_date_struct(status, "primaryCompletionDateStruct")[0],
        completion_date=completion,
        completion_date_type=completion_type,
        sponsor=lead.get("name", "") if isinstance(lead, dict) else "",
        has_results=bool(study.get("hasResults", False)),
        last_update_posted=_last_update(status),
        raw=study,
    )
