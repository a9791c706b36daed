"""The ingest's fast inserts write exactly what the ORM (and simple-history) would, on either database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from simple_history.utils import bulk_create_with_history

from evidence.core.bulk_rows import history_rows_insert, rows_insert
from evidence.models import Citation, CitationOrigin, Review, ReviewCitation, TriageStage

pytestmark = pytest.mark.django_db

IGNORED = {"id", "pmid", "created_at", "updated_at"}
HISTORY_IGNORED = IGNORED | {"history_id", "history_date"}


def _values(pmid: str) -> dict:
    return {
        "pmid": pmid,
        "doi": "10.1186/s13287-022-02797-2",
        "title": "Mesenchymal stem cells in systemic sclerosis: a meta‑analysis — ü, é, 系统性硬化",
        "abstract": "BACKGROUND: …",
        "abstract_sections": [{"label": "BACKGROUND", "category": "BACKGROUND", "text": "…"}],
        "authors": ["Cui J", "Jin L"],
        "first_author": "Cui",
        "publication_year": 2022,
        "publication_month": None,
        "mesh_terms": ["Scleroderma, Systemic"],
        "registry_ids": [],
        "is_retracted": True,
        "origin": CitationOrigin.SEARCH,  # a TextChoices member, as the ingest passes it
    }


def _row(model, **filters) -> dict:
    instance = model.objects.get(**filters)
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _without(row: dict, ignored: set[str]) -> dict:
    return {k: v for k, v in row.items() if k not in ignored}


def test_citation_rows_and_history_equal_the_orms():
    bulk_create_with_history([Citation(**_values("1"))], Citation, default_change_reason="PubMed search")
    values = rows_insert(Citation, [_values("2")])
    new_id = Citation.objects.get(pmid="2").pk
    history_rows_insert(Citation, [new_id], values, change_reason="PubMed search")

    orm, fast = _row(Citation, pmid="1"), _row(Citation, pmid="2")
    assert _without(fast, IGNORED) == _without(orm, IGNORED)
    assert fast["created_at"] is not None and fast["updated_at"] is not None
    orm_history = _row(Citation.history.model, pmid="1")
    fast_history = _row(Citation.history.model, pmid="2")
    assert _without(fast_history, HISTORY_IGNORED) == _without(orm_history, HISTORY_IGNORED)
    assert (fast_history["history_type"], fast_history["history_user_id"]) == ("+", None)
    assert fast_history["id"] == new_id
    assert model_to_dict(Citation.objects.get(pmid="2"))["authors"] == ["Cui J", "Jin L"]


def test_defaults_fill_missing_columns():
    review = Review.objects.create(slug="r", title="R", pubmed_query="q", search_start_date=dt.date(2021, 2, 1))
    citation = Citation.objects.create(pmid="3", title="T", origin=CitationOrigin.SEARCH)
    rows_insert(ReviewCitation, [{"review_id": review.pk, "citation_id": citation.pk}])
    queued = ReviewCitation.objects.get()
    assert queued.stage == TriageStage.TITLE_ABSTRACT  # the model default
    assert queued.added_at is not None and queued.possible_duplicate_of_id is None


def test_a_duplicate_pmid_is_refused_by_the_database_and_writes_nothing():
    Citation.objects.create(pmid="4", title="T", origin=CitationOrigin.SEARCH)
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Citation, [_values("5"), _values("4")])
    assert list(Citation.objects.values_list("pmid", flat=True)) == ["4"]


def test_history_ids_must_match_the_rows():
    values = rows_insert(Citation, [_values("6")])
    with pytest.raises(ValueError):
        history_rows_insert(Citation, [], values, change_reason="PubMed search")
