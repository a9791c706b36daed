"""Two reviews, A (``alpha``) and B (``secretb``), with one row of every evidence model each, and one account
per role holding a membership in A only. Everything of B carries the marker ``secretb`` (its slug, titles,
labels, notes, its screener's name), so a page that leaks B contains that word.

Blinding in A: screener ``a-s1`` decided ``rc_blind`` alone (note ``BLINDNOTE``), and extractor ``a-x1`` holds
an unsubmitted draft on ``rc_draft`` (payload ``BLINDDRAFT``); nobody else in A may see either yet. On
``rc_done`` both screeners decided (a conflict, adjudicated) and on ``rc_extracted`` both extractors
submitted: seniors, editors and review admins may now see both.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

from evidence.core.roles import review_membership_create
from evidence.models import (
    AccessRefusal,
    Adjudication,
    AdverseEvent,
    ApprovalAction,
    Decision,
    DraftStatus,
    ExtractionDraft,
    FullText,
    GradeAssessment,
    Intervention,
    OutcomeMeasurement,
    PooledResult,
    QualityAssessment,
    QuarantinedRecord,
    RecomputeRun,
    Review,
    ReviewMembership,
    ReviewRole,
    ReviewSchedule,
    ReviewVersion,
    ScreeningDecision,
    ScreeningResolution,
    ScreeningStage,
    SearchRun,
    Study,
    StudyApproval,
    StudyReport,
    TriageStage,
)
from tests.evidence.screening_support import make_citation, make_outcomes

TA = ScreeningStage.TITLE_ABSTRACT
MARKER_B = "secretb"

# The matrix's roles; each but the last three holds one membership in review A.
ROLE_OF = {
    "screener": ReviewRole.SCREENER,
    "senior": ReviewRole.SENIOR_REVIEWER,
    "extractor": ReviewRole.EXTRACTOR,
    "editor": ReviewRole.EDITOR,
    "review_admin": ReviewRole.ADMIN,
}
ROLES = ["anonymous", *ROLE_OF, "staff_no_membership", "superuser"]


@dataclass
class World:
    reviews: dict[str, Review]
    users: dict[str, object]
    objects: dict[str, dict[str, object]] = field(default_factory=dict)  # model name -> {"A": obj, "B": obj}
    blinded: dict[str, object] = field(default_factory=dict)  # model name -> A's row nobody else may see yet
    rc: dict[str, object] = field(default_factory=dict)


def _user(username: str, **flags):
    return get_user_model().objects.create_user(username, f"{username}@example.org", None, **flags)


def _member(username: str, review: Review, role: str):
    user = _user(username)
    review_membership_create(review=review, user=user, role=role)
    user.refresh_from_db()
    return user


def _review(slug: str) -> Review:
    return Review.objects.create(
        slug=slug,
        title=f"Review {slug}",
        pubmed_query=f"{slug} scleroderma AND mesenchymal",
        search_start_date=datetime.date(2021, 2, 1),
        exclusion_reasons=["Not systemic sclerosis"],
    )


def _study_rows(world: World, key: str, review: Review, rc, outcome) -> Study:
    tag = review.slug
    study = Study.objects.create(review=review, label=f"{tag} study 2020", design="case_series", country=tag)
    rows = {
        "study": study,
        "studyreport": StudyReport.objects.create(study=study, citation=rc.citation, is_main_report=True),
        "intervention": Intervention.objects.create(
            study=study, cell_source="adipose_svf", route="local_injection", dose=f"{tag} dose"
        ),
        "outcomemeasurement": OutcomeMeasurement.objects.create(
            study=study, outcome=outcome, timepoint_months=6, data_format="baseline_followup", notes=f"{tag} note"
        ),
        "adverseevent": AdverseEvent.objects.create(study=study, term=f"{tag} rash", patients_at_risk=10),
        "qualityassessment": QualityAssessment.objects.create(study=study, instrument="nos", assessor_label=tag),
    }
    for name, row in rows.items():
        world.objects.setdefault(name, {})[key] = row
    return study


def _ledgers(world: World, key: str, review: Review, outcome) -> None:
    tag = review.slug
    version = ReviewVersion.objects.create(review=review, number=1, kind="computed", trigger=f"{tag} trigger")
    rows = {
        "review": review,
        "reviewversion": version,
        "pooledresult": PooledResult.objects.create(
            version=version,
            outcome=outcome,
            timepoint_months=6,
            k=2,
            effect_measure="MD",
            estimate=1.5,
            ci_lb=0.5,
            ci_ub=2.5,
            subgroup_value=tag,
        ),
        "recomputerun": RecomputeRun.objects.create(review=review, error=f"{tag} error"),
        "gradeassessment": GradeAssessment.objects.create(
            review=review, outcome=outcome, timepoint_months=6, certainty="low", risk_of_bias=tag
        ),
        "searchrun": SearchRun.objects.create(
            review=review,
            query=f"{tag} query",
            window_start=datetime.date(2024, 1, 1),
            window_end=datetime.date(2024, 1, 2),
            triggered_by=tag,
        ),
    }
    rows["reviewschedule"] = ReviewSchedule.objects.create(review=review, time_of_day=datetime.time(4, 5))
    rows["quarantinedrecord"] = QuarantinedRecord.objects.create(
        review=review, search_run=rows["searchrun"], pmid="99", stage="parse", reason=f"{tag} reason", raw_xml="<x/>"
    )
    for name, row in rows.items():
        world.objects.setdefault(name, {})[key] = row


def _screening(world: World, key: str, review: Review, s1, s2, senior) -> None:
    """A conflict both screeners decided, adjudicated and resolved."""
    tag = review.slug
    rc = make_citation(review, 2, title=f"{tag} decided citation")
    first = ScreeningDecision.objects.create(
        review_citation=rc, reviewer=s1, stage=TA, decision=Decision.INCLUDE, note=f"{tag} DONENOTE"
    )
    ScreeningDecision.objects.create(review_citation=rc, reviewer=s2, stage=TA, decision=Decision.MAYBE)
    adjudication = Adjudication.objects.create(
        review_citation=rc, stage=TA, adjudicator=senior, decision=Decision.INCLUDE, reason=f"{tag} reason"
    )
    resolution = ScreeningResolution.objects.create(
        review_citation=rc, stage=TA, outcome=Decision.INCLUDE, adjudication=adjudication
    )
    rows = {"screeningdecision": first, "adjudication": adjudication, "screeningresolution": resolution}
    for name, row in rows.items():
        world.objects.setdefault(name, {})[key] = row
    world.rc[f"done_{key}"] = rc


def _extraction(world: World, key: str, review: Review, study: Study, x1, x2, editor) -> None:
    """Both extractors submitted on one citation; approved by the editor."""
    tag = review.slug
    rc = make_citation(review, 3, title=f"{tag} extracted citation", stage=TriageStage.EXTRACTION)
    first = ExtractionDraft.objects.create(
        review_citation=rc, extractor=x1, status=DraftStatus.SUBMITTED, payload={"study": {"label": f"{tag} X1"}}
    )
    ExtractionDraft.objects.create(review_citation=rc, extractor=x2, status=DraftStatus.SUBMITTED)
    approval = StudyApproval.objects.create(
        study=study, editor=editor, action=ApprovalAction.APPROVE, comment=f"{tag} ok"
    )
    world.objects.setdefault("extractiondraft", {})[key] = first
    world.objects.setdefault("studyapproval", {})[key] = approval
    world.rc[f"extracted_{key}"] = rc


def _registry_rows(world: World, key: str, review: Review) -> None:
    """Trial-registry surveillance: a search run, a registration and the task it raised."""
    from evidence.models import Registration, RegistrySearchRun, RegistryTask

    tag = review.slug
    run = RegistrySearchRun.objects.create(
        review=review,
        query={"condition": f"{tag} condition"},
        window_start=datetime.date(2024, 1, 1),
        window_end=datetime.date(2024, 1, 2),
        status="succeeded",
        triggered_by=tag,
    )
    registration = Registration.objects.create(
        review=review, nct_id="NCT07360808", brief_title=f"{tag} registration", overall_status="RECRUITING"
    )
    task = RegistryTask.objects.create(
        review=review, registration=registration, kind="results_posted", key="results", message=f"{tag} task"
    )
    for name, row in {"registrysearchrun": run, "registration": registration, "registrytask": task}.items():
        world.objects.setdefault(name, {})[key] = row


def _full_text(world: World, key: str, rc) -> None:
    """A PDF attached to the review's first citation; B's PDF carries the marker, so serving it leaks it."""
    full_text = FullText(review_citation=rc, url=f"https://example.org/{rc.review.slug}", pdf_name=f"{key}.pdf")
    full_text.pdf.save(f"{key}.pdf", ContentFile(f"%PDF-1.4 {rc.review.slug} full text".encode()), save=False)
    full_text.save()
    world.objects.setdefault("fulltext", {})[key] = full_text


def _review_world(world: World, key: str, review: Review, users: dict, outcome) -> None:
    rc = make_citation(review, 1, title=f"{review.slug} citation")
    world.objects.setdefault("citation", {})[key] = rc.citation
    world.objects.setdefault("reviewcitation", {})[key] = rc
    world.rc[key] = rc
    study = _study_rows(world, key, review, rc, outcome)
    _ledgers(world, key, review, outcome)
    _screening(world, key, review, users["s1"], users["s2"], users["senior"])
    _extraction(world, key, review, study, users["x1"], users["x2"], users["editor"])
    _registry_rows(world, key, review)
    _full_text(world, key, rc)
    world.objects.setdefault("reviewmembership", {})[key] = ReviewMembership.objects.get(
        review=review, user=users["s1"]
    )


def _blinded_rows(world: World, a: Review, s1, x1) -> None:
    rc_blind = make_citation(a, 4, title="alpha awaiting second screener")
    world.blinded["screeningdecision"] = ScreeningDecision.objects.create(
        review_citation=rc_blind, reviewer=s1, stage=TA, decision=Decision.EXCLUDE,
        exclusion_reason="Not systemic sclerosis", note="BLINDNOTE by s1",
    )  # fmt: skip
    rc_draft = make_citation(a, 5, title="alpha being extracted", stage=TriageStage.EXTRACTION)
    world.blinded["extractiondraft"] = ExtractionDraft.objects.create(
        review_citation=rc_draft, extractor=x1, payload={"study": {"label": "BLINDDRAFT by x1"}}
    )
    world.rc["blind"], world.rc["draft"] = rc_blind, rc_draft


def build_world() -> World:
    a, b = _review("alpha"), _review(MARKER_B)
    outcome = make_outcomes(a)["mrss"]
    users = {role: _member(f"a-{role}", a, ROLE_OF[role]) for role in ROLE_OF}
    # The matrix's screener and extractor are the *second* of their pair: the first decided/drafted first.
    team_a = {
        "s1": _member("a-s1", a, ReviewRole.SCREENER),
        "s2": users["screener"],
        "senior": users["senior"],
        "x1": _member("a-x1", a, ReviewRole.EXTRACTOR),
        "x2": users["extractor"],
        "editor": users["editor"],
    }
    team_b = {
        "s1": _member(f"{MARKER_B}-s1", b, ReviewRole.SCREENER),
        "s2": _member(f"{MARKER_B}-s2", b, ReviewRole.SCREENER),
        "senior": _member(f"{MARKER_B}-senior", b, ReviewRole.SENIOR_REVIEWER),
        "x1": _member(f"{MARKER_B}-x1", b, ReviewRole.EXTRACTOR),
        "x2": _member(f"{MARKER_B}-x2", b, ReviewRole.EXTRACTOR),
        "editor": _member(f"{MARKER_B}-editor", b, ReviewRole.EDITOR),
    }
    staff = _user("a-staff", is_staff=True)
    # The worst case: every evidence permission granted site-wide, and still no membership.
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="evidence"))
    users["staff_no_membership"] = staff
    users["superuser"] = get_user_model().objects.create_superuser("a-root", "root@example.org", None)
    world = World(reviews={"A": a, "B": b}, users=users)
    world.objects["outcome"] = {"A": outcome}
    world.objects["accessrefusal"] = {"A": AccessRefusal.objects.create(method="GET", path="/admin/", status=403)}
    _review_world(world, "A", a, team_a, outcome)
    _review_world(world, "B", b, team_b, outcome)
    _blinded_rows(world, a, team_a["s1"], team_a["x1"])
    return world
