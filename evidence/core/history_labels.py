"""Words for django-simple-history's change lists: a changed value as the reviewer reads it, not as stored.

simple-history already names a changed field by its verbose name; the values it shows are the stored ones
(``umbilical_cord_msc``, ``title_abstract``, ``True``). Here a choice shows its label, a yes/no field shows
yes or no, and a full-text exclusion reason (stored without choices, so a title/abstract reason typed by the
review stays free text) shows its PRISMA label.
"""

from __future__ import annotations

from django.db import models
from simple_history.template_utils import HistoricalRecordContextHelper

from evidence.models import FullTextExclusionReason

FREE_TEXT_LABELS = {"exclusion_reason": dict(FullTextExclusionReason.choices)}


def value_in_words(field: models.Field, value: object) -> object:
    """The label of a stored value of ``field``; the value itself when it has none."""
    if value is None or value == "":
        return value
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(field, models.BooleanField):
        return "yes" if value else "no"
    return FREE_TEXT_LABELS.get(field.name, {}).get(value, value)


class LabelledHistoryContextHelper(HistoricalRecordContextHelper):
    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.is_relation or isinstance(field, models.ManyToManyField):
            return super().prepare_delta_change_value(change, value)
        return value_in_words(field, value)
