"""Version 0 of the seed review: the paper's own published synthesis, imported exactly as printed."""

from __future__ import annotations

import hashlib
import re

from django.db import transaction
from django.utils import timezone

from evidence.models import Certainty, Citation, GradeAssessment, PooledResult, Review, ReviewVersion, VersionKind
from evidence.publishing.selectors.safety import adverse_events_table
from evidence.seed import SEED_DIR, seed_json
from evidence.seed import review as seed_review
from evidence.seed.mapping import timepoint_months
from evidence.seed.outcomes import SEED_KEY_TO_CODE
from evidence.synthesis.prisma import prisma_snapshot

CERTAINTY = {
    "High": Certainty.HIGH,
    "Moderate": Certainty.MODERATE,
    "Low": Certainty.LOW,
    "Very low": Certainty.VERY_LOW,
}
# The paper's printed subgroup labels, as the model's cell-source codes (computed subgroups use the same).
SUBGROUPS = {
    "SVF": ("cell_source", "adipose_svf"),
    "UC-MSCs": ("cell_source", "umbilical_cord_msc"),
    "BMSCs": ("cell_source", "bone_marrow_msc"),
}
# Cui's Table 3 GRADE domains, in the model's vocabulary.
GRADE_DOMAINS = {
    "study_design": "risk_of_bias",
    "inconsistency": "inconsistency",
    "imprecision": "imprecision",
    "small_study_effects": "publication_bias",
}


@transaction.atomic
def version_zero_create(*, review: Review, outcomes: dict, paper: Citation, report) -> ReviewVersion:
    existing = review.versions.filter(number=0).first()
    if existing:
        return existing
    pooled = seed_json("pooled.json")
    numeric_rows = [row for row in pooled["pooled"] if row["estimate"] is not None]
    version = ReviewVersion.objects.create(
        review=review,
        number=0,
        kind=VersionKind.PUBLISHED_PAPER,
        published_at=timezone.now(),  # the snapshot's moment: pages read the records as of it
        trigger="Imported from the published review (seed)",
        inputs_hash=_pooled_hash(),
        analysis_settings={
            "source": "Cui et al. 2022, as printed",
            "source_published_on": seed_review.PUBLISHED_ON.isoformat(),  # what readers see as its date
            "effect_measure": "MD (baseline − follow-up)",
            "model": "not stated; mRSS consistent with inverse-variance fixed effect",
        },
        code_version="seed",
        attribution=seed_review.ATTRIBUTION,
        source_citation=paper,
        methods_note=seed_review.METHODS_NOTE + " " + " ".join(seed_review.VERSION_NOTES),
        narrative_findings=[_narrative(row) for row in pooled["pooled"] if row["estimate"] is None],
        safety_summary=pooled["safety_summary"],
        safety_table=adverse_events_table(study_ids=list(review.studies.values_list("id", flat=True))),
        n_studies=9,
        n_patients=133,
        studies=[
            {"id": s.id, "label": s.label, "year": s.year, "n": s.enrolment_n, "flags": []}
            for s in review.studies.order_by("year", "label")
        ],
    )
    version.prisma = prisma_snapshot(version=version)
    version.save(update_fields=["prisma"])
    report.count("ReviewVersion", True)
    for row in numeric_rows:
        result = PooledResult.objects.create(version=version, **_pooled_fields(row, outcomes))
        report.count("PooledResult", True)
        _grade_create(review, result, row["downgrades"])
        report.count("GradeAssessment", True)
    return version


def _grade_create(review: Review, result: PooledResult, downgrades: dict) -> None:
    """The paper's certainty ratings become the editor's starting judgements, carried to later versions."""
    reasons = {GRADE_DOMAINS[domain]: text for domain, text in downgrades.items() if text.startswith("Downgraded")}
    GradeAssessment.objects.get_or_create(
        review=review,
        outcome=result.outcome,
        timepoint_months=result.timepoint_months,
        subgroup_variable=result.subgroup_variable,
        subgroup_value=result.subgroup_value,
        defaults={"certainty": result.certainty, **{field: f"{text} (Cui 2022)" for field, text in reasons.items()}},
    )


def _pooled_fields(row: dict, outcomes: dict) -> dict:
    low, high = row["ci95"]
    measure = row["effect_measure"]
    derived = row.get("derived") or {}
    return dict(
        outcome=outcomes[SEED_KEY_TO_CODE[row["outcome"]]],
        timepoint_months=timepoint_months(row["timepoint"].split()[0]),
        timepoint_label=row["timepoint"],
        subgroup_variable=SUBGROUPS[row["subgroup"]][0] if row["subgroup"] else "",
        subgroup_value=SUBGROUPS[row["subgroup"]][1] if row["subgroup"] else "",
        k=row["k_trials"],
        n_participants=row["participants"],
        effect_measure="MD" if measure == "MD" else "ratio",
        effect_measure_note="" if measure == "MD" else measure,
        orientation=row.get("orientation", ""),
        model=row.get("model") or "",
        estimate=row["estimate"],
        ci_lb=low,
        ci_ub=high,
        se=derived.get("se"),
        p_value=derived.get("p_two_sided"),
        p_value_reported=row.get("p_reported") or "",
        i2=row.get("i2"),
        tau2=row.get("tau2"),
        certainty=CERTAINTY[row["certainty_grade"]],
        certainty_reasons=row.get("downgrades") or {},
        contributing_studies=row.get("contributing_studies_inferred") or [],
        source=row["source"],
        notes="\n".join(filter(None, [_printed(row), row.get("model_note"), row.get("subgroup_note")])),
    )


def _printed(row: dict) -> str:
    return f"Printed as subgroup '{row['subgroup']}'." if row["subgroup"] else ""


def _narrative(row: dict) -> dict:
    return {
        "outcome": SEED_KEY_TO_CODE[row["outcome"]],
        "timepoint_months": int(re.sub(r"\D", "", row["timepoint"])),
        "statement": row.get("p_reported") or "",
        "note": row.get("note") or "",
        "source": row.get("source", ""),
    }


def _pooled_hash() -> str:
    return hashlib.sha256((SEED_DIR / "pooled.json").read_bytes()).hexdigest()
