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


def version_between_screenings(review):
    """Version 1, published after 2 records were screened out; then 3 more screened out, in no version yet."""
    from evidence.synthesis.recompute import review_recompute
    from tests.evidence.screening_support import records_screened_out, two_screeners

    screeners = two_screeners(review)
    records_screened_out(review, range(2), screeners=screeners)
    measurement_set(review, "Wang 2013", "mrss", 12, **WANG_MRSS_12M)
    version = review_recompute(review=review, trigger="Wang 2013 extracted").version
    records_screened_out(review, range(2, 5), screeners=screeners)
    return version
