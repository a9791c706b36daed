"""The one CSV writer of the site, and RIS fields without line breaks.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(CSV injection: ``=HYPERLINK(...)`` in a title). Every CSV the site writes goes through :func:`csv_writer` or
:func:`csv_dict_writer`, which prefix such text cells with ``'`` (OWASP's advice); numbers are not text and
are written as they are, so ``-0.5`` stays a number.

An RIS record is line-based: a line break inside a field would start a forged tag line (``ER  -`` then a new
record), so :func:`ris_entry_safe` folds every line break in every field into a space.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def spreadsheet_safe(value: Any) -> Any:
    """``value``, with text a spreadsheet would run as a formula prefixed by ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, writer) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class _SafeDictWriter(csv.DictWriter):
    def writerow(self, rowdict: dict):
        return super().writerow({key: spreadsheet_safe(value) for key, value in rowdict.items()})


def csv_writer(out, **options) -> _SafeWriter:
    """``csv.writer`` whose text cells are safe to open in a spreadsheet (header cells included)."""
    return _SafeWriter(csv.writer(out, **options))


def csv_dict_writer(out, fieldnames: Sequence[str], **options) -> csv.DictWriter:
    """``csv.DictWriter`` whose text cells are safe to open in a spreadsheet."""
    return _SafeDictWriter(out, fieldnames=fieldnames, **options)


def ris_text(value: str) -> str:
    """One RIS field value on one line."""
    return _LINE_BREAKS.sub(" ", value).strip()


def ris_entry_safe(entry: dict) -> dict:
    """The rispy entry with every line break in every field (and list item) folded into a space."""
    safe = {}
    for key, value in entry.items():
        if isinstance(value, str):
            safe[key] = ris_text(value)
        elif isinstance(value, list):
            safe[key] = [ris_text(item) if isinstance(item, str) else item for item in value]
        else:
            safe[key] = value
    return safe
