"""A reviewer's work across reviews: what waits for them at each step, with counts, for the page they land on."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse

from evidence.core import policy
from evidence.models import DraftStatus, ExtractionDraft, Review, ReviewCitation, ScreeningStage, TriageStage
from evidence.screening import selectors as sel


@dataclass(frozen=True)
class Task:
    label: str  # "To screen (title/abstract)"
    count: int
    url: str


@dataclass(frozen=True)
class ReviewWork:
    review: Review
    roles: list[str]
    tasks: list[Task]

    @property
    def waiting(self) -> int:
        return sum(task.count for task in self.tasks)


def reviewer_work(*, user: AbstractBaseUser) -> list[ReviewWork]:
    """One entry per review the policy lets the user see, with a task per role they hold (even at count 0)."""
    work = []
    for review in policy.reviews_for_user(user=user):
        roles = policy.user_roles(user=user, review=review)
        tasks = _screening_tasks(user, review) + _extraction_tasks(user, review)
        if policy.user_has_role(user=user, review=review, roles=policy.APPROVE):
            approve = sel.studies_awaiting_approval(review=review).count()
            tasks.append(Task("To approve", approve, reverse("admin:approval_list", args=[review.pk])))
        work.append(ReviewWork(review=review, roles=sorted(roles), tasks=tasks))
    return work


def _screening_tasks(user: AbstractBaseUser, review: Review) -> list[Task]:
    tasks = []
    for stage in ScreeningStage:
        name = stage.label.removesuffix(" screening").lower()  # "title/abstract", "full-text"
        if policy.user_has_role(user=user, review=review, roles=policy.SCREEN):
            left = sel.screening_queue(review=review, reviewer=user, stage=stage).count()
            url = reverse("admin:screening_screen", args=[review.pk, stage.value])
            tasks.append(Task(f"To screen ({name})", left, url))
        if policy.user_has_role(user=user, review=review, roles=policy.ADJUDICATE):
            conflicts = sel.awaiting_adjudication(review=review, stage=stage).count()
            url = reverse("admin:screening_conflicts", args=[review.pk, stage.value])
            tasks.append(Task(f"To adjudicate ({name})", conflicts, url))
    return tasks


def _extraction_tasks(user: AbstractBaseUser, review: Review) -> list[Task]:
    tasks = []
    url = reverse("admin:extraction_list", args=[review.pk])
    queue = sel.extraction_queue(review=review)
    if policy.user_has_role(user=user, review=review, roles=policy.EXTRACT):
        done = ExtractionDraft.objects.filter(
            review_citation=OuterRef("pk"),
            extractor=user,
            status__in=[DraftStatus.SUBMITTED, DraftStatus.RECONCILED],
        )
        tasks.append(Task("To extract", queue.exclude(Exists(done)).count(), url))
    if policy.user_has_role(user=user, review=review, roles=policy.RECONCILE):
        reconciled = ExtractionDraft.objects.filter(review_citation=OuterRef("pk"), status=DraftStatus.RECONCILED)
        ready = queue.filter(Q(n_submitted__gte=2)).exclude(Exists(reconciled)).count()
        tasks.append(Task("To reconcile", ready, url))
    return tasks


AWAITING_STAGES = (TriageStage.TITLE_ABSTRACT, TriageStage.FULL_TEXT, TriageStage.EXTRACTION)


def records_awaiting(*, review: Review) -> list[tuple[str, int]]:
    """Records now waiting at each stage (PRISMA counts only what a stage has finished), e.g.
    [("Title/abstract screening", 16), ("Full-text screening", 0), ("Data extraction", 1)]."""
    counts = dict(
        ReviewCitation.objects.filter(review=review, stage__in=AWAITING_STAGES)
        .values_list("stage")
        .annotate(n=Count("id"))
        .values_list("stage", "n")
    )
    return [(str(stage.label), counts.get(stage.value, 0)) for stage in AWAITING_STAGES]
