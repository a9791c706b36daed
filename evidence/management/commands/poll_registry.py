"""Run the nightly ClinicalTrials.gov search by hand: the same service the nightly Celery task runs."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from evidence.management.commands._search_args import reviews_to_search, since_date
from evidence.models import Review
from evidence.surveillance.ctgov import CtgovError
from evidence.surveillance.registry import RegistryRunAlreadyRunning, registry_run_execute


class Command(BaseCommand):
    help = (
        "Search ClinicalTrials.gov now for the registrations of a review (default: every living review), store "
        "them once each, link them to the reports citing them and raise reviewer tasks."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--review", help="The review's slug, e.g. msc-ssc (default: every living review).")
        parser.add_argument(
            "--since", help="Start the last-update window here (YYYY-MM-DD) instead of after the last run."
        )

    def handle(self, *args, review: str | None, since: str | None, **options) -> None:
        start = since_date(since)
        failures = [slug for found in self._reviews(review) if (slug := self._search(found, start))]
        if failures:
            raise CommandError(f"Registry search failed for {', '.join(failures)}; see Registry search runs.")

    def _reviews(self, slug: str | None) -> list[Review]:
        return reviews_to_search(slug)

    def _search(self, review: Review, since: dt.date | None) -> str | None:
        self.stdout.write(f"Searching ClinicalTrials.gov for {review.slug}…")
        try:
            run = registry_run_execute(review=review, triggered_by="poll_registry", since=since)
        except RegistryRunAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        except CtgovError as exc:
            self.stderr.write(f"  {review.slug}: failed: {exc}")
            return review.slug
        if run is None:
            self.stdout.write(f"  {review.slug}: no registry query set; skipped.")
            return None
        self.stdout.write(
            self.style.SUCCESS(
                f"  {review.slug}: window {run.window_start}–{run.window_end}: {run.records_found} found, "
                f"{run.records_new} new, {run.records_updated} updated, {run.status_changes} status changes, "
                f"{run.tasks_raised} reviewer tasks, {run.requests_made} requests (run {run.pk})."
            )
        )
        for note in run.notes:
            self.stdout.write(f"  note: {note}")
        return None
