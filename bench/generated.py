"""The benchmarks' large review: 1,000 included studies × 20 outcomes × 3 time points (60,000 measurements).

Needs Django set up (``django.setup()``) on the database to fill; ``bench/recompute.py`` times its recompute and
``bench/pages.py --large`` serves it.
"""

from __future__ import annotations

import random

from evidence.models import Intervention, Outcome, OutcomeMeasurement, Review, Study

N_STUDIES, N_OUTCOMES, TIMEPOINTS = 1000, 20, (3, 6, 12)


def generated_review() -> Review:
    rng = random.Random(20221)
    review = Review.objects.create(
        slug="generated", title="Generated review", pubmed_query="x", search_start_date="2020-01-01"
    )
    outcomes = Outcome.objects.bulk_create(
        Outcome(
            review=review,
            code=f"outcome_{i}",
            name=f"Outcome {i}",
            unit="points",
            direction="lower_is_better",
            outcome_type="continuous",
            display_order=200 + i,
        )
        for i in range(N_OUTCOMES)
    )
    studies = Study.objects.bulk_create(
        Study(
            review=review,
            label=f"Study {i:04d}",
            year=2000 + i % 25,
            design="single_arm_before_after",
            enrolment_n=rng.randint(5, 80),
            status="included",
        )
        for i in range(N_STUDIES)
    )
    sources, routes = ["adipose_svf", "umbilical_cord_msc", "bone_marrow_msc"], ["local_injection", "intravenous"]
    Intervention.objects.bulk_create(
        Intervention(study=s, cell_source=rng.choice(sources), route=rng.choice(routes), donor="autologous")
        for s in studies
    )
    rows = []
    for study in studies:
        for outcome in outcomes:
            for months in TIMEPOINTS:
                base = rng.uniform(15, 30)
                rows.append(
                    OutcomeMeasurement(
                        study=study,
                        outcome=outcome,
                        timepoint_months=months,
                        data_format="baseline_followup",
                        baseline_mean=base,
                        baseline_sd=rng.uniform(3, 8),
                        baseline_n=study.enrolment_n,
                        followup_mean=base - rng.gauss(5, 2),
                        followup_sd=rng.uniform(3, 8),
                        followup_n=study.enrolment_n,
                    )
                )
    OutcomeMeasurement.objects.bulk_create(rows, batch_size=5000)
    return review
