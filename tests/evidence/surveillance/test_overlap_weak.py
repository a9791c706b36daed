"""The weaker overlap flag: the same first author (surname + initial) or the same centre, with overlapping
recruitment years, flags a record at ingest (first author) and a study at extraction and approval (with years);
the editor then links it as a report or confirms a distinct cohort, as for a shared registry id."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from evidence.approval.services import study_approve
from evidence.approval.study_overlap import study_link_as_report
from evidence.extraction.payload import payload_errors
from evidence.extraction.seed_prefill import study_draft_prefill
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import (
    Citation,
    CitationOrigin,
    ReviewCitation,
    Study,
    StudyStatus,
    TriageStage,
)
from evidence.surveillance.search import search_run_execute
from evidence.surveillance.search.flags import citation_overlaps, study_overlaps
from evidence.surveillance.search.overlap_keys import author_key, centres_match, years_overlap
from tests import eutils_replay as replay
from tests.eutils_replay import ArticleSpec, SyntheticPubmed, SyntheticRecord
from tests.evidence.extraction.test_seed_extraction import team as seed_team

eutils_replay = replay.eutils_replay  # the fixture


team = seed_team  # fixture: the seeded review's extractors, senior reviewer and editor


@pytest.mark.parametrize(
    ("name", "surname", "key"),
    [
        ("Zhang H", "Zhang", "zhang h"),
        ("Huayong Zhang", "Zhang", "zhang h"),
        ("Zhang, Huayong", "", "zhang h"),
        ("Huayong Zhang", "", "zhang h"),
        ("Butler PEM", "", "butler p"),
        ("Virzì F", "", "virzi f"),
        ("Guillaume-Jugnot P", "Guillaume-Jugnot", "guillaume jugnot p"),
        ("Zhang", "Zhang", ""),  # a surname alone is no key
    ],
)
def test_it_keys_a_first_author_by_surname_and_initial(name, surname, key):
    assert author_key(name, surname) == key


def test_it_matches_a_centre_by_its_distinctive_words_and_years_by_overlap():
    assert centres_match("Nanjing Drum Tower Hospital", "The Affiliated Drum Tower Hospital of Nanjing University")
    assert not centres_match("Nanjing Drum Tower Hospital", "Peking Union Medical College Hospital")
    assert not centres_match("University Hospital", "University Hospital of Marseille")  # generic words only
    assert years_overlap((2009, 2017), (2009, 2012)) is True
    assert years_overlap((2018, 2020), (2009, 2012)) is False
    assert years_overlap(None, (2009, 2012)) is None


def a_zhang_follow_up(review, *, stage=TriageStage.EXTRACTION) -> ReviewCitation:
    """A later report by Zhang 2017's first author, without the registry id (synthetic record)."""
    citation = Citation.objects.create(
        pmid="90000777",
        title="Long-term outcome of mesenchymal stem cell transplantation in systemic sclerosis",
        first_author="Zhang",
        authors=["Zhang H", "Sun L"],
        publication_year=2020,
        origin=CitationOrigin.MANUAL,
    )
    return ReviewCitation.objects.create(review=review, citation=citation, stage=stage)


WEAK_AT_INGEST = "same first author as included study Zhang 2017 (Zhang H) — possible overlap"


def test_a_record_by_an_included_studys_first_author_is_weakly_flagged_at_ingest(seeded, eutils_replay):
    spec = ArticleSpec(
        pmid="90000777",
        title="Long-term outcome of mesenchymal stem cell transplantation in systemic sclerosis",
        created=dt.date(2024, 5, 2),
        pub_year=2024,
        authors=("Huayong Zhang", "Lingyun Sun"),
    )
    server = eutils_replay(SyntheticPubmed([SyntheticRecord.from_spec(spec)]))
    client = __import__("tests.evidence.surveillance.test_search_run", fromlist=["fast_client"]).fast_client(server)

    run = search_run_execute(review=seeded, triggered_by="test", client=client, today=dt.date(2025, 6, 30))

    entry = ReviewCitation.objects.get(review=seeded, citation__pmid="90000777")
    [flag] = entry.overlap_flags.all()
    assert (flag.strength, flag.study.label) == ("weak", "Zhang 2017")
    assert flag.reason.startswith(WEAK_AT_INGEST)
    assert run.possible_duplicates == 1


def test_the_screening_and_extraction_pages_name_the_weaker_flag(seeded):
    entry = a_zhang_follow_up(seeded)

    [overlap] = citation_overlaps(review=seeded, citation=entry.citation)

    assert overlap.strength == "weak" and overlap.reason.startswith(WEAK_AT_INGEST)


FOLLOW_UP = {
    "study": {
        "label": "Zhang 2020",
        "first_author": "Zhang",
        "design": "cohort",
        "enrolment_n": 30,
        "centre": "The Affiliated Drum Tower Hospital of Nanjing University Medical School",
        "recruitment_start_year": 2009,
        "recruitment_end_year": 2017,
    },
    "intervention": {"cell_source": "umbilical_cord_msc", "route": "intravenous"},
    "measurements": [
        {
            "outcome": "mrss",
            "timepoint_months": 12,
            "data_format": "change",
            "change_mean": -5.1,
            "change_sd": 6.0,
            "change_n": 30,
            "source_location": "Table 2",
        }
    ],
}


def reconciled(review, team, payload=FOLLOW_UP) -> Study:
    entry = a_zhang_follow_up(review)
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=payload, submit=True)
    return extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=payload)


def zhang_recruited(review, start=2009, end=2012) -> Study:
    Study.objects.filter(review=review, label="Zhang 2017").update(
        recruitment_start_year=start, recruitment_end_year=end
    )
    return Study.objects.get(review=review, label="Zhang 2017")


def test_a_study_with_the_same_first_author_and_overlapping_years_is_weakly_flagged(seeded, team):
    zhang_recruited(seeded)
    follow_up = reconciled(seeded, team)

    [overlap] = study_overlaps(study=follow_up)

    assert overlap.strength == "weak" and overlap.study_label == "Zhang 2017"
    assert overlap.reason == (
        "same first author and centre (The Affiliated Drum Tower Hospital of Nanjing University Medical School) "
        "as included study Zhang 2017 and overlapping recruitment 2009–2017 (Zhang 2017: 2009–2012) "
        "— possible overlap"
    )


def test_recruitment_years_that_do_not_overlap_clear_the_weaker_flag(seeded, team):
    zhang_recruited(seeded, 2001, 2005)

    assert study_overlaps(study=reconciled(seeded, team)) == []


def test_unknown_years_keep_the_first_author_flag(seeded, team):
    follow_up = reconciled(seeded, team)  # Zhang 2017's recruitment years are not in the seed

    [overlap] = study_overlaps(study=follow_up)

    assert overlap.strength == "weak"
    assert "same first author" in overlap.reason and "recruitment years not stated" in overlap.reason


def test_approval_of_a_weakly_flagged_study_needs_the_editors_choice(seeded, team):
    zhang_recruited(seeded)
    follow_up = reconciled(seeded, team)

    with pytest.raises(ValidationError) as refused:
        study_approve(study=follow_up, editor=team["editor"])
    assert "overlapping recruitment 2009–2017" in str(refused.value.message_dict["distinct_cohort_reason"])
    follow_up.refresh_from_db()
    assert follow_up.status == StudyStatus.EXTRACTION

    study_approve(study=follow_up, editor=team["editor"], distinct_cohort_reason="Patients enrolled after 2013.")
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.distinct_cohort_reason) == ("included", "Patients enrolled after 2013.")


def test_a_weakly_flagged_study_can_be_linked_as_a_report(seeded, team):
    zhang = zhang_recruited(seeded)
    follow_up = reconciled(seeded, team)

    study_link_as_report(study=follow_up, existing=zhang, editor=team["editor"])

    follow_up.refresh_from_db()
    assert follow_up.status == StudyStatus.WITHDRAWN and follow_up.merged_into == zhang


def test_the_seed_gives_zhangs_centre_and_blezien_s_recruitment_years(seeded):
    zhang = Study.objects.get(review=seeded, label="Zhang 2017")
    blezien = Study.objects.get(review=seeded, label="Blezien 2017")

    assert zhang.centre == "Nanjing Drum Tower Hospital"
    assert (blezien.recruitment_start_year, blezien.recruitment_end_year) == (2014, 2016)
    assert zhang.reports.get(is_main_report=True).citation.authors[0] == "Huayong Zhang"
    assert all(study_overlaps(study=study) == [] for study in Study.objects.filter(review=seeded))


def test_a_seeded_studys_draft_captures_its_centre_and_recruitment_years(seeded, team):
    zhang = Study.objects.get(review=seeded, label="Zhang 2017")
    entry = ReviewCitation.objects.get(
        review=seeded, citation__study_reports__study=zhang, citation__study_reports__is_main_report=True
    )
    payload = study_draft_prefill(study=zhang)
    assert payload["study"]["centre"] == "Nanjing Drum Tower Hospital"
    payload["study"].update(recruitment_start_year=2009, recruitment_end_year=2014)

    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=payload, submit=True)
    extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=payload)

    zhang.refresh_from_db()
    assert (zhang.recruitment_start_year, zhang.recruitment_end_year) == (2009, 2014)


def test_recruitment_years_in_the_wrong_order_are_a_field_named_error(seeded):
    bad = {**FOLLOW_UP, "study": {**FOLLOW_UP["study"], "recruitment_start_year": 2018}}

    errors = payload_errors(payload=bad, review=seeded)

    assert "Study: recruitment_end_year: 2017 is before the first year recruited, 2018." in errors


def test_the_approval_page_shows_the_weaker_flag_and_asks_for_the_choice(seeded, team, client):
    from django.urls import reverse

    zhang = zhang_recruited(seeded)
    follow_up = reconciled(seeded, team)
    client.force_login(team["editor"])
    url = reverse("admin:approval_list", args=[seeded.pk])

    page = client.get(url).content.decode()
    assert "overlapping recruitment 2009–2017 (Zhang 2017: 2009–2012) — possible overlap (weaker flag)" in page
    assert 'name="distinct_cohort_reason"' in page

    refused = client.post(url, {"study": follow_up.pk, "action": "approve"}, follow=True)
    assert refused.status_code == 200 and "confirm a distinct cohort and say why" in refused.content.decode()
    follow_up.refresh_from_db()
    assert follow_up.status == StudyStatus.EXTRACTION

    client.post(url, {"study": follow_up.pk, "action": "link", "existing_study": zhang.pk})
    follow_up.refresh_from_db()
    assert follow_up.merged_into == zhang


def test_a_linked_report_by_another_group_does_not_change_the_studys_first_author(seeded, team):
    from evidence.surveillance.search.flags import StudyOverlapIndex

    zhang = zhang_recruited(seeded)
    Citation.objects.filter(study_reports__study=zhang).update(authors=[])  # a main report without its by-line
    alip = Citation.objects.create(
        pmid="38206544", first_author="Alip", authors=["Alip M", "Sun L"], publication_year=2024, origin="manual"
    )
    zhang.reports.create(citation=alip, is_main_report=False, note="5-year follow-up")

    index = StudyOverlapIndex.for_review(seeded)

    assert "alip m" not in index.authors and "zhang h" not in index.authors  # no initial known for Zhang 2017
    [overlap] = study_overlaps(study=reconciled(seeded, team))
    assert overlap.study_label == "Zhang 2017" and overlap.reason.startswith("same centre")
