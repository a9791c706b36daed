"""Issue 14's bad input through the draft page: each a field-named message on the page (never a 500), and
no submitted draft, study, arm or measurement saved."""

import pytest
from django.urls import reverse

from evidence.models import ExtractionDraft, OutcomeMeasurement, Study, StudyArm, TriageStage
from tests.evidence import screening_support
from tests.evidence.extraction.test_extraction_arms import chfs, khanna_post
from tests.evidence.screening_support import make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

ONE_ARM = {"arm-TOTAL_FORMS": "1", "m-TOTAL_FORMS": "1"}
BAD_POSTS = [
    ("arm without n", {"arm-1-n_randomized": ""}, "arms[placebo].n_randomized: give the number randomized"),
    ("contrast without a comparator arm", ONE_ARM, "arms: a between-arm contrast needs a comparator arm"),
    ("measurement naming no arm", {"m-1-arm": ""}, "measurement 2: arm: name the arm it belongs to"),
    (
        "change against its baseline and follow-up",
        {"m-0-baseline_mean": "40", "m-0-followup_mean": "29", "m-0-change_mean": "11"},
        "measurement 1: change_mean: 11 contradicts its means: change = follow-up − baseline = 29 − 40 = -11",
    ),
    ("arm n of zero", {"arm-0-n_randomized": "0"}, "ensure this value is greater than or equal to 1"),
]


@pytest.mark.parametrize(("case", "changes", "message"), BAD_POSTS, ids=[case for case, _, _ in BAD_POSTS])
def test_the_draft_page_names_each_bad_field_and_saves_nothing(review, team, client, case, changes, message):
    chfs()
    entry = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    client.force_login(team["ext1"])
    url = reverse("admin:extraction_draft", args=[review.pk, entry.pk])

    response = client.post(url, khanna_post(**changes))

    assert response.status_code == 200
    assert message in response.content.decode().lower()  # the admin capitalises each message
    assert not ExtractionDraft.objects.filter(review_citation=entry, status="submitted").exists()
    assert not (Study.objects.exists() or StudyArm.objects.exists() or OutcomeMeasurement.objects.exists())
