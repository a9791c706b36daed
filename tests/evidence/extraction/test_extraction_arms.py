"""Arms in extraction: any number of arms, each measurement and adverse event in one, the sign convention,
SE/CI conversions, and field-named errors for bad input with nothing saved."""

import math

import pytest
from django.core.exceptions import ValidationError

from evidence.extraction.payload import payload_compare, payload_errors
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import (
    AdverseEvent,
    Intervention,
    Outcome,
    OutcomeMeasurement,
    Review,
    Study,
    StudyArm,
    TriageStage,
)
from tests.evidence import screening_support
from tests.evidence.screening_support import make_citation, make_outcomes

review = screening_support.review  # fixture
team = screening_support.team  # fixture


def chfs() -> Outcome:
    outcome, _ = Outcome.objects.get_or_create(
        review=Review.objects.order_by("pk").first(),
        code="chfs",
        defaults=dict(
            name="Cochin hand function scale (CHFS)",
            unit="points (0–90)",
            direction="lower_is_better",
            outcome_type="continuous",
            plausible_min=0,
            plausible_max=90,
        ),
    )
    return outcome


def khanna() -> dict:
    """STAR (Khanna 2022): ADRC 48 vs placebo 40; CHFS improved 11.0 ± 12.5 vs 8.9 ± 10.5 at 48 weeks, typed as
    change = follow-up − baseline (an improvement on CHFS is a fall)."""
    return {
        "study": {"label": "Khanna 2022", "design": "rct", "enrolment_n": 88, "contrast_basis": "change"},
        "arms": [
            {
                "label": "ADRC",
                "role": "intervention",
                "n_randomized": 48,
                "cell_source": "adipose_svf",
                "route": "local_injection",
                "donor": "autologous",
                "dose": "40 million cells",
            },
            {"label": "placebo", "role": "comparator", "n_randomized": 40, "description": "Lactated Ringer's"},
        ],
        "measurements": [
            {
                "outcome": "chfs",
                "timepoint_months": 12,  # 48 weeks (Cui counts 24 weeks as 6 months)
                "arm": arm,
                "data_format": "change",
                "change_mean": mean,
                "change_sd": sd,
                "source_location": "Abstract",
            }
            for arm, mean, sd in (("ADRC", -11.0, 12.5), ("placebo", -8.9, 10.5))
        ],
        "adverse_events": [
            {"term": "Injection-site pain", "arm": "ADRC", "patients_with_event": 5, "patients_at_risk": 48},
            {"term": "Injection-site pain", "arm": "placebo", "patients_with_event": 3, "patients_at_risk": 40},
        ],
    }


def reconcile(review, team, payload, n=1):
    entry = make_citation(review, n, stage=TriageStage.EXTRACTION)
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=payload, submit=True)
    return extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=payload)


def test_a_two_arm_trial_reconciles_into_one_study_with_its_arms(review, team):
    chfs()

    study = reconcile(review, team, khanna())

    assert Study.objects.count() == 1
    arms = {arm.label: arm for arm in study.arms.all()}
    assert (arms["ADRC"].role, arms["ADRC"].n_randomized) == ("intervention", 48)
    assert (arms["placebo"].role, arms["placebo"].n_randomized) == ("comparator", 40)
    placebo = OutcomeMeasurement.objects.get(study=study, study_arm=arms["placebo"])
    assert (placebo.change_mean, placebo.change_n, placebo.effect_orientation) == (-8.9, 40, "followup_minus_baseline")
    assert "placebo arm's n" in placebo.conversion_method  # n not stated for the outcome: the arm's n, said so
    assert Intervention.objects.get(study=study).arm == "ADRC"
    assert AdverseEvent.objects.filter(study=study).count() == 2


def test_an_se_or_ci_becomes_an_sd(review, team):
    make_outcomes()
    payload = {
        "study": {"label": "Li 2022", "design": "single_arm_before_after", "enrolment_n": 20},
        "intervention": {"cell_source": "umbilical_cord_msc", "route": "intravenous"},
        "measurements": [
            {
                "outcome": "mrss",
                "timepoint_months": 6,
                "data_format": "change",
                "change_mean": -4.0,
                "change_se": 1.5,
                "change_n": 20,
            },
            {
                "outcome": "mrss",
                "timepoint_months": 12,
                "data_format": "change",
                "change_mean": -5.0,
                "change_ci_lb": -7.0,
                "change_ci_ub": -3.0,
                "change_n": 20,
            },
        ],
    }

    study = reconcile(review, team, payload)

    at_6, at_12 = OutcomeMeasurement.objects.filter(study=study).order_by("timepoint_months")
    assert at_6.change_sd == pytest.approx(1.5 * math.sqrt(20)) and "SE·√n" in at_6.conversion_method
    assert at_12.change_sd == pytest.approx(math.sqrt(20) * 4.0 / (2 * 2.093024054408263))  # t(0.975, 19)
    assert at_6.study_arm == at_12.study_arm == StudyArm.objects.get(study=study, label="MSC")


def without(payload: dict, **changes) -> dict:
    for path, value in changes.items():
        section, index, name = path.split("__")
        payload[section][int(index)][name] = value
    return payload


BAD = [
    (
        "arm without n",
        lambda p: without(p, arms__1__n_randomized=None),
        "arms[placebo].n_randomized: give the number randomized",
    ),
    (
        "contrast without comparator",
        lambda p: {**p, "arms": p["arms"][:1], "measurements": p["measurements"][:1], "adverse_events": []},
        "arms: a between-arm contrast needs a comparator arm",
    ),
    (
        "measurement naming no arm",
        lambda p: without(p, measurements__1__arm=None),
        "Measurement 2: arm: name the arm it belongs to; this study has 2 arms (ADRC, placebo).",
    ),
    (
        "change sign contradicts",
        lambda p: without(
            p,
            measurements__0__baseline_mean=40.0,
            measurements__0__followup_mean=29.0,
            measurements__0__change_mean=11.0,
        ),
        "Measurement 1: change_mean: 11 contradicts its means: change = follow-up − baseline = 29 − 40 = -11.",
    ),
    ("unknown arm", lambda p: without(p, measurements__0__arm="MSC"), "arm: “MSC” is not one of this study's arms"),
    ("analysed above randomized", lambda p: without(p, arms__0__n_analysed=50), "arms[ADRC].n_analysed: 50 analysed"),
]


@pytest.mark.parametrize(("case", "spoil", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_arm_input_is_a_field_named_error_and_nothing_is_saved(review, team, case, spoil, message):
    chfs()
    bad = spoil(khanna())

    errors = payload_errors(payload=bad, review=review)
    assert any(message in error for error in errors), errors
    entry = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    for extractor in ("ext1", "ext2"):
        extraction_draft_save(review_citation=entry, extractor=team[extractor], payload=khanna(), submit=True)
    with pytest.raises(ValidationError):
        extraction_reconcile(review_citation=entry, reconciler=team["senior"], payload=bad)
    assert not Study.objects.exists() and not StudyArm.objects.exists() and not OutcomeMeasurement.objects.exists()


def test_arms_are_compared_by_name(review):
    first, second = khanna(), khanna()
    second["arms"][1]["n_randomized"] = 41

    differing = [c.path for c in payload_compare([first, second]) if c.differs]

    assert differing == ["arms[placebo].n_randomized"]


def form_data(**fields) -> dict:
    data = {
        f"{prefix}-{name}": value
        for prefix in ("arm", "m", "ae")
        for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
    }
    data.update(fields)
    return data


def khanna_post(**changes) -> dict:
    data = form_data(
        **{
            "study-label": "Khanna 2022",
            "study-design": "rct",
            "study-enrolment_n": "88",
            "study-contrast_basis": "change",
            "arm-TOTAL_FORMS": "2",
            "arm-0-label": "ADRC",
            "arm-0-role": "intervention",
            "arm-0-n_randomized": "48",
            "arm-0-cell_source": "adipose_svf",
            "arm-0-route": "local_injection",  # a cell arm names its route at submit (issue 20), not only at reconcile
            "arm-1-label": "placebo",
            "arm-1-role": "comparator",
            "arm-1-n_randomized": "40",
            "m-TOTAL_FORMS": "2",
            **{
                f"m-{i}-{name}": value
                for i, arm, mean in ((0, "ADRC", "-11.0"), (1, "placebo", "-8.9"))
                for name, value in (
                    ("outcome", "chfs"),
                    ("timepoint_months", "12"),
                    ("arm", arm),
                    ("data_format", "change"),
                    ("change_mean", mean),
                    ("change_sd", "12.5"),
                )
            },
            "submit": "1",
        }
    )
    data.update(changes)
    return data


def test_the_draft_page_saves_any_number_of_arms(review, team, client):
    from django.urls import reverse

    from evidence.models import ExtractionDraft

    chfs()
    entry = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    client.force_login(team["ext1"])
    url = reverse("admin:extraction_draft", args=[review.pk, entry.pk])

    page = client.get(url).content.decode()
    assert "change = follow-up − baseline" in page

    response = client.post(url, khanna_post())
    assert response.status_code == 302
    draft = ExtractionDraft.objects.get(review_citation=entry)
    assert [arm["label"] for arm in draft.payload["arms"]] == ["ADRC", "placebo"]
    assert draft.status == "submitted"


def test_the_draft_page_names_the_bad_field_and_keeps_nothing(review, team, client):
    from django.urls import reverse

    from evidence.models import ExtractionDraft

    chfs()
    entry = make_citation(review, 1, stage=TriageStage.EXTRACTION)
    client.force_login(team["ext1"])
    url = reverse("admin:extraction_draft", args=[review.pk, entry.pk])

    response = client.post(url, khanna_post(**{"arm-1-n_randomized": "", "m-1-arm": ""}))

    assert response.status_code == 200
    page = response.content.decode().lower()  # the admin capitalises each message
    assert "arms[placebo].n_randomized: give the number randomized" in page
    assert "measurement 2: arm: name the arm it belongs to" in page
    assert not ExtractionDraft.objects.filter(review_citation=entry, status="submitted").exists()


def test_a_median_in_an_arm_takes_the_arms_n_for_its_conversion(review, team):
    chfs()
    payload = khanna()
    payload["measurements"][1] = {
        "outcome": "chfs",
        "timepoint_months": 12,
        "arm": "placebo",
        "data_format": "median",
        "median_of": "change",
        "median": -8.0,
        "q1": -15.0,
        "q3": -2.0,
    }

    study = reconcile(review, team, payload)

    placebo = OutcomeMeasurement.objects.get(study=study, arm="placebo")
    assert placebo.change_n == 40 and placebo.change_mean is not None and "Wan 2014" in placebo.conversion_method
