"""FHIR R5 (EBM on FHIR) for a published version: a ``Bundle`` (type ``collection``) holding

- a ``Citation`` per report of an included study,
- an ``EvidenceVariable`` per outcome,
- an ``Evidence`` per pooled result: statistic type, value, 95% CI, SE, p, prediction interval,
  heterogeneity (I², tau², Q) as ``attributeEstimate``, sample size (studies and participants) and the
  GRADE certainty,
- an ``Evidence`` per study-level result (the forest plot's rows), ``part-of`` its pooled result and
  citing the study's main report.

Plain dicts, no Django: the view hands in ready rows. Resource ids and ``urn:uuid`` full URLs derive from
database ids, so the same version always gives the same bytes (and the same ETag). Codes come from
terminology.hl7.org (statistic-type, attribute-estimate-type, certainty-rating, variable-role,
synthesis-type); a measure without a code (e.g. a reported ratio) carries text only.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from evidence.models import Outcome, OutcomeType, PooledResult, StudyReport, StudyResult
from evidence.publishing.formats.fhir_registry import research_study
from evidence.publishing.selectors.api import VersionEvidence

THO = "http://terminology.hl7.org/CodeSystem"
PUBMED = "https://pubmed.ncbi.nlm.nih.gov"

STATISTIC_TYPES = {
    "MD": ("0000457", "Difference in means"),
    "MC": ("0000457", "Difference in means"),
    "SMD": ("0000100", "Standardized Mean Difference"),
    "SMCR": ("0000100", "Standardized Mean Difference"),
    "OR": ("C16932", "Odds Ratio"),
    "RR": ("C93152", "Relative Risk"),
    "RD": ("0000424", "Risk Difference"),
    "PR": ("C44256", "Proportion"),
    "PLO": ("C44256", "Proportion"),
    "PAS": ("C44256", "Proportion"),
    "PFT": ("C44256", "Proportion"),
}
CERTAINTY_RATINGS = {
    "high": "High quality",
    "moderate": "Moderate quality",
    "low": "Low quality",
    "very-low": "Very low quality",
}
VARIABLE_ROLES = {
    "population": "Population",
    "subpopulation": "Subpopulation",
    "exposure": "Exposure",
    "measuredVariable": "Measured variable",
}
HANDLING = {OutcomeType.CONTINUOUS: "continuous", OutcomeType.COUNT: "continuous", OutcomeType.BINARY: "dichotomous"}


def version_bundle(evidence: VersionEvidence, *, base_url: str, self_url: str, links: dict | None = None) -> dict:
    """The Bundle of one version, or of a page of its pooled results (``links``: next/previous URLs)."""
    return bundle_page(
        evidence, base_url=base_url, entries=list(version_entries(evidence, base_url=base_url)), self_url=self_url,
        links=links,
    )  # fmt: skip


def version_entries(evidence: VersionEvidence, *, base_url: str) -> Iterator[dict]:
    """Every entry of the version's Bundle, one at a time and always in the same order (the pages cut it)."""
    review = evidence.version.review
    urn = _Urns(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}/reviews/{review.slug}"))
    main_report = _main_reports(evidence.reports)
    for r in _unique_citations(evidence.reports):
        yield _entry(urn.of("citation", r.citation_id), citation(r))
    for o in evidence.outcomes:
        yield _entry(urn.of("outcome", o.id), evidence_variable(o))
    for row in evidence.pooled_results:
        study_urns = [urn.of("study-result", sr.id) for sr in row.study_results.all()]
        yield _entry(urn.of("pooled-result", row.id), pooled_evidence(row, review=review, urns=urn, parts=study_urns))
        for sr in row.study_results.all():
            report = main_report.get(sr.study_id)
            cite = urn.of("citation", report.citation_id) if report else None
            yield _entry(urn.of("study-result", sr.id), study_evidence(sr, row, urns=urn, cite=cite))
    for r in evidence.registrations:
        yield _entry(urn.of("research-study", r.pk), research_study(r))


def version_entry_count(evidence: VersionEvidence) -> int:
    """How many entries ``version_entries`` yields, without building them (the pages' last link needs it)."""
    pooled = sum(1 + len(row.study_results.all()) for row in evidence.pooled_results)
    outcomes, trials = len(evidence.outcomes), len(evidence.registrations)
    return len(_unique_citations(evidence.reports)) + outcomes + pooled + trials


def bundle_page(
    evidence: VersionEvidence, *, base_url: str, entries: list[dict], self_url: str, links: dict | None = None
) -> dict:
    """A Bundle of the version holding ``entries``; ``links``: first/previous/next/last URLs of its pages."""
    version = evidence.version
    review = version.review
    published = version.published_at.isoformat()
    return {
        "resourceType": "Bundle",
        "id": f"{review.slug}-v{version.number}",
        "meta": {"lastUpdated": published},
        "identifier": {"system": f"{base_url}/reviews/{review.slug}/versions", "value": str(version.number)},
        "type": "collection",
        "timestamp": published,
        "link": [{"relation": "self", "url": self_url}]
        + [{"relation": rel, "url": url} for rel, url in (links or {}).items()],
        "entry": entries,
    }


def citation(report: StudyReport) -> dict:
    c = report.citation
    identifiers = [
        {"system": PUBMED, "value": c.pmid} if c.pmid else None,
        {"system": "https://doi.org", "value": c.doi} if c.doi else None,
        {"system": "https://www.ncbi.nlm.nih.gov/pmc", "value": c.pmcid} if c.pmcid else None,
    ]
    artifact = {
        "identifier": [i for i in identifiers if i],
        "title": [{"text": c.title}] if c.title else None,
        "publicationForm": [
            _clean(
                {
                    "publishedIn": {"title": c.journal} if c.journal else None,
                    "publicationDateText": str(c.publication_year) if c.publication_year else None,
                    "pageString": c.journal_citation or None,
                }
            )
        ],
        "webLocation": [{"url": f"{PUBMED}/{c.pmid}/"}] if c.pmid else None,
        "contributorship": {"entry": [{"contributor": {"display": name}} for name in c.authors]} if c.authors else None,
    }
    return _clean(
        {
            "resourceType": "Citation",
            "id": f"citation-{c.id}",
            "status": "active",
            "title": c.title[:250] or None,
            "citedArtifact": _clean(artifact),
            "note": [{"text": f"Report of {report.study.label}" + (" (main report)" if report.is_main_report else "")}],
        }
    )


def evidence_variable(outcome: Outcome) -> dict:
    description = "; ".join(filter(None, [outcome.benefit_in_words, f"unit: {outcome.unit}" if outcome.unit else ""]))
    return _clean(
        {
            "resourceType": "EvidenceVariable",
            "id": _fhir_id(f"outcome-{outcome.code}"),
            "status": "active",
            "title": outcome.name,
            "shortTitle": outcome.code,
            "description": description or None,
            "actual": True,
            "handling": HANDLING.get(outcome.outcome_type),
        }
    )


def pooled_evidence(row: PooledResult, *, review, urns: _Urns, parts: list[str]) -> dict:
    outcome = row.outcome
    subgroup = f"{row.subgroup_variable} = {row.subgroup_value}" if row.subgroup_variable else ""
    title = f"{outcome.name} at {_months(row.timepoint_months)} months" + (f" ({subgroup})" if subgroup else "")
    variables = [
        _variable("population", review.population or review.population_name),
        _variable("exposure", review.intervention or review.intervention_full),
        _variable("measuredVariable", outcome.name, observed=urns.of("outcome", outcome.id)),
    ]
    if subgroup:
        variables.insert(1, _variable("subpopulation", subgroup))
    estimates = [
        _interval("C53324", "Confidence interval", row.ci_lb, row.ci_ub, level=0.95),
        _estimate("0000037", "Standard error", row.se),
        _estimate("C44185", "P-value", row.p_value),
        _interval(None, "Prediction interval", row.pi_lb, row.pi_ub, level=0.95),
        _estimate("0000420", "I-squared", row.i2, unit="%"),
        _estimate("0000421", "Tau squared", row.tau2),
        _estimate("0000419", "Cochran's Q statistic", row.q),
    ]
    statistic = {
        "description": row.effect_measure_note or row.orientation or None,
        "statisticType": _statistic_type(row.effect_measure),
        "quantity": _quantity(row.estimate, outcome.unit if row.effect_measure in ("MD", "MC") else None),
        "sampleSize": _clean({"numberOfStudies": row.k, "numberOfParticipants": row.n_participants}),
        "attributeEstimate": [e for e in estimates if e],
        "modelCharacteristic": [{"code": {"text": _model_text(row)}}] if row.model or row.ci_method else None,
    }
    notes = [n for n in (row.awaiting, row.notes) if n]
    return _clean(
        {
            "resourceType": "Evidence",
            "id": f"pooled-result-{row.id}",
            "version": str(row.version.number),
            "title": title,
            "status": "active",
            "date": row.version.published_at.isoformat(),
            "description": row.orientation or None,
            "note": [{"text": n} for n in notes] or None,
            "variableDefinition": variables,
            "synthesisType": _concept("synthesis-type", "std-MA", "summary data meta-analysis"),
            "statistic": [_clean(statistic)],
            "certainty": [_certainty(row)] if row.certainty else None,
            "relatedArtifact": [{"type": "composed-of", "resourceReference": {"reference": p}} for p in parts] or None,
        }
    )


def study_evidence(result: StudyResult, row: PooledResult, *, urns: _Urns, cite: str | None) -> dict:
    estimates = [
        _interval("C53324", "Confidence interval", result.ci_lb, result.ci_ub, level=0.95),
        _estimate("C48918", "Variance", result.vi),
    ]
    statistic = {
        "description": f"Weight in the pooled analysis: {result.weight:.1f}%",
        "statisticType": _statistic_type(row.effect_measure),
        "quantity": _quantity(result.yi, row.outcome.unit if row.effect_measure in ("MD", "MC") else None),
        "sampleSize": _clean({"numberOfStudies": 1, "numberOfParticipants": result.n}),
        "attributeEstimate": [e for e in estimates if e],
    }
    return _clean(
        {
            "resourceType": "Evidence",
            "id": f"study-result-{result.id}",
            "title": f"{result.study_label}: {row.outcome.name} at {_months(row.timepoint_months)} months",
            "status": "active",
            "citeAsReference": {"reference": cite, "display": result.study_label} if cite else None,
            "description": result.derivation or None,
            "variableDefinition": [
                _variable("measuredVariable", row.outcome.name, observed=urns.of("outcome", row.outcome_id))
            ],
            "statistic": [_clean(statistic)],
            "relatedArtifact": [
                {"type": "part-of", "resourceReference": {"reference": urns.of("pooled-result", row.id)}}
            ],
        }
    )


class _Urns:
    def __init__(self, namespace: uuid.UUID) -> None:
        self.namespace = namespace

    def of(self, kind: str, pk: int) -> str:
        return f"urn:uuid:{uuid.uuid5(self.namespace, f'{kind}/{pk}')}"


def _entry(full_url: str, resource: dict) -> dict:
    return {"fullUrl": full_url, "resource": resource}


def _unique_citations(reports: list[StudyReport]) -> list[StudyReport]:
    seen: dict[int, StudyReport] = {}
    for report in reports:
        seen.setdefault(report.citation_id, report)
    return list(seen.values())


def _main_reports(reports: list[StudyReport]) -> dict[int, StudyReport]:
    by_study: dict[int, list[StudyReport]] = defaultdict(list)
    for report in reports:
        by_study[report.study_id].append(report)
    return {sid: next((r for r in rs if r.is_main_report), rs[0]) for sid, rs in by_study.items()}


def _concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": f"{THO}/{system}", "code": code, "display": display}], "text": display}


def _variable(role: str, description: str, *, observed: str | None = None) -> dict:
    return _clean(
        {
            "description": description,
            "variableRole": _concept("variable-role", role, VARIABLE_ROLES[role]),
            "observed": {"reference": observed, "display": description} if observed else None,
        }
    )


def _statistic_type(measure: str) -> dict:
    if measure in STATISTIC_TYPES:
        code, display = STATISTIC_TYPES[measure]
        return {**_concept("statistic-type", code, display), "text": measure}
    return {"text": measure}


def _certainty(row: PooledResult) -> dict:
    code = row.certainty.replace("_", "-")
    rating = _concept("certainty-rating", code, CERTAINTY_RATINGS.get(code, row.get_certainty_display()))
    reasons = [f"{k}: {v}" for k, v in sorted(row.certainty_reasons.items()) if v] if row.certainty_reasons else []
    return _clean(
        {
            "type": _concept("certainty-type", "Overall", "Overall certainty"),
            "rating": rating,
            "rater": "GRADE",
            "note": [{"text": r} for r in reasons] or None,
        }
    )


def _model_text(row: PooledResult) -> str:
    return "; ".join(filter(None, [row.model and f"model {row.model}", row.ci_method and f"CI {row.ci_method}"]))


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def _quantity(value, unit: str | None = None) -> dict | None:
    if not _finite(value):
        return None
    return _clean({"value": float(value), "unit": unit or None})


def _estimate(code: str | None, display: str, value, *, unit: str | None = None) -> dict | None:
    if not _finite(value):
        return None
    kind = _concept("attribute-estimate-type", code, display) if code else {"text": display}
    return {"type": kind, "quantity": _quantity(value, unit)}


def _interval(code: str | None, display: str, low, high, *, level: float) -> dict | None:
    if not (_finite(low) and _finite(high)):
        return None
    kind = _concept("attribute-estimate-type", code, display) if code else {"text": display}
    return {"type": kind, "level": level, "range": {"low": _quantity(low), "high": _quantity(high)}}


def _months(value: Decimal) -> str:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


def _fhir_id(text: str) -> str:
    """FHIR ids allow letters, digits, '-' and '.', up to 64 characters."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-.") else "-" for ch in text)[:64]


def _clean(mapping: dict) -> dict:
    """Drop empty elements: FHIR forbids empty strings, lists and objects."""
    return {k: v for k, v in mapping.items() if v not in (None, "", [], {})}
