from django.core.management.base import BaseCommand, CommandError

from evidence.models import RecomputeStatus, Review
from evidence.synthesis.recompute import review_recompute_by_command


class Command(BaseCommand):
    help = (
        "Recompute a review's pooled results now; a new version is written only if its inputs changed. "
        "The run is in the recompute runs ledger (trigger: a command)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--review", required=True, help="The review's slug, e.g. msc-ssc.")

    def handle(self, *args, review: str, **options) -> None:
        found = Review.objects.filter(slug=review).first()
        if found is None:
            known = ", ".join(Review.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No review with slug {review!r}; known reviews: {known}.")
        try:
            run = review_recompute_by_command(review=found, trigger="manage.py recompute")
        except Exception as exc:  # recorded on the run; one line here
            raise CommandError(f"Recompute of {found.slug} failed: {exc} (see Recompute runs).") from exc
        version = run.version
        if run.status != RecomputeStatus.PUBLISHED:
            self.stdout.write(
                f"Inputs unchanged (hash {run.inputs_hash[:12]}); version {version.number} stays (run {run.pk})."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Version {version.number} published: {version.pooled_results.count()} pooled rows (run {run.pk})."
            )
        )
        for line in version.change_summary:
            self.stdout.write(f"  {line}")
