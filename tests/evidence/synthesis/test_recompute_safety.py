"""Safety without invented events (issue 13, item 7): pooled proportions that behave at zero, with their method."""

from __future__ import annotations

import pytest

from evidence.models import Study, StudyDesign, StudyStatus
from evidence.publishing.selectors.safety import safety_view
from evidence.synthesis.recompute import review_recompute
from evidence.synthesis.recompute.safety import EXACT, GLMM, pooled_proportion, safety_rows


def _alip_with_no_adverse_events(review) -> Study:
    """A new single-arm study of 41 patients stating that no adverse event occurred (the issue's Alip 2024)."""
    study = Study(
        review=review, label="Alip 2024", year=2024, design=StudyDesign.SINGLE_ARM_BEFORE_AFTER,
        enrolment_n=41, reports_no_adverse_events=True, status=StudyStatus.INCLUDED,
    )  # fmt: skip
    study.full_clean()
    study.save()
    return study


def test_zero_serious_events_in_161_patients_read_as_an_exact_interval(seeded):
    # given the seed's 120 patients with no serious event, and Alip 2024 (41 patients, none occurred)
    _alip_with_no_adverse_events(seeded)
    # when the review is recomputed
    version = review_recompute(review=seeded, trigger="Alip 2024 approved").version
    serious = version.safety_results.get(is_serious_rate=True)
    # then the serious-event row is 0 of 161 with the exact binomial interval, not a positive pooled rate
    assert (serious.events, serious.n, serious.k) == (0, 161, 8)
    assert serious.measure == EXACT
    assert serious.proportion == 0.0 and serious.ci_lb == 0.0
    assert serious.ci_ub == pytest.approx(1 - 0.025 ** (1 / 161))
    view = safety_view(version=version)
    row = next(r for r in view.pooled if r["is_serious_rate"])
    assert row["proportion"] == "0 of 161 (95% CI 0 to 2.3%)"
    assert "Exact binomial" in row["method"] and "no study had an event" in row["method"]
    assert "0 of 161 (95% CI 0 to 2.3%)" in view.serious


def test_the_page_shows_zero_events_with_the_exact_interval(client, seeded):
    _alip_with_no_adverse_events(seeded)
    review_recompute(review=seeded, trigger="Alip 2024 approved")
    body = client.get("/reviews/msc-ssc/").content.decode()
    assert "0 of 161 (95% CI 0 to 2.3%)" in body
    assert "Exact binomial" in body
    assert "3.5% (1.3% to 8.9%)" not in body


def test_a_category_with_events_is_pooled_by_the_random_effects_logistic_model(seeded):
    version = review_recompute(review=seeded, trigger="t").version
    pooled = [r for r in version.safety_results.all() if not r.is_serious_rate and r.events > 0 and r.k > 1]
    assert pooled, "the seed has at least one category with events in several studies"
    for row in pooled:
        assert row.measure == GLMM, (row.category, [(s["events"], s["n"]) for s in row.studies])
        assert row.ci_lb < row.proportion < row.ci_ub


def test_none_occurred_enters_with_zero_and_not_reported_stays_out(seeded):
    # given Alip states none occurred; a second new study is silent on adverse events
    _alip_with_no_adverse_events(seeded)
    silent = Study(
        review=seeded, label="Silent 2025", year=2025, design=StudyDesign.CASE_SERIES, enrolment_n=30,
        status=StudyStatus.INCLUDED,
    )  # fmt: skip
    silent.full_clean()
    silent.save()
    version = review_recompute(review=seeded, trigger="two new studies").version
    for row in version.safety_results.all():
        by_study = {s["study"]: (s["events"], s["n"]) for s in row.studies}
        assert by_study["Alip 2024"] == (0, 41), row.category
        assert "Silent 2025" not in by_study, row.category


def test_pooled_proportion_falls_back_to_the_exact_total_where_the_model_cannot_be_fitted():
    # one study: no between-study variance to estimate
    method, p, lb, ub, _ = pooled_proportion([2], [41])
    assert method == EXACT and p == pytest.approx(2 / 41) and lb > 0
    # all studies at zero: the logistic model has no finite estimate
    method, p, lb, ub, _ = pooled_proportion([0, 0, 0], [41, 60, 60])
    assert (method, p, lb) == (EXACT, 0.0, 0.0) and ub == pytest.approx(1 - 0.025 ** (1 / 161))
    # events in several studies, one with none: the model is fitted, zero study included as it is
    method, p, lb, ub, _ = pooled_proportion([0, 3, 5], [41, 60, 60])
    assert method == GLMM and 0 < lb < p < ub < 1


def test_no_study_gives_no_safety_rows():
    inputs = type("Inputs", (), {"studies": (), "adverse_events": (), "settings": {}})()
    assert safety_rows(inputs) == []
