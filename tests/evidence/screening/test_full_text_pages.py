"""'Report not retrieved' in full-text screening and PRISMA; the full text beside the forms; history in words."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.models import (
    Decision,
    FullTextExclusionReason,
    ReviewCitation,
    ScreeningResolution,
    ScreeningStage,
    TriageStage,
)
from evidence.screening.full_text import full_text_attach
from evidence.screening.services import adjudication_record, screening_decision_record
from evidence.synthesis.prisma import prisma_counts, prisma_flow
from evidence.synthesis.prisma_svg import prisma_svg
from tests.evidence import screening_support
from tests.evidence.screening_support import client_for, make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

FT = ScreeningStage.FULL_TEXT
PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def screen_url(review) -> str:
    return reverse("admin:screening_screen", args=[review.pk, FT])


def not_retrieved_by(client, user, rc) -> None:
    client_for(client, user).post(screen_url(review=rc.review), {"review_citation": rc.pk, "decision": "not_retrieved"})


def test_two_reviewers_who_could_not_retrieve_a_report_exclude_it_as_not_retrieved(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    not_retrieved_by(client, team["alice"], rc)
    not_retrieved_by(client, team["bob"], rc)
    resolution = ScreeningResolution.objects.get(review_citation=rc, stage=FT)
    assert (resolution.outcome, resolution.exclusion_reason) == (Decision.EXCLUDE, "not_retrievable")
    rc.refresh_from_db()
    assert rc.stage == TriageStage.EXCLUDED


def test_one_reviewer_who_read_it_against_one_who_could_not_is_a_conflict_for_adjudication(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    not_retrieved_by(client, team["alice"], rc)
    screening_decision_record(review_citation=rc, reviewer=team["bob"], stage=FT, decision=Decision.INCLUDE)
    assert not ScreeningResolution.objects.filter(review_citation=rc).exists()
    adjudication_record(
        review_citation=rc, adjudicator=team["senior"], stage=FT, decision=Decision.INCLUDE, reason="Bob had the PDF."
    )
    assert ReviewCitation.objects.get(pk=rc.pk).stage == TriageStage.EXTRACTION


def test_prisma_counts_reports_not_retrieved_apart_from_those_assessed(review, team):
    reports = [make_citation(review, n, stage=TriageStage.FULL_TEXT) for n in range(4)]
    decided = [
        (Decision.EXCLUDE, FullTextExclusionReason.NOT_RETRIEVED),
        (Decision.EXCLUDE, FullTextExclusionReason.NOT_RETRIEVED),
        (Decision.EXCLUDE, FullTextExclusionReason.WRONG_POPULATION),
        (Decision.INCLUDE, ""),
    ]
    for rc, (decision, reason) in zip(reports, decided, strict=True):
        for name in ("alice", "bob"):
            screening_decision_record(
                review_citation=rc, reviewer=team[name], stage=FT, decision=decision, exclusion_reason=reason
            )
    counts = prisma_counts(review=review)
    assert (counts.reports_sought, counts.reports_not_retrieved, counts.full_texts_assessed) == (4, 2, 2)
    assert counts.full_texts_excluded_by_reason == {"wrong_population": 1}

    flow = prisma_flow(counts, previous=(0, 0), new=(0, 0), label="the first version")
    assert flow.reports_excluded_by_reason == {"Wrong population": 1}  # the label, not the stored key
    svg = prisma_svg(flow, title="PRISMA")
    for words in ("Reports sought for retrieval (n\u00a0=\u00a04)", "Reports not retrieved (n\u00a0=\u00a02)"):
        assert words in svg
    # the description a screen reader reads
    assert "sought for retrieval: 4; not retrieved: 2. Reports assessed for eligibility: 2;" in svg


def test_the_prisma_counts_page_shows_reports_not_retrieved_and_what_awaits(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    make_citation(review, 2)
    not_retrieved_by(client, team["alice"], rc)
    not_retrieved_by(client, team["bob"], rc)
    body = client.get(reverse("admin:screening_prisma", args=[review.pk])).content.decode()
    assert "<th>Reports not retrieved</th><td>1</td>" in body
    assert "<th>Reports sought for retrieval</th><td>1</td>" in body
    assert "<th>Reports assessed for eligibility (full text)</th><td>0</td>" in body
    assert "Awaiting title/abstract screening" in body


def test_the_full_text_screening_page_offers_not_retrieved_and_the_full_text_beside_it(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    body = client_for(client, team["alice"]).get(screen_url(review)).content.decode()
    assert 'value="not_retrieved"' in body and "Report not retrieved" in body
    assert 'class="screening with-source"' in body and 'id="full-text-form"' in body
    full_text_attach(review_citation=rc, user=team["alice"], pdf=SimpleUploadedFile("a.pdf", PDF))
    body = client.get(screen_url(review)).content.decode()
    assert f'src="{reverse("admin:full_text_file", args=[review.pk, rc.pk])}"' in body
    title_abstract = client.get(reverse("admin:screening_screen", args=[review.pk, "title_abstract"]))
    assert "not_retrieved" not in title_abstract.content.decode()  # only a full text can go unretrieved


def test_the_extraction_page_shows_the_pdf_the_link_or_else_the_abstract_beside_the_form(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    url = reverse("admin:extraction_draft", args=[review.pk, rc.pk])
    body = client_for(client, team["ext1"]).get(url).content.decode()
    assert 'class="screening with-source"' in body and 'id="source-abstract"' in body
    assert "We measured mRSS in 11 patients." in body and "<iframe" not in body

    full_text_attach(review_citation=rc, user=team["ext1"], url="https://doi.org/10.1000/test.1")
    body = client.get(url).content.decode()
    assert 'id="full-text-link" href="https://doi.org/10.1000/test.1"' in body and 'id="source-abstract"' in body

    full_text_attach(review_citation=rc, user=team["ext2"], pdf=SimpleUploadedFile("a.pdf", PDF))
    body = client.get(url).content.decode()
    pdf_url = reverse("admin:full_text_file", args=[review.pk, rc.pk])
    assert f'<iframe class="full-text-pdf" id="full-text-pdf" src="{pdf_url}"' in body
    assert 'id="source-abstract"' not in body and 'id="full-text-link"' in body
    assert client.get(pdf_url).status_code == 200


def test_history_pages_show_choice_labels_and_field_names_not_stored_values(client, review, team):
    rc = make_citation(review, 1)
    rc._history_user = team["senior"]
    rc.stage, rc.exclusion_reason = TriageStage.EXCLUDED, FullTextExclusionReason.WRONG_POPULATION
    rc.save()
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", None)
    body = client_for(client, superuser).get(reverse("admin:evidence_reviewcitation_history", args=[rc.pk]))
    body = body.content.decode()
    assert "<strong>Stage:</strong>" in body and "<strong>Exclusion reason:</strong>" in body
    assert "Title/abstract screening" in body and "&nbsp;&rarr;&nbsp;&nbsp;Excluded" in body
    assert "Wrong population" in body
    assert "wrong_population" not in body and "title_abstract" not in body


def test_the_adjudication_page_at_full_text_shows_the_reason_in_words_and_the_full_text(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    not_retrieved_by(client, team["alice"], rc)
    screening_decision_record(review_citation=rc, reviewer=team["bob"], stage=FT, decision=Decision.INCLUDE)
    full_text_attach(review_citation=rc, user=team["bob"], url="https://doi.org/10.1000/found")
    url = reverse("admin:screening_adjudicate", args=[review.pk, FT, rc.pk])
    body = client_for(client, team["senior"]).get(url).content.decode()
    assert "<td>Report not retrieved</td>" in body and "<td>not_retrievable</td>" not in body
    assert 'id="full-text-link" href="https://doi.org/10.1000/found"' in body
