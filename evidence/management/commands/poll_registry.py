"""Run the nightly ClinicalTrials.gov search by hand: the same service the nightly Celery task runs."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evidence.ctgov import CtgovError
from evidence.models import LivingStatus, Review
from evidence.services.registry import RegistryRunAlreadyRunning, registry_run_execute


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--since {value!r} is not a date; use YYYY-MM-DD, e.g. 2024-01-31.") from exc


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
        start = _date(since) if since else None
        if start and start > timezone.localdate():
            raise CommandError(f"--since {start} is in the future.")
        failures = [slug for found in self._reviews(review) if (slug := self._search(found, start))]
        if failures:
            raise CommandError(f"Registry search failed for {', '.join(failures)}; see Registry search runs.")

    def _reviews(self, slug: str | None) -> list[Review]:
        if slug is None:
            return list(Review.objects.filter(living_status=LivingStatus.LIVING).order_by("slug"))
        found = Review.objects.filter(slug=slug).first()
        if found is None:
            known = ", ".join(Review.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"No review with slug {slug!r}; known reviews: {known}.")
        return [found]

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
