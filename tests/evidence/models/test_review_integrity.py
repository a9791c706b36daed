"""An outcome belongs to its review (issue 20, point 2): a GRADE assessment or an outcome measurement never points
at another review's outcome, in the model, the services or the raw admin; and a review created in the admin
states its wording."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from evidence.models import GradeAssessment, Outcome, OutcomeMeasurement, Review, ReviewRole, Study, StudyArm
from tests.evidence.screening_support import make_member, make_review

pytestmark = pytest.mark.django_db


def _outcome(review: Review, code: str = "mrss") -> Outcome:
    return Outcome.objects.create(
        review=review,
        code=code,
        name=f"{code} of {review.slug}",
        direction="lower_is_better",
        outcome_type="continuous",
    )


@pytest.fixture
def world():
    """``alpha`` and ``beta``, each with its mRSS, a study in ``alpha``; ``ed`` edits both."""
    alpha, beta = make_review("alpha"), make_review("beta")
    editor = make_member("ed", alpha, ReviewRole.EDITOR)
    from evidence.core.roles import review_membership_create

    review_membership_create(review=beta, user=editor, role=ReviewRole.EDITOR)
    study = Study.objects.create(review=alpha, label="Lee 2019", design="single_arm_before_after")
    arm = StudyArm.objects.create(study=study, label="MSC", role="intervention", n_randomized=20)
    return {
        "alpha": alpha,
        "beta": beta,
        "editor": editor,
        "study": study,
        "arm": arm,
        "alpha_mrss": _outcome(alpha),
        "beta_mrss": _outcome(beta),
    }


def _measurement(world, outcome: Outcome) -> OutcomeMeasurement:
    return OutcomeMeasurement(
        study=world["study"], study_arm=world["arm"], arm="MSC", outcome=outcome, timepoint_months=6,
        data_format="change", change_mean=-4.0, change_sd=3.0, change_n=20,
    )  # fmt: skip


# --- The model ------------------------------------------------------------------------------------------


def test_it_refuses_a_grade_assessment_on_another_reviews_outcome_by_field(world):
    grade = GradeAssessment(review=world["alpha"], outcome=world["beta_mrss"], timepoint_months=6, certainty="low")

    with pytest.raises(ValidationError) as raised:
        grade.full_clean()

    assert raised.value.message_dict["outcome"] == [
        "“mrss of beta” is an outcome of the review “beta”; choose one of “Review alpha”'s outcomes."
    ]
    GradeAssessment(
        review=world["alpha"], outcome=world["alpha_mrss"], timepoint_months=6, certainty="low"
    ).full_clean()


def test_it_refuses_a_measurement_of_another_reviews_outcome_by_field(world):
    with pytest.raises(ValidationError) as raised:
        _measurement(world, world["beta_mrss"]).full_clean()

    assert "“mrss of beta” is an outcome of the review “beta”" in raised.value.message_dict["outcome"][0]
    _measurement(world, world["alpha_mrss"]).full_clean()


def test_an_outcome_that_does_not_exist_is_a_field_error_not_a_crash(world):
    grade = GradeAssessment(review=world["alpha"], outcome_id=999_999, timepoint_months=6, certainty="low")
    measurement = _measurement(world, world["alpha_mrss"])
    measurement.outcome_id = 999_999

    for row in (grade, measurement):
        with pytest.raises(ValidationError) as raised:
            row.full_clean()
        assert "outcome" in raised.value.message_dict


# --- The raw admin --------------------------------------------------------------------------------------


def test_the_grade_form_offers_only_its_reviews_outcomes_and_names_a_forged_one(client, world):
    grade = GradeAssessment.objects.create(
        review=world["alpha"], outcome=world["alpha_mrss"], timepoint_months=6, certainty="low"
    )
    client.force_login(world["editor"])
    url = reverse("admin:evidence_gradeassessment_change", args=[grade.pk])

    choices = client.get(url).context["adminform"].form.fields["outcome"].queryset

    assert list(choices) == [world["alpha_mrss"]]
    add = reverse("admin:evidence_gradeassessment_add")
    data = {"review": world["alpha"].pk, "outcome": world["beta_mrss"].pk, "timepoint_months": "12", "certainty": "low"}
    response = client.post(add, data)
    assert response.status_code == 200
    assert "outcome of the review “beta”" in str(response.context["adminform"].form.errors["outcome"])
    assert GradeAssessment.objects.count() == 1


def test_the_measurement_forms_offer_only_the_studys_review_outcomes(client, world):
    measurement = _measurement(world, world["alpha_mrss"])
    measurement.save()
    client.force_login(world["editor"])

    page = client.get(reverse("admin:evidence_outcomemeasurement_change", args=[measurement.pk]))
    inline = client.get(reverse("admin:evidence_study_change", args=[world["study"].pk]))

    assert list(page.context["adminform"].form.fields["outcome"].queryset) == [world["alpha_mrss"]]
    [formset] = [f for f in inline.context["inline_admin_formsets"] if f.formset.model is OutcomeMeasurement]
    assert list(formset.formset.forms[0].fields["outcome"].queryset) == [world["alpha_mrss"]]


# --- A review created in the admin states its wording ---------------------------------------------------


def test_a_review_created_without_its_wording_is_refused_by_field(client, world):
    client.force_login(world["editor"])
    url = reverse("admin:evidence_review_add")
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    data.update(slug="gamma", title="Gamma", pubmed_query="scleroderma", search_start_date="2024-01-01")

    response = client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    wording = {"intervention_name", "intervention_full", "intervention_plain", "population_name", "population_plain"}
    assert set(errors) == wording, errors  # only the wording was missing, and each field says so
    assert not Review.objects.filter(slug="gamma").exists()
