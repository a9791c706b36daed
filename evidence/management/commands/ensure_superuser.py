"""Create a development superuser with a random password, printed once, if no superuser exists."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the development superuser 'admin' with a printed random password if no superuser exists."

    def handle(self, *args, **options) -> None:
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            names = ", ".join(users.filter(is_superuser=True).order_by("pk").values_list("username", flat=True)[:3])
            self.stdout.write(
                f"A superuser exists ({names}); none created. Forgot the password? "
                f"Set a new one with: python manage.py changepassword {names.split(', ')[0]}"
            )
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username="admin", email="admin@example.org", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Superuser created: username 'admin', password '{password}' (shown once; to reset it later: "
                f"python manage.py changepassword admin)"
            )
        )
