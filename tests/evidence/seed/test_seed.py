"""The seeded MSC–SSc review: what Cui et al. 2022 and its primary reports give, nothing invented."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

from evidence.models import (
    AdverseEvent,
    Citation,
    MeasurementFormat,
    OutcomeMeasurement,
    PooledResult,
    QualityAssessment,
    ReviewVersion,
    Study,
)
from evidence.seed.load import seed_load


def _counts() -> dict:
    models = [Citation, Study, OutcomeMeasurement, AdverseEvent, QualityAssessment, ReviewVersion, PooledResult]
    return {model.__name__: model.objects.count() for model in models}


def test_it_loads_nine_studies_and_133_patients(seeded):
    studies = Study.objects.filter(review=seeded)
    assert studies.count() == 9
    assert studies.aggregate(total=Sum("enrolment_n"))["total"] == 133


def test_it_is_idempotent(seeded):
    before = _counts()
    report = seed_load()
    assert report.total_created == 0
    assert _counts() == before


def test_the_command_loads_then_reports_nothing_new(db, capsys):
    call_command("load_seed")
    call_command("load_seed")
    assert "nothing created" in capsys.readouterr().out


def test_it_keeps_a_reviewers_edit_on_reload(seeded):
    Study.objects.filter(label="Wang 2013").update(country="China (checked)")
    seed_load()
    assert Study.objects.get(label="Wang 2013").country == "China (checked)"


def test_version_zero_holds_the_eleven_published_rows(seeded):
    version = ReviewVersion.objects.get(review=seeded, number=0)
    assert version.kind == "published_paper"
    assert "Cui" in version.attribution and "10.1186/s13287-022-02786-3" in version.attribution
    assert version.source_citation.pmid == "35313985"
    assert version.pooled_results.count() == 11
    assert {row["outcome"] for row in version.narrative_findings} == {"dlco", "fvc"}


@pytest.mark.parametrize(
    ("code", "months", "subgroup", "k", "n", "estimate", "low", "high", "certainty"),
    [
        ("mrss", 3, "", 3, 22, 4.11, 2.19, 6.02, "moderate"),
        ("mrss", 6, "", 5, 52, 5.09, 3.38, 6.81, "moderate"),
        ("mrss", 12, "", 2, 19, 6.49, 4.61, 8.37, "moderate"),
        ("mrss", 6, "adipose_svf", 2, 30, 4.65, 0.74, 8.57, "moderate"),
        ("mrss", 6, "umbilical_cord_msc", 2, 19, 5.08, 3.10, 7.05, "moderate"),
        ("mrss", 6, "bone_marrow_msc", 1, 3, 6.70, -0.22, 13.62, "low"),
        ("rcs", 6, "", 2, 30, 1.80, -3.38, 6.99, "low"),
        ("digital_ulcers", 6, "", 4, 36, 21.10, 3.63, 122.56, "very_low"),
        ("vas_hand_pain", 6, "", 3, 92, 7.58, 0.55, 14.60, "very_low"),
        ("mhiss", 12, "", 2, 69, 5.52, 2.41, 8.62, "low"),
        ("chfs", 6, "", 2, 30, 9.05, -27.01, 45.11, "very_low"),
    ],
)
def test_each_published_row_is_exact(seeded, code, months, subgroup, k, n, estimate, low, high, certainty):
    row = PooledResult.objects.get(
        version__review=seeded, version__number=0, outcome__code=code, timepoint_months=months, subgroup_value=subgroup
    )
    assert (row.k, row.n_participants, row.estimate, row.ci_lb, row.ci_ub) == (k, n, estimate, low, high)
    assert row.certainty == certainty
    assert row.source.startswith("https://stemcellres.biomedcentral.com/")


def test_zhang_2017_mrss_is_as_reported(seeded):
    m = OutcomeMeasurement.objects.get(study__label="Zhang 2017", outcome__code="mrss", timepoint_months=12)
    assert m.data_format == MeasurementFormat.BASELINE_FOLLOWUP
    assert (m.baseline_mean, m.baseline_sd, m.baseline_n) == (20.1, 3.1, 14)
    assert (m.followup_mean, m.followup_sd, m.followup_n) == (13.8, 10.2, 14)


def test_keyszer_is_stored_as_an_effect_estimate_with_its_ci(seeded):
    m = OutcomeMeasurement.objects.get(study__label="Keyszer 2011", outcome__code="mrss", timepoint_months=6)
    assert m.data_format == MeasurementFormat.EFFECT_ESTIMATE
    assert (m.effect_estimate, m.effect_ci_lb, m.effect_ci_ub, m.effect_n) == (6.7, -0.22, 13.62, 3)


def test_no_numbers_are_invented(seeded):
    with_numbers = OutcomeMeasurement.objects.exclude(data_format=MeasurementFormat.NOT_EXTRACTED)
    assert sorted((m.study.label, m.outcome.code) for m in with_numbers) == [
        ("Almadori 2019", "mhiss"),
        ("Keyszer 2011", "mrss"),
        ("Zhang 2017", "mrss"),
    ]
    unknown = OutcomeMeasurement.objects.filter(data_format=MeasurementFormat.NOT_EXTRACTED)
    assert all(m.baseline_mean is None and m.followup_mean is None and m.change_mean is None for m in unknown)
    scuderi = Study.objects.get(label="Scuderi 2013")
    assert scuderi.age_mean is None and scuderi.interventions.get().donor == "unknown"


def test_granel_has_three_reports_of_one_trial(seeded):
    granel = Study.objects.get(label__startswith="Granel 2015")
    assert granel.reports.count() == 3
    assert granel.reports.get(is_main_report=True).citation.pmid == "25114060"


def test_nos_scores_and_data_quality_notes_are_kept(seeded):
    assert QualityAssessment.objects.get(study__label="Almadori 2019").total_score == 6
    zhang_study, almadori = Study.objects.get(label="Zhang 2017"), Study.objects.get(label__startswith="Almadori")
    assert "plasmapheresis" in zhang_study.public_note  # a caveat on the numbers readers need
    assert "questionable" in almadori.data_quality_notes and "questionable" not in almadori.public_note
    zhang = Study.objects.get(label="Zhang 2017").interventions.get()
    assert zhang.cell_source == "umbilical_cord_msc" and zhang.route == "intravenous" and zhang.donor == "allogeneic"
    assert "plasmapheresis" in zhang.co_interventions
