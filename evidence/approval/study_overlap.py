"""An editor resolves a study flagged as overlapping another: a report of the existing study, or a distinct cohort.

A study is flagged for a shared registry id or DOI, or (a weaker flag, the same choice) for the same first author
or centre with overlapping recruitment years. Approval of a flagged study is refused until the editor chooses. Linking moves the flagged study's reports,
measurements and adverse events to the existing study (they supersede its values at the time points they
report) and withdraws the flagged study, so its patients are never added twice; confirming a distinct cohort
needs a reason, shown on the public study page.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from evidence.approval.recompute_request import on_study_approved
from evidence.core.roles import review_role_require
from evidence.models import (
    AdverseEvent,
    ApprovalAction,
    DraftStatus,
    OutcomeMeasurement,
    ReviewCitation,
    Study,
    StudyApproval,
    StudyArm,
    StudyReport,
    StudyStatus,
    TriageStage,
)
from evidence.screening.selectors import APPROVE
from evidence.surveillance.search.flags import study_overlaps


def overlap_resolution_require(*, study: Study, distinct_cohort_reason: str) -> str:
    """The reason to store for approving ``study`` as a cohort of its own; refuses a flagged study without one."""
    overlaps = study_overlaps(study=study)
    reason = (distinct_cohort_reason or "").strip() or study.distinct_cohort_reason  # judged at an earlier approval
    if overlaps and not reason:
        raise ValidationError(
            {
                "distinct_cohort_reason": f"{study.label} may not be a new cohort: "
                + "; ".join(overlap.reason for overlap in overlaps)
                + ". Link it as a report of the existing study, or confirm a distinct cohort and say why."
            }
        )
    return reason if overlaps else study.distinct_cohort_reason


def _target_arm(arm: StudyArm, existing: Study, user) -> StudyArm:
    """The existing study's arm with the same label, else its only arm of the same role, else a copy."""
    same = existing.arms.filter(label=arm.label).first()
    if same is None:
        of_role = list(existing.arms.filter(role=arm.role))
        same = of_role[0] if len(of_role) == 1 else None
    if same is not None:
        return same
    copy = StudyArm(study=existing, label=arm.label, role=arm.role, description=arm.description)
    copy.n_randomized, copy.n_analysed = arm.n_randomized, arm.n_analysed
    return _saved(copy, user)


def _saved(instance, user):
    instance.full_clean()
    instance._history_user = user
    instance.save()
    return instance


def _measurements_move(study: Study, existing: Study, arms: dict[int, StudyArm], user) -> None:
    """Each measurement supersedes the existing study's at the same outcome, time point and arm."""
    for measurement in OutcomeMeasurement.objects.filter(study=study).select_related("study_arm"):
        arm = arms.get(measurement.study_arm_id)
        label = arm.label if arm else measurement.arm
        key = dict(study=existing, outcome_id=measurement.outcome_id, timepoint_months=measurement.timepoint_months)
        superseded = OutcomeMeasurement.objects.filter(**key, arm=label).first()
        if superseded is not None:
            measurement.notes = "\n".join(
                filter(None, [measurement.notes, f"Supersedes the value reported by {existing.label}."])
            )
            superseded._history_user = user
            superseded._change_reason = f"superseded by a later report ({study.label})"
            superseded.delete()
        measurement.study, measurement.study_arm, measurement.arm = existing, arm, label
        _saved(measurement, user)


def _adverse_events_move(study: Study, existing: Study, arms: dict[int, StudyArm], user) -> None:
    for event in AdverseEvent.objects.filter(study=study):
        arm = arms.get(event.study_arm_id)
        clash = AdverseEvent.objects.filter(study=existing, study_arm=arm, term=event.term, origin=event.origin)
        for superseded in clash:
            superseded._history_user = user
            superseded.delete()
        event.study, event.study_arm = existing, arm
        _saved(event, user)


def _reports_move(study: Study, existing: Study, user) -> None:
    for report in StudyReport.objects.filter(study=study):
        if not StudyReport.objects.filter(study=existing, citation=report.citation).exists():
            note = f"Linked as a report of {existing.label} (extracted as {study.label})"
            _saved(StudyReport(study=existing, citation=report.citation, is_main_report=False, note=note), user)
        report.delete()


@transaction.atomic
def study_link_as_report(*, study: Study, existing: Study, editor: AbstractBaseUser, comment: str = "") -> Study:
    """Approve a flagged study's extraction as a further report of ``existing``; returns ``existing``."""
    review_role_require(user=editor, review=study.review, roles=APPROVE, action="approve studies")
    locked = Study.objects.select_for_update().get(pk=study.pk)
    target = Study.objects.select_for_update().get(pk=existing.pk)
    reconciled = locked.extraction_drafts.filter(status=DraftStatus.RECONCILED).exists()
    if locked.status != StudyStatus.EXTRACTION or not reconciled:
        raise ValidationError("Only a study with a reconciled extraction, not yet approved, can be linked.")
    if target.review_id != locked.review_id or target.pk == locked.pk or target.status == StudyStatus.WITHDRAWN:
        raise ValidationError({"existing_study": "Choose another active study of this review."})
    arms = {arm.pk: _target_arm(arm, target, editor) for arm in locked.arms.all()}
    _measurements_move(locked, target, arms, editor)
    _adverse_events_move(locked, target, arms, editor)
    citations = list(locked.reports.values_list("citation_id", flat=True))
    _reports_move(locked, target, editor)
    locked.status, locked.merged_into = StudyStatus.WITHDRAWN, target
    _saved(locked, editor)
    for entry in ReviewCitation.objects.filter(review=locked.review, citation_id__in=citations):
        if entry.stage == TriageStage.EXTRACTION:
            entry.stage = TriageStage.INCLUDED
            entry._history_user = editor
            entry.save(update_fields=["stage", "updated_at"])
    note = f"Linked as a report of {target.label}; its patients are counted once, in {target.label}."
    approval = StudyApproval(
        study=locked, editor=editor, action=ApprovalAction.APPROVE, comment=" ".join(filter(None, [note, comment]))
    )
    _saved(approval, editor)
    review_id = locked.review_id
    transaction.on_commit(lambda: on_study_approved(review_id))
    return target
