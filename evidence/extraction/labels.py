"""Words for the reconcile page: a payload path and a stored value as the extraction form shows them.

``measurements[mrss|12.0|MSC].followup_sd`` reads "Measurement: Modified Rodnan skin score (mRSS), 12 months,
arm MSC: Follow-up SD"; ``umbilical_cord_msc`` reads as its choice's label. The form classes are the one source
of field labels and choices, so the page and the form never disagree.
"""

from __future__ import annotations

import re

from django import forms
from django.forms.utils import pretty_name

from evidence.extraction.forms import ArmAdverseEventRowForm, ArmMeasurementRowForm, ArmRowForm, StudyWithCohortForm
from evidence.models import Outcome, Study
from evidence.screening.forms import InterventionPartForm, QualityPartForm

SECTIONS: dict[str, tuple[str, type[forms.Form]]] = {
    "study": ("Study", StudyWithCohortForm),
    "arms": ("Arm", ArmRowForm),
    "intervention": ("Intervention", InterventionPartForm),
    "quality": ("Quality (Newcastle–Ottawa)", QualityPartForm),
    "measurements": ("Measurement", ArmMeasurementRowForm),
    "adverse_events": ("Adverse event", ArmAdverseEventRowForm),
}
_PATH = re.compile(r"^(?P<section>\w+)(\[(?P<key>[^\]]*)\])?\.(?P<name>\w+)$")
_WORDS = {"sd": "SD", "se": "SE", "ci": "CI", "q1": "Q1", "q3": "Q3", "lb": "lower", "ub": "upper", "nos": "NOS"}


def _field_label(form_class: type[forms.Form], name: str) -> str:
    field = form_class.base_fields.get(name)
    if field is not None and field.label:
        return str(field.label)
    words = pretty_name(name).replace("Followup", "Follow-up").split(" ")
    return " ".join(_WORDS.get(word.lower(), word) for word in words)


def _months(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    shown = f"{number:g}"
    return f"{shown} month" if shown == "1" else f"{shown} months"


def _row_words(section: str, key: str, outcomes: dict[str, str]) -> str:
    if section == "measurements":
        outcome, timepoint, arm = [*key.split("|"), "", "", ""][:3]
        return f"{outcomes.get(outcome, outcome)}, {_months(timepoint)}, arm {arm}"
    if section == "adverse_events":
        term, _, arm = key.partition("|")
        return f"{term}, arm {arm}" if arm else term
    return key


def path_label(path: str, outcomes: dict[str, str] | None = None) -> str:
    """The field as the form names it, with the row it belongs to; the raw path if it is not a payload path."""
    match = _PATH.match(path)
    if match is None or match["section"] not in SECTIONS:
        return path
    section_label, form_class = SECTIONS[match["section"]]
    field = _field_label(form_class, match["name"])
    if match["key"] is None:
        return f"{section_label}: {field}"
    row = _row_words(match["section"], match["key"], outcomes or {})
    return f"{section_label} ({row}): {field}"


def value_label(path: str, value: object, outcomes: dict[str, str] | None = None) -> object:
    """A choice's label for a stored choice value (``umbilical_cord_msc`` → its label); other values unchanged."""
    match = _PATH.match(path)
    if match is None or match["section"] not in SECTIONS or value in (None, ""):
        return value
    if match["name"] == "outcome":
        return (outcomes or {}).get(str(value), value)
    if match["name"] == "existing_study_id":
        return Study.objects.filter(pk=value).values_list("label", flat=True).first() or value
    field = SECTIONS[match["section"]][1].base_fields.get(match["name"])
    if isinstance(field, forms.NullBooleanField):
        return {True: "yes", False: "no"}.get(value, value)
    choices = dict(getattr(field, "choices", None) or [])
    return choices.get(value, value)


def outcome_names(review) -> dict[str, str]:
    return dict(Outcome.objects.filter(review=review).values_list("code", "name"))


def comparison_rows(comparisons: list, *, review) -> list[dict]:
    """The reconcile table's rows: each comparison with its label and its values in words."""
    outcomes = outcome_names(review)
    return [
        {
            "path": comparison.path,
            "label": path_label(comparison.path, outcomes),
            "differs": comparison.differs,
            "values": [value_label(comparison.path, value, outcomes) for value in comparison.values],
        }
        for comparison in comparisons
    ]
