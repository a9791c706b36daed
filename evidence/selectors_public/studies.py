"""The included studies as stored now: details, links and the current retraction/correction flags."""

from __future__ import annotations

import re

from evidence.models import ReviewVersion, Study
from evidence.selectors_public.published import public_studies, studies_as_published, version_study_ids

# --- Included studies -------------------------------------------------------------------------------------

NCT = re.compile(r"NCT\d{8}")


def _links(study: Study) -> list[tuple[str, str]]:
    links, registrations = [], set(NCT.findall(study.trial_registration))
    for report in study.reports.all():
        c = report.citation
        if c.pmid:
            links.append((f"PubMed {c.pmid}", f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/"))
        if c.doi:
            links.append((f"DOI {c.doi}", f"https://doi.org/{c.doi}"))
        registrations.update(r for r in c.registry_ids if NCT.fullmatch(str(r)))
    links += [(nct, f"https://clinicaltrials.gov/study/{nct}") for nct in sorted(registrations)]
    return list(dict.fromkeys(links))


def citation_flags(citation) -> list[str]:
    return [
        text
        for text, on in (
            ("RETRACTED", citation.is_retracted),
            ("expression of concern", citation.has_expression_of_concern),
            ("erratum / correction published", citation.has_erratum),
            ("updated", citation.has_update),
        )
        if on
    ]


def study_view(study: Study) -> dict:
    interventions = list(study.interventions.all())
    nos = [q for q in study.quality_assessments.all() if q.instrument == "nos"]
    flags = sorted({flag for r in study.reports.all() for flag in citation_flags(r.citation)})
    return {
        "study": study,
        "design": study.get_design_display(),
        "n": study.enrolment_n if study.enrolment_n is not None else "not reported",
        "cell_source": "; ".join(i.get_cell_source_display() for i in interventions) or "not reported",
        "donor": "; ".join(i.get_donor_display() for i in interventions) or "not reported",
        "route": "; ".join(i.get_route_display() for i in interventions) or "not reported",
        "dose": "; ".join(i.dose for i in interventions if i.dose) or "not reported",
        "followup": _followup(study),
        "nos": f"{nos[0].total_score:g} of {nos[0].max_score:g}" if nos and nos[0].total_score is not None else "",
        "links": _links(study),
        "flags": flags,
    }


def _followup(study: Study) -> str:
    if study.followup_months is None:
        return "not reported"
    return f"{study.followup_months:g} months"


def version_studies(*, version: ReviewVersion) -> list[dict]:
    """The studies the version included, in its order, with their details as the review's latest version read
    them and their reports' flags as they are now; a study no longer public (withdrawn since) keeps only the
    label the version printed."""
    ids = version_study_ids(version)
    listed = public_studies(review=version.review).filter(id__in=ids).prefetch_related("reports__citation")
    found = {s.id: s for s in studies_as_published(list(listed), review=version.review)}
    views = []
    for entry in version.studies:
        study = found.get(entry.get("id"))
        view = study_view(study) if study else {"study": None, "links": [], "flags": []}
        view.update(label=entry["label"], version_flags=entry.get("flags", []))
        views.append(view)
    return views
