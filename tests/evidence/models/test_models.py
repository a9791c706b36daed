"""The database itself refuses bad evidence, whatever code path writes it."""

import pytest
from django.db import IntegrityError, transaction

from evidence.models import AdverseEvent, Citation, OutcomeMeasurement, Study


def _refused(**create) -> None:
    model, fields = create.popitem()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)


@pytest.fixture
def study(seeded):
    return Study.objects.get(review=seeded, label__startswith="Zhang")


def test_it_refuses_a_duplicate_pmid(db):
    Citation.objects.create(pmid="28724445", title="first", origin="manual")
    with pytest.raises(IntegrityError), transaction.atomic():
        Citation.objects.create(pmid="28724445", title="second", origin="manual")
    assert Citation.objects.filter(pmid="28724445").count() == 1


def test_it_allows_many_citations_without_a_pmid(db):
    Citation.objects.create(pmid=None, title="a conference abstract", origin="manual")
    Citation.objects.create(pmid=None, title="another", origin="manual")
    assert Citation.objects.filter(pmid__isnull=True).count() == 2


def test_it_refuses_a_blank_pmid_string(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Citation.objects.create(pmid="", title="blank is not unknown", origin="manual")


@pytest.mark.parametrize("field", ["baseline_sd", "followup_sd", "change_sd"])
def test_it_refuses_a_negative_sd(study, field):
    before = OutcomeMeasurement.objects.count()
    fields = dict(
        study=study,
        outcome_id=study.measurements.first().outcome_id,
        timepoint_months=24,
        data_format="baseline_followup",
        **{field: -1.0},
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeMeasurement.objects.create(**fields)
    assert OutcomeMeasurement.objects.count() == before


@pytest.mark.parametrize("field", ["baseline_n", "followup_n", "change_n", "total"])
def test_it_refuses_n_of_zero(study, field):
    fields = dict(
        study=study,
        outcome_id=study.measurements.first().outcome_id,
        timepoint_months=24,
        data_format="baseline_followup",
        **{field: 0},
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeMeasurement.objects.create(**fields)


def test_it_refuses_events_above_total(study):
    fields = dict(
        study=study,
        outcome_id=study.measurements.first().outcome_id,
        timepoint_months=24,
        data_format="events",
        events=5,
        total=4,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeMeasurement.objects.create(**fields)


def test_it_refuses_a_reversed_confidence_interval(study):
    fields = dict(
        study=study,
        outcome_id=study.measurements.first().outcome_id,
        timepoint_months=24,
        data_format="effect_estimate",
        effect_estimate=1,
        effect_ci_lb=2,
        effect_ci_ub=0,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeMeasurement.objects.create(**fields)


def test_it_refuses_more_patients_with_an_adverse_event_than_at_risk(study):
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(study=study, term="fever", patients_with_event=15, patients_at_risk=14)


def test_it_refuses_zero_enrolment(seeded):
    with pytest.raises(IntegrityError), transaction.atomic():
        Study.objects.create(review=seeded, label="Empty 2030", design="rct", enrolment_n=0)


def test_it_refuses_the_same_study_label_twice_in_a_review(seeded):
    with pytest.raises(IntegrityError), transaction.atomic():
        Study.objects.create(review=seeded, label="Zhang 2017", design="rct")
