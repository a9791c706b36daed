"""Issue 20, points 2 and 6: each review configures its outcomes, wording, intervention vocabulary and
risk-of-bias tools; a review before its first version has a protocol page; list settings are edited as lists;
the slug is locked once a version is published."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from evidence.extraction.forms import draft_forms
from evidence.extraction.payload import payload_errors
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import (
    Intervention,
    Outcome,
    PooledResult,
    QualityAssessment,
    Review,
    ReviewVersion,
    Study,
    StudyResult,
    TriageStage,
    VersionKind,
)
from tests.evidence import screening_support
from tests.evidence.screening_support import make_citation

review = screening_support.review  # fixture
team = screening_support.team  # fixture

AHSCT = {
    "slug": "ahsct-ssc",
    "title": "Autologous haematopoietic stem cell transplantation for systemic sclerosis",
    "population": "Adults with early severe diffuse cutaneous systemic sclerosis.",
    "intervention": "Autologous haematopoietic stem cell transplantation after myeloablative conditioning.",
    "comparator": "Monthly intravenous cyclophosphamide.",
    "pubmed_query": '"hematopoietic stem cell transplantation"[MeSH Terms] AND scleroderma',
    "search_start_date": datetime.date(2024, 1, 1),
    "intervention_name": "AHSCT",
    "intervention_full": "autologous haematopoietic stem cell transplantation",
    "intervention_plain": "a transplant of their own blood-forming stem cells",
    "population_name": "severe systemic sclerosis",
    "population_plain": "people with severe systemic sclerosis",
    "arm_label": "AHSCT",
    "intervention_fields": ["Conditioning regimen", "Graft manipulation"],
}
MSC_WORDS = ("MSC", "mesenchymal", "Mesenchymal", "Cell source", "NOS", "Newcastle")


def _outcome(review: Review, code: str, name: str, **fields) -> Outcome:
    defaults = {"direction": "lower_is_better", "outcome_type": "continuous", "unit": "points"}
    return Outcome.objects.create(review=review, code=code, name=name, **{**defaults, **fields})


def _ahsct(**fields) -> Review:
    review = Review.objects.create(**{**AHSCT, **fields})
    _outcome(review, "mrss", "Skin score after transplant (mRSS)", display_order=10)
    _outcome(
        review, "efs", "Event-free survival", direction="higher_is_better", outcome_type="binary", display_order=20
    )
    return review


def _ahsct_published() -> tuple[Review, Study]:
    """The second review with one approved RCT in a published version 1 and one pooled mRSS row."""
    review = _ahsct()
    study = Study.objects.create(review=review, label="ASTIS 2014", design="rct", status="included", enrolment_n=156)
    Intervention.objects.create(
        study=study,
        arm="AHSCT",
        details={"conditioning_regimen": "Cyclophosphamide 200 mg/kg with rabbit ATG", "graft_manipulation": "CD34+"},
    )
    QualityAssessment.objects.create(study=study, instrument="rob2", domain_scores={"overall": "some concerns"})
    version = ReviewVersion.objects.create(
        review=review, number=1, kind=VersionKind.COMPUTED, published_at=timezone.now(), trigger="study approved",
        n_studies=1, n_patients=156, studies=[{"id": study.id, "label": "ASTIS 2014", "year": 2014, "n": 156}],
    )  # fmt: skip
    row = PooledResult.objects.create(
        version=version, outcome=review.outcomes.get(code="mrss"), timepoint_months=12, k=1, n_participants=156,
        effect_measure="MD", model="REML", estimate=-8.0, ci_lb=-11.0, ci_ub=-5.0, computed=True,
    )  # fmt: skip
    StudyResult.objects.create(
        pooled_result=row, study=study, study_label="ASTIS 2014", publication_year=2014, n=156, yi=-8.0, vi=2.0,
        ci_lb=-11.0, ci_ub=-5.0, weight=100, derivation="change from baseline",
    )  # fmt: skip
    return review, study


def _body(url: str, status: int = 200) -> str:
    response = Client().get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


# --- Outcomes belong to a review ------------------------------------------------------------------------------


def test_it_allows_the_same_code_in_two_reviews_and_not_twice_in_one(seeded):
    ahsct = _ahsct()

    assert Outcome.objects.filter(code="mrss").count() == 2
    assert seeded.outcomes.filter(code="mrss").exists() and ahsct.outcomes.filter(code="mrss").exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        _outcome(ahsct, "mrss", "A second mRSS")


def test_the_extraction_dropdown_offers_only_the_reviews_outcomes(seeded):
    ahsct = _ahsct()

    forms = draft_forms(ahsct)
    offered = [code for code, _ in forms["measurements"].forms[0].fields["outcome"].choices if code]
    msc_offered = [code for code, _ in draft_forms(seeded)["measurements"].forms[0].fields["outcome"].choices]

    assert sorted(offered) == ["efs", "mrss"]
    assert "dlco" in msc_offered and "efs" not in msc_offered
    labels = dict(forms["measurements"].forms[0].fields["outcome"].choices)
    assert labels["mrss"] == "Skin score after transplant (mRSS)"


def test_extraction_refuses_an_outcome_of_another_review(seeded):
    ahsct = _ahsct()
    payload = {
        "study": {"label": "Burt 2011", "design": "rct", "enrolment_n": 19},
        "measurements": [{"outcome": "dlco", "timepoint_months": 12, "data_format": "change", "change_mean": 3}],
    }

    errors = payload_errors(payload=payload, review=ahsct)

    assert any(error.startswith("Measurement 1:") and "dlco" in error for error in errors), errors


def test_the_api_lists_each_reviews_own_outcomes(seeded):
    _ahsct_published()
    client = Client()

    ahsct = client.get("/api/v1/reviews/ahsct-ssc/outcomes/").json()["results"]
    msc = client.get("/api/v1/reviews/msc-ssc/outcomes/").json()["results"]
    filtered = client.get("/api/v1/outcomes/?review=ahsct-ssc").json()["results"]
    shared = client.get("/api/v1/outcomes/mrss/")

    assert [(o["review"], o["code"]) for o in ahsct] == [("ahsct-ssc", "mrss"), ("ahsct-ssc", "efs")]
    assert {o["review"] for o in msc} == {"msc-ssc"} and "efs" not in {o["code"] for o in msc}
    assert filtered == ahsct
    assert shared.status_code == 200 and shared.json()["review"] == "msc-ssc"  # what it answered before ahsct-ssc
    assert client.get("/api/v1/reviews/ahsct-ssc/outcomes/mrss/").json()["name"].startswith("Skin score after")
    one = client.get("/api/v1/reviews/ahsct-ssc/pooled-results/?outcome=mrss").json()["results"]
    assert [row["estimate"] for row in one] == [-8.0]


def test_the_api_does_not_list_an_unpublished_reviews_outcomes(seeded):
    _ahsct()

    codes = {(o["review"], o["code"]) for o in Client().get("/api/v1/outcomes/").json()["results"]}

    assert ("ahsct-ssc", "efs") not in codes and ("msc-ssc", "mrss") in codes
    assert Client().get("/api/v1/reviews/ahsct-ssc/outcomes/").status_code == 404


# --- Public wording comes from the review ---------------------------------------------------------------------


def test_a_second_reviews_pages_speak_of_its_intervention_and_population(seeded):
    _, study = _ahsct_published()

    page = _body("/reviews/ahsct-ssc/")
    study_page = _body(f"/reviews/ahsct-ssc/studies/{study.pk}/")

    assert "Autologous haematopoietic stem cell transplantation in severe systemic sclerosis" in page  # header
    assert "In people with severe systemic sclerosis treated with a transplant of their own blood-forming" in page
    assert "AHSCT, change from before to after treatment</caption>" in page
    assert '<th scope="col">Conditioning regimen</th><th scope="col">Graft manipulation</th>' in page
    assert "Cyclophosphamide 200 mg/kg with rabbit ATG" in page and "RoB 2: some concerns" in page
    assert "<dt>Conditioning regimen</dt><dd>Cyclophosphamide 200 mg/kg with rabbit ATG</dd>" in study_page
    for text in (page, study_page):
        assert [word for word in MSC_WORDS if word in text] == []


def test_the_msc_reviews_pages_keep_their_texts(seeded):
    page = _body("/reviews/msc-ssc/")

    assert "<title>Mesenchymal stem cell therapy for systemic sclerosis" in page
    assert '<span class="muted">Mesenchymal stem cell therapy in systemic sclerosis</span>' in page
    assert "In people with systemic sclerosis treated with mesenchymal stem (stromal) cells, comparing" in page
    assert "(as published): MSC therapy, change from before to after treatment</caption>" in page
    assert '<th scope="col">Cell source</th><th scope="col">Route</th><th scope="col">Dose</th>' in page
    assert '<th scope="col">Quality (NOS)</th>' in page and "NOS: Newcastle–Ottawa Scale, 0 to 9 stars" in page
    assert "Before–after rows compare MSC-treated patients with themselves" in page


# --- Before the first version ---------------------------------------------------------------------------------


def test_a_review_before_its_first_version_has_a_protocol_page_linked_from_home(seeded):
    review = _ahsct(protocol_public=True, protocol_url="https://www.crd.york.ac.uk/prospero/display_record.php?ID=1")
    Study.objects.create(review=review, label="LEAK-UNPUBLISHED-STUDY", design="rct", status="included")

    page = _body("/reviews/ahsct-ssc/")
    home = _body("/")

    assert "first results will be published when the first study is approved" in page
    assert "Adults with early severe diffuse cutaneous systemic sclerosis." in page  # PICO
    assert "Monthly intravenous cyclophosphamide." in page
    assert "Skin score after transplant (mRSS); Event-free survival" in page
    assert "not yet searched" in page and "https://www.crd.york.ac.uk/prospero/" in page
    assert "hematopoietic stem cell transplantation" in page  # the search strategy
    assert "LEAK-UNPUBLISHED-STUDY" not in page + home
    assert 'href="/reviews/ahsct-ssc/"' in home
    _body("/reviews/ahsct-ssc/v/0/", 404)


def test_a_review_not_announced_stays_private_before_its_first_version(seeded):
    _ahsct()

    _body("/reviews/ahsct-ssc/", 404)
    assert "ahsct-ssc" not in _body("/")


# --- List settings and the slug in the admin ------------------------------------------------------------------


def test_a_list_field_shows_one_item_per_line_and_stores_a_list(seeded):
    from evidence.operations.forms import LineListField, ReviewAdminForm

    form = ReviewAdminForm(instance=seeded)
    shown = form["exclusion_reasons"].value()

    data = {**form.initial, "exclusion_reasons": "Not systemic sclerosis\n\n  Duplicate  \r\nAnimal study\n"}
    data = {key: ("" if value is None else value) for key, value in data.items()}
    data["pico_terms"] = "\n".join(seeded.pico_terms)
    data["intervention_fields"] = "\n".join(seeded.intervention_fields)
    bound = ReviewAdminForm(data, instance=seeded)

    assert LineListField().prepare_value(shown).startswith("Not systemic sclerosis\nNot MSC / cell therapy\n")
    assert bound.is_valid(), bound.errors
    bound.save()
    seeded.refresh_from_db()
    assert seeded.exclusion_reasons == ["Not systemic sclerosis", "Duplicate", "Animal study"]


def test_a_list_field_names_a_repeated_item(seeded):
    from evidence.operations.forms import LineListField

    field = LineListField()

    with pytest.raises(ValidationError) as refused:
        field.clean("mRSS\nDLCO\nmrss")

    assert refused.value.messages == ["“mrss” is listed twice (line 3); list each item once."]
    assert field.clean("") == [] and field.clean(" a \n\nb") == ["a", "b"]


def test_the_admin_edits_pico_terms_as_lines_not_json(seeded):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    client = Client()
    client.force_login(admin)

    page = client.get(f"/admin/evidence/review/{seeded.pk}/change/").content.decode()

    assert "systemic sclerosis\nscleroderma\nSSc" in page
    assert "[&quot;systemic sclerosis&quot;" not in page


def test_the_slug_is_locked_once_a_version_is_published(seeded):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    client = Client()
    client.force_login(admin)
    draft = _ahsct()

    locked = client.get(f"/admin/evidence/review/{seeded.pk}/change/").content.decode()
    open_ = client.get(f"/admin/evidence/review/{draft.pk}/change/").content.decode()
    seeded.slug = "msc-renamed"

    assert 'name="slug"' not in locked and 'name="slug"' in open_
    with pytest.raises(ValidationError) as refused:
        seeded.full_clean()
    assert refused.value.message_dict["slug"] == [
        "The slug is locked: a version is published under /reviews/msc-ssc/, so it stays “msc-ssc”."
    ]
    draft.slug = "ahsct-renamed"
    draft.full_clean()  # before publication the slug may still change


# --- Risk of bias per design ----------------------------------------------------------------------------------


def _rated(design: str, quality: dict) -> dict:
    rated = {
        "study": {"label": "Burt 2011", "design": design, "enrolment_n": 19},
        "intervention": {"cell_source": "bone_marrow_msc", "route": "intravenous"},
        "quality": quality,
    }
    if design == "rct":
        rated["study"]["contrast_basis"] = "change"
        rated["arms"] = [
            {
                "label": "MSC",
                "role": "intervention",
                "n_randomized": 10,
                "cell_source": "bone_marrow_msc",
                "route": "intravenous",
            },
            {"label": "placebo", "role": "comparator", "n_randomized": 9},
        ]
    return rated


def test_an_rct_is_rated_with_rob2_and_a_single_arm_study_with_the_nos(review):
    errors = {
        name: payload_errors(payload=_rated(design, quality), review=review)
        for name, design, quality in (
            ("rct stars", "rct", {"selection": 3}),
            ("rct judgement", "rct", {"overall": "some concerns"}),
            ("rct unknown", "rct", {"overall": "moderate"}),
            ("single-arm judgement", "single_arm_before_after", {"overall": "low"}),
            ("single-arm stars", "single_arm_before_after", {"selection": 3}),
        )
    }

    assert errors["rct stars"] == [
        "Quality: this review rates this design with Cochrane RoB 2; give its overall judgement, not NOS stars."
    ]
    assert errors["rct judgement"] == [] and errors["single-arm stars"] == []
    assert errors["rct unknown"] == [
        "Quality: overall risk of bias must be one of low, some concerns, high (Cochrane RoB 2)."
    ]
    assert errors["single-arm judgement"] == [
        "Quality: this review rates this design with the Newcastle–Ottawa Scale; give its stars, not an overall "
        "judgement."
    ]


def test_the_reconciled_rct_keeps_its_rob2_judgement(review, team):
    rc = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    rated = _rated("rct", {"overall": "high"})
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=rc, extractor=team[extractor], payload=rated, submit=True)

    study = extraction_reconcile(review_citation=rc, reconciler=team["senior"], payload=rated)

    [assessment] = study.quality_assessments.all()
    assert (assessment.instrument, assessment.domain_scores) == ("rob2", {"overall": "high"})
    form = draft_forms(review)["quality"]
    assert [label for _, label in form.fields["overall"].choices] == ["—", "Low", "Some concerns", "High"]
    assert "selection" in form.fields  # single-arm studies of this review are still rated with the NOS


def test_an_intervention_arm_without_a_route_is_named(review):
    rated = _rated("rct", {})
    del rated["arms"][0]["route"]

    errors = payload_errors(payload=rated, review=review)

    assert "arms[MSC]: Route: choose how the cells were given (Local injection (subcutaneous / hypodermic), " in (
        " ".join(errors)
    ), errors


def test_an_editor_copies_outcomes_from_another_review(seeded):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    client = Client()
    client.force_login(admin)
    ahsct = _ahsct()
    chosen = [str(pk) for pk in seeded.outcomes.filter(code__in=["mrss", "fvc"]).values_list("pk", flat=True)]
    action = {"action": "copy_to_review", "_selected_action": chosen}

    asked = client.post("/admin/evidence/outcome/", action)
    done = client.post("/admin/evidence/outcome/", {**action, "target": str(ahsct.pk), "apply": "1"})

    assert asked.status_code == 200 and "Into the review" in asked.content.decode()
    assert done.status_code == 302
    assert sorted(ahsct.outcomes.values_list("code", "name")) == [
        ("efs", "Event-free survival"),
        ("fvc", seeded.outcomes.get(code="fvc").name),
        ("mrss", "Skin score after transplant (mRSS)"),  # the review's own mRSS is kept
    ]


def test_the_controlled_comparison_names_the_reviews_own_arm(seeded):
    from evidence.publishing.selectors.rows import subgroup_label
    from evidence.synthesis.recompute.contrasts import CONTROLLED_VALUE

    ahsct = _ahsct()

    assert subgroup_label(CONTROLLED_VALUE, ahsct) == "Controlled comparison: AHSCT arm vs comparator arm"
    assert subgroup_label(CONTROLLED_VALUE, seeded) == "Controlled comparison: MSC arm vs comparator arm"
