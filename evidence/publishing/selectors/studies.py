"""The included studies as stored now: details, links and the current retraction/correction flags."""

from __future__ import annotations

import re

from evidence.models import Review, ReviewVersion, Study
from evidence.models.review import INTERVENTION_COLUMNS
from evidence.publishing.selectors.published import public_studies, studies_as_published, version_study_ids

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


ROB_SHORT = {"nos": "NOS", "rob2": "RoB 2", "robins_i": "ROBINS-I"}


def _joined(values) -> str:
    return "; ".join(str(value) for value in values if value) or "not reported"


def _intervention_cells(interventions: list, review: Review) -> list[dict]:
    """One cell per field of the review's intervention vocabulary: ``table`` as the studies table shows it,
    ``page`` as the study's page does. A donor listed beside a cell source is shown with it, as before."""
    keys = [key for key, _ in review.intervention_vocabulary()]
    cells = []
    for key, label in review.intervention_vocabulary():
        if key == "donor" and "cell_source" in keys:
            continue
        if key in INTERVENTION_COLUMNS:
            shown = [i.dose if key == "dose" else getattr(i, f"get_{key}_display")() for i in interventions]
        else:
            shown = [(i.details or {}).get(key) for i in interventions]
        value = _joined(shown)
        cell = {"label": label, "table": value, "page": value}
        if key == "cell_source" and "donor" in keys:
            donor = _joined(i.get_donor_display() for i in interventions)
            cell["table"] += f" ({donor.lower()})" if donor != "Not reported" else ""
            cell["page"] += f" ({donor.lower()})"
        cells.append(cell)
    return cells


def _rob_text(study: Study, review: Review) -> str:
    """The study's rating with its review's tool for its design: NOS stars, else the overall judgement."""
    tool = review.rob_tool_for(study.design)
    found = [q for q in study.quality_assessments.all() if q.instrument == tool]
    if not found:
        return ""
    rating = found[0]
    if tool == "nos":
        return f"{rating.total_score:g} of {rating.max_score:g}" if rating.total_score is not None else ""
    return str((rating.domain_scores or {}).get("overall", "") or "")


def intervention_labels(review: Review) -> list[str]:
    return [cell["label"] for cell in _intervention_cells([], review)]


def rob_tools_used(review: Review, designs) -> list[str]:
    """The review's tools for these designs, in a stable order."""
    return sorted({review.rob_tool_for(design) for design in designs})


def study_view(study: Study, review: Review | None = None) -> dict:
    review = review or study.review
    interventions = list(study.interventions.all())
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
        "intervention": _intervention_cells(interventions, review),
        "rob": _rob_text(study, review),
        "rob_tool": ROB_SHORT.get(review.rob_tool_for(study.design), ""),
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
    blank = [{**cell, "table": ""} for cell in _intervention_cells([], version.review)]
    views = []
    for entry in version.studies:
        study = found.get(entry.get("id"))
        view = (
            study_view(study, version.review)
            if study
            else {"study": None, "links": [], "flags": [], "intervention": blank}
        )
        view.update(label=entry["label"], version_flags=entry.get("flags", []))
        views.append(view)
    return views
