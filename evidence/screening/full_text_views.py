"""Workspace pages for full texts: attach a PDF or a link, and read the PDF.

The PDF is never served from a public URL: ``full_text_file`` asks the review policy (a member who screens or
extracts in that review, or a superuser) and streams the file inline, framable by this site's own pages only.
"""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from evidence.core import policy
from evidence.core.workspace import _review, _review_citation
from evidence.models import FullText
from evidence.screening.forms import FullTextForm
from evidence.screening.full_text import full_text_attach

FIELD_NAMES = {"pdf": "PDF", "url": "Link to the full text"}


def _readable(request: HttpRequest, review_id: int, review_citation_id: int):
    review = _review(request, review_id)  # 404 outside the user's reviews
    if not policy.user_has_role(user=request.user, review=review, roles=policy.FULL_TEXT):
        raise PermissionDenied("Full texts are for the reviewers who screen or extract in this review.")
    return review, _review_citation(review, review_citation_id)


# The site's policy is replaced, not tightened, on this one response: Chromium draws a PDF through an internal
# <embed> with inline styles, which the site's object-src 'none' and style-src would block (crbug.com/271452).
# What protects it is the body (a checked PDF, never HTML: nosniff and its own type) and who may frame it.
@xframe_options_sameorigin
@csp({"frame-ancestors": [SELF]})
def full_text_file(request: HttpRequest, review_id: int, review_citation_id: int) -> FileResponse:
    """The PDF, inline; the extraction and full-text screening pages frame it beside their forms."""
    _, review_citation = _readable(request, review_id, review_citation_id)
    full_text = FullText.objects.filter(review_citation=review_citation).exclude(pdf="").first()
    if full_text is None:
        raise Http404("No PDF is attached to this report.")
    try:
        handle = full_text.pdf.open("rb")
    except FileNotFoundError:
        raise Http404("The PDF's file is missing from the storage; attach it again.") from None
    response = FileResponse(
        handle, content_type="application/pdf", filename=f"full-text-{review_citation.pk}.pdf", as_attachment=False
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"  # a shared cache must never keep a licensed PDF
    return response


@require_POST
def full_text_upload(request: HttpRequest, review_id: int, review_citation_id: int) -> HttpResponse:
    _, review_citation = _readable(request, review_id, review_citation_id)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "admin:screening_home"
    form = FullTextForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            full_text_attach(
                review_citation=review_citation,
                user=request.user,
                pdf=form.cleaned_data["pdf"] or None,
                url=form.cleaned_data["url"],
            )
        except ValidationError as error:
            _field_errors(request, error.message_dict if hasattr(error, "error_dict") else {"": error.messages})
        else:
            messages.success(request, f"Full text attached to {review_citation.citation}.")
    else:
        _field_errors(request, form.errors)
    return redirect(back)


def _field_errors(request: HttpRequest, errors: dict) -> None:
    """Each problem as "PDF: …" or "Link to the full text: …", so the reviewer knows which input to fix."""
    for field, problems in errors.items():
        for problem in problems:
            messages.error(request, f"{FIELD_NAMES.get(field, 'Full text')}: {problem}")
