"""The one authorization policy: may this user do this action on this object of this review?

Built from ReviewMembership rows only. Site-wide Django groups and model permissions grant nothing here: a
role held in review A gives no power in review B, and a staff account without a membership sees nothing.
Every admin page, changelist, form choice, history view and workspace page asks these functions; querysets
are filtered here, so a forgotten page shows nothing rather than everything.

Blinding is a rule of the data, applied in ``visible``: another reviewer's screening decision and another
extractor's draft stay hidden until both have decided (submitted), then show to senior reviewers, editors
and review admins only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from evidence import models as m
from evidence.models import ReviewRole

SCREENER, SENIOR, EXTRACTOR, EDITOR, ADMIN = (
    ReviewRole.SCREENER,
    ReviewRole.SENIOR_REVIEWER,
    ReviewRole.EXTRACTOR,
    ReviewRole.EDITOR,
    ReviewRole.ADMIN,
)
MEMBER = (SCREENER, SENIOR, EXTRACTOR, EDITOR)
CURATOR = (SENIOR, EDITOR)  # who curates study data, and who sees a blind once it lifts

# Workflow capabilities (the workspace pages and the services); a review admin may do every one.
SCREEN = (SCREENER,)
ADJUDICATE = (SENIOR,)
EXTRACT = (EXTRACTOR,)
RECONCILE = (SENIOR,)
APPROVE = (EDITOR,)
SEE_AGREEMENT = (SENIOR, EDITOR)
SEE_PRISMA = MEMBER
FULL_TEXT = (SCREENER, SENIOR, EXTRACTOR)  # who reads and attaches full texts: those who screen or extract
GRANT_ROLES = (ADMIN,)
# Running a review (issue 20): search now, recompute now, pause/resume, its schedule, its outcomes and GRADE.
OPERATE = (EDITOR,)
# Who may create a review (and becomes its admin): whoever holds the editor or review-admin role in any
# review. A first review on a fresh site is created by a superuser, who then makes its editors members.
CREATE_REVIEW = (EDITOR,)


class Action(StrEnum):
    VIEW = "view"
    ADD = "add"
    CHANGE = "change"
    DELETE = "delete"


@dataclass(frozen=True)
class Rule:
    """Who may do what to a model's rows. ``review_path`` leads from the model to its review ("pk" for the
    review itself, None for a model that belongs to no review). A review admin may do whatever a listed
    role may; an empty tuple means nobody but a superuser."""

    review_path: str | None
    view: tuple[str, ...] = MEMBER
    add: tuple[str, ...] = ()
    change: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    many_reviews: bool = False  # a citation may sit in several reviews: reads need one, writes need all

    def roles(self, action: Action) -> tuple[str, ...]:
        return getattr(self, str(action))


def _has_field(model: type[Model], name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())


_STUDY_DATA = dict(view=MEMBER, add=CURATOR, change=CURATOR, delete=(ADMIN,))
_LEDGER = dict(view=MEMBER)

RULES: dict[type[Model], Rule] = {
    m.Review: Rule("pk", add=CREATE_REVIEW, change=(ADMIN,)),
    m.Citation: Rule("review_citations__review", add=(ADMIN,), change=(ADMIN,), many_reviews=True),
    m.ReviewCitation: Rule("review", add=(ADMIN,), change=(ADMIN,), delete=(ADMIN,)),
    m.Study: Rule("review", **_STUDY_DATA),
    m.StudyReport: Rule("study__review", **_STUDY_DATA),
    m.Intervention: Rule("study__review", **_STUDY_DATA),
    m.StudyArm: Rule("study__review", **_STUDY_DATA),
    m.OutcomeMeasurement: Rule("study__review", **_STUDY_DATA),
    m.AdverseEvent: Rule("study__review", **_STUDY_DATA),
    m.QualityAssessment: Rule("study__review", **_STUDY_DATA),
    m.GradeAssessment: Rule("review", **_STUDY_DATA),  # rated by editors (and senior reviewers)
    # A review's outcomes are its editors' to define (issue 20: outcomes belong to a review). Until the
    # Outcome.review foreign key lands the catalogue is shared: an editor of any review may edit it.
    m.Outcome: Rule(
        "review" if _has_field(m.Outcome, "review") else None, view=MEMBER, add=OPERATE, change=OPERATE, delete=(ADMIN,)
    ),
    m.ReviewVersion: Rule("review", **_LEDGER),
    m.PooledResult: Rule("version__review", **_LEDGER),
    m.RecomputeRun: Rule("review", **_LEDGER),
    m.SearchRun: Rule("review", **_LEDGER),
    m.QuarantinedRecord: Rule("review", view=MEMBER, change=(EDITOR,)),  # retry/dismiss: the admin's actions
    m.ReviewMembership: Rule("review", add=GRANT_ROLES, delete=GRANT_ROLES),
    m.ScreeningDecision: Rule("review_citation__review", view=(SCREENER, *CURATOR)),
    m.Adjudication: Rule("review_citation__review", view=CURATOR),
    m.ScreeningResolution: Rule("review_citation__review", view=CURATOR),
    m.ExtractionDraft: Rule("review_citation__review", view=(EXTRACTOR, *CURATOR)),
    m.StudyApproval: Rule("study__review", view=CURATOR),
    m.FullText: Rule("review_citation__review", view=FULL_TEXT, add=FULL_TEXT, change=FULL_TEXT),
    m.AccessRefusal: Rule(None, view=()),  # the refusal log: superusers only
    # Trial-registry surveillance: registrations come from the registry; screeners and seniors screen them.
    m.Registration: Rule("review", change=(SCREENER, SENIOR)),
    m.RegistrationStatusChange: Rule("registration__review", **_LEDGER),
    m.RegistrySearchRun: Rule("review", **_LEDGER),
    m.RegistryTask: Rule("review", change=MEMBER),
    # Per-review operations: the review's own search schedule, set by its editors.
    m.ReviewSchedule: Rule("review", view=MEMBER, add=OPERATE, change=OPERATE),
}


def _is_superuser(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def roles_by_review(*, user: AbstractBaseUser) -> dict[int, set[str]]:
    """Every review the user is a member of, with the roles held there (remembered for one request)."""
    if not user.is_authenticated or not user.is_active:
        return {}
    remembered = getattr(user, "_review_roles", None)
    if remembered is not None:
        return remembered
    held: dict[int, set[str]] = {}
    for review_id, role in m.ReviewMembership.objects.filter(user=user).values_list("review_id", "role"):
        held.setdefault(review_id, set()).add(role)
    return held


def remember_roles(*, user: AbstractBaseUser) -> None:
    """Read the memberships once for this request's user: an admin page asks the policy a hundred times.

    Only for ``request.user``, which lives one request; a user object kept longer must not be remembered.
    """
    if user.is_authenticated and getattr(user, "_review_roles", None) is None:
        user._review_roles = roles_by_review(user=user)


def _grants(held: set[str], roles: tuple[str, ...]) -> bool:
    return bool(held) and bool(roles) and (ADMIN in held or bool(held & set(roles)))


def user_roles(*, user: AbstractBaseUser, review: m.Review) -> set[str]:
    if _is_superuser(user):
        return {ADMIN}
    return roles_by_review(user=user).get(review.pk, set())


def user_has_role(*, user: AbstractBaseUser, review: m.Review, roles: tuple[str, ...]) -> bool:
    """The workflow question: may the user do work that needs one of these roles in this review?"""
    return _grants(user_roles(user=user, review=review), roles)


def reviews_for_user(*, user: AbstractBaseUser) -> QuerySet[m.Review]:
    """The reviews a user is a member of (a superuser: all)."""
    if _is_superuser(user):
        return m.Review.objects.all()
    return m.Review.objects.filter(pk__in=list(roles_by_review(user=user)))


def review_ids_allowing(*, user: AbstractBaseUser, roles: tuple[str, ...]) -> list[int]:
    return [review_id for review_id, held in roles_by_review(user=user).items() if _grants(held, roles)]


def _rule(model: type[Model]) -> Rule:
    model = model._meta.concrete_model
    if model not in RULES:
        raise LookupError(f"No authorization rule for {model.__name__}; add one to evidence.core.policy.RULES.")
    return RULES[model]


def allows_on_model(*, user: AbstractBaseUser, action: Action, model: type[Model]) -> bool:
    """May the user do this action on some row of this model (the admin's question without an object)?"""
    if _is_superuser(user):
        return True
    rule = _rule(model)
    # A shared catalogue (no review): whoever holds one of the rule's roles in any review.
    return bool(review_ids_allowing(user=user, roles=rule.roles(action)))


def _blind_decisions(user: AbstractBaseUser, queryset: QuerySet) -> QuerySet:
    """A reviewer sees their own decisions; a curator sees another's once both screeners have decided."""
    curated = review_ids_allowing(user=user, roles=CURATOR)
    both_decided = Exists(
        m.ScreeningDecision.objects.filter(
            review_citation=OuterRef("review_citation"), stage=OuterRef("stage")
        ).exclude(pk=OuterRef("pk"))
    )
    return queryset.filter(Q(reviewer=user) | (Q(review_citation__review__in=curated) & both_decided))


def _blind_drafts(user: AbstractBaseUser, queryset: QuerySet) -> QuerySet:
    """An extractor sees their own drafts; a curator sees another's once both extractors have submitted."""
    curated = review_ids_allowing(user=user, roles=CURATOR)
    other_submitted = Exists(
        m.ExtractionDraft.objects.filter(review_citation=OuterRef("review_citation"))
        .exclude(pk=OuterRef("pk"))
        .exclude(status=m.DraftStatus.DRAFT)
    )
    submitted = ~Q(status=m.DraftStatus.DRAFT) & other_submitted
    return queryset.filter(Q(extractor=user) | (Q(review_citation__review__in=curated) & submitted))


BLINDS = {m.ScreeningDecision: _blind_decisions, m.ExtractionDraft: _blind_drafts}


def _citations(queryset: QuerySet, ids: list[int], action: Action, orphans: bool) -> QuerySet:
    """A citation shared by reviews: read where one review allows, written only where all of them do."""
    held = Q(review_citations__review__in=ids)
    if orphans:  # a review admin sees citations no review holds yet (the ones they just added)
        held |= Q(review_citations__isnull=True)
    queryset = queryset.filter(pk__in=queryset.filter(held).values("pk"))
    if action != Action.VIEW:
        elsewhere = m.ReviewCitation.objects.filter(citation=OuterRef("pk")).exclude(review__in=ids)
        queryset = queryset.exclude(Exists(elsewhere))
    return queryset


def visible(*, user: AbstractBaseUser, queryset: QuerySet, action: Action = Action.VIEW) -> QuerySet:
    """The rows of ``queryset`` the user may do ``action`` on; for VIEW, blinding applies."""
    if _is_superuser(user):
        return queryset
    model = queryset.model
    rule = _rule(model)
    if rule.review_path is None:
        return queryset if allows_on_model(user=user, action=action, model=model) else queryset.none()
    ids = review_ids_allowing(user=user, roles=rule.roles(action))
    if rule.many_reviews:
        orphans = bool(review_ids_allowing(user=user, roles=rule.add))
        queryset = _citations(queryset, ids, action, orphans)
    else:
        queryset = queryset.filter(**{f"{rule.review_path}__in": ids})
    if action == Action.VIEW and model in BLINDS:
        queryset = BLINDS[model](user, queryset)
    return queryset


def review_id_in_memory(obj: Model, path: str) -> int | None:
    """The review an unsaved (or just edited) row points at, read from its attributes."""
    if path == "pk":
        return obj.pk
    *hops, last = path.split("__")
    try:
        for hop in hops:
            obj = getattr(obj, hop)
        return getattr(obj, f"{last}_id")
    except (AttributeError, Model.DoesNotExist):
        return None


def allows(*, user: AbstractBaseUser, action: Action, obj: Model) -> bool:
    """May the user do ``action`` on this row? A saved row must be in ``visible``; the review the row points
    at now (after a form changed it, or before it is first saved) must allow the action too."""
    if _is_superuser(user):
        return True
    model = type(obj)
    rule = _rule(model)
    if rule.review_path is None:
        return allows_on_model(user=user, action=action, model=model)
    if (
        obj.pk is not None
        and not visible(user=user, queryset=model._default_manager.filter(pk=obj.pk), action=action).exists()
    ):
        return False  # another review's row, a blinded one, or a deleted one (its history stays hidden)
    if rule.many_reviews:
        return obj.pk is not None or allows_on_model(user=user, action=Action.ADD, model=model)
    if rule.review_path == "pk" and obj.pk is None:  # a new review: its creator becomes its admin
        return action == Action.ADD and may_create_review(user=user)
    target = review_id_in_memory(obj, rule.review_path)
    return target in review_ids_allowing(user=user, roles=rule.roles(action))


def may_create_review(*, user: AbstractBaseUser) -> bool:
    """A superuser, or a user holding the editor or review-admin role in any review (see CREATE_REVIEW)."""
    return _is_superuser(user) or bool(review_ids_allowing(user=user, roles=CREATE_REVIEW))


def forget_roles(*, user: AbstractBaseUser) -> None:
    """Drop the memberships remembered for this request (one was just granted, e.g. to a review's creator)."""
    if hasattr(user, "_review_roles"):
        del user._review_roles
