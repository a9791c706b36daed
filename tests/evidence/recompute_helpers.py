"""Study-level data for recompute tests. Only Zhang 2017's 12-month mRSS is real (the seed's); the
others are test values, used to make published rows computable."""

from evidence.models import Outcome, OutcomeMeasurement, Review, Study

WANG_MRSS_12M = dict(
    baseline_mean=24.0, baseline_sd=5.0, baseline_n=5, followup_mean=17.0, followup_sd=6.0, followup_n=5
)


def measurement_set(review: Review, label: str, code: str, months: int, **values) -> OutcomeMeasurement:
    """Replace a study's measurement (e.g. an endpoint-only seed row) with numbers, as an extractor would."""
    study = Study.objects.get(review=review, label__startswith=label)
    measurement, _ = OutcomeMeasurement.objects.update_or_create(
        study=study,
        outcome=Outcome.objects.get(code=code),
        timepoint_months=months,
        arm="MSC",
        defaults={"data_format": "baseline_followup", **values},
    )
    return measurement
