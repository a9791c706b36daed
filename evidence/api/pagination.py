"""Cursor pagination for registries that walk a list every night.

A cursor marks a position in a stable ordering (an id or a version number, both immutable), so a client
paging while rows are inserted sees no row twice and misses none that existed when it started. A bad
cursor or page size is a 400 that says what to send instead, not a silent default.
"""

from __future__ import annotations

from base64 import b64decode

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

MAX_PAGE_SIZE = 1000


class StableCursorPagination(CursorPagination):
    """``?cursor=`` from a previous page's ``next`` link, ``?page_size=`` up to 1000; oldest rows first.

    Views set ``ordering`` to a single unique, immutable integer field. The links also go in a ``Link``
    header (RFC 8288), so CSV and RIS clients can follow them without parsing the body.
    """

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "id"
    page_size_query_description = f"Rows per page, 1 to {MAX_PAGE_SIZE} (default 100)."
    cursor_query_description = "Opaque position: copy it from the `next` or `previous` link of a page."

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"detail": f"page_size must be a whole number from 1 to {self.max_page_size}."})
        return int(raw)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        try:
            if encoded is not None:
                b64decode(encoded, validate=True)  # DRF's lenient decoding reads junk as "first page"
            cursor = super().decode_cursor(request)
        except (NotFound, ValueError):
            cursor = False
        if cursor is None:
            return None
        # Every ordering here is an integer field: a forged position would otherwise reach the query.
        if cursor is False or (cursor.position is not None and not _is_small_int(cursor.position)):
            raise ValidationError({"detail": "Invalid cursor: copy it unchanged from a page's next/previous link."})
        return cursor

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        links = self.get_links()
        if links:
            response["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
        return response

    def get_links(self) -> dict[str, str]:
        links = {"next": self.get_next_link(), "previous": self.get_previous_link()}
        return {rel: url for rel, url in links.items() if url}


def _is_small_int(value: str) -> bool:
    return value.isascii() and value.lstrip("-").isdigit() and abs(int(value)) < 2**63
