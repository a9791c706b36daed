"""Re-fetch a review's included reports and flag those PubMed now marks retracted, corrected or updated."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F

from evidence.models import Citation, SearchRun, TriageStage
from evidence.pubmed import EutilsClient
from evidence.pubmed_xml import ParsedCitation, parse_citations
from evidence.services.search.records import FLAG_FIELDS, flag_fields

logger = logging.getLogger(__name__)


def included_citations_recheck(*, run: SearchRun, client: EutilsClient) -> int:
    """Flag the review's included citations newly retracted, corrected (erratum), updated or under an
    expression of concern; the number newly flagged, also added to ``run.citations_flagged``."""
    included = {
        c.pmid: c
        for c in Citation.objects.filter(
            review_citations__review=run.review, review_citations__stage=TriageStage.INCLUDED, pmid__isnull=False
        ).order_by("pmid")
    }
    flagged = 0
    for body in client.iter_efetch(list(included)):
        for record in parse_citations(body):
            citation = included.get(record.pmid)
            if citation is not None and citation_flags_update(citation=citation, record=record, run=run):
                flagged += 1
    return flagged


@transaction.atomic
def citation_flags_update(*, citation: Citation, record: ParsedCitation, run: SearchRun) -> bool:
    """Raise the flags PubMed now sets on ``citation`` (never lowers one); True if any was newly raised."""
    flags = flag_fields(record)
    raised = [name for name in FLAG_FIELDS if flags[name] and not getattr(citation, name)]
    corrections_changed = bool(flags["comments_corrections"]) and (
        citation.comments_corrections != flags["comments_corrections"]
    )
    if not raised and not corrections_changed:
        return False
    for name in raised:
        setattr(citation, name, True)
    if corrections_changed:
        citation.comments_corrections = flags["comments_corrections"]
    citation._change_reason = f"PubMed search run {run.pk}: {', '.join(raised) or 'corrections changed'}"
    citation.save(update_fields=[*raised, "comments_corrections", "updated_at"])
    if raised:
        SearchRun.objects.filter(pk=run.pk).update(citations_flagged=F("citations_flagged") + 1)
        logger.warning(
            "review %s: included PMID %s is now flagged by PubMed: %s",
            run.review.slug,
            citation.pmid,
            ", ".join(raised),
        )
    return bool(raised)
