"""A database a reader must see only part of: the seeded review A with published versions 0 and 1 and an
unpublished draft 2, studies of A in every workflow state, and a review B that was never published.

Everything a reader must never see carries a marker starting with ``LEAK-`` (or names the reviewer), so a
test can search every public body for ``LEAK_MARKERS``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone

from evidence.models import (
    AdverseEvent,
    Citation,
    CitationOrigin,
    DraftStatus,
    ExtractionDraft,
    Outcome,
    OutcomeMeasurement,
    PooledResult,
    QualityAssessment,
    Review,
    ReviewCitation,
    ReviewMembership,
    ReviewVersion,
    ScreeningDecision,
    Study,
    StudyApproval,
    StudyReport,
    StudyResult,
    StudyStatus,
    TriageStage,
    VersionKind,
)

REVIEWER = {
    "username": "leak-reviewer-wq",
    "first_name": "Wilhelmina",
    "last_name": "Quackenbush",
    "email": "wilhelmina.q@private.example",
}
LEAK_MARKERS = [
    "LEAK-",
    REVIEWER["username"],
    REVIEWER["first_name"],
    REVIEWER["last_name"],
    REVIEWER["email"],
]


@dataclass
class PublicWorld:
    review: Review
    other: Review
    published_study: Study  # included and in version 1: public
    hidden_studies: dict[str, Study]  # state -> a study of A a reader must not reach
    other_study: Study  # B's included study
    draft_version: ReviewVersion  # A's version 2, never published


_citation_n = iter(range(1, 1000))


def _citation(review: Review, title: str, stage: str, **fields) -> ReviewCitation:
    n = next(_citation_n)
    citation = Citation.objects.create(
        pmid=str(88000000 + n),
        title=title,
        first_author="Author",
        publication_year=2024,
        abstract=f"{title} abstract",
        origin=CitationOrigin.SEARCH,
        origin_note=f"LEAK-ORIGIN-NOTE-{n}",
    )
    return ReviewCitation.objects.create(review=review, citation=citation, stage=stage, **fields)


def _study(review: Review, label: str, status: str, citation_stage: str, **fields) -> Study:
    study = Study.objects.create(
        review=review,
        label=label,
        design="rct",
        status=status,
        design_detail=f"{label} design detail",
        data_quality_notes="internal: numbers doubtful, ask author (LEAK-INTERNAL-DQ)",
        population_notes="LEAK-INTERNAL-POPULATION",
        **fields,
    )
    review_citation = _citation(review, f"{label} report title", citation_stage)
    StudyReport.objects.create(
        study=study, citation=review_citation.citation, is_main_report=True, note="LEAK-INTERNAL-REPORT-NOTE"
    )
    mrss = Outcome.objects.get(code="mrss")
    OutcomeMeasurement.objects.create(
        study=study, outcome=mrss, timepoint_months=6, data_format="change", change_mean=-4.25, change_sd=2.5,
        change_n=12, notes="LEAK-INTERNAL-MEASUREMENT-NOTE", source_location=f"{label}-table",
    )  # fmt: skip
    AdverseEvent.objects.create(
        study=study, term=f"{label} event", patients_with_event=1, patients_at_risk=12, note="LEAK-INTERNAL-AE-NOTE"
    )
    return study


def _published_version_1(review: Review, studies: list[Study]) -> ReviewVersion:
    """Version 1: two seed studies and ``studies`` (as the version saw them), one computed mRSS row."""
    version = ReviewVersion.objects.create(
        review=review,
        number=1,
        kind=VersionKind.COMPUTED,
        published_at=timezone.now(),
        trigger="study approved",
        n_studies=len(studies),
        n_patients=24,
        studies=[
            {"id": s.id, "label": f"Study {i}", "year": 2024, "n": 12, "flags": []} for i, s in enumerate(studies)
        ],
    )
    row = PooledResult.objects.create(
        version=version, outcome=Outcome.objects.get(code="mrss"), timepoint_months=6, k=len(studies),
        n_participants=24, effect_measure="MD", model="REML", estimate=-4.0, ci_lb=-6.0, ci_ub=-2.0, computed=True,
    )  # fmt: skip
    for i, study in enumerate(studies):
        StudyResult.objects.create(
            pooled_result=row, study=study, study_label=f"Study {i}", publication_year=2024, n=12, yi=-4.0,
            vi=1.0, ci_lb=-6.0, ci_ub=-2.0, weight=100 / len(studies), derivation="change from baseline",
        )  # fmt: skip
    return version


def _reconciled_since(study: Study) -> None:
    """A companion report reconciled into the published study after version 1: new numbers, not yet in any
    published version (the extraction service writes them straight into the study's rows)."""
    OutcomeMeasurement.objects.create(
        study=study, outcome=Outcome.objects.get(code="mrss"), timepoint_months=12, data_format="change",
        change_mean=-7.75, change_sd=3.5, change_n=12, source_location="LEAK-RECONCILED-SINCE-V1",
    )  # fmt: skip
    changed = study.measurements.get(timepoint_months=6)
    changed.source_location = "LEAK-EDITED-SINCE-V1"
    changed.save()
    AdverseEvent.objects.create(study=study, term="LEAK-EVENT-SINCE-V1", patients_with_event=2, patients_at_risk=12)


def _draft_version_2(review: Review, studies: list[Study]) -> ReviewVersion:
    version = ReviewVersion.objects.create(
        review=review, number=2, kind=VersionKind.COMPUTED, published_at=None, trigger="LEAK-DRAFT-TRIGGER",
        methods_note="LEAK-DRAFT-METHODS", n_studies=len(studies),
        studies=[{"id": s.id, "label": s.label, "year": 2024, "n": 12, "flags": []} for s in studies],
    )  # fmt: skip
    PooledResult.objects.create(
        version=version, outcome=Outcome.objects.get(code="mrss"), timepoint_months=6, k=1, effect_measure="MD",
        estimate=-9.0, ci_lb=-10.0, ci_ub=-8.0, notes="LEAK-DRAFT-ROW",
    )  # fmt: skip
    return version


def _other_review() -> tuple[Review, Study]:
    other = Review.objects.create(
        slug="other-review",
        title="LEAK-B-TITLE",
        population="LEAK-B-POPULATION",
        pubmed_query="LEAK-B-QUERY",
        search_start_date=datetime.date(2024, 1, 1),
    )
    study = _study(other, "LEAK-B-STUDY", StudyStatus.INCLUDED, TriageStage.INCLUDED)
    _citation(other, "LEAK-B-PENDING-CITATION", TriageStage.TITLE_ABSTRACT)
    ReviewVersion.objects.create(
        review=other, number=0, kind=VersionKind.COMPUTED, trigger="LEAK-B-VERSION", studies=[{"id": study.id}]
    )
    return other, study


def public_world_build(review: Review) -> PublicWorld:
    """``review`` is the seeded review (version 0 published)."""
    reviewer = get_user_model().objects.create_user(**REVIEWER)
    ReviewMembership.objects.create(review=review, user=reviewer, role="editor")
    # A published study's own fields are public: only its internal notes carry markers.
    published = _study(review, "Published 2024", StudyStatus.INCLUDED, TriageStage.INCLUDED)
    seed_study = review.studies.filter(status=StudyStatus.INCLUDED).order_by("year", "label").first()
    withdrawn_after = _study(review, "LEAK-WITHDRAWN-AFTER-V1", StudyStatus.WITHDRAWN, TriageStage.INCLUDED)
    _published_version_1(review, [seed_study, published, withdrawn_after])
    _reconciled_since(published)
    hidden = {
        "extraction": _study(review, "LEAK-EXTRACTION", StudyStatus.EXTRACTION, TriageStage.EXTRACTION),
        "approval": _study(review, "LEAK-APPROVAL", StudyStatus.EXTRACTION, TriageStage.EXTRACTION),
        "withdrawn": _study(review, "LEAK-WITHDRAWN", StudyStatus.WITHDRAWN, TriageStage.INCLUDED),
        "withdrawn after version 1": withdrawn_after,
        "approved, not yet published": _study(review, "LEAK-UNPUBLISHED", StudyStatus.INCLUDED, TriageStage.INCLUDED),
    }
    approval_citation = hidden["approval"].reports.get().citation.review_citations.get(review=review)
    ExtractionDraft.objects.create(
        review_citation=approval_citation, extractor=reviewer, status=DraftStatus.RECONCILED,
        study=hidden["approval"], payload={"study": {"label": "LEAK-DRAFT-PAYLOAD"}},
    )  # fmt: skip
    StudyApproval.objects.create(study=seed_study, editor=reviewer, action="send_back", comment="LEAK-APPROVAL-NOTE")
    for stage in (TriageStage.TITLE_ABSTRACT, TriageStage.FULL_TEXT):
        pending = _citation(review, f"LEAK-SCREENING-{stage}", stage)
        ScreeningDecision.objects.create(
            review_citation=pending, reviewer=reviewer, stage=stage, decision="exclude",
            exclusion_reason="LEAK-VOTE-REASON", note="LEAK-VOTE-NOTE",
        )  # fmt: skip
    _citation(review, "LEAK-EXCLUDED-CITATION", TriageStage.EXCLUDED, exclusion_reason="Not systemic sclerosis")
    QualityAssessment.objects.filter(study__review=review).update(assessor=reviewer)
    other, other_study = _other_review()
    return PublicWorld(
        review=review,
        other=other,
        published_study=published,
        hidden_studies=hidden,
        other_study=other_study,
        draft_version=_draft_version_2(review, [published, hidden["approved, not yet published"]]),
    )
