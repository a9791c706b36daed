"""Full texts: attach a PDF or a link to a report; the PDF is streamed to the review's reviewers only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.models import AccessRefusal, FullText, ReviewRole, TriageStage
from evidence.screening.full_text import full_text_attach
from tests.evidence import screening_support
from tests.evidence.screening_support import client_for, make_citation, make_member, make_review

review = screening_support.review  # fixture
team = screening_support.team  # fixture

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def attach_url(rc) -> str:
    return reverse("admin:full_text_upload", args=[rc.review_id, rc.pk])


def file_url(rc) -> str:
    return reverse("admin:full_text_file", args=[rc.review_id, rc.pk])


def errors(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_it_stores_an_uploaded_pdf_with_its_audit_trail_and_streams_it_inline(client, review, team, media_root):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    client_for(client, team["alice"])
    upload = SimpleUploadedFile("Zhang 2017 (paywalled).pdf", PDF, content_type="application/octet-stream")
    response = client.post(attach_url(rc), {"pdf": upload, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    full_text = FullText.objects.get(review_citation=rc)
    assert full_text.pdf_name == "Zhang 2017 (paywalled).pdf" and full_text.pdf_bytes == len(PDF)
    assert full_text.pdf_sha256 == hashlib.sha256(PDF).hexdigest()
    assert full_text.pdf.name.startswith(f"full_texts/{review.pk}/{rc.pk}/") and "Zhang" not in full_text.pdf.name
    assert [path.read_bytes() for path in stored_files(media_root)] == [PDF]
    record = full_text.history.get()
    assert (record.history_user, record.history_type, record.pdf_sha256) == (team["alice"], "+", full_text.pdf_sha256)

    response = client.get(file_url(rc))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # framed by the workspace pages, by no other site
    # Only who may frame it: Chromium's PDF viewer needs the <embed> and inline styles the site's policy forbids.
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert "private" in response["Cache-Control"]


def test_it_refuses_a_file_that_is_not_a_pdf_naming_the_field_and_storing_nothing(client, review, team, media_root):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    client_for(client, team["alice"])
    fake = SimpleUploadedFile("report.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf")
    response = client.post(attach_url(rc), {"pdf": fake})
    assert response.status_code == 302
    assert any(message.startswith("PDF: This file is not a PDF") for message in errors(response))
    assert not FullText.objects.exists() and stored_files(media_root) == []


def test_it_refuses_an_oversized_pdf_naming_the_limit_and_storing_nothing(client, review, team, media_root, settings):
    settings.FULL_TEXT_MAX_BYTES = 1024
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    client_for(client, team["ext1"])
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, content_type="application/pdf")
    response = client.post(attach_url(rc), {"pdf": big})
    assert any(message.startswith("PDF: The file is") and "at most 1.0" in message for message in errors(response))
    assert not FullText.objects.exists() and stored_files(media_root) == []


def test_it_refuses_a_link_that_is_not_a_web_address(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    client_for(client, team["alice"])
    response = client.post(attach_url(rc), {"url": "javascript:alert(1)"})
    assert any(message.startswith("Link to the full text: Give the full web address") for message in errors(response))
    assert not FullText.objects.exists()


def test_it_keeps_a_link_and_replaces_the_pdf_keeping_the_link(review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    full_text_attach(review_citation=rc, user=team["alice"], url="https://doi.org/10.1000/test")
    first = SimpleUploadedFile("a.pdf", PDF)
    full_text_attach(review_citation=rc, user=team["bob"], pdf=first)
    full_text = FullText.objects.get(review_citation=rc)
    assert full_text.url == "https://doi.org/10.1000/test" and full_text.pdf_name == "a.pdf"
    assert full_text.updated_by == team["bob"] and full_text.history.count() == 2


def test_it_refuses_an_attachment_with_neither_file_nor_link(review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    with pytest.raises(ValidationError) as error:
        full_text_attach(review_citation=rc, user=team["alice"])
    assert "pdf" in error.value.message_dict


def test_only_screeners_seniors_and_extractors_may_attach(review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    with pytest.raises(PermissionDenied):
        full_text_attach(review_citation=rc, user=team["editor"], url="https://example.org/paper")
    assert not FullText.objects.exists()


def test_the_pdf_is_refused_to_editors_other_reviews_and_anonymous_visitors(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    full_text_attach(review_citation=rc, user=team["alice"], pdf=SimpleUploadedFile("a.pdf", PDF))
    outsider = make_member("outsider", make_review("other-review"), ReviewRole.SCREENER)

    assert client.get(file_url(rc)).status_code == 302  # anonymous: to the login page
    assert client.get(file_url(rc))["Location"].startswith(reverse("admin:login"))
    assert client_for(client, team["editor"]).get(file_url(rc)).status_code == 403  # a member without the role
    assert client_for(client, outsider).get(file_url(rc)).status_code == 404  # not their review
    forged = reverse("admin:full_text_file", args=[outsider.review_memberships.get().review_id, rc.pk])
    assert client.get(forged).status_code == 403  # their review's id, this review's report
    assert client.post(attach_url(rc), {"url": "https://example.org/x"}).status_code == 404
    refused = AccessRefusal.objects.filter(path__contains="/full-text/").values_list("username", "status")
    assert set(refused) == {("editor", 403), ("outsider", 404), ("outsider", 403)}
    assert FullText.objects.get().url == ""


def test_a_missing_pdf_is_a_404_not_a_500(client, review, team):
    rc = make_citation(review, 1, stage=TriageStage.FULL_TEXT)
    assert client_for(client, team["alice"]).get(file_url(rc)).status_code == 404
    full_text_attach(review_citation=rc, user=team["alice"], pdf=SimpleUploadedFile("a.pdf", PDF))
    FullText.objects.get().pdf.delete(save=False)
    assert client.get(file_url(rc)).status_code == 404
