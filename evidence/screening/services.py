"""Dual screening: record a reviewer's decision, resolve agreement, adjudicate conflicts, undo, rank.

Concurrency: every write locks the ReviewCitation row first (``select_for_update``), so two reviewers
deciding the same citation at once are serialised: the later one sees the earlier decision. The unique
constraints on ScreeningDecision and ScreeningResolution are the last line: an IntegrityError becomes a
clear ValidationError and nothing is half-written.

"Report not retrieved" (full text) is a decision like an exclusion, with the PRISMA reason "not retrieved"
(FullTextExclusionReason.NOT_RETRIEVED), recorded by a reviewer who tried to obtain the report and could not.
Two reviewers who both could not retrieve it agree, and the report leaves the stage. One reviewer who read and
included it (or excluded it for another reason) against one who could not retrieve it is a conflict like any
other: a senior reviewer adjudicates (and can attach the full text the other found). PRISMA 2020 counts a
report that left full-text screening with this reason as "reports not retrieved", never as assessed.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from evidence.core.dispatch import task_named
from evidence.core.roles import review_role_require
from evidence.models import (
    Adjudication,
    Decision,
    FullTextExclusionReason,
    Review,
    ReviewCitation,
    ScreeningDecision,
    ScreeningResolution,
    ScreeningStage,
    TriageStage,
)
from evidence.screening import ranking
from evidence.screening.selectors import ADJUDICATE, SCREEN

logger = logging.getLogger(__name__)

# Retrain the ranking model after every this many title/abstract decisions in a review.
RANKING_BATCH = 10

NEXT_STAGE = {
    ScreeningStage.TITLE_ABSTRACT: TriageStage.FULL_TEXT,
    ScreeningStage.FULL_TEXT: TriageStage.EXTRACTION,
}


def _locked(review_citation_id: int) -> ReviewCitation:
    return ReviewCitation.objects.select_for_update().select_related("review").get(pk=review_citation_id)


def _exclusion_reason_clean(*, review: Review, stage: str, decision: str, reason: str) -> str:
    reason = (reason or "").strip()
    if decision != Decision.EXCLUDE:
        return ""
    if stage == ScreeningStage.FULL_TEXT:
        if reason not in FullTextExclusionReason.values:
            allowed = ", ".join(label for label in FullTextExclusionReason.labels)
            raise ValidationError({"exclusion_reason": f"A full-text exclusion needs a PRISMA reason: {allowed}."})
        return reason
    if reason and review.exclusion_reasons and reason not in review.exclusion_reasons:
        allowed = "; ".join(review.exclusion_reasons)
        raise ValidationError({"exclusion_reason": f"“{reason}” is not one of this review's reasons: {allowed}."})
    return reason


def _stage_check(review_citation: ReviewCitation, stage: str) -> None:
    if stage not in ScreeningStage.values:
        raise ValidationError(f"Unknown stage {stage!r}; use one of {', '.join(ScreeningStage.values)}.")
    if review_citation.stage != stage:
        raise ValidationError(
            f"This citation is no longer at {ScreeningStage(stage).label} "
            f"(it is now: {review_citation.get_stage_display()}); your decision was not recorded."
        )


@transaction.atomic
def screening_decision_record(
    *,
    review_citation: ReviewCitation,
    reviewer: AbstractBaseUser,
    stage: str,
    decision: str,
    exclusion_reason: str = "",
    note: str = "",
) -> ScreeningDecision:
    """Record one reviewer's blinded decision; two agreeing decisions move the citation on."""
    review_role_require(user=reviewer, review=review_citation.review, roles=SCREEN, action="screen")
    locked = _locked(review_citation.pk)
    _stage_check(locked, stage)
    earlier = list(locked.screening_decisions.filter(stage=stage))
    if any(d.reviewer_id == reviewer.pk for d in earlier):
        raise ValidationError("You have already recorded a decision on this citation at this stage.")
    if len(earlier) >= 2:
        raise ValidationError("Two reviewers have already decided this citation; your decision was not recorded.")
    reason = _exclusion_reason_clean(review=locked.review, stage=stage, decision=decision, reason=exclusion_reason)
    screening_decision = ScreeningDecision(
        review_citation=locked, reviewer=reviewer, stage=stage, decision=decision, exclusion_reason=reason, note=note
    )
    screening_decision.full_clean()
    screening_decision._history_user = reviewer
    try:
        with transaction.atomic():
            screening_decision.save()
    except IntegrityError as error:
        raise ValidationError("You have already recorded a decision on this citation at this stage.") from error
    _resolve_if_agreed(locked, stage, [*earlier, screening_decision], user=reviewer)
    _ranking_refresh_maybe(locked.review, stage)
    return screening_decision


def _agreed(decisions: list[ScreeningDecision], stage: str) -> tuple[str, str] | None:
    """(outcome, reason) when two decisions agree, else None (a conflict for the senior reviewer)."""
    if len(decisions) != 2:
        return None
    first, second = decisions
    if first.decision != second.decision or first.decision == Decision.MAYBE:
        return None
    if first.decision == Decision.INCLUDE:
        return Decision.INCLUDE, ""
    reasons = sorted({d.exclusion_reason for d in decisions if d.exclusion_reason})
    if stage == ScreeningStage.FULL_TEXT and len(reasons) > 1:
        return None  # PRISMA reports one reason per excluded full text: differing reasons are adjudicated
    return Decision.EXCLUDE, "; ".join(reasons)


def _resolve_if_agreed(review_citation: ReviewCitation, stage: str, decisions, *, user) -> None:
    agreed = _agreed(decisions, stage)
    if agreed is not None:
        _resolution_apply(review_citation, stage, outcome=agreed[0], exclusion_reason=agreed[1], user=user)


def _resolution_apply(
    review_citation: ReviewCitation, stage: str, *, outcome: str, exclusion_reason: str, user, adjudication=None
) -> ScreeningResolution:
    resolution = ScreeningResolution(
        review_citation=review_citation,
        stage=stage,
        outcome=outcome,
        exclusion_reason=exclusion_reason,
        adjudication=adjudication,
    )
    resolution.full_clean()
    resolution._history_user = user
    try:
        with transaction.atomic():
            resolution.save()
    except IntegrityError as error:
        raise ValidationError("This citation was resolved by someone else a moment ago; nothing changed.") from error
    if outcome == Decision.INCLUDE:
        review_citation.stage, review_citation.exclusion_reason = NEXT_STAGE[stage], ""
    else:
        review_citation.stage, review_citation.exclusion_reason = TriageStage.EXCLUDED, exclusion_reason[:200]
    review_citation._history_user = user
    review_citation.save(update_fields=["stage", "exclusion_reason", "updated_at"])
    return resolution


@transaction.atomic
def screening_decision_undo(*, review: Review, reviewer: AbstractBaseUser, stage: str) -> ScreeningDecision:
    """Delete the reviewer's latest decision at this stage, if it has not yet been resolved."""
    review_role_require(user=reviewer, review=review, roles=SCREEN, action="screen")
    latest = (
        ScreeningDecision.objects.filter(review_citation__review=review, reviewer=reviewer, stage=stage)
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is None:
        raise ValidationError("You have no decision to undo at this stage.")
    locked = _locked(latest.review_citation_id)
    if locked.stage != stage or locked.screening_resolutions.filter(stage=stage).exists():
        raise ValidationError("Your last decision has already been resolved (agreed or adjudicated); it stays.")
    latest._history_user = reviewer
    latest.delete()  # the historical record keeps who decided what, and who undid it
    return latest


@transaction.atomic
def adjudication_record(
    *,
    review_citation: ReviewCitation,
    adjudicator: AbstractBaseUser,
    stage: str,
    decision: str,
    reason: str,
    exclusion_reason: str = "",
) -> Adjudication:
    """The senior reviewer's final decision on a conflict, recorded with its reason."""
    review_role_require(user=adjudicator, review=review_citation.review, roles=ADJUDICATE, action="adjudicate")
    locked = _locked(review_citation.pk)
    _stage_check(locked, stage)
    decisions = list(locked.screening_decisions.filter(stage=stage))
    if len(decisions) < 2 or _agreed(decisions, stage) is not None:
        raise ValidationError("Only a conflict between two reviewers' decisions can be adjudicated.")
    if any(d.reviewer_id == adjudicator.pk for d in decisions):
        raise ValidationError("You screened this citation; another senior reviewer must adjudicate it.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why you resolved the conflict this way."})
    clean_reason = _exclusion_reason_clean(
        review=locked.review, stage=stage, decision=decision, reason=exclusion_reason
    )
    adjudication = Adjudication(
        review_citation=locked,
        stage=stage,
        adjudicator=adjudicator,
        decision=decision,
        exclusion_reason=clean_reason,
        reason=reason.strip(),
    )
    adjudication.full_clean()
    adjudication._history_user = adjudicator
    try:
        with transaction.atomic():
            adjudication.save()
    except IntegrityError as error:
        raise ValidationError("This conflict was adjudicated by someone else a moment ago.") from error
    _resolution_apply(
        locked, stage, outcome=decision, exclusion_reason=clean_reason, user=adjudicator, adjudication=adjudication
    )
    return adjudication


def _ranking_refresh_maybe(review: Review, stage: str) -> None:
    if stage != ScreeningStage.TITLE_ABSTRACT:
        return
    n = ScreeningDecision.objects.filter(review_citation__review=review, stage=stage).count()
    if n % RANKING_BATCH == 0:
        review_id = review.pk
        transaction.on_commit(lambda: _ranking_refresh_enqueue(review_id))


def _ranking_refresh_enqueue(review_id: int) -> None:
    task_named("evidence.screening_ranking_refresh").delay(review_id)


def _training_label(review_citation: ReviewCitation) -> int | None:
    """1 include / 0 exclude from title/abstract screening so far; None when undecided or split."""
    resolutions = [r for r in review_citation.screening_resolutions.all() if r.stage == ScreeningStage.TITLE_ABSTRACT]
    if resolutions:
        return int(resolutions[0].outcome == Decision.INCLUDE)
    if review_citation.stage in (TriageStage.FULL_TEXT, TriageStage.EXTRACTION, TriageStage.INCLUDED):
        return 1  # reached later stages without title/abstract decisions here (e.g. the seed's included reports)
    votes = {
        d.decision
        for d in review_citation.screening_decisions.all()
        if d.stage == ScreeningStage.TITLE_ABSTRACT and d.decision != Decision.MAYBE
    }
    return int(votes.pop() == Decision.INCLUDE) if len(votes) == 1 else None


@transaction.atomic
def screening_ranking_refresh(*, review: Review) -> ranking.Ranking:
    """Re-score every citation of the review; only relevance_score changes (ranking never excludes)."""
    rows = list(
        ReviewCitation.objects.filter(review=review)
        .select_related("citation")
        .prefetch_related("screening_resolutions", "screening_decisions")
        .order_by("id")
    )
    texts = [f"{rc.citation.title}\n{rc.citation.abstract}\n{' '.join(rc.citation.keywords)}" for rc in rows]
    result = ranking.relevance_scores(texts, [_training_label(rc) for rc in rows], review.pico_terms)
    for rc, score in zip(rows, result.scores, strict=True):
        rc.relevance_score = score
    ReviewCitation.objects.bulk_update(rows, ["relevance_score"], batch_size=500)
    logger.info("ranking refreshed for %s by %s over %d citations", review.slug, result.method, len(rows))
    return result
