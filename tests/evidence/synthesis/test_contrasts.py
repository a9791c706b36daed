"""Two kinds of evidence: a controlled trial gives one before–after row from its intervention arm and one
controlled-comparison row (between-arm contrast); its participants are counted once."""

import math

import pytest

from evidence.approval.services import study_approve
from evidence.models import PooledResult, StudyResult
from evidence.synthesis.recompute import review_recompute
from evidence.synthesis.recompute.contrasts import CONTROLLED_VARIABLE, arm_contrast, arms_combined
from tests.evidence import screening_support
from tests.evidence.extraction.test_extraction_arms import chfs, khanna, reconcile

review = screening_support.review  # fixture
team = screening_support.team  # fixture
SE = math.sqrt(12.5**2 / 48 + 10.5**2 / 40)


def test_a_two_arm_trial_is_one_study_with_one_contrast_row_and_one_before_after_row(review, team):
    chfs()
    study = reconcile(review, team, khanna())
    study_approve(study=study, editor=team["editor"])

    version = review_recompute(review=review, trigger="test").version

    assert (version.n_studies, version.n_patients) == (1, 88)  # counted once, not 176
    rows = PooledResult.objects.filter(version=version, outcome__code="chfs")
    before_after = rows.get(subgroup_variable="")
    controlled = rows.get(subgroup_variable=CONTROLLED_VARIABLE)
    assert rows.count() == 2
    # the before–after row pooled the ADRC arm only: its 48 patients, not the placebo arm's 40
    assert (before_after.k, before_after.n_participants, before_after.contributing_studies) == (1, 48, ["Khanna 2022"])
    # Before–after: the ADRC arm alone; the review's orientation (baseline − follow-up) makes a fall positive.
    sign = -1 if review.change_orientation == "baseline_minus_followup" else 1
    assert before_after.estimate == pytest.approx(sign * -11.0)
    assert before_after.se == pytest.approx(12.5 / math.sqrt(48))
    # Controlled: mean difference in change, ADRC − placebo, same orientation.
    assert (controlled.k, controlled.n_participants) == (1, 88)
    assert controlled.estimate == pytest.approx(sign * (-11.0 - -8.9))
    assert controlled.se == pytest.approx(SE)
    assert controlled.forest_svg and "controlled" in controlled.forest_svg.lower()
    [line] = StudyResult.objects.filter(pooled_result=controlled)
    assert line.n == 88 and "ADRC (n = 48) vs placebo (n = 40)" in line.derivation


def test_a_risk_ratio_contrasts_event_counts():
    effect = arm_contrast(
        intervention={"data_format": "events", "events": 5, "total": 48},
        comparator={"data_format": "events", "events": 10, "total": 40},
        basis="change",
        settings={
            "change_orientation": "baseline_minus_followup",
            "prepost_correlation": 0.5,
            "binary_measure": "RR",
            "continuity_correction": 0.5,
        },
    )
    assert effect.scale == "log"
    assert effect.yi == pytest.approx(math.log((5 / 48) / (10 / 40)))
    assert effect.vi == pytest.approx(1 / 5 - 1 / 48 + 1 / 10 - 1 / 40)


def test_a_follow_up_contrast_uses_follow_up_values_when_the_extractor_says_so():
    effect = arm_contrast(
        intervention={
            "data_format": "baseline_followup",
            "baseline_mean": 40,
            "baseline_sd": 10,
            "followup_mean": 30,
            "followup_sd": 9,
            "followup_n": 20,
        },
        comparator={
            "data_format": "baseline_followup",
            "baseline_mean": 41,
            "baseline_sd": 10,
            "followup_mean": 36,
            "followup_sd": 8,
            "followup_n": 18,
        },
        basis="followup",
        settings={"change_orientation": "followup_minus_baseline", "prepost_correlation": 0.5},
    )
    assert effect.yi == pytest.approx(30 - 36)
    assert effect.vi == pytest.approx(9**2 / 20 + 8**2 / 18)


def test_the_review_page_shows_the_controlled_comparison_as_its_own_row(review, team, client):
    from django.urls import reverse

    chfs()
    study = reconcile(review, team, khanna())
    study_approve(study=study, editor=team["editor"])
    review_recompute(review=review, trigger="test")

    page = client.get(reverse("review", args=[review.slug])).content.decode()

    assert "Controlled comparison: MSC arm vs comparator arm" in page
    assert "Subgroup: Controlled comparison" not in page  # never shown as a subgroup of the before–after row
    assert "never pooled with them" in page


def test_two_intervention_arms_enter_the_before_after_pool_once_as_one_group(review, team):
    chfs()
    payload = khanna()
    payload["study"]["enrolment_n"] = 130
    payload["arms"].append({"label": "ADRC low dose", "role": "intervention", "n_randomized": 42})
    low = {**payload["measurements"][0], "arm": "ADRC low dose", "change_mean": -9.0, "change_sd": 11.0}
    payload["measurements"].append(low)
    study = reconcile(review, team, payload)
    study_approve(study=study, editor=team["editor"])

    version = review_recompute(review=review, trigger="test").version

    before_after = PooledResult.objects.get(version=version, outcome__code="chfs", subgroup_variable="")
    assert (before_after.k, version.n_patients) == (1, 130)
    mean = (48 * -11.0 + 42 * -9.0) / 90  # Cochrane Handbook Table 6.5.a
    sd = math.sqrt((47 * 12.5**2 + 41 * 11.0**2 + 48 * 42 / 90 * (-11.0 - -9.0) ** 2) / 89)
    sign = -1 if review.change_orientation == "baseline_minus_followup" else 1
    assert before_after.estimate == pytest.approx(sign * mean)
    assert before_after.se == pytest.approx(sd / math.sqrt(90))


def test_several_intervention_arms_merge_their_changes_before_the_contrast():
    # given two dose arms' changes (follow-up − baseline) and a placebo arm
    low = {"data_format": "change", "change_mean": -4.0, "change_sd": 5.0, "change_n": 10}
    high = {"data_format": "change", "change_mean": -8.0, "change_sd": 6.0, "change_n": 12}
    placebo = {"data_format": "change", "change_mean": -1.0, "change_sd": 5.5, "change_n": 11}

    merged = arms_combined([low, high], "change", 0.5)
    effect = arm_contrast(
        intervention=merged,
        comparator=arms_combined([placebo], "change", 0.5),
        basis="change",
        settings={"change_orientation": "followup_minus_baseline", "prepost_correlation": 0.5},
    )

    # then one group of 22 (Cochrane Handbook Table 6.5.a), contrasted once with the placebo arm
    mean = (10 * -4.0 + 12 * -8.0) / 22
    var = (9 * 25 + 11 * 36 + 10 * 12 / 22 * 16) / 21
    assert (merged["change_mean"], merged["change_sd"], merged["change_n"]) == pytest.approx((mean, math.sqrt(var), 22))
    assert effect.yi == pytest.approx(mean - -1.0)
    assert effect.vi == pytest.approx(var / 22 + 5.5**2 / 11)
