"""The MSC–SSc review as the seed defines it: question, query and notes carried from Cui et al. 2022."""

import datetime

SLUG = "msc-ssc"

TIMEPOINT_WINDOWS = [
    {"months": 3, "from": 2, "to": 4},
    {"months": 6, "from": 5, "to": 8},
    {"months": 12, "from": 9, "to": 18},
    {"months": 24, "from": 19, "to": 30},
    {"months": 36, "from": 31, "to": 48},
    {"months": 60, "from": 49, "to": 72},
]

REVIEW = {
    "title": "Mesenchymal stem cell therapy for systemic sclerosis: a living systematic review",
    "population": "Adults with systemic sclerosis (SSc), diffuse or limited cutaneous.",
    "intervention": "Mesenchymal stem/stromal cells of any source (adipose SVF, adipose-derived MSC, "
    "bone-marrow MSC, umbilical-cord MSC), autologous or allogeneic, local injection or intravenous.",
    "comparator": "Baseline (single-arm before/after) or placebo / standard care (controlled trials).",
    "pico_terms": [
        "systemic sclerosis",
        "scleroderma",
        "SSc",
        "mesenchymal",
        "stem cell",
        "stromal",
        "MSC",
        "adipose",
        "SVF",
        "stromal vascular fraction",
        "umbilical cord",
        "bone marrow",
        "lipotransfer",
        "fat graft",
        "mRSS",
        "Rodnan",
        "DLCO",
        "FVC",
        "digital ulcer",
        "Raynaud",
    ],
    "exclusion_reasons": [
        "Not systemic sclerosis",
        "Not MSC / cell therapy",
        "No outcome of interest",
        "Review, editorial or comment",
        "Animal or in-vitro study",
        "Case report (n < 3)",
        "Duplicate",
    ],
    # Sensitive MSC–SSc strategy (Cui 2022's exact string was not retrievable; this follows its PICO).
    "pubmed_query": (
        '("Scleroderma, Systemic"[MeSH Terms] OR "systemic sclerosis"[Title/Abstract] '
        'OR "systemic scleroderma"[Title/Abstract] OR scleroderma[Title/Abstract] OR SSc[Title/Abstract]) '
        'AND ("Mesenchymal Stem Cells"[MeSH Terms] OR "Mesenchymal Stem Cell Transplantation"[MeSH Terms] '
        'OR "mesenchymal stem cell*"[Title/Abstract] OR "mesenchymal stromal cell*"[Title/Abstract] '
        'OR MSC[Title/Abstract] OR MSCs[Title/Abstract] OR "stromal vascular fraction"[Title/Abstract] '
        'OR SVF[Title/Abstract] OR "adipose-derived stem cell*"[Title/Abstract] '
        'OR "adipose derived stromal"[Title/Abstract] OR "umbilical cord"[Title/Abstract] '
        'OR "bone marrow-derived"[Title/Abstract] OR lipotransfer[Title/Abstract] '
        'OR "fat graft*"[Title/Abstract] OR lipofilling[Title/Abstract])'
    ),
    "search_start_date": datetime.date(2021, 2, 1),
    "living_status": "living",
    # The primary analysis is the paper's, so a recompute with nothing new reproduces its Table 3: mean
    # difference baseline − follow-up, before and after independent, inverse-variance fixed effect. REML with
    # Hartung–Knapp and r = 0.2/0.5/0.8 are shown beside it as sensitivity analyses.
    "continuous_measure": "MC",
    "binary_measure": "OR",
    "proportion_measure": "PLO",
    "estimator": "FE",
    "ci_method": "z",
    "prepost_correlation": 0,
    "prepost_independent": True,
    "change_orientation": "baseline_minus_followup",
    "primary_analysis_source": "Cui et al. 2022, as published: inverse-variance fixed effect, mean difference "
    "baseline − follow-up, before and after treated as independent",
    # Cui's rows are at 3, 6 and 12 months; later follow-up (Alip 2024's 3 and 5 years) gets its own rows.
    "timepoint_windows": TIMEPOINT_WINDOWS,
    **{
        # The public wording (the texts the pages carried before they came from the review).
        "intervention_name": "MSC therapy",
        "intervention_full": "mesenchymal stem cell therapy",
        "intervention_plain": "mesenchymal stem (stromal) cells",
        "population_name": "systemic sclerosis",
        "population_plain": "people with systemic sclerosis",
        "arm_label": "MSC",
        "intervention_fields": ["Cell source", "Donor", "Route", "Dose"],
        # Every seeded study is single-arm before/after: Cui et al. rated them with the NOS.
        "rob_tool_randomized": "rob2",
        "rob_tool_non_randomized": "nos",
    },
}

# The wording and vocabulary fields above, which the migration of issue 20 writes on an existing MSC review.
WORDING_FIELDS = (
    "intervention_name",
    "intervention_full",
    "intervention_plain",
    "population_name",
    "population_plain",
    "arm_label",
    "intervention_fields",
    "rob_tool_randomized",
    "rob_tool_non_randomized",
)

SEED_PAPER = {
    "pmid": "35313985",
    "pmcid": "PMC8935249",
    "doi": "10.1186/s13287-022-02786-3",
    "title": "Efficacy and safety of mesenchymal stem cells in the treatment of systemic sclerosis: "
    "a systematic review and meta-analysis",
    "authors": ["Cui J", "Jin L", "Ding M", "He J", "Yang L", "Cui S", "Wang X", "Ma J", "Liu A"],
    "first_author": "Cui",
    "journal": "Stem Cell Research & Therapy",
    "journal_citation": "2022;13(1):118",
    "publication_year": 2022,
    "publication_month": 3,
    "publication_types": ["Meta-Analysis", "Systematic Review"],
}

# The day the review was published (Stem Cell Res Ther 2022;13:118, "2022 Mar 21": evidence/seed/paper.md and
# https://pmc.ncbi.nlm.nih.gov/articles/PMC8935249): readers see version 0 dated by it, not by the day of the import.
PUBLISHED_ON = datetime.date(2022, 3, 21)


ATTRIBUTION = (
    "Published synthesis: Cui J, Jin L, Ding M, et al. Efficacy and safety of mesenchymal stem cells in the "
    "treatment of systemic sclerosis: a systematic review and meta-analysis. Stem Cell Res Ther 2022;13:118. "
    "doi:10.1186/s13287-022-02786-3 (PMID 35313985). Searched 7 databases up to 2021-02-01."
)

METHODS_NOTE = (
    "As far as can be inferred from the paper's tables: mean differences oriented baseline − follow-up "
    "(positive = improvement); before and after treated as two independent groups; inverse-variance fixed "
    "effect for mRSS (re-pooling the three 6-month cell-source rows gives 5.10 (3.39 to 6.81) against the "
    "printed 5.09 (3.38 to 6.81)). The digital-ulcer result is a ratio (odds or risk ratio, not stated). "
    "I², τ², the model per analysis and the software were not retrievable. p-values shown are computed from "
    "the printed 95% CIs (normal approximation) and reproduce the abstract's."
)

# paper.md §11: the paper's inconsistencies a reader needs to read a study's numbers (an adverse-event count,
# a participant count, a co-intervention, a hand-only skin score, a disputed design): each study's public note.
# The rest of studies.json's notes (a doubted country, where a count was looked up, a registration or review
# entry not yet matched) are the curators' working notes: they go to the internal data-quality notes.
READER_CAVEATS = {
    "Granel": "Cui Table 2 lists 2 adverse events; the Granel 2015 abstract reports four minor adverse events "
    "that resolved spontaneously. Local SVF hand study: the skin score may be hand-only, not whole-body mRSS.",
    "Keyszer": "Cui uses N = 3 (1F/2M). A 2018 review table (Rozier et al., PMC6302042) lists 5 patients, "
    "probably the same report (identity not verified); if so, Cui used 3 of 5 patients.",
    "Zhang": "Patients also received plasmapheresis ×3 and pulse cyclophosphamide before MSCs (co-intervention); "
    "Cui classifies the cells as UC-MSCs while Zhang's abstract says only 'allogeneic MSCs'.",
    "Virz": "Called a 'case report' (6 dcSSc patients, ADSVF ± PRP) in a 2020 review table (Cell Regeneration, "
    "s13619-020-00058-0, Table 4); Cui calls it self-control, SVF.",
    "Park": "Local SVF hand study: the skin score may be hand-only (a Korean SVF registration lists "
    "'mRSS of hands'; link to Park not verified).",
}

# Studies with no adverse-event rows that state none occurred (studies.json adverse_events_note): they enter
# the safety analysis with 0 events. Scuderi 2013 is not here: Cui's Table 2 gives its number of adverse
# events as "NA" (injection-site and other "none"), so whether any occurred is not stated; it stays out.
NO_ADVERSE_EVENTS = ("Wang", "Virz")

CO_INTERVENTIONS = {
    "Zhang": ["plasmapheresis", "pulse cyclophosphamide"],
    "Virz": ["platelet-rich plasma (some patients)"],
}

VERSION_NOTES = [
    "The digital-ulcer row (36 participants, 4 trials) cannot be reconciled with the studies' tables.",
    "DLCO and FVC results are claimed in the abstract but absent from the summary-of-findings table.",
    "The abstract lists injection-site swelling, diarrhoea and arthralgia; Table 2 lists no swelling or arthralgia.",
]
