from django.core.management.base import BaseCommand

from evidence.seed.load import seed_load


class Command(BaseCommand):
    help = "Load the seeded MSC–SSc review (Cui et al. 2022). Safe to run again: it creates only what is missing."

    def handle(self, *args, **options) -> None:
        report = seed_load()
        if report.total_created == 0:
            self.stdout.write("Seed review already loaded; nothing created.")
            return
        created = ", ".join(f"{count} {name}" for name, count in sorted(report.created.items()))
        self.stdout.write(self.style.SUCCESS(f"Seed review loaded: {created}."))
