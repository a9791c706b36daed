"""API fixtures. Throttling and the ETag first-seen times live in the default cache (LocMemCache), which
tests/conftest.py empties before every test."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def computed(seeded):
    """Version 1 of the seed review, built row by row (not by the pooling engine, so API tests do not
    depend on it): a computed mRSS row at 6 months with two study-level rows, plus a carried row."""
    from django.utils import timezone

    from evidence.models import Outcome, PooledResult, ReviewVersion, StudyResult, StudyStatus, VersionKind

    studies = list(seeded.studies.filter(status=StudyStatus.INCLUDED).order_by("year", "label")[:2])
    version = ReviewVersion.objects.create(
        review=seeded,
        number=1,
        kind=VersionKind.COMPUTED,
        published_at=timezone.now(),
        trigger="study approved",
        n_studies=2,
        n_patients=sum(s.enrolment_n or 0 for s in studies),
        studies=[{"id": s.id, "label": s.label, "year": s.year, "n": s.enrolment_n, "flags": []} for s in studies],
    )
    mrss = Outcome.objects.get(code="mrss")
    carried_from = PooledResult.objects.get(
        version__review=seeded, version__number=0, outcome=mrss, timepoint_months=12
    )
    row = PooledResult.objects.create(
        version=version,
        outcome=mrss,
        timepoint_months=6,
        timepoint_label="6m",
        k=2,
        n_participants=version.n_patients,
        effect_measure="MD",
        model="REML",
        ci_method="knha",
        estimate=-5.2,
        ci_lb=-8.1,
        ci_ub=-2.3,
        pi_lb=-12.0,
        pi_ub=1.6,
        se=1.1,
        p_value=0.004,
        i2=41.5,
        tau2=2.25,
        q=1.71,
        certainty="low",
        certainty_reasons={"imprecision": "two small studies"},
        computed=True,
    )
    for weight, study in zip((55.0, 45.0), studies):
        StudyResult.objects.create(
            pooled_result=row,
            study=study,
            study_label=study.label,
            publication_year=study.year,
            n=study.enrolment_n,
            yi=-5.0,
            vi=1.5,
            ci_lb=-7.4,
            ci_ub=-2.6,
            weight=weight,
            derivation="change from baseline, r = 0.5",
        )
    PooledResult.objects.create(
        version=version,
        outcome=mrss,
        timepoint_months=12,
        timepoint_label="12m",
        k=carried_from.k,
        effect_measure="MD",
        estimate=carried_from.estimate,
        ci_lb=carried_from.ci_lb,
        ci_ub=carried_from.ci_ub,
        certainty=carried_from.certainty,
        carried_from=carried_from,
        awaiting="awaiting extraction of the 12-month data",
    )
    return version
