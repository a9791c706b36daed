"""Seeded studies in the workflow: in the extraction queue, pre-filled from the seed with their sources, and an
extractor's additions reconciled and approved into a new version."""

import pytest
from django.urls import reverse

from evidence.approval.services import study_approve
from evidence.extraction.seed_prefill import study_draft_prefill
from evidence.extraction.selectors import extraction_queue
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import OutcomeMeasurement, ReviewCitation, ReviewRole, Study, StudyStatus
from evidence.synthesis.recompute import review_recompute
from tests.evidence.screening_support import make_member


@pytest.fixture
def team(seeded):
    return {
        "ext1": make_member("ext1", seeded, ReviewRole.EXTRACTOR),
        "ext2": make_member("ext2", seeded, ReviewRole.EXTRACTOR),
        "senior": make_member("senior", seeded, ReviewRole.SENIOR_REVIEWER),
        "editor": make_member("editor", seeded, ReviewRole.EDITOR),
    }


def main_report(review, label: str) -> ReviewCitation:
    study = Study.objects.get(review=review, label=label)
    return ReviewCitation.objects.get(
        review=review, citation__study_reports__study=study, citation__study_reports__is_main_report=True
    )


def test_every_seeded_study_is_in_the_extraction_queue(seeded):
    queued = {
        entry.citation.study_reports.get(is_main_report=True).study.label for entry in extraction_queue(review=seeded)
    }

    assert queued == set(Study.objects.filter(review=seeded).values_list("label", flat=True))
    assert len(queued) == 9


def test_the_prefill_carries_the_seeded_values_and_their_sources(seeded):
    zhang = Study.objects.get(review=seeded, label="Zhang 2017")
    almadori = Study.objects.get(review=seeded, label="Almadori 2019")

    zhang_rows = {(r["outcome"], r["timepoint_months"]): r for r in study_draft_prefill(study=zhang)["measurements"]}
    almadori_rows = {
        (r["outcome"], r["timepoint_months"]): r for r in study_draft_prefill(study=almadori)["measurements"]
    }

    mrss = zhang_rows[("mrss", 12.0)]
    assert (mrss["baseline_mean"], mrss["baseline_sd"], mrss["followup_mean"], mrss["followup_sd"]) == (
        20.1,
        3.1,
        13.8,
        10.2,
    )
    assert mrss["source_location"].startswith("Primary paper") and "PMC5518166" in mrss["source_location"]
    mhiss = almadori_rows[("mhiss", 12.0)]
    assert (
        mhiss["change_mean"] == -6.85
    )  # stored as an improvement (baseline − follow-up); the form's change is follow-up − baseline
    assert mhiss["data_format"] == "change" and mhiss["arm"] == "MSC"
    assert study_draft_prefill(study=zhang)["study"]["existing_study_id"] == zhang.pk


def test_the_draft_page_of_a_seeded_study_is_pre_filled(seeded, team, client):
    entry = main_report(seeded, "Zhang 2017")
    client.force_login(team["ext1"])

    page = client.get(reverse("admin:extraction_draft", args=[seeded.pk, entry.pk])).content.decode()

    assert 'value="20.1"' in page and "Primary paper" in page


def test_a_seeded_studys_prefilled_draft_reconciles_and_approves_into_a_new_version(seeded, team):
    zhang = Study.objects.get(review=seeded, label="Zhang 2017")
    entry = main_report(seeded, "Zhang 2017")
    before = review_recompute(review=seeded, trigger="before").version
    payload = study_draft_prefill(study=zhang)
    payload["measurements"].append(
        {
            "outcome": "mrss",
            "timepoint_months": 6,
            "arm": "MSC",
            "data_format": "change",
            "change_mean": -4.2,
            "change_sd": 5.1,
            "change_n": 14,
            "source_location": "Table 2, p. 5",
        }
    )
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=payload, submit=True)

    study = extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=payload)
    assert study == zhang and Study.objects.get(pk=zhang.pk).status == StudyStatus.EXTRACTION  # awaits approval
    study_approve(study=study, editor=team["editor"])

    zhang.refresh_from_db()
    assert zhang.status == StudyStatus.INCLUDED
    added = OutcomeMeasurement.objects.get(study=zhang, outcome__code="mrss", timepoint_months=6)
    assert (added.change_mean, added.source_location, added.effect_orientation) == (
        -4.2,
        "Table 2, p. 5",
        "followup_minus_baseline",
    )
    kept = OutcomeMeasurement.objects.get(study=zhang, outcome__code="mrss", timepoint_months=12)
    assert kept.baseline_mean == 20.1 and kept.study_arm.label == "MSC"
    after = review_recompute(review=seeded, trigger="approved").version
    assert after.number == before.number + 1 and after.n_studies == before.n_studies


def test_the_extraction_list_offers_the_seeded_studies(seeded, team, client):
    client.force_login(team["ext1"])

    page = client.get(reverse("admin:extraction_list", args=[seeded.pk])).content.decode()

    assert "No citation awaits extraction" not in page
    assert page.count("already included") == 9
