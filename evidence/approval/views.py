"""The editor's approval page: approve a reconciled study, link it as a report of an existing study, or send
it back to its extractors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from evidence.approval.services import study_approve, study_send_back
from evidence.approval.study_overlap import study_link_as_report
from evidence.core.workspace import _context, _error_messages, _review
from evidence.models import Study
from evidence.screening import selectors as sel
from evidence.surveillance.search.flags import study_overlaps


def approval_list(request: HttpRequest, review_id: int) -> HttpResponse:
    review = _review(request, review_id, sel.APPROVE)
    if request.method == "POST":
        study = get_object_or_404(Study, pk=request.POST.get("study"), review=review)
        comment = request.POST.get("comment", "")
        try:
            if request.POST.get("action") == "approve":
                reason = request.POST.get("distinct_cohort_reason", "")
                study_approve(study=study, editor=request.user, comment=comment, distinct_cohort_reason=reason)
                messages.success(request, f"{study.label} approved; the review's results will be recomputed.")
            elif request.POST.get("action") == "link":
                existing = get_object_or_404(Study, pk=request.POST.get("existing_study") or 0, review=review)
                study_link_as_report(study=study, existing=existing, editor=request.user, comment=comment)
                messages.success(request, f"{study.label} linked as a report of {existing.label}.")
            else:
                study_send_back(study=study, editor=request.user, comment=request.POST.get("comment", ""))
                messages.info(request, f"{study.label} sent back to its extractors.")
        except ValidationError as error:
            _error_messages(request, error)
        return redirect("admin:approval_list", review.pk)
    return render(
        request,
        "admin/screening/approval_list.html",
        _context(
            request,
            title="Approve studies",
            review=review,
            studies=[(study, study_overlaps(study=study)) for study in sel.studies_awaiting_approval(review=review)],
        ),
    )
