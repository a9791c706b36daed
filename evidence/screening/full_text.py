"""Attach the full text of a report: a PDF on the media storage, or a link.

A refused upload stores nothing: every check runs before the file is written. A new PDF replaces the old one,
whose file is deleted only once the new row is committed (a rollback keeps the old file the row still names).
The row's history is the audit trail: who attached which file (name, size, SHA-256) or link, and when.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from evidence.core.policy import FULL_TEXT
from evidence.core.roles import review_role_require
from evidence.models import FullText, ReviewCitation

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"


def _pdf_check(upload: UploadedFile) -> str:
    """The upload's SHA-256 once it is known to be a PDF within the size limit; a field-named error otherwise."""
    limit = settings.FULL_TEXT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        size = filesizeformat(upload.size) if upload.size else "of unknown size"
        raise ValidationError({"pdf": f"The file is {size}; a full text may be at most {filesizeformat(limit)}."})
    upload.seek(0)
    if upload.read(len(PDF_MAGIC)) != PDF_MAGIC:
        raise ValidationError({"pdf": "This file is not a PDF (it does not start with %PDF-); attach the PDF."})
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _url_check(url: str) -> str:
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ValidationError({"url": "Give the full web address, starting with https:// or http://."}) from None
    return url


@transaction.atomic
def full_text_attach(
    *,
    review_citation: ReviewCitation,
    user: AbstractBaseUser,
    pdf: UploadedFile | None = None,
    url: str = "",
) -> FullText:
    """Attach a PDF, a link, or both to a report of the review; what is not given is kept as it was."""
    review_role_require(user=user, review=review_citation.review, roles=FULL_TEXT, action="attach a full text")
    url = _url_check(url)
    if pdf is None and not url:
        raise ValidationError({"pdf": "Choose a PDF to upload, or give a link to the full text."})
    sha256 = _pdf_check(pdf) if pdf is not None else ""
    # Two reviewers attaching at once are serialised on the report's row: the later one replaces the earlier.
    locked = ReviewCitation.objects.select_for_update().get(pk=review_citation.pk)
    full_text = FullText.objects.filter(review_citation=locked).first() or FullText(review_citation=locked)
    old_name, stored = full_text.pdf.name, ""
    if url:
        full_text.url = url
    if pdf is not None:
        full_text.pdf_name, full_text.pdf_bytes, full_text.pdf_sha256 = pdf.name[:255], pdf.size, sha256
        full_text.pdf.save(pdf.name, pdf, save=False)  # the storage writes it under full_text_path's name
        stored = full_text.pdf.name
    full_text.updated_by = user
    full_text._history_user = user
    try:
        full_text.full_clean(exclude=["pdf"])
        full_text.save()
    except Exception:
        _forget(full_text.pdf.storage, stored)  # the row was not written: no file may stay behind
        raise
    if stored and old_name:
        storage = full_text.pdf.storage
        transaction.on_commit(lambda: _forget(storage, old_name))  # the replaced PDF, once nothing names it
    logger.info("full text of review citation %s attached by %s (pdf %s)", review_citation.pk, user, sha256 or "-")
    return full_text


def _forget(storage, name: str) -> None:
    if name:
        storage.delete(name)
