"""The nightly PubMed search as a django-celery-beat entry, editable in the admin (Periodic tasks).

One entry runs ``evidence.search_runs_nightly`` at 02:30 UTC, which enqueues one search per living
review, so a review made living later is covered without a new entry. Idempotent: an entry that
already exists (perhaps edited in the admin) is left as it is.
"""

from django.db import migrations
from django.utils import timezone

NIGHTLY_TASK_NAME = "PubMed nightly search (every living review)"


def schedule_create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=NIGHTLY_TASK_NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.create(
        name=NIGHTLY_TASK_NAME,
        task="evidence.search_runs_nightly",
        crontab=crontab,
        args="[]",
        kwargs="{}",
        enabled=True,
        description=(
            "Searches PubMed for every living review's new records (creation-date window since the last "
            "successful run) and queues them for title/abstract screening. Each run is in Search runs."
        ),
    )
    # Tell a running beat (DatabaseScheduler) that its schedule changed.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def schedule_delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NIGHTLY_TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0004_search_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
