"""Many new rows and their creation history in one ``executemany`` per table: the PubMed ingest's hot path.

``bulk_create`` compiles every field of every object through the ORM (~40 µs a row, four fifths of the
ingest's database time when measured on 10,000 PubMed records). The rows written here are plain values
the caller has already shaped, so each column's conversion is chosen once per table and the rows go to
the database driver as tuples. Conversions that differ by backend (JSON, datetimes) still go through the
field and the connection's operations, so PostgreSQL and SQLite get exactly what the ORM would send.

The creation history rows are the ones ``simple_history.utils.bulk_create_with_history`` would write: the
same values, ``history_type`` "+", the change reason and no user. Use it only for new rows of models whose
writes need no ``save()`` logic; updates stay on the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

# Column types the database drivers take as Python values unchanged.
_PLAIN_FIELDS = (models.IntegerField, models.FloatField, models.BooleanField, models.ForeignKey, models.AutoField)
_TEXT_FIELDS = (models.CharField, models.TextField)
_HISTORY_COLUMNS = ("history_date", "history_change_reason", "history_type", "history_user_id")

Row = dict[str, Any]
Convert = Callable[[Any], Any]


def _text(value: Any) -> Any:
    # A TextChoices member is a str subclass; the sqlite3 driver binds exact str only.
    return value if value is None or type(value) is str else str(value)


def _plain(value: Any) -> Any:
    return value


def _converter(field: models.Field, db: BaseDatabaseWrapper) -> Convert:
    """The one conversion of ``field``'s values, bound to the real connection (the ``connection`` proxy
    costs a thread-local look-up per access, which per value was a fifth of the ingest's time)."""
    ops = db.ops
    if isinstance(field, models.JSONField):  # what JSONField.get_db_prep_save ends in, minus its layers
        encoder = field.encoder
        return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, _TEXT_FIELDS):
        return _text
    if isinstance(field, _PLAIN_FIELDS):
        return _plain
    return lambda value: field.get_db_prep_save(value, db)  # anything else: the ORM's way


@functools.cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """Every concrete column but the auto-incremented primary key, in table order."""
    return tuple(f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField)))


def _insert_sql(model: type[models.Model], db: BaseDatabaseWrapper) -> str:
    quote = db.ops.quote_name
    names = ", ".join(quote(f.column) for f in _fields(model))
    marks = ", ".join(["%s"] * len(_fields(model)))
    # Only quoted identifiers from the model's metadata are interpolated; every value is a parameter.
    return f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608


def _missing(field: models.Field, convert: Convert, now) -> Callable[[], Any]:
    """What a row without ``field`` gets: ``now`` for auto_now(_add), else the default, converted once
    unless the default is a callable (``list``: each row needs its own)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value = convert(now)
        return lambda: value
    if field.has_default() and callable(field.default):
        return lambda: convert(field.get_default())
    value = convert(field.get_default())
    return lambda: value


def rows_insert(model: type[models.Model], rows: Iterable[Row]) -> list[list[Any]]:
    """Insert ``rows`` (dicts keyed by attname; a missing column takes its default, ``auto_now`` ones the
    current time); return each row's database values in column order, for :func:`history_rows_insert`."""
    db, now = connections[DEFAULT_DB_ALIAS], timezone.now()
    columns = []
    for field in _fields(model):
        convert = _converter(field, db)
        columns.append((field.attname, convert, _missing(field, convert, now)))
    values = [[convert(row[name]) if name in row else missing() for name, convert, missing in columns] for row in rows]
    if values:
        with db.cursor() as cursor:
            cursor.executemany(_insert_sql(model, db), values)
    return values


def history_rows_insert(
    model: type[models.Model], ids: Sequence[int], values: Sequence[list[Any]], *, change_reason: str
) -> None:
    """The creation history rows of rows just written by :func:`rows_insert` (``ids`` in the same order)."""
    history_model, db = model.history.model, connections[DEFAULT_DB_ALIAS]
    columns = [f.attname for f in _fields(history_model)]
    expected = ["id", *(f.attname for f in _fields(model)), *_HISTORY_COLUMNS]
    if sorted(columns) != sorted(expected):  # a history model with extra fields
        raise ValueError(f"{history_model.__name__} has columns {columns}, expected {expected}")
    order = [expected.index(name) for name in columns]
    history = [
        db.ops.adapt_datetimefield_value(timezone.now()),
        change_reason,
        "+",
        None,
    ]
    rows = []
    for pk, row in zip(ids, values, strict=True):
        full = [pk, *row, *history]
        rows.append([full[i] for i in order])
    if rows:
        with db.cursor() as cursor:
            cursor.executemany(_insert_sql(history_model, db), rows)


def rows_insert_with_history(
    model: type[models.Model], rows: list[Row], *, key: str, scope: dict | None = None, change_reason: str
) -> dict[Any, int]:
    """Insert ``rows`` and their creation history; the new ids by each row's ``key`` value.

    ``executemany`` returns no ids, so they are read back by ``key``, which must be unique among the
    model's rows matching ``scope`` (a filter: PMID alone, or citation within its review).
    """
    if not rows:
        return {}
    values = rows_insert(model, rows)
    keys = [row[key] for row in rows]
    ids = dict(model.objects.filter(**(scope or {}), **{f"{key}__in": keys}).values_list(key, "id"))
    history_rows_insert(model, [ids[k] for k in keys], values, change_reason=change_reason)
    return ids
