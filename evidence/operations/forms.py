"""The review's admin form: list settings (PICO terms, exclusion reasons, intervention fields) edited one item
per line, not typed as JSON arrays."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from evidence.models import Review


class LineListField(forms.Field):
    """A list of short texts, one per line. Blank lines and surrounding spaces are dropped; a repeated item or
    one longer than ``max_item_length`` is refused, naming the line."""

    widget = forms.Textarea(attrs={"rows": 6, "cols": 60})

    def __init__(self, *, max_item_length: int = 200, **kwargs):
        self.max_item_length = max_item_length
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value) -> list[str]:
        if value in (None, ""):
            return []
        lines = [str(item) for item in value] if isinstance(value, (list, tuple)) else str(value).splitlines()
        return [line.strip() for line in lines if line.strip()]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        seen: set[str] = set()
        for number, item in enumerate(value, start=1):
            if len(item) > self.max_item_length:
                raise ValidationError(
                    f"Line {number} is {len(item)} characters long; keep each item under {self.max_item_length}."
                )
            if item.casefold() in seen:
                raise ValidationError(f"“{item}” is listed twice (line {number}); list each item once.")
            seen.add(item.casefold())

    def has_changed(self, initial, data) -> bool:
        return self.to_python(initial) != self.to_python(data)


class ReviewAdminForm(forms.ModelForm):
    pico_terms = LineListField(
        label="PICO terms", help_text="One term per line; highlighted on the screening page.", max_item_length=100
    )
    exclusion_reasons = LineListField(
        help_text="One reason per line; the reasons a screener may choose when excluding a record."
    )
    intervention_fields = LineListField(
        help_text="One field per line, e.g. Conditioning regimen, Graft manipulation: what the extraction form asks "
        "of a study's intervention and its pages show. Empty: Cell source, Donor, Route, Dose.",
        max_item_length=80,
    )

    class Meta:
        model = Review
        fields = "__all__"  # noqa: DJ007 -- the admin form of the whole review; the admin decides what is read-only

    # The wording every public page reads: an editor states it in the admin. The model leaves the fields blank-able
    # so that a service saving another setting of a review set up before issue 20 is not refused for them.
    WORDING = ("intervention_name", "intervention_full", "intervention_plain", "population_name", "population_plain")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.WORDING:
            if name in self.fields:
                self.fields[name].required = True
