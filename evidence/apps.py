from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Living evidence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from evidence.config.celery import ensure_broker_folders
        from evidence.publishing import receivers as exports_receivers  # noqa: F401  a published version's exports are written

        ensure_broker_folders()
        # WhiteNoise warns on every request when the static root is missing (before collectstatic).
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
