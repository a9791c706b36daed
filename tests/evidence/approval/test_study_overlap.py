"""Overlapping cohorts: a report sharing a registry id, DOI or centre with a study already in the review is flagged
at ingest, screening, extraction and approval; the editor links it as a report or confirms a distinct cohort."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from evidence.approval.services import study_approve
from evidence.approval.study_overlap import study_link_as_report
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import (
    Citation,
    CitationOrigin,
    OutcomeMeasurement,
    ReviewCitation,
    ReviewRole,
    Study,
    StudyStatus,
    TriageStage,
)
from evidence.surveillance.search import search_run_execute
from evidence.surveillance.search.flags import study_overlaps
from evidence.synthesis.recompute import review_recompute
from evidence.synthesis.recompute.inputs import recompute_inputs_load
from tests import eutils_replay as replay
from tests.eutils_replay import SyntheticPubmed, msc_ssc_records
from tests.evidence.screening_support import make_member

eutils_replay = replay.eutils_replay  # the fixture
ZHANG_REASON = "shares NCT00962923 with included study Zhang 2017"


@pytest.fixture
def team(seeded):
    return {
        "screener": make_member("screener", seeded, ReviewRole.SCREENER),
        "ext1": make_member("ext1", seeded, ReviewRole.EXTRACTOR),
        "ext2": make_member("ext2", seeded, ReviewRole.EXTRACTOR),
        "senior": make_member("senior", seeded, ReviewRole.SENIOR_REVIEWER),
        "editor": make_member("editor", seeded, ReviewRole.EDITOR),
    }


def alip_at_extraction(review) -> ReviewCitation:
    citation = Citation.objects.create(
        pmid="38206544",
        doi="10.1007/s10067-024-06865-z",
        title="Umbilical cord mesenchymal stem cells transplantation in patients with systemic sclerosis",
        first_author="Alip",
        publication_year=2024,
        registry_ids=["NCT00962923"],
        origin=CitationOrigin.MANUAL,
    )
    return ReviewCitation.objects.create(review=review, citation=citation, stage=TriageStage.EXTRACTION)


ALIP = {
    "study": {"label": "Alip 2024", "design": "cohort", "enrolment_n": 41, "followup_months": 60},
    "intervention": {"cell_source": "umbilical_cord_msc", "route": "intravenous", "donor": "allogeneic"},
    # 12-month mRSS 13.95 ± 8.49 (n = 41) as the abstract gives it; the baseline is illustrative.
    "measurements": [
        {
            "outcome": "mrss",
            "timepoint_months": 12,
            "data_format": "baseline_followup",
            "baseline_mean": 22.5,
            "baseline_sd": 8.1,
            "baseline_n": 41,
            "followup_mean": 13.95,
            "followup_sd": 8.49,
            "followup_n": 41,
            "source_location": "abstract, results",
        }
    ],
}


def reconciled_alip(review, team) -> Study:
    entry = alip_at_extraction(review)
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=ALIP, submit=True)
    return extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=ALIP)


def test_it_flags_a_record_sharing_an_included_studys_registry_id_at_ingest(seeded, eutils_replay):
    server = eutils_replay(SyntheticPubmed(msc_ssc_records()))
    client = __import__("tests.evidence.surveillance.test_search_run", fromlist=["fast_client"]).fast_client(server)

    run = search_run_execute(review=seeded, triggered_by="test", client=client, today=dt.date(2025, 6, 30))

    alip = ReviewCitation.objects.get(review=seeded, citation__pmid="38206544")
    assert [flag.reason for flag in alip.overlap_flags.all()] == [ZHANG_REASON]
    assert alip.overlap_flags.get().study.label == "Zhang 2017"
    khanna = ReviewCitation.objects.get(review=seeded, citation__pmid="35358372")
    assert not khanna.overlap_flags.exists()
    assert run.possible_duplicates == 1


def test_the_screening_page_shows_the_overlap(seeded, team, client):
    citation = alip_at_extraction(seeded).citation
    ReviewCitation.objects.filter(citation=citation).update(stage=TriageStage.TITLE_ABSTRACT)
    client.force_login(team["screener"])

    page = client.get(reverse("admin:screening_screen", args=[seeded.pk, "title_abstract"]))

    assert page.status_code == 200
    assert ZHANG_REASON in page.content.decode()


def test_the_extraction_page_shows_the_overlap(seeded, team, client):
    entry = alip_at_extraction(seeded)
    client.force_login(team["ext1"])

    page = client.get(reverse("admin:extraction_draft", args=[seeded.pk, entry.pk]))

    assert page.status_code == 200 and ZHANG_REASON in page.content.decode()


def test_approval_of_a_flagged_study_needs_the_editors_choice(seeded, team, client):
    alip = reconciled_alip(seeded, team)
    client.force_login(team["editor"])
    assert ZHANG_REASON in client.get(reverse("admin:approval_list", args=[seeded.pk])).content.decode()

    with pytest.raises(ValidationError) as refused:
        study_approve(study=alip, editor=team["editor"])
    assert ZHANG_REASON in str(refused.value.message_dict["distinct_cohort_reason"])
    alip.refresh_from_db()
    assert alip.status == StudyStatus.EXTRACTION  # nothing half-done

    study_approve(study=alip, editor=team["editor"], distinct_cohort_reason="Different patients: enrolled 2018–2020.")
    alip.refresh_from_db()
    assert alip.status == StudyStatus.INCLUDED
    review_recompute(review=seeded, trigger="test: Alip approved")  # public once a published version lists it
    page = client.get(reverse("review_study", args=[seeded.slug, alip.pk])).content.decode()
    assert "Different patients: enrolled 2018–2020." in page


def test_linking_as_a_report_keeps_the_patient_total(seeded, team):
    total = sum(study.n or 0 for study in recompute_inputs_load(review=seeded).studies)
    zhang = Study.objects.get(review=seeded, label="Zhang 2017")
    alip = reconciled_alip(seeded, team)

    study_link_as_report(study=alip, existing=zhang, editor=team["editor"])

    alip.refresh_from_db()
    assert alip.status == StudyStatus.WITHDRAWN and alip.merged_into == zhang
    assert zhang.reports.filter(citation__pmid="38206544", is_main_report=False).exists()
    at_12 = OutcomeMeasurement.objects.get(study=zhang, outcome__code="mrss", timepoint_months=12)
    assert at_12.followup_mean == 13.95  # the later report supersedes at the time point it reports
    inputs = recompute_inputs_load(review=seeded)
    assert sum(study.n or 0 for study in inputs.studies) == total == 133
    assert ReviewCitation.objects.get(review=seeded, citation__pmid="38206544").stage == TriageStage.INCLUDED
    assert review_recompute(review=seeded, trigger="test").version.n_patients == 133


def test_same_centre_and_overlapping_recruitment_is_a_weaker_flag(seeded, team):
    zhang = Study.objects.get(review=seeded, label="Zhang 2017")
    Study.objects.filter(pk=zhang.pk).update(centre="Nanjing Drum Tower Hospital", trial_registration="")
    Study.objects.filter(pk=zhang.pk).update(recruitment_start_year=2009, recruitment_end_year=2012)
    other = Study.objects.create(
        review=seeded,
        label="Sun 2020",
        design="cohort",
        centre="Nanjing Drum Tower Hospital",
        recruitment_start_year=2011,
        recruitment_end_year=2017,
    )

    [overlap] = study_overlaps(study=other)

    assert overlap.strength == "weak" and overlap.study_label == "Zhang 2017"
    assert overlap.reason == (
        "same centre (Nanjing Drum Tower Hospital) as included study Zhang 2017 and overlapping recruitment "
        "2011–2017 (Zhang 2017: 2009–2012) — possible overlap"
    )


def test_the_adjudication_page_shows_the_overlap(seeded, team, client):
    entry = alip_at_extraction(seeded)
    entry.stage = TriageStage.FULL_TEXT
    entry.save()
    senior = team["senior"]
    client.force_login(senior)

    page = client.get(reverse("admin:screening_adjudicate", args=[seeded.pk, "full_text", entry.pk]))

    assert page.status_code == 200 and ZHANG_REASON in page.content.decode()
