"""Forms of the reviewer workflow pages: they parse input into service arguments, nothing more."""

from __future__ import annotations

from django import forms

from evidence.models import (
    CellSource,
    Decision,
    Donor,
    FullTextExclusionReason,
    MeasurementFormat,
    Outcome,
    Review,
    Route,
    ScreeningStage,
    Study,
    StudyDesign,
)
from evidence.models.review import ROB_JUDGEMENTS, RobTool


def _reason_choices(review: Review, stage: str) -> list[tuple[str, str]]:
    if stage == ScreeningStage.FULL_TEXT:
        return [("", "— reason (required to exclude) —"), *FullTextExclusionReason.choices]
    return [("", "— reason —"), *[(reason, reason) for reason in review.exclusion_reasons]]


NOT_RETRIEVED = "not_retrieved"


class ScreeningDecisionForm(forms.Form):
    review_citation = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=Decision.choices)
    exclusion_reason = forms.ChoiceField(required=False)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, review: Review, stage: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exclusion_reason"].choices = _reason_choices(review, stage)
        if stage == ScreeningStage.FULL_TEXT:
            self.fields["decision"].choices = [*Decision.choices, (NOT_RETRIEVED, "Report not retrieved")]

    def clean(self) -> dict:
        """A "report not retrieved" is an exclusion with that PRISMA reason: one decision like any other, so dual
        screening, conflicts and adjudication treat it as they treat an exclusion (see services.screening)."""
        cleaned = super().clean()
        if cleaned.get("decision") == NOT_RETRIEVED:
            cleaned["decision"] = Decision.EXCLUDE
            cleaned["exclusion_reason"] = FullTextExclusionReason.NOT_RETRIEVED
        return cleaned


class AdjudicationForm(forms.Form):
    decision = forms.ChoiceField(choices=[(Decision.INCLUDE, "Include"), (Decision.EXCLUDE, "Exclude")])
    exclusion_reason = forms.ChoiceField(required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why, for the audit trail.")

    def __init__(self, *args, review: Review, stage: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exclusion_reason"].choices = _reason_choices(review, stage)


def _choices(text_choices, blank: bool = True) -> list[tuple[str, str]]:
    return ([("", "—")] if blank else []) + list(text_choices.choices)


class StudyPartForm(forms.Form):
    existing_study_id = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Existing study")
    label = forms.CharField(required=False, help_text="New study, e.g. 'Zhang 2017'.")
    first_author = forms.CharField(required=False)
    year = forms.IntegerField(required=False, min_value=1900, max_value=2100)
    design = forms.ChoiceField(choices=_choices(StudyDesign), required=False)
    country = forms.CharField(required=False)
    enrolment_n = forms.IntegerField(required=False)
    followup_months = forms.FloatField(required=False)

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, **kwargs)
        studies = Study.objects.filter(review=review).order_by("label")
        self.fields["existing_study_id"].choices = [("", "— a new study —"), *[(s.pk, s.label) for s in studies]]


# The review's intervention vocabulary (Review.intervention_fields) keys that are Intervention columns, and the
# form fields each brings; any other key is a free-text field stored in Intervention.details.
VOCABULARY_COLUMNS = {
    "cell_source": ("cell_source", "cell_source_detail"),
    "donor": ("donor",),
    "route": ("route", "route_detail"),
    "dose": ("dose",),
}
_COLUMN_FIELDS = {name for names in VOCABULARY_COLUMNS.values() for name in names}


def vocabulary_fields_apply(form: forms.Form, review: Review | None) -> None:
    """Keep the intervention fields ``review`` lists, named as it names them, and add a text field for each
    field of its own (e.g. "Conditioning regimen"); without a review the form keeps every column."""
    if review is None:
        return
    keep = set()
    for key, label in review.intervention_vocabulary():
        if key in VOCABULARY_COLUMNS:
            keep.update(VOCABULARY_COLUMNS[key])
            if form.fields[key].label is None:  # an explicit label ("Cell product") says it better
                form.fields[key].label = label
        else:
            form.fields[key] = forms.CharField(required=False, label=label, max_length=300)
            keep.add(key)
    for name in [name for name in form.fields if name in _COLUMN_FIELDS and name not in keep]:
        del form.fields[name]


class InterventionPartForm(forms.Form):
    cell_source = forms.ChoiceField(choices=_choices(CellSource), required=False)
    cell_source_detail = forms.CharField(required=False)
    donor = forms.ChoiceField(choices=_choices(Donor), required=False)
    route = forms.ChoiceField(choices=_choices(Route), required=False)
    route_detail = forms.CharField(required=False)
    dose = forms.CharField(required=False)

    def __init__(self, *args, review: Review | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        vocabulary_fields_apply(self, review)


class QualityPartForm(forms.Form):
    """NOS stars, and the overall judgement of RoB 2 or ROBINS-I when the review rates a design with one."""

    selection = forms.IntegerField(required=False, label="NOS selection (0–4)")
    comparability = forms.IntegerField(required=False, label="NOS comparability (0–2)")
    outcome = forms.IntegerField(required=False, label="NOS outcome (0–3)")
    overall = forms.ChoiceField(required=False, label="Overall risk of bias")

    def __init__(self, *args, review: Review | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        tools = {review.rob_tool_randomized, review.rob_tool_non_randomized} if review else {"nos"}
        judgements = [j for tool in ("rob2", "robins_i") if tool in tools for j in ROB_JUDGEMENTS[tool]]
        if judgements:
            named = " or ".join(RobTool(tool).label for tool in ("rob2", "robins_i") if tool in tools)
            self.fields["overall"].label = f"Overall risk of bias ({named}; not for designs rated with the NOS)"
            self.fields["overall"].choices = [("", "—"), *[(j, j.capitalize()) for j in dict.fromkeys(judgements)]]
        else:
            del self.fields["overall"]
        if "nos" not in tools:
            for name in ("selection", "comparability", "outcome"):
                del self.fields[name]


class MeasurementRowForm(forms.Form):
    outcome = forms.ChoiceField(required=False)
    timepoint_months = forms.FloatField(required=False)
    arm = forms.CharField(required=False, initial="MSC")
    data_format = forms.ChoiceField(choices=_choices(MeasurementFormat), required=False)
    unit = forms.CharField(required=False)
    baseline_mean = forms.FloatField(required=False)
    baseline_sd = forms.FloatField(required=False)
    baseline_n = forms.IntegerField(required=False)
    followup_mean = forms.FloatField(required=False)
    followup_sd = forms.FloatField(required=False)
    followup_n = forms.IntegerField(required=False)
    change_mean = forms.FloatField(required=False)
    change_sd = forms.FloatField(required=False)
    change_n = forms.IntegerField(required=False)
    median_of = forms.ChoiceField(
        required=False, choices=[("", "—"), ("baseline", "baseline"), ("followup", "follow-up"), ("change", "change")]
    )
    median = forms.FloatField(required=False)
    q1 = forms.FloatField(required=False)
    q3 = forms.FloatField(required=False)
    range_min = forms.FloatField(required=False)
    range_max = forms.FloatField(required=False)
    source_location = forms.CharField(required=False)

    def __init__(self, *args, review: Review | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this review's outcomes: another review's "mrss" is another outcome.
        outcomes = Outcome.objects.filter(review=review).values_list("code", "name")
        self.fields["outcome"].choices = [("", "—"), *outcomes]
        if review is not None:
            self.fields["arm"].initial = review.arm_label


class AdverseEventRowForm(forms.Form):
    term = forms.CharField(required=False)
    category = forms.CharField(required=False)
    serious = forms.NullBooleanField(required=False)
    patients_with_event = forms.IntegerField(required=False, min_value=0)
    patients_at_risk = forms.IntegerField(required=False, min_value=1)


MeasurementFormSet = forms.formset_factory(MeasurementRowForm, extra=3)
AdverseEventFormSet = forms.formset_factory(AdverseEventRowForm, extra=2)


def _drop_blank(values: dict) -> dict:
    return {key: value for key, value in values.items() if value not in (None, "")}


def draft_forms(review: Review, data=None, payload: dict | None = None) -> dict:
    """The draft page's forms, bound to POST data or filled from a stored payload."""
    payload = payload or {}
    return {
        "study": StudyPartForm(data, prefix="study", review=review, initial=payload.get("study")),
        "intervention": InterventionPartForm(
            data, prefix="intervention", review=review, initial=payload.get("intervention")
        ),
        "quality": QualityPartForm(data, prefix="quality", review=review, initial=payload.get("quality")),
        "measurements": MeasurementFormSet(
            data, prefix="m", initial=payload.get("measurements"), form_kwargs={"review": review}
        ),
        "adverse_events": AdverseEventFormSet(data, prefix="ae", initial=payload.get("adverse_events")),
    }


def draft_payload(forms_by_part: dict) -> dict | None:
    """The payload from valid forms (empty rows dropped), or None when a form has a type error."""
    if not all(form.is_valid() for form in forms_by_part.values()):
        return None
    return {
        "study": _drop_blank(forms_by_part["study"].cleaned_data),
        "intervention": _drop_blank(forms_by_part["intervention"].cleaned_data),
        "quality": _drop_blank(forms_by_part["quality"].cleaned_data),
        "measurements": [
            _drop_blank(row) for row in forms_by_part["measurements"].cleaned_data if _drop_blank(row).get("outcome")
        ],
        "adverse_events": [
            _drop_blank(row) for row in forms_by_part["adverse_events"].cleaned_data if _drop_blank(row).get("term")
        ],
    }


class FullTextForm(forms.Form):
    """A PDF of the report, a link to it, or both; the service checks the file and the address."""

    pdf = forms.FileField(
        required=False, label="PDF", widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"})
    )
    url = forms.CharField(required=False, max_length=1000, label="Link to the full text")
