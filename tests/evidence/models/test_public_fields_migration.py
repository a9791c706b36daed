"""Migration 0010: a database seeded before Study.public_note gets the seed's reader caveats, and nothing
else: no internal data-quality note is copied, and a public note already written is kept."""

from __future__ import annotations

import importlib

from django.apps import apps

from evidence.models import Study

migration = importlib.import_module("evidence.migrations.0010_public_fields")


def test_it_writes_the_reader_caveats_and_moves_no_internal_note(seeded):
    # given a database as seeded before the field existed, and a note a reviewer has since written
    Study.objects.update(public_note="")
    Study.objects.filter(label__startswith="Park").update(public_note="Written by the team.")
    # when the migration's data step runs
    migration.seeded_public_notes_set(apps, None)
    # then the caveats are public, the curators' working notes are not, and the team's note stays
    notes = dict(Study.objects.values_list("label", "public_note"))
    assert "four minor adverse events" in notes["Granel 2015 (+ Guillaume-Jugnot 2016, Daumas 2017)"]
    assert "plasmapheresis" in notes["Zhang 2017"]
    assert notes["Park 2020"] == "Written by the team."
    assert notes["Almadori 2019"] == "" and notes["Scuderi 2013"] == ""
    internal = ("Country:", "questionable", "which (if either) registration", "may be this study", "Cui Table 2: 0")
    assert [n for n in notes.values() if any(text in n for text in internal)] == []
