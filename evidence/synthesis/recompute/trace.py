"""Where each study row's numbers come from: the extraction (who, when, source page or table) or the published
source. Read when a version is written and stored on its study rows, so the trace is as of that version;
kept out of the inputs hash (a corrected page reference alone makes no new version)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q

from evidence.models import ApprovalAction, ExtractionDraft, OutcomeMeasurement, Review, StudyApproval
from evidence.synthesis.recompute.inputs import _months

MAX_SOURCE = 500


def study_row_sources(*, review: Review) -> dict[tuple[int, str, str], str]:
    """(study id, outcome code, time point) -> "extracted by …; approved by … on …; Table 2, p. 5"."""
    extractors: dict[int, set[str]] = defaultdict(set)
    for study_id, username in ExtractionDraft.objects.filter(study__review=review, study__isnull=False).values_list(
        "study_id", "extractor__username"
    ):
        extractors[study_id].add(username)
    approved = {
        study_id: (username, created_at)
        for study_id, username, created_at in StudyApproval.objects.filter(
            study__review=review, action=ApprovalAction.APPROVE
        )
        .order_by("created_at")
        .values_list("study_id", "editor__username", "created_at")
    }
    sources = {}
    # Only rows with something to say: an approved extraction or a recorded source (a generated or imported
    # review of thousands of bare measurements reads nothing here).
    traced = OutcomeMeasurement.objects.filter(study__review=review).filter(
        Q(study_id__in=list(approved)) | ~Q(source_location="") | ~Q(source_url="")
    )
    for study_id, code, months, location, url, origin in traced.values_list(
        "study_id", "outcome__code", "timepoint_months", "source_location", "source_url", "origin"
    ):
        where = "; ".join(filter(None, [location, url if url not in location else ""]))
        if study_id in approved:
            editor, when = approved[study_id]
            who = ", ".join(sorted(extractors[study_id])) or "not recorded"
            text = f"extracted by {who}; approved by {editor} on {when:%Y-%m-%d}; source: {where or 'not given'}"
        else:
            text = f"published source ({origin or 'seed'}): {where or 'not given'}"
        sources[(study_id, code, _months(months))] = text[:MAX_SOURCE]
    return sources
