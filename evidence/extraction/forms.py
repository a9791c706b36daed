"""Forms of the extraction page: a study, any number of arms, and per arm its measurements and adverse events.

They parse input into the payload the extraction services validate; the checks that need the whole payload
(an arm without n, a contrast without comparator, a change against its means) are the services' own.
"""

from __future__ import annotations

from django import forms

from evidence.extraction.arms import SIGN_CONVENTION
from evidence.models import ArmRole, CellSource, ContrastBasis, Donor, Review, Route
from evidence.screening.forms import (
    AdverseEventRowForm,
    InterventionPartForm,
    MeasurementRowForm,
    QualityPartForm,
    StudyPartForm,
    _choices,
    _drop_blank,
    vocabulary_fields_apply,
)


class StudyWithCohortForm(StudyPartForm):
    centre = forms.CharField(required=False, help_text="Recruiting centre, for the overlapping-cohort check.")
    recruitment_start_year = forms.IntegerField(required=False, min_value=1900, max_value=2100)
    recruitment_end_year = forms.IntegerField(required=False, min_value=1900, max_value=2100)
    contrast_basis = forms.ChoiceField(
        choices=_choices(ContrastBasis), required=False, label="Between-arm contrast (controlled studies)"
    )


class ArmRowForm(forms.Form):
    label = forms.CharField(required=False, help_text="As the report names it, e.g. 'ADRC', 'placebo'.")
    role = forms.ChoiceField(choices=_choices(ArmRole), required=False)
    description = forms.CharField(required=False)
    n_randomized = forms.IntegerField(required=False, min_value=1)
    n_analysed = forms.IntegerField(required=False, min_value=1)
    cell_source = forms.ChoiceField(choices=_choices(CellSource), required=False, label="Cell product")
    cell_source_detail = forms.CharField(required=False)
    donor = forms.ChoiceField(choices=_choices(Donor), required=False)
    route = forms.ChoiceField(choices=_choices(Route), required=False)
    dose = forms.CharField(required=False)

    def __init__(self, *args, review: Review | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        vocabulary_fields_apply(self, review)


class EffectEstimateFields(forms.Form):
    """A reported effect estimate with its CI or SE (e.g. read off a forest plot or a meta-analysis's table)."""

    effect_measure = forms.ChoiceField(
        required=False,
        label="Reported effect",
        choices=[
            ("", "—"),
            ("HR", "Hazard ratio (time to event)"),
            ("logHR", "Log hazard ratio, with its SE"),
            ("RR", "Risk ratio"),
            ("OR", "Odds ratio"),
            ("MD", "Mean difference"),
        ],
        help_text="Intervention vs comparator, as the report gives it; an HR below 1 means fewer events with the "
        "intervention.",
    )
    effect_estimate = forms.FloatField(required=False, label="Effect estimate (e.g. HR)")
    effect_ci_lb = forms.FloatField(required=False, label="Effect 95% CI lower")
    effect_ci_ub = forms.FloatField(required=False, label="Effect 95% CI upper")
    effect_se = forms.FloatField(
        required=False, min_value=0, label="Effect SE", help_text="For a ratio: the SE of its logarithm (log HR)."
    )
    effect_n = forms.IntegerField(required=False, min_value=1, label="Effect n")
    effect_orientation = forms.ChoiceField(
        required=False,
        label="Mean difference as reported",
        choices=[
            ("", "—"),
            ("followup_minus_baseline", "follow-up − baseline"),
            ("baseline_minus_followup", "baseline − follow-up (a fall is positive)"),
        ],
    )


class ArmMeasurementRowForm(EffectEstimateFields, MeasurementRowForm):
    arm = forms.CharField(required=False, help_text="The arm's name; required when the study has several arms.")
    baseline_se = forms.FloatField(required=False, label="Baseline SE")
    followup_se = forms.FloatField(required=False, label="Follow-up SE")
    change_mean = forms.FloatField(required=False, help_text=SIGN_CONVENTION)
    change_se = forms.FloatField(required=False, label="Change SE")
    change_ci_lb = forms.FloatField(required=False, label="Change 95% CI lower")
    change_ci_ub = forms.FloatField(required=False, label="Change 95% CI upper")

    events = forms.IntegerField(
        required=False, min_value=0, label="Events", help_text="Patients in this arm with the event (Events / n)."
    )
    total = forms.IntegerField(required=False, min_value=1, label="Patients in the arm (n)")


class ArmAdverseEventRowForm(AdverseEventRowForm):
    arm = forms.CharField(required=False, help_text="The arm's name; required when the study has several arms.")


ArmFormSet = forms.formset_factory(ArmRowForm, extra=2)
MeasurementFormSet = forms.formset_factory(ArmMeasurementRowForm, extra=4)
AdverseEventFormSet = forms.formset_factory(ArmAdverseEventRowForm, extra=2)


def draft_forms(review: Review, data=None, payload: dict | None = None) -> dict:
    """The draft page's forms, bound to POST data or filled from a stored (or pre-filled) payload."""
    payload = payload or {}
    # A post without the arms' management form (a single-arm study entered by an older page or script) has none.
    arms_data = data if data is None or "arm-TOTAL_FORMS" in data else None
    return {
        "study": StudyWithCohortForm(data, prefix="study", review=review, initial=payload.get("study")),
        "arms": ArmFormSet(arms_data, prefix="arm", initial=payload.get("arms"), form_kwargs={"review": review}),
        "intervention": InterventionPartForm(
            data, prefix="intervention", review=review, initial=payload.get("intervention")
        ),
        "quality": QualityPartForm(data, prefix="quality", review=review, initial=payload.get("quality")),
        "measurements": MeasurementFormSet(
            data, prefix="m", initial=payload.get("measurements"), form_kwargs={"review": review}
        ),
        "adverse_events": AdverseEventFormSet(data, prefix="ae", initial=payload.get("adverse_events")),
    }


def _rows(formset, key: str) -> list[dict]:
    return [_drop_blank(row) for row in formset.cleaned_data if _drop_blank(row).get(key)]


def draft_payload(forms_by_part: dict) -> dict | None:
    """The payload from valid forms (empty rows dropped), or None when a form has a type error."""
    if not all(form.is_valid() for part, form in forms_by_part.items() if part != "arms" or form.is_bound):
        return None
    arms_form = forms_by_part["arms"]
    arms = [_drop_blank(row) for row in arms_form.cleaned_data if _drop_blank(row)] if arms_form.is_bound else []
    return {
        "study": _drop_blank(forms_by_part["study"].cleaned_data),
        "arms": arms,
        "intervention": _drop_blank(forms_by_part["intervention"].cleaned_data),
        "quality": _drop_blank(forms_by_part["quality"].cleaned_data),
        "measurements": _rows(forms_by_part["measurements"], "outcome"),
        "adverse_events": _rows(forms_by_part["adverse_events"], "term"),
    }
