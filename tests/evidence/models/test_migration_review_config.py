"""Migration 0022: existing outcomes go to the seeded MSC review; an outcome another review also measured is
copied into that review and its rows there point at the copy; the MSC review gets its public wording."""

import datetime

import pytest

from tests.evidence.models.migration_helpers import migrate, migrations_restored

BEFORE = [("evidence", "0021_binary_tte")]
AFTER = [("evidence", "0022_review_config")]


@pytest.mark.django_db(transaction=True)
def test_it_gives_each_review_its_own_outcomes_and_the_msc_review_its_wording():
    with migrations_restored():
        apps = migrate(BEFORE)
        Review = apps.get_model("evidence", "Review")
        other = Review.objects.create(
            slug="ahsct", title="A", pubmed_query="q", search_start_date=datetime.date(2024, 1, 1)
        )
        msc = Review.objects.create(
            slug="msc-ssc", title="M", pubmed_query="q", search_start_date=datetime.date(2021, 2, 1)
        )
        Outcome = apps.get_model("evidence", "Outcome")
        mrss = Outcome.objects.create(code="mrss", name="mRSS", direction="lower_is_better", outcome_type="continuous")
        Outcome.objects.create(code="dlco", name="DLCO", direction="higher_is_better", outcome_type="continuous")
        Study = apps.get_model("evidence", "Study")
        Measurement = apps.get_model("evidence", "OutcomeMeasurement")
        for review in (msc, other):
            study = Study.objects.create(review=review, label=f"{review.slug} 2020", design="single_arm_before_after")
            Measurement.objects.create(study=study, outcome=mrss, timepoint_months=12, data_format="change")

        apps = migrate(AFTER)

        Outcome = apps.get_model("evidence", "Outcome")
        Measurement = apps.get_model("evidence", "OutcomeMeasurement")
        owned = sorted(Outcome.objects.values_list("review__slug", "code"))
        assert owned == [("ahsct", "mrss"), ("msc-ssc", "dlco"), ("msc-ssc", "mrss")]
        for slug in ("msc-ssc", "ahsct"):
            measured = Measurement.objects.get(study__review__slug=slug)
            assert measured.outcome.review.slug == slug
        wording = apps.get_model("evidence", "Review").objects.get(slug="msc-ssc")
        assert (wording.intervention_name, wording.arm_label) == ("MSC therapy", "MSC")
        assert wording.intervention_fields == ["Cell source", "Donor", "Route", "Dose"]
        assert apps.get_model("evidence", "Review").objects.get(slug="ahsct").intervention_name == ""
