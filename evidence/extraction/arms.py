"""Arms in an extraction payload: which arms a study has, what each measurement belongs to, and the checks.

A payload without ``arms`` describes a single-arm study: one intervention arm named by ``intervention.arm``
(default "MSC") with the study's enrolment as its n. Every value of a change is stored as
change = follow-up − baseline; the review's direction is applied at pooling, never by the person typing.
"""

from __future__ import annotations

from evidence.models import CONTROLLED_DESIGNS, ArmRole, ContrastBasis, Review, Study, StudyArm

SIGN_CONVENTION = "change = follow-up − baseline (a fall is negative); the review's direction is applied at pooling"
SLOTS = ("baseline", "followup", "change")


def payload_arms(payload: dict, enrolment: int | None, *, existing: list | None = None, arm_label: str = "MSC") -> list:
    """The arms the payload describes; else the study's existing arms (a further report of it); else the implied
    single intervention arm."""
    arms = [arm for arm in payload.get("arms") or [] if any(value not in (None, "") for value in arm.values())]
    if arms:
        return arms
    if existing:
        return existing
    label = (payload.get("intervention") or {}).get("arm") or arm_label
    return [{"label": label, "role": ArmRole.INTERVENTION, "n_randomized": enrolment, "implied": True}]


def existing_arms(payload: dict, review: Review) -> list[StudyArm]:
    study_id = (payload.get("study") or {}).get("existing_study_id")
    return list(StudyArm.objects.filter(study_id=study_id, study__review=review).order_by("id")) if study_id else []


def _design(payload: dict, review: Review) -> tuple[str, str]:
    study = payload.get("study") or {}
    if study.get("existing_study_id"):
        existing = Study.objects.filter(pk=study["existing_study_id"], review=review).first()
        if existing is not None:
            return existing.design, study.get("contrast_basis") or existing.contrast_basis
    return study.get("design") or "", study.get("contrast_basis") or ""


def study_design(payload: dict, review: Review) -> tuple[str, str]:
    """The study's design and contrast basis: the existing study's, else the payload's."""
    return _design(payload, review)


def arm_errors(payload: dict, review: Review, enrolment: int | None) -> list[str]:
    """Every problem with the arms, named by field: ``arms[placebo].n_randomized: …``."""
    arms = [
        {"label": arm.label, "role": arm.role, "implied": True} if isinstance(arm, StudyArm) else arm
        for arm in payload_arms(payload, enrolment, existing=existing_arms(payload, review), arm_label=review.arm_label)
    ]
    errors: list[str] = []
    seen: set[str] = set()
    for index, arm in enumerate(arms, start=1):
        label = (arm.get("label") or "").strip()
        where = f"arms[{label or index}]"
        if not label:
            errors.append(f"{where}.label: name arm {index} as the report does (e.g. 'ADRC', 'placebo').")
        elif label in seen:
            errors.append(f"{where}.label: two arms are called “{label}”; each arm needs its own name.")
        seen.add(label)
        if arm.get("role") not in ArmRole.values:
            errors.append(f"{where}.role: choose {' or '.join(ArmRole.values)}.")
        errors += _arm_n_errors(arm, where, enrolment, implied=bool(arm.get("implied")))
    total = sum(arm.get("n_randomized") or 0 for arm in arms)
    if enrolment is not None and total > enrolment and len(arms) > 1:
        errors.append(f"arms: {total} randomized across the arms, more than the {enrolment} enrolled.")
    design, basis = _design(payload, review)
    has_comparator = any(arm.get("role") == ArmRole.COMPARATOR for arm in arms)
    if basis and basis not in ContrastBasis.values:
        errors.append(f"study.contrast_basis: choose {' or '.join(ContrastBasis.values)}.")
    if (basis or design in CONTROLLED_DESIGNS) and not has_comparator:
        errors.append(
            "arms: a between-arm contrast needs a comparator arm (role 'comparator'), "
            f"and this {'contrast' if basis else design + ' study'} has none."
        )
    return errors


def _arm_n_errors(arm: dict, where: str, enrolment: int | None, *, implied: bool) -> list[str]:
    randomized, analysed = arm.get("n_randomized"), arm.get("n_analysed")
    if implied:
        return []  # the study's enrolment, checked with the study
    if randomized is None and analysed is None:
        return [f"{where}.n_randomized: give the number randomized (or at least the number analysed)."]
    errors = [
        f"{where}.{name}: {value} is not a number of patients."
        for name, value in (("n_randomized", randomized), ("n_analysed", analysed))
        if value is not None and value < 1
    ]
    if randomized and analysed and analysed > randomized:
        errors.append(f"{where}.n_analysed: {analysed} analysed, more than the {randomized} randomized.")
    return errors


def measurement_arm_errors(row: dict, arms: list[dict]) -> list[str]:
    """The row's arm must be one of the study's; in a multi-arm study it must be named."""
    labels = [arm.label if isinstance(arm, StudyArm) else arm.get("label") for arm in arms]
    arm = row.get("arm")
    if not arm and len(arms) > 1:
        return [f"arm: name the arm it belongs to; this study has {len(arms)} arms ({', '.join(map(str, labels))})."]
    if arm and arm not in labels:
        return [f"arm: “{arm}” is not one of this study's arms ({', '.join(map(str, labels))})."]
    return []


def change_sign_errors(row: dict) -> list[str]:
    """A change whose sign contradicts its own baseline and follow-up means (typed with the review's direction)."""
    base, follow, change = row.get("baseline_mean"), row.get("followup_mean"), row.get("change_mean")
    if None in (base, follow, change):
        return []
    expected = follow - base
    if expected * change < 0:
        return [
            f"change_mean: {change:g} contradicts its means: {SIGN_CONVENTION.split(' (')[0]} = "
            f"{follow:g} − {base:g} = {expected:g}. Enter the change as follow-up − baseline."
        ]
    return []


def spread_errors(row: dict) -> list[str]:
    """SE and 95% CI of a mean (baseline, follow-up or change), converted to an SD at reconciliation."""
    errors = []
    for slot in SLOTS:
        se, low, high = row.get(f"{slot}_se"), row.get(f"{slot}_ci_lb"), row.get(f"{slot}_ci_ub")
        if se is not None and se < 0:
            errors.append(f"{slot}_se: {se} — a standard error cannot be negative.")
        if (low is None) != (high is None):
            errors.append(f"{slot}_ci_lb: give both bounds of the 95% CI.")
        elif low is not None and low > high:
            errors.append(f"{slot}_ci_lb: the lower bound {low} is above the upper bound {high}.")
    return errors
