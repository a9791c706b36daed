from django.core.management.base import BaseCommand, CommandError

from evidence.models import Review
from evidence.services.recompute import review_recompute


class Command(BaseCommand):
    help = "Recompute a review's pooled results now; a new version is written only if its inputs changed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--review", required=True, help="The review's slug, e.g. msc-ssc.")

    def handle(self, *args, review: str, **options) -> None:
        found = Review.objects.filter(slug=review).first()
        if found is None:
            known = ", ".join(Review.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No review with slug {review!r}; known reviews: {known}.")
        outcome = review_recompute(review=found, trigger="manage.py recompute")
        if not outcome.created:
            self.stdout.write(
                f"Inputs unchanged (hash {outcome.inputs_hash[:12]}); version {outcome.version.number} stays."
            )
            return
        version = outcome.version
        self.stdout.write(
            self.style.SUCCESS(f"Version {version.number} published: {version.pooled_results.count()} pooled rows.")
        )
        for line in version.change_summary:
            self.stdout.write(f"  {line}")
