"""Reviewer roles as Django groups with their model permissions (screening workflow).

A review-level role is a ReviewMembership; the group gives the matching admin-site permissions.
The public (anonymous users) is in no group and can write nothing.
"""

from django.db import migrations

VIEW_EVIDENCE = [
    "view_review",
    "view_citation",
    "view_reviewcitation",
    "view_study",
    "view_studyreport",
    "view_outcome",
    "view_outcomemeasurement",
    "view_intervention",
    "view_adverseevent",
    "view_qualityassessment",
]
SCREEN = ["add_screeningdecision", "view_screeningdecision"]
GROUPS = {
    "screener": VIEW_EVIDENCE + SCREEN,
    "senior reviewer": VIEW_EVIDENCE
    + SCREEN
    + ["add_adjudication", "view_adjudication", "view_screeningresolution", "view_extractiondraft", "add_study"],
    "extractor": VIEW_EVIDENCE + ["add_extractiondraft", "change_extractiondraft", "view_extractiondraft"],
    "editor": VIEW_EVIDENCE
    + [
        "view_screeningdecision",
        "view_adjudication",
        "view_screeningresolution",
        "view_extractiondraft",
        "change_study",
        "add_studyapproval",
        "view_studyapproval",
        "view_reviewversion",
        "view_pooledresult",
    ],
    "admin": None,  # every evidence permission except deleting audit events
}
NEVER = {"delete_screeningdecision", "delete_adjudication", "delete_screeningresolution", "delete_studyapproval"}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    evidence = Permission.objects.filter(content_type__app_label="evidence")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = evidence.exclude(codename__in=NEVER) if codenames is None else evidence.filter(codename__in=codenames)
        group.permissions.set(wanted)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("evidence", "0002_versions_recompute"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
