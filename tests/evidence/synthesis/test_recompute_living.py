"""The living synthesis: published rows enter as remainders, so every approved study moves its headline row."""

import json
import math
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError

from evidence.approval.services import study_approve
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import PooledResult, RecomputeRun, Review, ReviewRole, StudyRole, TriageStage
from evidence.seed import seed_json
from evidence.seed.outcomes import SEED_KEY_TO_CODE
from evidence.seed.version0 import SUBGROUPS
from evidence.synthesis import tasks as tasks_recompute
from evidence.synthesis.recompute import review_recompute
from evidence.synthesis.recompute.primary import review_primary_analysis_update
from evidence.synthesis.recompute.remainder import Z975
from pooling.model import pool_arrays
from tests.evidence.recompute_helpers import WANG_MRSS_12M, measurement_set
from tests.evidence.screening_support import make_citation, make_member

ALIP = {"baseline_mean": 18.68, "baseline_sd": 7.26, "baseline_n": 41}
ALIP_12M = {**ALIP, "followup_mean": 13.95, "followup_sd": 8.49, "followup_n": 41}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def team(seeded):
    roles = {
        "ext1": ReviewRole.EXTRACTOR,
        "ext2": ReviewRole.EXTRACTOR,
        "senior": ReviewRole.SENIOR_REVIEWER,
        "editor": ReviewRole.EDITOR,
    }
    return {name: make_member(f"living-{name}", seeded, role) for name, role in roles.items()}


def _row(version, code, months, subgroup="") -> PooledResult:
    return version.pooled_results.get(outcome__code=code, timepoint_months=months, subgroup_value=subgroup)


def approve_new_study(review: Review, team: dict, measurements: list[dict], *, n: int = 41):
    """Alip 2024 through the services: two extractions, reconciliation, approval; then the queued recompute
    run executes as the worker would."""
    citation = make_citation(review, 24, title="Umbilical cord MSCs in diffuse SSc: 5-year follow-up")
    citation.stage = TriageStage.EXTRACTION
    citation.save()
    payload = {
        "study": {"label": "Alip 2024", "design": "single_arm_before_after", "enrolment_n": n, "year": 2024},
        "intervention": {"cell_source": "umbilical_cord_msc", "route": "intravenous", "donor": "allogeneic"},
        "measurements": [{"arm": "MSC", "source_location": "Table 2, p. 4", **m} for m in measurements],
        "adverse_events": [],
        "quality": {"selection": 3, "comparability": 0, "outcome": 3},
    }
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=citation, extractor=team[extractor], payload=payload, submit=True)
    study = extraction_reconcile(review_citation=citation, reconciler=team["senior"], payload=payload)
    study_approve(study=study, editor=team["editor"])
    return study


def _run_queued_recompute(review):
    run = RecomputeRun.objects.get(review=review, status="queued")
    assert tasks_recompute.review_recompute.run(run.id) == "published"
    return review.versions.order_by("-number").first()


def _mrss_12m(**values) -> dict:
    return {"outcome": "mrss", "timepoint_months": 12, "data_format": "baseline_followup", **values}


def test_a_recompute_with_nothing_new_reproduces_every_published_row(seeded):
    """Table 3 of Cui 2022, all 11 rows, to the paper's printed precision."""
    version = review_recompute(review=seeded, trigger="null update").version
    printed = [row for row in seed_json("pooled.json")["pooled"] if row["estimate"] is not None]
    assert len(printed) == 11
    for row in printed:
        variable, value = SUBGROUPS[row["subgroup"]] if row["subgroup"] else ("", "")
        months = int(row["timepoint"].split("m")[0])
        ours = _row(version, SEED_KEY_TO_CODE[row["outcome"]], months, value)
        shown = (round(ours.estimate, 2), round(ours.ci_lb, 2), round(ours.ci_ub, 2), ours.k, ours.n_participants)
        assert shown == (row["estimate"], *row["ci95"], row["k_trials"], row["participants"]), row
        assert ours.subgroup_variable == variable
    assert version.pooled_results.count() == 11
    assert version.change_summary == []  # nothing moved


def test_the_12_month_row_pools_zhang_2017_with_the_remainder_for_wang_2013(seeded):
    row = _row(review_recompute(review=seeded, trigger="t").version, "mrss", 12)
    assert row.computed and (row.model, row.ci_method) == ("FE", "z")
    zhang, remainder = row.study_results.get(role=StudyRole.EXTRACTED), row.study_results.get(role="remainder")
    assert zhang.study_label == "Zhang 2017" and round(zhang.yi, 2) == 6.3 and round(zhang.vi, 2) == 8.12
    assert remainder.study_label == (
        "Cui 2022: studies without extracted data — Wang 2013; derived from the published estimate"
    )
    assert remainder.study is None and remainder.n == 5
    assert row.remainder["missing"] == ["Wang 2013"] and round(row.remainder["weight"], 4) == 0.9637
    assert "Cui 2022: studies without extracted data" in row.forest_svg and "<polygon" in row.forest_svg


def test_a_negative_remainder_keeps_the_published_value_and_says_why(seeded):
    version = review_recompute(review=seeded, trigger="t").version
    row = _row(version, "mhiss", 12)
    assert not row.computed and (row.estimate, row.ci_lb, row.ci_ub) == (5.52, 2.41, 8.62)
    assert row.awaiting.startswith("published value shown: negative remainder")
    assert any(p.startswith("MHISS at 12 months (Almadori 2019 could not enter it)") for p in version.input_problems)
    almadori = row.study_results.get()  # listed, traceable, not pooled
    assert (almadori.study_label, almadori.role, almadori.weight) == ("Almadori 2019", "not_pooled", 0.0)
    assert "not pooled: published value shown: negative remainder" in almadori.derivation


def test_approving_alip_2024_moves_the_12_month_row_and_the_page_shows_it(
    seeded, team, client, django_capture_on_commit_callbacks, monkeypatch
):
    review_recompute(review=seeded, trigger="null update")
    monkeypatch.setattr(tasks_recompute.review_recompute, "apply_async", lambda *args, **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        approve_new_study(seeded, team, [_mrss_12m(**ALIP_12M)])
    version = _run_queued_recompute(seeded)
    row = _row(version, "mrss", 12)
    # By hand (see test_recompute_remainder): (1.08687·6.49 + 0.32856·4.73)/1.41543 = 6.0815, SE 0.84053.
    assert (round(row.estimate, 2), round(row.ci_lb, 2), round(row.ci_ub, 2)) == (6.08, 4.43, 7.73)
    assert (row.k, row.n_participants) == (3, 60)
    alip = row.study_results.get(study_label="Alip 2024")
    assert alip.role == StudyRole.NEW and alip.yi == pytest.approx(4.73)
    assert alip.source.startswith("extracted by living-ext1, living-ext2; approved by living-editor on ")
    assert "Table 2, p. 4" in alip.source
    assert ">new</tspan>" in row.forest_svg and "Previous version: 6.49" in row.forest_svg
    assert "<polygon" in row.forest_svg  # the pooled diamond
    headline = (
        "mRSS at 12 months: 6.49 (4.61 to 8.37), 2 studies, 19 patients → 6.08 (4.43 to 7.73), 3 studies, 60 patients"
    )
    assert version.change_summary[0] == headline
    body = client.get("/reviews/msc-ssc/").content.decode()
    assert headline in body and "6.08 (4.43 to 7.73)" in body
    assert "Cui 2022: studies without extracted data — Wang 2013; derived from the published estimate" in body
    # Traceability: the remainder row links to its derivation, each study row to its study page and source.
    assert 'href="#mrss-12m-remainder"' in body and 'id="mrss-12m-remainder"' in body
    assert "W = 1/SE² = 1.0869" in body
    assert f'href="/reviews/msc-ssc/studies/{alip.study_id}/"' in body and "Source: extracted by living-ext1" in body
    feed = client.get("/reviews/msc-ssc/feed/").content.decode()
    assert f"&lt;ul&gt;&lt;li&gt;{headline}" in feed  # the Atom entry leads with the move
    studies_csv = client.get(f"/reviews/msc-ssc/v/{version.number}/studies.csv").content.decode()
    assert "Alip 2024" in studies_csv and "remainder" in studies_csv


def test_a_new_time_point_and_lung_function_are_pooled_from_the_new_study_alone(
    seeded, team, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(tasks_recompute.review_recompute, "apply_async", lambda *args, **kwargs: None)
    lung = {"data_format": "baseline_followup", "timepoint_months": 12, "baseline_n": 41, "followup_n": 41}
    with django_capture_on_commit_callbacks(execute=True):
        approve_new_study(
            seeded,
            team,
            [
                _mrss_12m(**ALIP_12M),
                {**_mrss_12m(**ALIP, followup_mean=12.1, followup_sd=8.0, followup_n=38), "timepoint_months": 36},
                {**lung, "outcome": "fvc", "baseline_mean": 85.0, "baseline_sd": 15.0, "followup_mean": 88.0,
                 "followup_sd": 14.0},
                {**lung, "outcome": "dlco", "baseline_mean": 60.0, "baseline_sd": 14.0, "followup_mean": 63.0,
                 "followup_sd": 13.0},
            ],
        )  # fmt: skip
    version = _run_queued_recompute(seeded)
    three_years = _row(version, "mrss", 36)
    assert three_years.k == 1 and three_years.estimate == pytest.approx(18.68 - 12.1)
    fvc, dlco = _row(version, "fvc", 12), _row(version, "dlco", 12)
    # Baseline − follow-up: a rise in FVC/DLCO % predicted is a negative difference (improvement).
    assert fvc.estimate == pytest.approx(85.0 - 88.0) and dlco.estimate == pytest.approx(60.0 - 63.0)
    assert fvc.forest_svg and dlco.forest_svg
    assert "Alip 2024: mRSS at 36 months has no published row; new row created" in version.change_summary
    assert "Alip 2024: FVC at 12 months has no published row; new row created" in version.change_summary
    narrative = {entry["outcome"]: entry for entry in version.narrative_findings}
    assert narrative["dlco"]["published_narrative"] and narrative["dlco"]["pooled_now"]


def test_the_published_lung_function_statements_stay_on_every_version(seeded, client):
    version = review_recompute(review=seeded, trigger="t").version
    assert {entry["outcome"] for entry in version.narrative_findings} == {"dlco", "fvc"}
    assert all(entry["published_narrative"] for entry in version.narrative_findings)
    body = client.get(f"/reviews/msc-ssc/v/{version.number}/").content.decode()
    assert "published narrative (Cui 2022)" in body


def test_an_effect_without_its_variance_is_named_on_the_version_and_the_run(
    seeded, team, admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    review_recompute(review=seeded, trigger="null update")
    monkeypatch.setattr(tasks_recompute.review_recompute, "apply_async", lambda *args, **kwargs: None)
    estimate = {"data_format": "effect_estimate", "effect_measure": "MD", "effect_estimate": 4.0, "effect_n": 41}
    with django_capture_on_commit_callbacks(execute=True):
        approve_new_study(seeded, team, [_mrss_12m(**estimate)])
    version = _run_queued_recompute(seeded)
    row = _row(version, "mrss", 12)
    assert round(row.estimate, 2) == 6.49 and row.k == 2  # unmoved, and not silently
    problem = "Alip 2024: mRSS at 12 months: effect estimate without its CI or SE"
    assert problem in version.input_problems
    assert any(line.startswith("Alip 2024 could not enter a row: ") for line in version.change_summary)
    run = RecomputeRun.objects.get(version=version)
    assert problem in admin_client.get("/admin/evidence/recomputerun/").content.decode()
    assert problem in admin_client.get(f"/admin/evidence/recomputerun/{run.pk}/change/").content.decode()


def test_an_editor_changing_the_primary_analysis_makes_a_version_that_says_so(
    seeded, team, django_capture_on_commit_callbacks, monkeypatch
):
    review_recompute(review=seeded, trigger="null update")
    monkeypatch.setattr(tasks_recompute.review_recompute, "apply_async", lambda *args, **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        review_primary_analysis_update(
            review=seeded,
            editor=team["editor"],
            estimator="REML",
            ci_method="knha",
            prepost_independent=False,
            prepost_correlation=Decimal("0.5"),
        )
    version = _run_queued_recompute(seeded)
    assert version.change_summary[0] == (
        "Primary analysis changed: MC (baseline − follow-up), fixed effect (inverse variance), Wald CI, "
        "before and after independent → MC (baseline − follow-up), REML, Hartung–Knapp CI, pre–post r = 0.5."
    )
    assert version.changes["analysis_changed"] and _row(version, "mrss", 12).model == "REML"
    assert seeded.history.first().history_user == team["editor"]


def test_a_bad_primary_analysis_is_refused_and_nothing_changes(seeded, team):
    with pytest.raises(ValidationError, match="prepost_correlation"):
        review_primary_analysis_update(review=seeded, editor=team["editor"], prepost_correlation=Decimal("2"))
    with pytest.raises(PermissionDenied):
        review_primary_analysis_update(review=seeded, editor=team["ext1"], estimator="REML")
    seeded.refresh_from_db()
    assert (seeded.estimator, seeded.prepost_correlation) == ("FE", 0)
    assert not RecomputeRun.objects.filter(review=seeded).exists()


def test_sensitivity_analyses_are_labelled_beside_the_primary_one(seeded):
    row = _row(review_recompute(review=seeded, trigger="t").version, "mrss", 12)
    model = row.sensitivity["model"]
    assert (model["method"], model["ci_method"], model["approximate"]) == ("REML", "knha", True)
    assert [entry["r"] for entry in row.sensitivity["r_sensitivity"]] == [0.2, 0.5, 0.8]
    assert json.dumps(row.sensitivity)  # stored as plain JSON


def test_a_time_point_in_a_window_is_pooled_there_and_one_outside_is_named(seeded):
    review_recompute(review=seeded, trigger="null update")
    measurement_set(seeded, "Wang 2013", "mrss", 14, **WANG_MRSS_12M)  # 14 months: the 9–18 month window
    measurement_set(seeded, "Keyszer 2011", "mrss", 80, **WANG_MRSS_12M)  # beyond every window
    version = review_recompute(review=seeded, trigger="late follow-up").version
    wang = _row(version, "mrss", 12).study_results.get(study_label="Wang 2013")
    assert wang.derivation.endswith("; reported at 14 months")
    assert not version.pooled_results.filter(timepoint_months=80).exists()
    assert (
        "Keyszer 2011: mRSS at 80 months: reported at 80 months, outside the review's time-point windows "
        "(3, 6, 12, 24, 36, 60 months)" in version.input_problems
    )


def test_overlapping_windows_are_refused_naming_the_field(seeded):
    seeded.timepoint_windows = [{"months": 6, "from": 5, "to": 9}, {"months": 12, "from": 9, "to": 18}]
    with pytest.raises(ValidationError) as error:
        seeded.full_clean()
    assert error.value.message_dict["timepoint_windows"] == ["the windows around 6 and 12 months overlap"]


def test_a_new_study_without_numbers_says_it_entered_no_row(
    seeded, team, django_capture_on_commit_callbacks, monkeypatch
):
    review_recompute(review=seeded, trigger="null update")
    monkeypatch.setattr(tasks_recompute.review_recompute, "apply_async", lambda *args, **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        approve_new_study(seeded, team, [_mrss_12m(data_format="not_extracted")])
    version = _run_queued_recompute(seeded)
    assert version.n_studies == 10 and round(_row(version, "mrss", 12).estimate, 2) == 6.49
    assert "Alip 2024 could not enter a row: no outcome measurement with numbers was extracted" in (
        version.change_summary
    )


def test_the_stored_inputs_of_every_row_pool_back_to_the_published_estimate(seeded):
    """The printed numbers shown on a null update are not pasted in: each row's stored inputs (remainder and
    extracted studies) pool by fixed effect to the published estimate and its SE from the printed CI."""
    version = review_recompute(review=seeded, trigger="null update")
    for row in version.version.pooled_results.filter(computed=True):
        inputs = list(row.study_results.values_list("yi", "vi"))
        fit = pool_arrays([yi for yi, _ in inputs], [vi for _, vi in inputs], method="FE", test="z", level=95)
        ratio = row.effect_measure == "ratio"
        low, high = (math.log(row.ci_lb), math.log(row.ci_ub)) if ratio else (row.ci_lb, row.ci_ub)
        assert fit.estimate == pytest.approx(math.log(row.estimate) if ratio else row.estimate, abs=1e-9), row
        assert fit.se == pytest.approx((high - low) / (2 * Z975), rel=1e-9), row
