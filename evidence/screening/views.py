"""Admin-site pages of the reviewer workflow: thin views that parse, call one service and render.

Each page first finds the review among the user's own reviews (404 otherwise), then checks the role
(403 otherwise). Blinding: the screening page never shows another reviewer's decision.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evidence.core import policy
from evidence.core.workspace import _context, _error_messages, _review
from evidence.models import Review, ReviewCitation, ScreeningStage
from evidence.screening import selectors as sel
from evidence.screening.forms import AdjudicationForm, ScreeningDecisionForm
from evidence.screening.full_text_selectors import full_text_context
from evidence.screening.services import adjudication_record, screening_decision_record, screening_decision_undo
from evidence.surveillance.search.flags import citation_overlaps


def _stage(stage: str) -> str:
    if stage not in ScreeningStage.values:
        raise Http404(f"Unknown stage {stage!r}.")
    return stage


def screening_home(request: HttpRequest) -> HttpResponse:
    rows = []
    for review in sel.reviews_for_user(user=request.user):
        roles = sel.user_roles(user=request.user, review=review)
        stages = [
            (stage, sel.screening_progress(review=review, reviewer=request.user, stage=stage))
            for stage in ScreeningStage
        ]
        rows.append({"review": review, "roles": sorted(roles), "stages": stages})
    return render(request, "admin/screening/home.html", _context(request, title="Screening workspace", rows=rows))


def _position(request: HttpRequest, queue) -> tuple[ReviewCitation | None, int]:
    wanted = request.GET.get("rc")
    if wanted and wanted.isdigit():
        ids = list(queue.values_list("id", flat=True))
        if int(wanted) in ids:
            return queue.get(pk=int(wanted)), ids.index(int(wanted))
    pos = request.GET.get("pos", "0")
    pos = max(int(pos), 0) if pos.isdigit() else 0
    return queue[pos] if queue[pos : pos + 1] else None, pos


def screening_screen(request: HttpRequest, review_id: int, stage: str) -> HttpResponse:
    review, stage = _review(request, review_id, sel.SCREEN), _stage(stage)
    if request.method == "POST":
        return _decision_post(request, review, stage)
    queue = sel.screening_queue(review=review, reviewer=request.user, stage=stage)
    current, pos = _position(request, queue)
    form = ScreeningDecisionForm(review=review, stage=stage, initial={"review_citation": current and current.pk})
    citation = current.citation if current else None
    return render(
        request,
        "admin/screening/screen.html",
        _context(
            request,
            title=f"{ScreeningStage(stage).label}: {review.title}",
            review=review,
            stage=stage,
            stage_label=ScreeningStage(stage).label,
            current=current,
            citation=citation,
            title_html=sel.highlight_terms(citation.title, review.pico_terms) if citation else "",
            sections=[
                {**section, "html": sel.highlight_terms(section.get("text", ""), review.pico_terms)}
                for section in (citation.abstract_sections if citation else [])
            ],
            abstract_html=sel.highlight_terms(citation.abstract, review.pico_terms) if citation else "",
            form=form,
            pos=pos,
            next_pos=pos + 1,
            prev_pos=max(pos - 1, 0),
            progress=sel.screening_progress(review=review, reviewer=request.user, stage=stage),
            is_full_text=stage == ScreeningStage.FULL_TEXT,
            overlaps=citation_overlaps(review=review, citation=citation) if citation else [],
            # The abstract is already on the citation card; the column shows the PDF or the link.
            **full_text_context(user=request.user, review=review, review_citation=current, show_abstract=False),
        ),
    )


def _decision_post(request: HttpRequest, review: Review, stage: str) -> HttpResponse:
    form = ScreeningDecisionForm(request.POST, review=review, stage=stage)
    url = reverse("admin:screening_screen", args=[review.pk, stage])
    if not form.is_valid():
        messages.error(request, "Choose include, exclude or maybe (and a listed reason).")
        return redirect(url)
    review_citation = get_object_or_404(ReviewCitation, pk=form.cleaned_data["review_citation"], review=review)
    try:
        screening_decision_record(
            review_citation=review_citation,
            reviewer=request.user,
            stage=stage,
            decision=form.cleaned_data["decision"],
            exclusion_reason=form.cleaned_data["exclusion_reason"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        _error_messages(request, error)
        return redirect(f"{url}?rc={review_citation.pk}")
    messages.success(request, f"Recorded: {form.cleaned_data['decision']} — {review_citation.citation}")
    return redirect(f"{url}?pos={request.POST.get('pos', '0')}")


@require_POST
def screening_undo(request: HttpRequest, review_id: int, stage: str) -> HttpResponse:
    review, stage = _review(request, review_id, sel.SCREEN), _stage(stage)
    url = reverse("admin:screening_screen", args=[review.pk, stage])
    try:
        undone = screening_decision_undo(review=review, reviewer=request.user, stage=stage)
    except ValidationError as error:
        _error_messages(request, error)
        return redirect(url)
    messages.info(request, f"Undone: your {undone.decision} on {undone.review_citation.citation}")
    return redirect(f"{url}?rc={undone.review_citation_id}")


def screening_conflicts(request: HttpRequest, review_id: int, stage: str) -> HttpResponse:
    review, stage = _review(request, review_id, sel.ADJUDICATE), _stage(stage)
    return render(
        request,
        "admin/screening/conflicts.html",
        _context(
            request,
            title=f"Conflicts — {ScreeningStage(stage).label}",
            review=review,
            stage=stage,
            conflicts=sel.awaiting_adjudication(review=review, stage=stage),
            awaiting_second=sel.awaiting_second_reviewer(review=review, stage=stage),
        ),
    )


def screening_adjudicate(request: HttpRequest, review_id: int, stage: str, review_citation_id: int) -> HttpResponse:
    review, stage = _review(request, review_id, sel.ADJUDICATE), _stage(stage)
    review_citation = get_object_or_404(ReviewCitation.objects.select_related("citation"), pk=review_citation_id)
    if review_citation.review_id != review.pk:
        raise PermissionDenied("This citation belongs to another review.")
    form = AdjudicationForm(request.POST or None, review=review, stage=stage)
    if request.method == "POST" and form.is_valid():
        try:
            adjudication_record(
                review_citation=review_citation, adjudicator=request.user, stage=stage, **form.cleaned_data
            )
        except ValidationError as error:
            _error_messages(request, error)
        else:
            messages.success(request, f"Adjudicated: {form.cleaned_data['decision']} — {review_citation.citation}")
            return redirect("admin:screening_conflicts", review.pk, stage)
    return render(
        request,
        "admin/screening/adjudicate.html",
        _context(
            request,
            title="Adjudicate a conflict",
            review=review,
            stage=stage,
            review_citation=review_citation,
            citation=review_citation.citation,
            # Blinding: only decisions the policy shows (none until both screeners decided).
            decisions=policy.visible(
                user=request.user, queryset=sel.conflict_decisions(review_citation=review_citation, stage=stage)
            ),
            form=form,
            overlaps=citation_overlaps(review=review, citation=review_citation.citation),
            # At full text the senior reads the report too (and may attach the one a screener could not find).
            full_text_beside=stage == ScreeningStage.FULL_TEXT,
            **full_text_context(user=request.user, review=review, review_citation=review_citation, show_abstract=False),
        ),
    )


def screening_agreement(request: HttpRequest, review_id: int) -> HttpResponse:
    review = _review(request, review_id, sel.SEE_AGREEMENT)
    return render(
        request,
        "admin/screening/agreement.html",
        _context(
            request,
            title="Agreement (Cohen's kappa)",
            review=review,
            pairs=sel.reviewer_pair_agreement(review=review),
            min_n=sel.KAPPA_MIN_N,
        ),
    )
