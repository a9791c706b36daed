"""The admin permission matrix: every role × every admin URL of every evidence model × own review / other review.

Each case asserts the status code and that no forbidden value is in the body: nothing of review B (the marker
``secretb``) for anyone but a superuser, and nothing of a blinded decision or draft for anyone in A but its
author. The URLs come from ``admin.site._registry``, so a newly registered evidence model without a row in
``EXPECT`` fails ``test_every_registered_evidence_model_has_a_row``. One world is built per module; each case
runs in its own savepoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from tests.evidence.permission_world import MARKER_B, ROLES, TA, build_world

MEMBERS = frozenset({"screener", "senior", "extractor", "editor", "review_admin"})
CURATORS = frozenset({"senior", "editor", "review_admin"})  # study data; and who sees a lifted blind
REVIEW_ADMIN = frozenset({"review_admin"})
EDITORS = frozenset({"editor", "review_admin"})  # who runs a review (issue 20)
NOBODY: frozenset[str] = frozenset()
FULL_TEXT_READERS = frozenset({"screener", "senior", "extractor", "review_admin"})
ALL = frozenset({"add", "change", "delete"})


@dataclass(frozen=True)
class Expect:
    """Which roles of review A may do what: listing = the changelist; view/change/delete = A's row."""

    listing: frozenset[str]
    view: frozenset[str]
    add: frozenset[str] = NOBODY
    change: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY
    superuser: frozenset[str] = ALL  # what the admin class allows at all (read-only logs allow nothing)


STUDY_DATA = Expect(MEMBERS, MEMBERS, add=CURATORS, change=CURATORS, delete=REVIEW_ADMIN)
LEDGER = Expect(MEMBERS, MEMBERS, superuser=NOBODY)

EXPECT: dict[str, Expect] = {
    # An editor in any review may create a review (and becomes its admin); only its admins change its settings.
    "review": Expect(MEMBERS, MEMBERS, add=EDITORS, change=REVIEW_ADMIN),
    "citation": Expect(MEMBERS, MEMBERS, add=REVIEW_ADMIN, change=REVIEW_ADMIN),
    "reviewcitation": Expect(MEMBERS, MEMBERS, add=REVIEW_ADMIN, change=REVIEW_ADMIN, delete=REVIEW_ADMIN),
    "study": STUDY_DATA,
    "intervention": STUDY_DATA,
    "outcomemeasurement": STUDY_DATA,
    "adverseevent": STUDY_DATA,
    "qualityassessment": STUDY_DATA,
    "gradeassessment": STUDY_DATA,
    "outcome": Expect(MEMBERS, MEMBERS, add=EDITORS, change=EDITORS, delete=REVIEW_ADMIN),  # editors define them
    "reviewversion": LEDGER,
    "pooledresult": LEDGER,
    "recomputerun": LEDGER,
    "searchrun": LEDGER,
    "quarantinedrecord": LEDGER,  # read-only; retry/dismiss are the review editors' actions
    "reviewmembership": Expect(
        MEMBERS, MEMBERS, add=REVIEW_ADMIN, delete=REVIEW_ADMIN, superuser=frozenset({"add", "delete"})
    ),
    # Blinded: a screener lists only their own decisions; the other's shows once both decided, to curators.
    "screeningdecision": Expect(CURATORS | {"screener"}, CURATORS, superuser=NOBODY),
    "adjudication": Expect(CURATORS, CURATORS, superuser=NOBODY),
    "screeningresolution": Expect(CURATORS, CURATORS, superuser=NOBODY),
    "extractiondraft": Expect(CURATORS | {"extractor"}, CURATORS, superuser=NOBODY),
    "studyapproval": Expect(CURATORS, CURATORS, superuser=NOBODY),
    "accessrefusal": Expect(NOBODY, NOBODY, superuser=NOBODY),
    # Full texts (licensed PDFs): read by those who screen or extract; attached in the workspace, never here.
    "fulltext": Expect(FULL_TEXT_READERS, FULL_TEXT_READERS, superuser=NOBODY),
    # Trial-registry surveillance: registrations and tasks come from the registry search, never added by hand.
    "registration": Expect(
        MEMBERS, MEMBERS, change=frozenset({"screener", "senior", "review_admin"}), superuser=NOBODY
    ),
    "registrytask": Expect(MEMBERS, MEMBERS, change=MEMBERS, superuser=NOBODY),
    "registrysearchrun": LEDGER,
    # Per-review operations: the review's search schedule, set by its editors.
    "reviewschedule": Expect(MEMBERS, MEMBERS, add=EDITORS, change=EDITORS),
}

DENIED = {403, 404}
OBJECT_KINDS = ["change", "history", "history_form", "delete", "forged_post", "action_delete"]


def _evidence_admins() -> dict[str, admin.ModelAdmin]:
    return {
        model._meta.model_name: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "evidence"
    }


ADMINS = _evidence_admins()
GLOBAL_MODELS = {"outcome", "accessrefusal"}  # no review: there is no "other review's" row


def _cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for name, model_admin in sorted(ADMINS.items()):
        for role in ROLES:
            cases += [(role, name, "changelist", "-"), (role, name, "add", "-")]
            for kind in OBJECT_KINDS:
                if kind == "history_form" and not isinstance(model_admin, SimpleHistoryAdmin):
                    continue
                for which in ("A", "B"):
                    if which == "B" and name in GLOBAL_MODELS:
                        continue
                    if kind in ("forged_post", "action_delete") and which == "A":
                        continue  # writes are attacked on the other review's rows
                    cases.append((role, name, kind, which))
    return cases


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world per module, rolled back at the end; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
            built.urls = {(name, kind, which): _url(built, name, kind, which) for _, name, kind, which in CASES}
            built.clients = {role: Client() for role in ROLES}
            for role, client in built.clients.items():
                if role != "anonymous":
                    client.force_login(built.users[role])
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _expected_status(world, role: str, name: str, kind: str, which: str) -> set[int]:
    expect = EXPECT[name]
    if role == "anonymous":
        return {302}
    if role == "superuser":
        if kind in ("forged_post", "action_delete"):
            return {200, 302, 403, 404}  # a superuser may write; the row check is for everyone else
        action = kind if kind in ("add", "delete") else None
        return {200} if action is None or action in expect.superuser else DENIED
    if role == "staff_no_membership":
        return DENIED
    if kind == "changelist":
        return {200} if role in expect.listing else DENIED
    if kind == "add":
        return {200} if role in expect.add else DENIED
    if which == "B" or kind in ("forged_post", "action_delete"):
        return DENIED if kind != "action_delete" else {200, 302, 403}
    allowed = {"delete": expect.delete, "change": expect.view | expect.change}.get(kind, expect.view)
    return {200} if role in allowed else DENIED


def _history_id(obj) -> int:
    return obj.history.order_by("-history_id").values_list("history_id", flat=True).first()


def _url(world, name: str, kind: str, which: str) -> str:
    if kind in ("changelist", "action_delete"):
        return reverse(f"admin:evidence_{name}_changelist")
    if kind == "add":
        return reverse(f"admin:evidence_{name}_add")
    obj = world.objects[name][which]
    if kind == "history_form":
        return reverse(f"admin:evidence_{name}_simple_history", args=[obj.pk, _history_id(obj)])
    route = "change" if kind == "forged_post" else kind
    return reverse(f"admin:evidence_{name}_{route}", args=[obj.pk])


def _snapshot(world, name: str, which: str):
    obj = world.objects[name][which]
    return list(type(obj).objects.filter(pk=obj.pk).values())


def _forbidden(world, role: str) -> list[str]:
    """What this role must never see: review B, and A's still-blinded decision and draft."""
    if role in ("superuser", "anonymous"):
        return []
    blinded = [reverse(f"admin:evidence_{name}_change", args=[row.pk]) for name, row in world.blinded.items()]
    return [MARKER_B, "BLINDNOTE", "BLINDDRAFT", *blinded]


def _request(world, role: str, name: str, kind: str, which: str):
    client, url = world.clients[role], world.urls[(name, kind, which)]
    if kind == "forged_post":
        return client.post(url, {"_save": "Save"})
    if kind == "action_delete":
        target = world.objects[name][which]
        return client.post(url, {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"})
    return client.get(url)


def _check(world, role: str, name: str, kind: str, which: str) -> list[str]:
    """One matrix case: its status, the forbidden values, and (for an attack) that nothing was written."""
    before = _snapshot(world, name, which) if kind in ("forged_post", "action_delete") else None
    response = _request(world, role, name, kind, which)
    case = f"{role} {kind} {name} of {which}"
    problems = []
    if response.status_code not in _expected_status(world, role, name, kind, which):
        problems.append(f"{case}: got {response.status_code}")
    if role == "anonymous" and "/admin/login/" not in response.get("Location", ""):
        problems.append(f"{case}: not sent to the login page")
    body = response.content.decode().lower()
    leaked = [value for value in _forbidden(world, role) if value.lower() in body]
    if leaked:
        problems.append(f"{case}: saw {leaked}")
    if before is not None and role != "superuser" and _snapshot(world, name, which) != before:
        problems.append(f"{case}: the row was changed")
    return problems


CASES = _cases()


# One test per role and model (each runs that model's cases in one savepoint), so the ~2,000 cases stay fast.
@pytest.mark.parametrize(("role", "name"), [(role, name) for role in ROLES for name in sorted(ADMINS)])
def test_admin_urls_of_a_model(world, db, role, name):
    problems = [
        problem
        for case_role, case_name, kind, which in CASES
        if (case_role, case_name) == (role, name)
        for problem in _check(world, role, name, kind, which)
    ]
    assert not problems, "\n".join(problems)


# --- The reviewer workspace pages -----------------------------------------------------------------------------
WORKSPACE = {
    # page: the roles of A who get a 200 (the others a 403); review admins and superusers get every page.
    "screen": {"screener"},
    "conflicts": {"senior"},
    "adjudicate": {"senior"},
    "agreement": {"senior", "editor"},
    "prisma": MEMBERS,
    "extraction": {"senior", "extractor"},
    "draft": {"extractor"},
    "compare": {"senior"},
    "approval": {"editor"},
    "full_text_pdf": {"screener", "senior", "extractor"},
}


def _workspace_url(world, page: str, which: str) -> str:
    review = world.reviews[which]
    # The adjudication page of A is asked for the citation only one screener decided (still blinded).
    rc = world.rc["blind" if which == "A" else "done_B"]
    draft_rc = world.rc["draft" if which == "A" else "extracted_B"]
    args = {
        "screen": [review.pk, TA],
        "conflicts": [review.pk, TA],
        "adjudicate": [review.pk, TA, rc.pk],
        "agreement": [review.pk],
        "prisma": [review.pk],
        "extraction": [review.pk],
        "draft": [review.pk, draft_rc.pk],
        "compare": [review.pk, draft_rc.pk],
        "approval": [review.pk],
        "full_text_pdf": [review.pk, world.rc["A" if which == "A" else "B"].pk],
    }[page]
    names = {"screen": "screening_screen", "conflicts": "screening_conflicts", "adjudicate": "screening_adjudicate"}
    names |= {"agreement": "screening_agreement", "prisma": "screening_prisma", "extraction": "extraction_list"}
    names |= {"draft": "extraction_draft", "compare": "extraction_compare", "approval": "approval_list"}
    names |= {"full_text_pdf": "full_text_file"}
    return reverse(f"admin:{names[page]}", args=args)


def _workspace_expected(role: str, page: str, which: str) -> set[int]:
    if role == "anonymous":
        return {302}
    if role == "superuser":
        return {200}
    if which == "B" or role == "staff_no_membership":
        return {404}
    return {200} if role == "review_admin" or role in WORKSPACE[page] else {403}


@pytest.mark.parametrize(("role", "page", "which"), [(r, p, w) for r in ROLES for p in WORKSPACE for w in ("A", "B")])
def test_workspace_page(world, db, role, page, which):
    response = world.clients[role].get(_workspace_url(world, page, which))
    assert response.status_code in _workspace_expected(role, page, which), response.status_code
    content = b"".join(response.streaming_content) if response.streaming else response.content  # the PDF streams
    body = content.decode().lower()
    leaked = [value for value in _forbidden(world, role) if value.lower() in body]
    assert not leaked, f"{role} saw {leaked} on the {page} page of {which}"


@pytest.mark.parametrize("role", ROLES)
def test_workspace_home(world, db, role):
    response = world.clients[role].get(reverse("admin:screening_home"))
    assert response.status_code == (302 if role == "anonymous" else 200)
    body = response.content.decode().lower()
    assert not [value for value in _forbidden(world, role) if value.lower() in body]


def test_every_registered_evidence_model_has_a_row():
    missing = sorted(set(ADMINS) - set(EXPECT))
    assert not missing, f"add a row to EXPECT for {missing}: which role may list, view, add, change, delete it"
