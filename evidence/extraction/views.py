"""Admin-site pages for dual extraction, reconciliation and approval: thin views over the services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from evidence.core import policy
from evidence.core.workspace import _context, _error_messages, _review, _review_citation
from evidence.extraction.forms import draft_forms, draft_payload
from evidence.extraction.labels import comparison_rows
from evidence.extraction.payload import payload_compare, payload_merge
from evidence.extraction.seed_prefill import study_draft_prefill
from evidence.extraction.selectors import extraction_queue, reported_study
from evidence.extraction.services import extraction_draft_save, extraction_reconcile
from evidence.models import ExtractionDraft
from evidence.screening import selectors as sel
from evidence.screening.full_text_selectors import full_text_context
from evidence.surveillance.search.flags import citation_overlaps


def extraction_list(request: HttpRequest, review_id: int) -> HttpResponse:
    review = _review(request, review_id)
    if not sel.user_has_role(user=request.user, review=review, roles=sel.EXTRACT + sel.RECONCILE):
        raise PermissionDenied("You need the extractor or senior reviewer role in this review.")
    mine = set(
        ExtractionDraft.objects.filter(review_citation__review=review, extractor=request.user).values_list(
            "review_citation_id", "status"
        )
    )
    return render(
        request,
        "admin/screening/extraction_list.html",
        _context(
            request,
            title="Data extraction",
            review=review,
            queue=extraction_queue(review=review),
            mine=dict(mine),
            can_reconcile=sel.user_has_role(user=request.user, review=review, roles=sel.RECONCILE),
        ),
    )


def extraction_draft(request: HttpRequest, review_id: int, review_citation_id: int) -> HttpResponse:
    review = _review(request, review_id, sel.EXTRACT)
    review_citation = _review_citation(review, review_citation_id)
    draft = ExtractionDraft.objects.filter(review_citation=review_citation, extractor=request.user).first()
    study = reported_study(review_citation=review_citation)
    initial = draft.payload if draft else (study_draft_prefill(study=study) if study else None)
    forms = draft_forms(review, request.POST or None, payload=initial)
    if request.method == "POST":
        payload = draft_payload(forms)
        if payload is None:
            messages.error(request, "Some values are not numbers or not in the lists; see the marked fields.")
        else:
            try:
                extraction_draft_save(
                    review_citation=review_citation,
                    extractor=request.user,
                    payload=payload,
                    submit="submit" in request.POST,
                )
            except ValidationError as error:
                _error_messages(request, error)
            else:
                messages.success(request, "Draft submitted." if "submit" in request.POST else "Draft saved.")
                return redirect("admin:extraction_draft", review.pk, review_citation.pk)
    return render(
        request,
        "admin/screening/extraction_draft.html",
        _context(
            request,
            title="Your extraction",
            review=review,
            review_citation=review_citation,
            draft=draft,
            overlaps=citation_overlaps(review=review, citation=review_citation.citation),
            **full_text_context(user=request.user, review=review, review_citation=review_citation, show_abstract=True),
            **forms,
        ),
    )


def extraction_compare(request: HttpRequest, review_id: int, review_citation_id: int) -> HttpResponse:
    """Side by side: each extractor's values, discrepancies marked; the senior reviewer picks and reconciles."""
    review = _review(request, review_id, sel.RECONCILE)
    review_citation = _review_citation(review, review_citation_id)
    # Blinding: drafts the policy shows (both submitted), never a draft still being entered.
    visible = policy.visible(user=request.user, queryset=sel.drafts_for(review_citation=review_citation))
    drafts = list(visible.exclude(status="draft"))
    comparisons = payload_compare([draft.payload for draft in drafts])
    if request.method == "POST":
        choices = {
            comparison.path: int(request.POST.get(f"choice:{comparison.path}", "-1"))
            for comparison in comparisons
            if comparison.differs and request.POST.get(f"choice:{comparison.path}", "").isdigit()
        }
        try:
            payload = payload_merge([draft.payload for draft in drafts], choices)
            study = extraction_reconcile(review_citation=review_citation, reconciler=request.user, payload=payload)
        except ValueError as error:
            messages.error(request, f"Choose a value for every discrepancy ({error}).")
        except ValidationError as error:
            _error_messages(request, error)
        else:
            messages.success(request, f"Reconciled into {study.label}; it now awaits an editor's approval.")
            return redirect("admin:extraction_list", review.pk)
    return render(
        request,
        "admin/screening/extraction_compare.html",
        _context(
            request,
            title="Reconcile dual extraction",
            review=review,
            review_citation=review_citation,
            drafts=drafts,
            comparisons=comparison_rows(comparisons, review=review),
            n_differ=sum(comparison.differs for comparison in comparisons),
            overlaps=citation_overlaps(review=review, citation=review_citation.citation),
        ),
    )
