"""Load the seeded MSC–SSc review. Idempotent: a second load creates nothing and overwrites no reviewer's edit.

Every value comes from ``evidence/seed/*.json`` (copied from the shared seed); a ``null`` there stays
unknown here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from evidence.models import (
    AdverseEvent,
    ArmRole,
    Citation,
    CitationOrigin,
    Intervention,
    Outcome,
    OutcomeMeasurement,
    QualityAssessment,
    Review,
    ReviewCitation,
    Study,
    StudyArm,
    StudyReport,
    StudyStatus,
    TriageStage,
)
from evidence.seed import review as seed_review
from evidence.seed import seed_json
from evidence.seed.mapping import cell_source_of, design_of, donor_of, measurement_fields, route_of, timepoint_months
from evidence.seed.outcomes import OUTCOMES, SEED_KEY_TO_CODE
from evidence.seed.version0 import version_zero_create


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)

    def count(self, model_name: str, was_created: bool) -> None:
        if was_created:
            self.created[model_name] = self.created.get(model_name, 0) + 1

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


@transaction.atomic
def seed_load() -> SeedReport:
    """Create the MSC–SSc review, its 9 studies and version 0 (the paper's published results)."""
    report = SeedReport()
    review, created = Review.objects.get_or_create(slug=seed_review.SLUG, defaults=seed_review.REVIEW)
    report.count("Review", created)
    outcomes = _outcomes_create(review, report)
    paper, created = _citation_get_or_create(seed_review.SEED_PAPER, note="The seed review's own publication.")
    report.count("Citation", created)
    identities = {row["label"]: row["identity"] for row in seed_json("primary.json")["included"]}
    for row in seed_json("studies.json")["studies"]:
        _study_create(review, row, identities.get(row["label"], {}), outcomes, report)
    version_zero_create(review=review, outcomes=outcomes, paper=paper, report=report)
    return report


def _outcomes_create(review: Review, report: SeedReport) -> dict[str, Outcome]:
    outcomes = {}
    for code, name, unit, direction, kind, words, low, high, order, _key in OUTCOMES:
        outcome, created = Outcome.objects.get_or_create(
            review=review,
            code=code,
            defaults=dict(
                name=name,
                unit=unit,
                direction=direction,
                outcome_type=kind,
                benefit_in_words=words,
                plausible_min=low,
                plausible_max=high,
                display_order=order,
            ),
        )
        report.count("Outcome", created)
        outcomes[code] = outcome
    return outcomes


def _citation_get_or_create(fields: dict, *, note: str) -> tuple[Citation, bool]:
    defaults = {key: value for key, value in fields.items() if value is not None and key != "pmid"}
    defaults.update(origin=CitationOrigin.SEED, origin_note=note)
    if fields.get("pmid"):
        return Citation.objects.get_or_create(pmid=fields["pmid"], defaults=defaults)
    lookup = (
        {"doi": fields["doi"]}
        if fields.get("doi")
        else {"title": fields.get("title") or "", "first_author": fields.get("first_author", "")}
    )
    return Citation.objects.get_or_create(pmid=None, **lookup, defaults=defaults)


def _study_create(review: Review, row: dict, identity: dict, outcomes: dict, report: SeedReport) -> None:
    study, created = Study.objects.get_or_create(review=review, label=row["label"], defaults=_study_fields(row))
    report.count("Study", created)
    if not created:
        return  # the study is the reviewers' now; a re-load must not touch what hangs off it
    _reports_create(review, study, row, identity, report)
    Intervention.objects.create(**_intervention_fields(study, row))
    report.count("Intervention", True)
    arm = StudyArm.objects.create(
        study=study, label="MSC", role=ArmRole.INTERVENTION, n_randomized=row["n"], description=row["cell_source"]
    )
    report.count("StudyArm", True)
    _measurements_create(study, arm, row, outcomes, report)
    _adverse_events_create(study, arm, row, report)
    if row.get("nos_score") is not None:
        QualityAssessment.objects.create(
            study=study,
            instrument="nos",
            total_score=row["nos_score"],
            max_score=9,
            assessor_label="Cui et al. 2022 (Table 2)",
            source=" ".join(row["cui"]["source"]),
        )
        report.count("QualityAssessment", True)


def _study_fields(row: dict) -> dict:
    sex = row.get("sex_female_male") or [None, None]
    duration = row.get("disease_duration") or {}
    caveats = [text for key, text in seed_review.READER_CAVEATS.items() if row["label"].startswith(key)]
    notes = []
    country, _, country_doubt = (row.get("country") or "").partition(" -- ")
    if country_doubt:
        notes.append(f"Country: {country_doubt}")
    for key in ("n_note", "adverse_events_note", "trial_registration_note", "possible_review_entry"):
        if row.get(key):
            notes.append(str(row[key]))
    cohort = _cohort(row["label"])
    if cohort.get("source"):
        notes.append(f"Centre and recruitment years: {cohort['source']}")
    return dict(
        first_author=row["first_author"],
        year=row["year"],
        design=design_of(row["design"]),
        design_detail=row["design"],
        country=country,
        enrolment_n=row["n"],
        female_n=sex[0],
        male_n=sex[1],
        age_mean=row.get("age_mean"),
        age_sd=row.get("age_sd"),
        disease_duration_years=duration.get("mean_years"),
        disease_duration_sd_years=duration.get("sd"),
        baseline_characteristics=_baseline_characteristics(row),
        followup_months=row.get("followup_months"),
        followup_note=row.get("followup_note") or "",
        trial_registration=row.get("trial_registration") or "",
        population_notes=f"Cui Table 1: {row['cui']['table1_row']}",
        data_quality_notes="\n".join(notes),
        public_note="\n".join(caveats),
        reports_no_adverse_events=row["label"].startswith(seed_review.NO_ADVERSE_EVENTS) and not row["adverse_events"],
        centre=cohort.get("centre") or "",
        recruitment_start_year=cohort.get("recruitment_start_year"),
        recruitment_end_year=cohort.get("recruitment_end_year"),
        status=StudyStatus.INCLUDED,
    )


def _cohort(label: str) -> dict:
    """Centre and recruitment years where the seed states them (``cohorts.json``), for the overlap check."""
    return seed_json("cohorts.json")["studies"].get(label, {})


def _baseline_characteristics(row: dict) -> dict:
    details = {key: row[key] for key in ("age_range", "other_baseline") if row.get(key) is not None}
    if row.get("disease_duration"):
        details["disease_duration"] = row["disease_duration"]
    return details


def _reports_create(review: Review, study: Study, row: dict, identity: dict, report: SeedReport) -> None:
    main = {key: identity.get(key) or row.get(key) for key in ("pmid", "pmcid", "doi", "title")}
    main.update(first_author=row["first_author"], publication_year=row["year"])
    if identity.get("journal") or row.get("journal"):
        main["journal"] = identity.get("journal") or row.get("journal")
    by_line = identity.get("authors") or row.get("authors")  # the first author's initial, for the overlap check
    if by_line:
        main["authors"] = [name.strip() for name in by_line.split(",")]
    reports = [(main, True, "Main report")]
    for companion in row.get("companion_reports", []):
        author, _, year = companion["label"].partition(" ")
        fields = {
            "pmid": companion.get("pmid"),
            "doi": companion.get("doi"),
            "title": companion.get("title"),
            "first_author": author,
            "publication_year": int(year[:4]),
        }
        reports.append((fields, False, companion["label"]))
    for fields, is_main, note in reports:
        citation, created = _citation_get_or_create(fields, note=f"Seed: {study.label} — {note}")
        report.count("Citation", created)
        StudyReport.objects.create(study=study, citation=citation, is_main_report=is_main, note=note)
        ReviewCitation.objects.get_or_create(review=review, citation=citation, defaults={"stage": TriageStage.INCLUDED})


def _intervention_fields(study: Study, row: dict) -> dict:
    co = [text for key, items in seed_review.CO_INTERVENTIONS.items() if row["label"].startswith(key) for text in items]
    return dict(
        study=study,
        cell_source=cell_source_of(row["cell_source"]),
        cell_source_detail=row["cell_source"],
        donor=donor_of(row.get("autologous")),
        donor_basis=row.get("autologous_basis") or "",
        route=route_of(row["route"]),
        route_detail=row["route"],
        dose=row.get("cell_dose") or "",
        co_interventions=co,
    )


def _measurements_create(study: Study, arm: StudyArm, row: dict, outcomes: dict, report: SeedReport) -> None:
    effects = row.get("study_level_effect_from_cui")
    for key, by_time in row["outcomes"].items():
        for time_key, data in by_time.items():
            effect = effects if effects and (effects["outcome"], effects["timepoint"]) == (key, time_key) else None
            OutcomeMeasurement.objects.create(
                study=study,
                study_arm=arm,
                arm=arm.label,
                outcome=outcomes[SEED_KEY_TO_CODE[key]],
                timepoint_months=timepoint_months(time_key),
                **measurement_fields(data, effect),
            )
            report.count("OutcomeMeasurement", True)


def _adverse_events_create(study: Study, arm: StudyArm, row: dict, report: SeedReport) -> None:
    for event in row.get("adverse_events", []):
        AdverseEvent.objects.create(
            study=study,
            study_arm=arm,
            term=event["event"],
            category=event.get("category", ""),
            # Cui 2022: "no severe adverse events in included trials".
            serious=False,
            patients_with_event=event.get("n"),
            patients_at_risk=study.enrolment_n,
            source=event.get("source", ""),
            origin=event.get("origin", ""),
            note=event.get("note", ""),
        )
        report.count("AdverseEvent", True)
