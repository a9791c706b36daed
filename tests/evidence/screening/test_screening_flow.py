"""The whole path, each role through its own pages: a citation becomes an approved study."""

from django.test import Client
from django.urls import reverse

from evidence.approval import services as approval
from evidence.models import (
    Adjudication,
    ApprovalAction,
    DraftStatus,
    ExtractionDraft,
    OutcomeMeasurement,
    ScreeningStage,
    Study,
    StudyApproval,
    StudyStatus,
    TriageStage,
)
from evidence.synthesis.prisma import prisma_counts
from tests.evidence import screening_support
from tests.evidence.screening_support import make_citation, make_outcomes

review = screening_support.review  # fixture
team = screening_support.team  # fixture

TA, FT = ScreeningStage.TITLE_ABSTRACT, ScreeningStage.FULL_TEXT


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def screen(user, review, rc, stage, decision, reason=""):
    url = reverse("admin:screening_screen", args=[review.pk, stage])
    data = {"review_citation": rc.pk, "decision": decision, "exclusion_reason": reason, "pos": 0}
    assert as_user(user).post(url, data).status_code == 302


def draft_data(label: str, baseline_mean: float, followup_mean: float) -> dict:
    return {
        "study-label": label,
        "study-first_author": "Author1",
        "study-year": "2023",
        "study-design": "single_arm_before_after",
        "study-enrolment_n": "20",
        "intervention-cell_source": "adipose_svf",
        "intervention-donor": "autologous",
        "intervention-route": "local_injection",
        "intervention-dose": "1 mL per finger",
        "m-TOTAL_FORMS": "1",
        "m-INITIAL_FORMS": "0",
        "m-0-outcome": "mrss",
        "m-0-timepoint_months": "6",
        "m-0-data_format": "baseline_followup",
        "m-0-unit": "points",
        "m-0-baseline_mean": str(baseline_mean),
        "m-0-baseline_sd": "5.1",
        "m-0-baseline_n": "20",
        "m-0-followup_mean": str(followup_mean),
        "m-0-followup_sd": "4.9",
        "m-0-followup_n": "19",
        "ae-TOTAL_FORMS": "1",
        "ae-INITIAL_FORMS": "0",
        "ae-0-term": "Injection-site pain",
        "ae-0-patients_with_event": "3",
        "ae-0-patients_at_risk": "20",
        "quality-selection": "3",
        "quality-comparability": "0",
        "quality-outcome": "2",
        "submit": "1",
    }


def test_it_takes_a_citation_to_an_approved_study(review, team, django_capture_on_commit_callbacks, monkeypatch):
    make_outcomes()
    rc = make_citation(review, 1)
    # Title/abstract: two screeners agree.
    screen(team["alice"], review, rc, TA, "include")
    screen(team["bob"], review, rc, TA, "include")
    rc.refresh_from_db()
    assert rc.stage == TriageStage.FULL_TEXT
    # Full text: a conflict, resolved by the senior reviewer.
    screen(team["alice"], review, rc, FT, "include")
    screen(team["bob"], review, rc, FT, "exclude", reason="wrong_outcome")
    adjudicate = reverse("admin:screening_adjudicate", args=[review.pk, FT, rc.pk])
    as_user(team["senior"]).post(adjudicate, {"decision": "include", "reason": "mRSS at 6 months is reported"})
    rc.refresh_from_db()
    assert rc.stage == TriageStage.EXTRACTION and Adjudication.objects.get().adjudicator == team["senior"]
    # Dual extraction: two drafts that disagree on the follow-up mean.
    draft_url = reverse("admin:extraction_draft", args=[review.pk, rc.pk])
    assert as_user(team["ext1"]).post(draft_url, draft_data("Author1 2023", 20.1, 13.8)).status_code == 302
    assert as_user(team["ext2"]).post(draft_url, draft_data("Author1 2023", 20.1, 13.6)).status_code == 302
    assert ExtractionDraft.objects.filter(status=DraftStatus.SUBMITTED).count() == 2
    # The senior reviewer sees the discrepancy side by side and picks the first extractor's value.
    senior = as_user(team["senior"])
    compare_url = reverse("admin:extraction_compare", args=[review.pk, rc.pk])
    page = senior.get(compare_url).content.decode()
    path = "measurements[mrss|6.0|MSC].followup_mean"
    assert "<strong>1</strong> discrepancies" in page and path in page
    assert senior.post(compare_url, {f"choice:{path}": "0"}).status_code == 302
    study = Study.objects.get(label="Author1 2023")
    measurement = OutcomeMeasurement.objects.get(study=study)
    assert (measurement.baseline_mean, measurement.followup_mean, measurement.followup_n) == (20.1, 13.8, 19)
    assert study.status == StudyStatus.EXTRACTION
    assert study.quality_assessments.get().total_score == 5
    # The editor approves: the study is included and recomputation is requested once it commits.
    requested = []
    monkeypatch.setattr(approval, "on_study_approved", requested.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(team["editor"]).post(
            reverse("admin:approval_list", args=[review.pk]), {"study": study.pk, "action": "approve"}
        )
    assert response.status_code == 302
    study.refresh_from_db()
    rc.refresh_from_db()
    assert (study.status, rc.stage) == (StudyStatus.INCLUDED, TriageStage.INCLUDED)
    assert requested == [review.pk]
    assert StudyApproval.objects.get().action == ApprovalAction.APPROVE
    counts = prisma_counts(review=review)
    assert (counts.records_screened, counts.full_texts_assessed, counts.studies_included) == (1, 1, 1)


def test_sending_back_needs_a_comment_and_returns_the_drafts(review, team):
    make_outcomes()
    rc = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    draft_url = reverse("admin:extraction_draft", args=[review.pk, rc.pk])
    as_user(team["ext1"]).post(draft_url, draft_data("Author1 2023", 20.1, 13.8))
    as_user(team["ext2"]).post(draft_url, draft_data("Author1 2023", 20.1, 13.8))
    as_user(team["senior"]).post(reverse("admin:extraction_compare", args=[review.pk, rc.pk]), {})
    study = Study.objects.get()
    editor = as_user(team["editor"])
    url = reverse("admin:approval_list", args=[review.pk])
    page = editor.post(url, {"study": study.pk, "action": "send_back", "comment": ""}, follow=True)
    assert "Say what must change" in page.content.decode()
    assert not StudyApproval.objects.exists()
    editor.post(url, {"study": study.pk, "action": "send_back", "comment": "Check the SD in Table 2"})
    assert StudyApproval.objects.get().comment == "Check the SD in Table 2"
    assert set(ExtractionDraft.objects.values_list("status", flat=True)) == {DraftStatus.RETURNED}
    # The extractors correct and resubmit; reconciliation updates the same study.
    as_user(team["ext1"]).post(draft_url, draft_data("Author1 2023", 20.1, 13.0))
    as_user(team["ext2"]).post(draft_url, draft_data("Author1 2023", 20.1, 13.0))
    as_user(team["senior"]).post(reverse("admin:extraction_compare", args=[review.pk, rc.pk]), {})
    assert Study.objects.get().measurements.get().followup_mean == 13.0
