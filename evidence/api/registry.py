"""``/api/v1/reviews/<slug>/ongoing-trials/``: the registered trials a reviewer included as ongoing (the same
rule as the review page's "Ongoing and unpublished trials"); JSON or CSV, cursor-paginated."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers

from evidence.api.views import LIST_RENDERERS, SLUG, ReviewScopedMixin
from evidence.models import Registration
from evidence.publishing.selectors.registry import public_registrations


class OngoingTrialSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True, help_text="The registration at ClinicalTrials.gov.")

    class Meta:
        model = Registration
        fields = [
            "id",
            "nct_id",
            "url",
            "brief_title",
            "official_title",
            "overall_status",
            "phases",
            "study_type",
            "enrolment_count",
            "enrolment_type",
            "primary_outcomes",
            "start_date",
            "primary_completion_date",
            "completion_date",
            "completion_date_type",
            "sponsor",
            "has_results",
            "last_update_posted",
        ]
        read_only_fields = fields


@extend_schema_view(get=extend_schema(parameters=[SLUG]))
class OngoingTrialList(ReviewScopedMixin, generics.ListAPIView):
    """Registered trials (ClinicalTrials.gov) the review team included as ongoing: status, planned or actual
    participants, primary outcomes and expected completion. Withdrawn and unscreened registrations never show."""

    serializer_class = OngoingTrialSerializer
    renderer_classes = LIST_RENDERERS

    def get_queryset(self):
        if self.schema_only():
            return Registration.objects.none()
        return public_registrations(review=self.review).order_by("id")
