"""Migration 0014: existing single-arm data become one intervention arm per study, measurements and adverse
events attached to it."""

import datetime

import pytest

from tests.evidence.models.migration_helpers import migrate, migrations_restored

BEFORE = [("evidence", "0008_study_reports_no_adverse_events")]
AFTER = [("evidence", "0014_study_arms")]


@pytest.mark.django_db(transaction=True)
def test_single_arm_data_migrate_to_one_intervention_arm_per_study():
    with migrations_restored():
        apps = migrate(BEFORE)
        review = apps.get_model("evidence", "Review").objects.create(
            slug="m", title="M", pubmed_query="q", search_start_date=datetime.date(2021, 2, 1)
        )
        outcome = apps.get_model("evidence", "Outcome").objects.create(
            code="mrss", name="mRSS", direction="lower_is_better", outcome_type="continuous"
        )
        Study = apps.get_model("evidence", "Study")
        single = Study.objects.create(
            review=review, label="Zhang 2017", design="single_arm_before_after", enrolment_n=14
        )
        apps.get_model("evidence", "Intervention").objects.create(
            study=single, arm="MSC", cell_source="umbilical_cord_msc", route="intravenous"
        )
        two = Study.objects.create(review=review, label="Khanna 2022", design="rct", enrolment_n=88)
        Measurement = apps.get_model("evidence", "OutcomeMeasurement")
        Measurement.objects.create(study=single, outcome=outcome, timepoint_months=12, data_format="change")
        for arm in ("ADRC", "placebo"):
            Measurement.objects.create(study=two, outcome=outcome, timepoint_months=12, arm=arm, data_format="change")
        apps.get_model("evidence", "AdverseEvent").objects.create(study=single, term="Fever", patients_with_event=1)

        apps = migrate(AFTER)

        Arm = apps.get_model("evidence", "StudyArm")
        [msc] = Arm.objects.filter(study_id=single.pk)
        assert (msc.label, msc.role, msc.n_randomized) == ("MSC", "intervention", 14)
        assert apps.get_model("evidence", "OutcomeMeasurement").objects.get(study_id=single.pk).study_arm_id == msc.pk
        assert apps.get_model("evidence", "AdverseEvent").objects.get(study_id=single.pk).study_arm_id == msc.pk
        roles = dict(Arm.objects.filter(study_id=two.pk).values_list("label", "role"))
        assert roles == {"ADRC": "intervention", "placebo": "comparator"}
        assert not apps.get_model("evidence", "OutcomeMeasurement").objects.filter(study_arm__isnull=True).exists()
