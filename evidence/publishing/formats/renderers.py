"""Formats by content negotiation (``Accept``) or ``?format=``: JSON, CSV, RIS and FHIR R5 JSON."""

from __future__ import annotations

import io
import json

import rispy
from django.http import Http404
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.utils import encoders

from evidence.core.export_safety import csv_writer, ris_entry_safe


class StrictContentNegotiation(DefaultContentNegotiation):
    """An unknown ``?format=`` is a 400 naming the formats the endpoint offers (DRF answers 404)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404:
            requested = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
            offered = ", ".join(renderer.format for renderer in renderers)
            raise ValidationError(
                {"detail": f"Unknown format {requested!r}; this endpoint offers: {offered}."}
            ) from None


class FHIRRenderer(JSONRenderer):
    """FHIR R5 JSON; the view hands it a ready resource (a Bundle)."""

    media_type = "application/fhir+json"
    format = "fhir"


class CSVRenderer(BaseRenderer):
    """One row per item of a list (or of the page); nested objects become dotted columns
    (``outcome.code``), lists and JSON values one JSON-encoded cell. Columns come from the serializer,
    so an empty page still has its header."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        rows = _rows(data)
        columns = _columns_of_view((renderer_context or {}).get("view")) or _columns_of_rows(rows)
        out = io.StringIO()
        writer = csv_writer(out, lineterminator="\r\n")  # the site's one formula-safe CSV writer
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(_get(row, column)) for column in columns])
        return out.getvalue().encode(self.charset)


class RISRenderer(BaseRenderer):
    """RIS (reference managers, Covidence, EPPI-Reviewer), written with rispy from citation rows."""

    media_type = "application/x-research-info-systems"
    format = "ris"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        entries = [ris_entry(row) for row in _rows(data)]
        return rispy.dumps(entries).encode(self.charset) if entries else b""


def ris_entry(row: dict) -> dict:
    """A citation as the API serializes it → a rispy entry. The status goes in N1, so a reference manager
    keeps which records the review included."""
    status = row.get("status", "")
    if row.get("exclusion_reason"):
        status = f"{status} ({row['exclusion_reason']})"
    entry = {
        "type_of_reference": "JOUR",
        "title": row.get("title") or "",
        "authors": list(row.get("authors") or []),
        "year": str(row["publication_year"]) if row.get("publication_year") else "",
        "journal_name": row.get("journal") or "",
        "doi": row.get("doi") or "",
        "accession_number": row.get("pmid") or "",
        "abstract": row.get("abstract") or "",
        "keywords": list(row.get("keywords") or []),
        "urls": [row["pubmed_url"]] if row.get("pubmed_url") else [],
        "notes": [f"Screening status: {status}"] if status else [],
        "name_of_database": "PubMed" if row.get("pmid") else "",
    }
    return ris_entry_safe({key: value for key, value in entry.items() if value})


def _rows(data) -> list[dict]:
    if isinstance(data, dict) and "results" in data:
        data = data["results"]
    if isinstance(data, dict):
        return [data]
    return list(data or [])


def _columns_of_view(view) -> list[str]:
    if view is None or not hasattr(view, "get_serializer"):
        return []
    return _columns(view.get_serializer())


def _columns(serializer: serializers.Serializer, prefix: str = "") -> list[str]:
    columns = []
    for name, field in serializer.fields.items():
        if isinstance(field, serializers.Serializer):
            columns += _columns(field, f"{prefix}{name}.")
        else:
            columns.append(f"{prefix}{name}")
    return columns


def _columns_of_rows(rows: list[dict]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _get(row: dict, column: str):
    value = row
    for key in column.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, cls=encoders.JSONEncoder, ensure_ascii=False, sort_keys=True)
    return value if isinstance(value, str) else str(value)
