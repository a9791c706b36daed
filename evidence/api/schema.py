"""OpenAPI details drf-spectacular cannot infer: non-JSON bodies, the errors every endpoint can answer,
and the headers for polling (``ETag``, ``Last-Modified``, ``Link``, ``Retry-After``)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

FHIR_BUNDLE = {
    "type": "object",
    "description": "A FHIR R5 Bundle (type collection) of Citation, EvidenceVariable and Evidence resources.",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "id": {"type": "string"},
        "type": {"type": "string", "enum": ["collection"]},
        "timestamp": {"type": "string", "format": "date-time"},
        "link": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"relation": {"type": "string"}, "url": {"type": "string", "format": "uri"}},
            },
        },
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fullUrl", "resource"],
                "properties": {
                    "fullUrl": {"type": "string"},
                    "resource": {
                        "type": "object",
                        "required": ["resourceType"],
                        "properties": {
                            "resourceType": {"type": "string", "enum": ["Citation", "EvidenceVariable", "Evidence"]}
                        },
                    },
                },
            },
        },
    },
}
TEXT_BODY = {"type": "string"}
TEXT_MEDIA_TYPES = ("text/csv", "application/x-research-info-systems", "text/html")
FHIR_MEDIA_TYPE = "application/fhir+json"

HEADER = {"schema": {"type": "string"}}
SUCCESS_HEADERS = {
    "ETag": {**HEADER, "description": "Hash of the body; send it back in If-None-Match to get a 304."},
    "Last-Modified": {**HEADER, "description": "When this body was first served; for If-Modified-Since."},
    "Link": {**HEADER, "description": 'Next/previous pages (RFC 8288), e.g. <…?cursor=…>; rel="next".'},
}
ERRORS = {
    "400": "Unknown query parameter, bad filter value, bad cursor or page size, or unknown format.",
    "401": "The Authorization token is not valid (omit the header to read anonymously).",
    "404": "No such review, published version, study or outcome.",
    "406": "No offered format matches the Accept header.",
    "429": "Over quota; retry after Retry-After seconds.",
}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong and what to send instead.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For a bad filter value: the messages by parameter.",
    )


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        success = responses.get("200")
        if success and "content" in success:
            for media_type in success["content"]:
                if media_type.startswith(TEXT_MEDIA_TYPES):
                    success["content"][media_type] = {"schema": TEXT_BODY}
                elif media_type == FHIR_MEDIA_TYPE:
                    success["content"][media_type] = {"schema": FHIR_BUNDLE}
            success["headers"] = {**SUCCESS_HEADERS, **success.get("headers", {})}
            responses["304"] = {"description": "Not modified: the ETag or date you sent is still current."}
        for code, description in ERRORS.items():
            error = self._get_response_for_code(ErrorSerializer, code, media_types=["application/json"])
            error["description"] = description
            if code == "429":
                error["headers"] = {"Retry-After": {**HEADER, "description": "Seconds to wait."}}
            responses.setdefault(code, error)
        return responses
