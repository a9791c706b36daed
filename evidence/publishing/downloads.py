"""A version's data as files: pooled results and study-level rows (CSV, JSON), included reports (RIS).

Numbers are written at full stored precision with an ASCII minus, for software to read; the pages show
the rounded, typeset numbers. Every file names the version it came from.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable

import rispy
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from evidence.core.export_safety import csv_dict_writer, ris_entry_safe
from evidence.models import Citation, PooledResult, ReviewVersion, StudyResult
from evidence.publishing.exports import BuiltExport, export_stored, stored_content
from evidence.publishing.selectors import public_study_ids, version_study_ids

POOLED_FIELDS = (
    "outcome", "outcome_name", "timepoint_months", "timepoint_label", "subgroup_variable", "subgroup_value", "k",
    "n_participants", "effect_measure", "effect_measure_note", "orientation", "model", "ci_method", "estimate",
    "ci_lb", "ci_ub", "pi_lb", "pi_ub", "se", "p_value", "p_value_reported", "i2", "tau2", "q", "q_pval",
    "certainty", "certainty_reasons", "certainty_change", "computed", "awaiting", "contributing_studies", "source",
)  # fmt: skip
STUDY_FIELDS = (
    "outcome", "timepoint_months", "subgroup_variable", "subgroup_value", "study_label", "study_id",
    "publication_year", "n", "yi", "vi", "ci_lb", "ci_ub", "weight", "scale", "derivation", "role", "source",
)  # fmt: skip


def _pooled(version: ReviewVersion) -> list[dict]:
    rows = PooledResult.objects.filter(version=version).select_related("outcome")
    return [
        {
            "outcome": r.outcome.code,
            "outcome_name": r.outcome.name,
            **{name: getattr(r, name) for name in POOLED_FIELDS[2:] if hasattr(r, name)},
            "timepoint_months": float(r.timepoint_months),
        }
        for r in rows
    ]


_STUDY_COLUMNS = tuple(name for name in STUDY_FIELDS[4:] if name != "scale")  # scale is derived


def _studies(version: ReviewVersion) -> list[dict]:
    # The pooled rows are read once, apart: joined to every study row they carried their plots and their
    # contributing-study lists (JSON decoded 180,000 times for a 1,000-study review: two minutes).
    pooled = {
        p["id"]: p
        for p in PooledResult.objects.filter(version=version).values(
            "id", "outcome__code", "timepoint_months", "subgroup_variable", "subgroup_value", "effect_measure"
        )
    }
    rows = StudyResult.objects.filter(pooled_result__version=version).values("pooled_result_id", *_STUDY_COLUMNS)
    return [
        _study_row(s, pooled[s.pop("pooled_result_id")])
        for s in rows.order_by("pooled_result_id", "publication_year", "study_label")
    ]


def _study_row(study: dict, pooled: dict) -> dict:
    return {
        "outcome": pooled["outcome__code"],
        "timepoint_months": float(pooled["timepoint_months"]),
        "subgroup_variable": pooled["subgroup_variable"],
        "subgroup_value": pooled["subgroup_value"],
        **study,
        "scale": "log" if pooled["effect_measure"] == "ratio" else "natural",
    }


def _csv(rows: list[dict], fields: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv_dict_writer(out, fields, lineterminator="\n")  # the site's one formula-safe CSV writer
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value):
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def _meta(version: ReviewVersion) -> dict:
    return {
        "review": version.review.slug,
        "version": version.number,
        "kind": version.kind,
        "published_at": version.published_at,
        "attribution": version.attribution,
        "analysis_settings": version.analysis_settings,
        "methods_note": version.methods_note,
    }


def _json(version: ReviewVersion, key: str, rows: list[dict]) -> str:
    return json.dumps({**_meta(version), key: rows}, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)


def _ris_entry(citation: Citation) -> dict:
    notes = [f"PMID: {citation.pmid}"] if citation.pmid else []
    notes += [f"Flag: {name}" for name, on in (
        ("RETRACTED", citation.is_retracted), ("erratum", citation.has_erratum),
        ("updated", citation.has_update), ("expression of concern", citation.has_expression_of_concern),
    ) if on]  # fmt: skip
    entry = {
        "type_of_reference": "JOUR",
        "title": citation.title or citation.origin_note or "Untitled report",
        "authors": list(citation.authors),
        "year": str(citation.publication_year or ""),
        "journal_name": citation.journal,
        "doi": citation.doi,
        "notes": notes,
        "urls": [f"https://pubmed.ncbi.nlm.nih.gov/{citation.pmid}/"] if citation.pmid else [],
    }
    return ris_entry_safe({k: v for k, v in entry.items() if v})


class _RisWriter(rispy.RisWriter):
    """No numbered line before each record: some reference managers read it as garbage."""

    def set_header(self, count: int) -> str:
        return ""


def _ris(version: ReviewVersion) -> str:
    """The reports of the version's studies that are still public (a withdrawn study's reports are not)."""
    ids = version_study_ids(version) & public_study_ids(review=version.review)
    citations = Citation.objects.filter(study_reports__study_id__in=ids).distinct().order_by("publication_year", "id")
    return rispy.dumps([_ris_entry(c) for c in citations], implementation=_RisWriter)


AVAILABLE = ("pooled.csv", "pooled.json", "studies.csv", "studies.json", "reports.ris")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ris": "application/x-research-info-systems",
}


def _content(version: ReviewVersion, dataset: str, fmt: str) -> str:
    if dataset == "reports":
        return _ris(version)
    rows, fields = (_pooled(version), POOLED_FIELDS) if dataset == "pooled" else (_studies(version), STUDY_FIELDS)
    return _csv(rows, fields) if fmt == "csv" else _json(version, dataset, rows)


def builders(version: ReviewVersion) -> dict[str, Callable[[], BuiltExport]]:
    """Every download of a version, by file name, as a function building its bytes."""

    def builder(dataset: str, fmt: str) -> Callable[[], BuiltExport]:
        return lambda: BuiltExport(_content(version, dataset, fmt).encode("utf-8"), CONTENT_TYPES[fmt])

    return {name: builder(*name.split(".")) for name in AVAILABLE}


def version_download(*, version: ReviewVersion, dataset: str, fmt: str) -> HttpResponse | None:
    """The file as stored when the version was written (built once if it was not), or None for a
    dataset/format pair that does not exist."""
    kind = f"{dataset}.{fmt}"
    if kind not in AVAILABLE:
        return None
    row = export_stored(version=version, kind=kind, build=builders(version)[kind])
    name = f"{version.review.slug}-v{version.number}-{dataset}.{fmt}"
    response = HttpResponse(gzip.decompress(stored_content(row)), content_type=row.content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
