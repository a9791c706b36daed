"""An editor approves a study's reconciled extraction (it enters the analysis) or sends it back."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from evidence.approval.recompute_request import on_study_approved
from evidence.approval.study_overlap import overlap_resolution_require
from evidence.core.roles import review_role_require
from evidence.models import (
    ApprovalAction,
    DraftStatus,
    ReviewCitation,
    Study,
    StudyApproval,
    StudyStatus,
    TriageStage,
)
from evidence.screening.selectors import APPROVE

logger = logging.getLogger(__name__)


def _reconciled_drafts(study: Study):
    return study.extraction_drafts.filter(status=DraftStatus.RECONCILED)


@transaction.atomic
def study_approve(
    *, study: Study, editor: AbstractBaseUser, comment: str = "", distinct_cohort_reason: str = ""
) -> StudyApproval:
    """extraction → included; its reports are included; recomputation is requested once this commits.

    A study flagged as overlapping another (shared registry id or DOI; weaker: same first author or centre with
    overlapping recruitment years) is approved as a cohort of its
    own only with ``distinct_cohort_reason``; otherwise the editor links it (``study_link_as_report``).
    """
    review_role_require(user=editor, review=study.review, roles=APPROVE, action="approve studies")
    locked = Study.objects.select_for_update().get(pk=study.pk)
    if locked.status != StudyStatus.EXTRACTION or not _reconciled_drafts(locked).exists():
        raise ValidationError("Only a study with a reconciled extraction, not yet approved, can be approved.")
    locked.distinct_cohort_reason = overlap_resolution_require(
        study=locked, distinct_cohort_reason=distinct_cohort_reason
    )
    locked.status = StudyStatus.INCLUDED
    locked.full_clean()
    locked._history_user = editor
    locked.save()
    for review_citation in ReviewCitation.objects.filter(
        review=locked.review, citation__study_reports__study=locked, stage=TriageStage.EXTRACTION
    ):
        review_citation.stage = TriageStage.INCLUDED
        review_citation._history_user = editor
        review_citation.save(update_fields=["stage", "updated_at"])
    approval = StudyApproval(study=locked, editor=editor, action=ApprovalAction.APPROVE, comment=comment)
    approval.full_clean()
    approval._history_user = editor
    approval.save()
    review_id = locked.review_id
    transaction.on_commit(lambda: on_study_approved(review_id))
    return approval


@transaction.atomic
def study_send_back(*, study: Study, editor: AbstractBaseUser, comment: str) -> StudyApproval:
    """Return a reconciled extraction to its extractors, saying why."""
    review_role_require(user=editor, review=study.review, roles=APPROVE, action="send studies back")
    if not (comment or "").strip():
        raise ValidationError({"comment": "Say what must change before the study can be approved."})
    locked = Study.objects.select_for_update().get(pk=study.pk)
    if locked.status != StudyStatus.EXTRACTION or not _reconciled_drafts(locked).exists():
        raise ValidationError("Only a reconciled extraction awaiting approval can be sent back.")
    for draft in _reconciled_drafts(locked):
        draft.status = DraftStatus.RETURNED
        draft._history_user = editor
        draft.save(update_fields=["status", "updated_at"])
    approval = StudyApproval(study=locked, editor=editor, action=ApprovalAction.SEND_BACK, comment=comment.strip())
    approval.full_clean()
    approval._history_user = editor
    approval.save()
    return approval
