"""Binary and time-to-event outcomes end to end (issue 20 points 3 and 4; issue 14 point 2): events / n per arm
pooled as the review's binary measure between arms and as proportions in single arms, with absolute effects per
1,000; hazard ratios pooled on the log scale and read the right way round; adverse events between arms as risk
ratios; several intervention arms combined; the API's analysis kind."""

import json
import math
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from evidence.approval.services import study_approve
from evidence.extraction.forms import draft_forms
from evidence.extraction.labels import path_label, value_label
from evidence.extraction.payload import payload_errors
from evidence.models import Outcome, OutcomeMeasurement, PooledResult, StudyResult
from evidence.publishing.selectors.rows import row_view
from evidence.synthesis.recompute import review_recompute
from evidence.synthesis.recompute.analyses import CONTROLLED_VARIABLE
from evidence.synthesis.recompute.binary import ratio_direction
from evidence.synthesis.recompute.primary import review_primary_analysis_update
from pooling.effects import proportion
from pooling.glmm import glmm_proportions
from pooling.model import pool_arrays
from pooling.transforms import back_transform
from tests.evidence import screening_support
from tests.evidence.extraction.test_extraction_arms import reconcile

review = screening_support.review  # fixture
team = screening_support.team  # fixture
HR_CASE = Path(__file__).resolve().parents[2] / "data" / "metafor" / "recompute" / "hr_two_trials_reml.json"
Z975 = 1.959963984540054


def outcome(review, code: str, outcome_type: str, **fields) -> Outcome:
    defaults = dict(name=code.replace("_", " ").capitalize(), direction="lower_is_better", outcome_type=outcome_type)
    return Outcome.objects.get_or_create(review=review, code=code, defaults={**defaults, **fields})[0]


def trial(label: str, arms: list[tuple], rows: list[dict], **study) -> dict:
    """A controlled trial: arms as (label, role, n); rows are measurements, each naming its arm."""
    return {
        "study": {"label": label, "design": "rct", "enrolment_n": sum(n for *_, n in arms), **study},
        "arms": [{"label": name, "role": role, "n_randomized": n} for name, role, n in arms],
        "measurements": [{"timepoint_months": 12, **row} for row in rows],
    }


def events(code: str, arm: str | None, x: int, n: int) -> dict:
    row = {"outcome": code, "data_format": "events", "events": x, "total": n}
    return {**row, "arm": arm} if arm else row


def approved(review, team, payload: dict, n: int):
    study = reconcile(review, team, payload, n=n)
    study_approve(study=study, editor=team["editor"])
    return study


def single_arm(label: str, x: int, n: int, code: str = "flare") -> dict:
    return {
        "study": {"label": label, "design": "single_arm_before_after", "enrolment_n": n},
        "measurements": [{"timepoint_months": 12, **events(code, None, x, n)}],
    }


def test_a_two_arm_binary_study_gives_one_rr_row_with_absolute_effects_per_1000(review, team):
    # given a review pooling RR and a trial with 2 of 40 vs 8 of 40 deaths
    review.binary_measure = "RR"
    review.save()
    outcome(review, "trm", "binary", name="Treatment-related mortality")
    arms = [("HSCT", "intervention", 40), ("cyclophosphamide", "comparator", 40)]
    approved(
        review,
        team,
        trial("Trial 2020", arms, [events("trm", "HSCT", 2, 40), events("trm", "cyclophosphamide", 8, 40)]),
        1,
    )

    # when the review is recomputed
    version = review_recompute(review=review, trigger="test").version

    # then one controlled RR row, no before–after proportion from the trial's HSCT arm
    [row] = PooledResult.objects.filter(version=version, outcome__code="trm")
    assert row.subgroup_variable == CONTROLLED_VARIABLE and row.k == 1 and row.n_participants == 80
    rr = (2 / 40) / (8 / 40)
    se = math.sqrt(1 / 2 - 1 / 40 + 1 / 8 - 1 / 40)
    assert row.effect_measure == "ratio" and row.effect_measure_note.startswith("Risk ratio")
    assert row.estimate == pytest.approx(rr)
    assert (row.ci_lb, row.ci_ub) == pytest.approx((rr * math.exp(-Z975 * se), rr * math.exp(Z975 * se)))
    # absolute effect: comparator risk 200 per 1,000, intervention ACR × RR with the RR's CI
    absolute = row.absolute_effect
    assert absolute["comparator_per_1000"] == 200
    assert absolute["intervention_per_1000"] == round(200 * rr)
    assert absolute["intervention_per_1000_ci"] == [round(200 * row.ci_lb), round(200 * row.ci_ub)]
    assert "150 fewer per 1,000" in absolute["words"]
    view = row_view(row, version)
    assert "Of 1,000 patients, 200 with the comparator" in view.plain
    assert view.direction == "RR < 1 = fewer events with the intervention"


def test_an_odds_ratio_review_states_its_absolute_effect_by_the_or_formula(review, team):
    # given the review's default binary measure (OR)
    outcome(review, "trm", "binary")
    arms = [("HSCT", "intervention", 40), ("control", "comparator", 40)]
    approved(
        review, team, trial("Trial 2020", arms, [events("trm", "HSCT", 2, 40), events("trm", "control", 8, 40)]), 1
    )

    row = PooledResult.objects.get(version=review_recompute(review=review, trigger="t").version, outcome__code="trm")

    odds = (2 / 38) / (8 / 32)
    assert row.effect_measure_note.startswith("Odds ratio") and row.estimate == pytest.approx(odds)
    assert row.absolute_effect["intervention_per_1000"] == round(1000 * odds * 0.2 / (1 - 0.2 + odds * 0.2))


def test_single_arm_events_give_a_proportion_row(review, team):
    # given two single-arm studies reporting flares as events / n
    outcome(review, "flare", "binary", name="Disease flare")
    approved(review, team, single_arm("Lee 2019", 5, 20), 1)
    approved(review, team, single_arm("Kim 2021", 3, 15), 2)

    version = review_recompute(review=review, trigger="test").version

    # then one before–after row: on the review's logit scale, by the logistic model (as the safety analysis),
    # shown back-transformed
    [row] = PooledResult.objects.filter(version=version, outcome__code="flare")
    fit = glmm_proportions([3, 5], [15, 20], level=95.0, add=0.5).back_transformed()
    assert (row.subgroup_variable, row.effect_measure, row.k, row.n_participants) == ("", "proportion", 2, 35)
    assert row.model == "GLMM"
    assert [row.estimate, row.ci_lb, row.ci_ub] == pytest.approx([fit["estimate"], fit["ci_lb"], fit["ci_ub"]])
    assert sorted(s.yi for s in StudyResult.objects.filter(pooled_result=row)) == pytest.approx([3 / 15, 5 / 20])
    assert "of patients had the event" in row_view(row, version).plain


def test_a_single_study_proportion_is_pooled_on_the_reviews_scale_with_its_stated_correction(review, team):
    # given one single-arm study with no flare (the logistic model needs two studies and an event)
    outcome(review, "flare", "binary", name="Disease flare")
    approved(review, team, single_arm("Lee 2019", 0, 20), 1)

    row = PooledResult.objects.get(version=review_recompute(review=review, trigger="t").version, outcome__code="flare")

    es = proportion("PLO", [0], [20], add=0.5)
    fit = pool_arrays(es.yi, es.vi, method=review.estimator, test=review.ci_method, level=95)
    assert row.model == review.estimator
    assert row.estimate == pytest.approx(back_transform("PLO", fit.estimate))  # 0.5 / 21, never 0 / 20 undefined
    [line] = StudyResult.objects.filter(pooled_result=row)
    assert "0.5 added" in line.derivation


def test_a_zero_event_arm_takes_the_reviews_stated_correction_and_a_double_zero_study_is_named(review, team):
    # given a review correcting zero cells by 0.25, a trial with 0 of 25 vs 4 of 24, and one with no event at all
    review.binary_measure, review.continuity_correction = "RR", 0.25
    review.save()
    outcome(review, "trm", "binary")
    arms = [("HSCT", "intervention", 25), ("control", "comparator", 24)]
    approved(review, team, trial("Zero 2019", arms, [events("trm", "HSCT", 0, 25), events("trm", "control", 4, 24)]), 1)
    approved(review, team, trial("None 2020", arms, [events("trm", "HSCT", 0, 25), events("trm", "control", 0, 24)]), 2)

    row = PooledResult.objects.get(version=review_recompute(review=review, trigger="t").version, outcome__code="trm")

    a, n1, c, n2 = 0.25, 25.5, 4.25, 24.5  # 0.25 added to each of the four cells
    assert row.k == 1 and row.estimate == pytest.approx((a / n1) / (c / n2))
    [line] = StudyResult.objects.filter(pooled_result=row)
    assert "0.25 added to each cell" in line.derivation
    assert "None 2020: no between-arm contrast: no event in either arm" in row.notes


def test_hazard_ratios_pool_on_the_log_scale_as_metafor_and_read_fewer_events(review, team):
    # given two trials reporting event-free survival as HR 0.35 (0.16 to 0.74) and 0.62 (0.41 to 0.94)
    review.ci_method = "z"  # the reference case is metafor's rma(yi, sei = ...), REML, Wald CI
    review.save()
    outcome(
        review,
        "efs",
        "time_to_event",
        name="Event-free survival",
        direction="higher_is_better",
        benefit_in_words="higher = more patients alive without major organ failure",
    )
    arms = [("HSCT", "intervention", 40), ("control", "comparator", 40)]
    for n, (label, hr, low, high) in enumerate((("ASTIS 2014", 0.35, 0.16, 0.74), ("SCOT 2018", 0.62, 0.41, 0.94)), 1):
        hr_row = {"outcome": "efs", "arm": "HSCT", "data_format": "effect_estimate", "effect_measure": "HR",
                  "effect_estimate": hr, "effect_ci_lb": low, "effect_ci_ub": high}  # fmt: skip
        approved(review, team, trial(label, arms, [hr_row]), n)

    version = review_recompute(review=review, trigger="test").version

    # then the pooled HR is metafor's, between arms, and reads as fewer events with the intervention
    [row] = PooledResult.objects.filter(version=version, outcome__code="efs")
    expected = json.loads(HR_CASE.read_text())["expected"]
    assert row.subgroup_variable == CONTROLLED_VARIABLE and row.k == 2
    assert math.log(row.estimate) == pytest.approx(expected["estimate"], rel=1e-6)
    assert row.se == pytest.approx(expected["se"], rel=1e-6)
    assert (math.log(row.ci_lb), math.log(row.ci_ub)) == pytest.approx((expected["ci_lb"], expected["ci_ub"]), rel=1e-6)
    assert row.tau2 == pytest.approx(expected["tau2"], rel=1e-6)
    view = row_view(row, version)
    assert view.direction == "HR < 1 = fewer events with the intervention"
    assert "fewer events with the intervention" in view.plain and "higher = more" not in view.plain
    assert "fewer events with the intervention" in row.forest_svg


def test_an_events_row_without_numbers_is_refused_by_field_and_nothing_is_saved(review, team):
    outcome(review, "trm", "binary")
    payload = single_arm("Lee 2019", 1, 20, code="trm")
    payload["measurements"][0].update(events=None, total=None)

    errors = payload_errors(payload=payload, review=review)

    assert "Measurement 1: events: Events / n needs the number of patients with the event." in errors
    assert "Measurement 1: total: Events / n needs the number of patients in the arm." in errors
    with pytest.raises(ValidationError) as raised:
        reconcile(review, team, payload)
    assert "events" in str(raised.value)
    assert not OutcomeMeasurement.objects.exists()
    # the raw admin's model form runs the same check, by field
    with pytest.raises(ValidationError) as raised:
        OutcomeMeasurement(data_format="events", timepoint_months=12).clean()
    assert set(raised.value.message_dict) == {"events", "total"}


def test_a_hazard_ratio_below_zero_or_without_its_value_is_refused_by_field(review):
    outcome(review, "efs", "time_to_event")
    payload = single_arm("Lee 2019", 1, 20, code="efs")
    hr = {"outcome": "efs", "timepoint_months": 12, "data_format": "effect_estimate", "effect_measure": "HR"}
    payload["measurements"] = [{**hr, "effect_estimate": 0.35, "effect_ci_lb": 0, "effect_ci_ub": 0.74}, hr]

    errors = payload_errors(payload=payload, review=review)

    assert "Measurement 1: effect_estimate: A ratio (HR, RR, OR) and its CI must be above 0." in errors
    assert "Measurement 2: effect_estimate: An effect estimate needs its value (e.g. HR 0.35)." in errors


def test_several_intervention_arms_are_combined_against_the_shared_comparator(review, team):
    # given a three-arm trial: two doses and one placebo arm
    review.binary_measure = "RR"
    review.save()
    outcome(review, "trm", "binary")
    arms = [("low dose", "intervention", 20), ("high dose", "intervention", 20), ("placebo", "comparator", 20)]
    rows = [events("trm", "low dose", 2, 20), events("trm", "high dose", 4, 20), events("trm", "placebo", 6, 20)]
    approved(review, team, trial("Dose 2021", arms, rows), 1)

    row = PooledResult.objects.get(version=review_recompute(review=review, trigger="t").version, outcome__code="trm")

    # then one contrast, both doses combined (6 of 40) vs placebo (6 of 20), placebo counted once
    assert (row.k, row.n_participants) == (1, 60)
    assert row.estimate == pytest.approx((6 / 40) / (6 / 20))
    [line] = StudyResult.objects.filter(pooled_result=row)
    assert "low dose (n = 20) + high dose (n = 20) vs placebo (n = 20)" in line.derivation


def test_adverse_events_between_arms_give_a_risk_ratio_apart_from_the_proportions(review, team):
    # given a trial with injection-site pain in 5 of 48 vs 3 of 40
    outcome(review, "trm", "binary")
    arms = [("ADRC", "intervention", 48), ("placebo", "comparator", 40)]
    payload = trial("Khanna 2022", arms, [])
    payload["adverse_events"] = [
        {"term": "Injection-site pain", "category": "injection site", "arm": "ADRC",
         "patients_with_event": 5, "patients_at_risk": 48},
        {"term": "Injection-site pain", "category": "injection site", "arm": "placebo",
         "patients_with_event": 3, "patients_at_risk": 40},
    ]  # fmt: skip
    approved(review, team, payload, 1)

    version = review_recompute(review=review, trigger="test").version

    [controlled] = [c for c in version.safety_summary["controlled"] if c["category"] == "injection site"]
    assert controlled["estimate"] == pytest.approx((5 / 48) / (3 / 40))
    assert controlled["studies"] == [{"study": "Khanna 2022", "intervention": "5/48", "comparator": "3/40"}]
    assert controlled["absolute"]["comparator_per_1000"] == 75
    # the single-arm proportion of the same category counts the ADRC arm only: never a mix of the two
    proportion_row = version.safety_results.get(category="injection site")
    assert (proportion_row.events, proportion_row.n) == (5, 48)


def test_the_api_calls_a_controlled_row_controlled_not_a_subgroup(review, team, client):
    review.binary_measure = "RR"
    review.save()
    outcome(review, "trm", "binary")
    arms = [("HSCT", "intervention", 40), ("control", "comparator", 40)]
    approved(
        review, team, trial("Trial 2020", arms, [events("trm", "HSCT", 2, 40), events("trm", "control", 8, 40)]), 1
    )
    review_recompute(review=review, trigger="test")

    body = client.get(f"/api/v1/reviews/{review.slug}/pooled-results/").json()

    [row] = [r for r in body["results"] if r["outcome"] == "trm"]
    assert (row["analysis_kind"], row["subgroup_variable"], row["subgroup_value"]) == ("controlled", "", "")
    assert row["absolute_effect"]["comparator_per_1000"] == 200


def test_ratio_direction_never_says_higher_is_better():
    for measure in ("RR", "OR", "HR"):
        assert ratio_direction(measure).endswith(f"{measure} < 1 = fewer events with the intervention")
    assert "below 0 = fewer events" in ratio_direction("RD")


def test_the_extraction_form_takes_events_and_a_hazard_ratio_and_reconcile_names_them(review):
    outcome(review, "efs", "time_to_event", name="Event-free survival")
    data = {
        "m-TOTAL_FORMS": "1", "m-INITIAL_FORMS": "0", "m-0-outcome": "efs", "m-0-timepoint_months": "24",
        "m-0-arm": "HSCT", "m-0-data_format": "effect_estimate", "m-0-effect_measure": "HR",
        "m-0-effect_estimate": "0.35", "m-0-effect_ci_lb": "0.16", "m-0-effect_ci_ub": "0.74",
        "m-0-events": "10", "m-0-total": "40",
    }  # fmt: skip
    formset = draft_forms(review, data)["measurements"]

    assert formset.is_valid(), formset.errors
    [row] = [r for r in formset.cleaned_data if r]
    assert (row["effect_measure"], row["effect_estimate"], row["events"], row["total"]) == ("HR", 0.35, 10, 40)
    names = {"efs": "Event-free survival"}
    assert (
        path_label("measurements[efs|24|HSCT].events", names)
        == "Measurement (Event-free survival, 24 months, arm HSCT): Events"
    )
    assert path_label("measurements[efs|24|HSCT].total", names).endswith(": Patients in the arm (n)")
    assert path_label("measurements[efs|24|HSCT].effect_ci_lb", names).endswith(": Effect 95% CI lower")
    assert value_label("measurements[efs|24|HSCT].effect_measure", "HR") == "Hazard ratio (time to event)"


def test_event_counts_of_an_outcome_pooled_as_changes_are_named_not_a_second_row(review, team):
    # given mRSS as change scores in one study and, wrongly typed, as events / n in another
    screening_support.make_outcomes()
    change = {"outcome": "mrss", "timepoint_months": 12, "data_format": "change", "change_mean": -5.0,
              "change_sd": 4.0, "change_n": 20}  # fmt: skip
    approved(review, team, {**single_arm("Lee 2019", 0, 20), "measurements": [change]}, 1)
    approved(review, team, single_arm("Kim 2021", 3, 15, code="mrss"), 2)

    version = review_recompute(review=review, trigger="t").version

    [row] = PooledResult.objects.filter(version=version, outcome__code="mrss")
    assert row.k == 1 and "Kim 2021: single-arm event counts: the row pools another kind of data" in row.notes


def test_an_editor_changing_the_binary_measure_makes_a_version_that_says_so(review, team):
    outcome(review, "trm", "binary")
    arms = [("HSCT", "intervention", 40), ("control", "comparator", 40)]
    approved(
        review, team, trial("Trial 2020", arms, [events("trm", "HSCT", 2, 40), events("trm", "control", 8, 40)]), 1
    )
    review_recompute(review=review, trigger="t")

    review = review_primary_analysis_update(review=review, editor=team["editor"], binary_measure="RR")
    version = review_recompute(review=review, trigger="primary analysis").version

    assert version.change_summary[0].startswith("Primary analysis changed: ")
    assert "events OR between arms" in version.change_summary[0]
    assert (
        "→ MC (follow-up − baseline), REML, Hartung–Knapp CI, pre–post r = 0.5, events RR" in version.change_summary[0]
    )
    row = PooledResult.objects.get(version=version, outcome__code="trm")
    assert row.effect_measure_note.startswith("Risk ratio")


def test_the_review_page_states_absolute_effects_and_adverse_event_risk_ratios(review, team, client):
    review.binary_measure = "RR"
    review.save()
    outcome(review, "trm", "binary", name="Treatment-related mortality")
    arms = [("HSCT", "intervention", 40), ("control", "comparator", 40)]
    payload = trial("Trial 2020", arms, [events("trm", "HSCT", 2, 40), events("trm", "control", 8, 40)])
    payload["adverse_events"] = [
        {"term": "Infection", "category": "infection", "arm": "HSCT", "patients_with_event": 6, "patients_at_risk": 40},
        {"term": "Infection", "category": "infection", "arm": "control", "patients_with_event": 3, "patients_at_risk": 40},
    ]  # fmt: skip
    approved(review, team, payload, 1)
    review_recompute(review=review, trigger="test")

    body = client.get(f"/reviews/{review.slug}/").content.decode()

    assert "Per 1,000 patients: 200 with the comparator, 50 (" in body  # the SoF row
    assert (
        "Absolute effect: Of 1,000 patients, 200 with the comparator had the event and 50 with the intervention" in body
    )
    assert "RR &lt; 1 = fewer events with the intervention" in body
    assert "Controlled comparisons: patients with an adverse event" in body and "Trial 2020 6/40 vs 3/40" in body


def test_a_hazard_ratio_with_the_comparators_events_states_its_absolute_effect(review, team):
    # given HR 0.35 (0.16 to 0.74) and 20 of 40 comparator patients with an event
    outcome(review, "efs", "time_to_event", name="Event-free survival")
    arms = [("HSCT", "intervention", 40), ("control", "comparator", 40)]
    hr_row = {"outcome": "efs", "arm": "HSCT", "data_format": "effect_estimate", "effect_measure": "HR",
              "effect_estimate": 0.35, "effect_ci_lb": 0.16, "effect_ci_ub": 0.74, "events": 8, "total": 40}  # fmt: skip
    approved(review, team, trial("ASTIS 2014", arms, [hr_row, events("efs", "control", 20, 40)]), 1)

    row = PooledResult.objects.get(version=review_recompute(review=review, trigger="t").version, outcome__code="efs")

    # then the intervention's risk is 1 − (1 − ACR)^HR (Cochrane Handbook §15.4.4), at the HR and its CI
    assert row.estimate == pytest.approx(0.35) and row.k == 1
    risk = [round(1000 * (1 - 0.5**hr)) for hr in (row.estimate, row.ci_lb, row.ci_ub)]
    absolute = row.absolute_effect
    assert (absolute["measure"], absolute["comparator_per_1000"]) == ("HR", 500)
    assert [absolute["intervention_per_1000"], *absolute["intervention_per_1000_ci"]] == risk


def test_a_log_hazard_ratio_with_its_se_pools_as_the_same_hazard_ratio(review, team):
    # given one trial's HR entered as HR with CI and another's as log HR with SE
    review.ci_method = "z"
    review.save()
    outcome(review, "efs", "time_to_event")
    arms = [("HSCT", "intervention", 40), ("control", "comparator", 40)]
    expected = json.loads(HR_CASE.read_text())
    as_hr = {"effect_measure": "HR", "effect_estimate": 0.35, "effect_ci_lb": 0.16, "effect_ci_ub": 0.74}
    second = expected["request"]["studies"][1]
    as_log = {"effect_measure": "logHR", "effect_estimate": second["yi"], "effect_se": math.sqrt(second["vi"])}
    for n, (label, given) in enumerate((("ASTIS 2014", as_hr), ("SCOT 2018", as_log)), 1):
        row = {"outcome": "efs", "arm": "HSCT", "data_format": "effect_estimate", **given}
        approved(review, team, trial(label, arms, [row]), n)

    row = PooledResult.objects.get(version=review_recompute(review=review, trigger="t").version, outcome__code="efs")

    assert math.log(row.estimate) == pytest.approx(expected["expected"]["estimate"], rel=1e-6)
    assert row.tau2 == pytest.approx(expected["expected"]["tau2"], rel=1e-6)


def test_a_log_hazard_ratio_without_its_se_is_refused_by_field(review):
    outcome(review, "efs", "time_to_event")
    payload = single_arm("Lee 2019", 1, 20, code="efs")
    payload["measurements"] = [{"outcome": "efs", "timepoint_months": 12, "data_format": "effect_estimate",
                                "effect_measure": "logHR", "effect_estimate": -1.05}]  # fmt: skip

    assert "Measurement 1: effect_se: a log hazard ratio needs its SE." in payload_errors(
        payload=payload, review=review
    )
