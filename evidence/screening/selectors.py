"""Reads for the reviewer workflow: who may do what, the queues, progress and agreement."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from evidence.core import policy
from evidence.models import (
    Adjudication,
    DraftStatus,
    ExtractionDraft,
    Review,
    ReviewCitation,
    ScreeningDecision,
    ScreeningResolution,
    ScreeningStage,
    Study,
    StudyStatus,
    TriageStage,
)
from evidence.screening.ranking import term_pattern

# What each capability needs, and who is a member with which role: one policy decides (evidence.core.policy).
SCREEN, ADJUDICATE, EXTRACT = policy.SCREEN, policy.ADJUDICATE, policy.EXTRACT
RECONCILE, APPROVE, SEE_AGREEMENT = policy.RECONCILE, policy.APPROVE, policy.SEE_AGREEMENT
reviews_for_user = policy.reviews_for_user
user_roles = policy.user_roles
user_has_role = policy.user_has_role


def _decisions_at(stage: str) -> QuerySet[ScreeningDecision]:
    return ScreeningDecision.objects.filter(review_citation=OuterRef("pk"), stage=stage)


def _with_decision_count(queryset: QuerySet[ReviewCitation], stage: str) -> QuerySet[ReviewCitation]:
    counts = _decisions_at(stage).values("review_citation").annotate(n=Count("id")).values("n")
    return queryset.annotate(
        n_decisions=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0), output_field=IntegerField())
    )


def _at_stage(review: Review, stage: str) -> QuerySet[ReviewCitation]:
    # Uses the review_citation_queue index (review, stage).
    return _with_decision_count(ReviewCitation.objects.filter(review=review, stage=stage), stage)


def screening_queue(*, review: Review, reviewer: AbstractBaseUser, stage: str) -> QuerySet[ReviewCitation]:
    """Citations this reviewer still has to screen, most relevant first; never one with two decisions."""
    return (
        _at_stage(review, stage)
        .filter(n_decisions__lt=2)
        .exclude(Exists(_decisions_at(stage).filter(reviewer=reviewer)))
        .select_related("citation")
        .order_by(F("relevance_score").desc(nulls_last=True), "added_at", "id")
    )


def awaiting_second_reviewer(*, review: Review, stage: str) -> QuerySet[ReviewCitation]:
    return _at_stage(review, stage).filter(n_decisions=1).select_related("citation").order_by("added_at", "id")


def awaiting_adjudication(*, review: Review, stage: str) -> QuerySet[ReviewCitation]:
    """Two decisions that did not agree (or a maybe): still at the stage, so not resolved."""
    return _at_stage(review, stage).filter(n_decisions__gte=2).select_related("citation").order_by("added_at", "id")


@dataclass(frozen=True)
class Progress:
    mine_screened: int
    mine_remaining: int
    team_resolved: int
    team_remaining: int
    awaiting_second: int
    awaiting_adjudication: int


def screening_progress(*, review: Review, reviewer: AbstractBaseUser, stage: str) -> Progress:
    at_stage = _at_stage(review, stage)
    return Progress(
        mine_screened=ScreeningDecision.objects.filter(
            review_citation__review=review, reviewer=reviewer, stage=stage
        ).count(),
        mine_remaining=screening_queue(review=review, reviewer=reviewer, stage=stage).count(),
        team_resolved=ScreeningResolution.objects.filter(review_citation__review=review, stage=stage).count(),
        team_remaining=at_stage.count(),
        awaiting_second=at_stage.filter(n_decisions=1).count(),
        awaiting_adjudication=at_stage.filter(n_decisions__gte=2).count(),
    )


def own_decision(*, review_citation: ReviewCitation, reviewer: AbstractBaseUser, stage: str):
    """The reviewer's own decision; another reviewer's is never returned here (blinding)."""
    return ScreeningDecision.objects.filter(review_citation=review_citation, reviewer=reviewer, stage=stage).first()


def conflict_decisions(*, review_citation: ReviewCitation, stage: str) -> QuerySet[ScreeningDecision]:
    """Both decisions of a conflict, for the adjudicator only."""
    return ScreeningDecision.objects.filter(review_citation=review_citation, stage=stage).select_related("reviewer")


def highlight_terms(text: str, terms: list[str]) -> SafeString:
    """Escape the text and wrap each PICO term in <mark>."""
    escaped = str(escape(text or ""))
    pattern = term_pattern([str(escape(term)) for term in terms])
    if pattern is None:
        return mark_safe(escaped)  # noqa: S308 - escaped above
    return mark_safe(pattern.sub(r'<mark class="pico">\1</mark>', escaped))  # noqa: S308 - escaped above


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa for two raters' labels on the same items; None when undefined (no items, or pe = 1)."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[label] * second[label] for label in set(first) | set(second)) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


# Below this many citations decided by both, kappa's interval is too wide to judge agreement by (the page says so).
KAPPA_MIN_N = 20


def kappa_interval(pairs: list[tuple[str, str]], z: float = 1.959964) -> tuple[float, float] | None:
    """95% confidence interval of Cohen's kappa from its large-sample standard error,
    SE = sqrt(po (1 - po) / (n (1 - pe)^2)) (Cohen 1960, Educ Psychol Meas 20:37-46), clipped to [-1, 1];
    None when kappa is undefined."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[label] * second[label] for label in set(first) | set(second)) / (n * n)
    if expected == 1:
        return None
    kappa = (observed - expected) / (1 - expected)
    se = (observed * (1 - observed) / (n * (1 - expected) ** 2)) ** 0.5
    return max(-1.0, kappa - z * se), min(1.0, kappa + z * se)


@dataclass(frozen=True)
class PairAgreement:
    stage: str
    reviewer_a: str
    reviewer_b: str
    n: int
    observed_agreement: float
    kappa: float | None
    interval: tuple[float, float] | None = None

    @property
    def stage_label(self) -> str:
        return str(ScreeningStage(self.stage).label) if self.stage in ScreeningStage.values else self.stage

    @property
    def too_few(self) -> bool:
        return self.n < KAPPA_MIN_N


def reviewer_pair_agreement(*, review: Review) -> list[PairAgreement]:
    """Cohen's kappa per reviewer pair and stage, over citations both reviewers decided."""
    rows = ScreeningDecision.objects.filter(review_citation__review=review).values_list(
        "stage", "review_citation_id", "reviewer__username", "decision"
    )
    by_item: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for stage, item, reviewer, decision in rows:
        by_item[(stage, item)][reviewer] = decision
    pairs: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for (stage, _item), decisions in by_item.items():
        for a, b in combinations(sorted(decisions), 2):
            pairs[(stage, a, b)].append((decisions[a], decisions[b]))
    return [
        PairAgreement(
            stage,
            a,
            b,
            len(items),
            sum(x == y for x, y in items) / len(items),
            cohen_kappa(items),
            kappa_interval(items),
        )
        for (stage, a, b), items in sorted(pairs.items())
    ]


def extraction_queue(*, review: Review) -> QuerySet[ReviewCitation]:
    """Included citations waiting for (or under) extraction."""
    return (
        ReviewCitation.objects.filter(review=review, stage=TriageStage.EXTRACTION)
        .select_related("citation")
        .annotate(
            n_submitted=Count(
                "extraction_drafts",
                filter=Q(extraction_drafts__status__in=[DraftStatus.SUBMITTED, DraftStatus.RECONCILED]),
            )
        )
        .order_by("added_at", "id")
    )


def drafts_for(*, review_citation: ReviewCitation) -> QuerySet[ExtractionDraft]:
    return ExtractionDraft.objects.filter(review_citation=review_citation).select_related("extractor", "study")


def studies_awaiting_approval(*, review: Review) -> QuerySet[Study]:
    """Studies in extraction with a reconciled extraction the editor has not yet approved."""
    reconciled = ExtractionDraft.objects.filter(study=OuterRef("pk"), status=DraftStatus.RECONCILED)
    return (
        Study.objects.filter(review=review, status=StudyStatus.EXTRACTION)
        .filter(Exists(reconciled))
        .prefetch_related("reports__citation")
        .order_by("label")
    )


def adjudication_for(*, review_citation: ReviewCitation, stage: str) -> Adjudication | None:
    return Adjudication.objects.filter(review_citation=review_citation, stage=stage).first()
