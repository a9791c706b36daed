"""Seed corrections for databases loaded before them (a fresh load reads the corrected seed):

- Almadori 2019's country: Cui's Table 1 prints "America"; the study is from London, United Kingdom (the paper is
  in UCL's repository, https://discovery.ucl.ac.uk/id/eprint/10078860; the group is at UCL and the Royal Free
  Hospital, https://www.ijsprotocols.com/articles/10.29337/j.isjp.2020.07.002/). See evidence/seed/studies.json.
- Version 0 is dated for readers by the review it imports (Stem Cell Res Ther, 21 March 2022), not by the import day.
"""

import datetime

from django.db import migrations

SEED_TRIGGER = "Imported from the published review (seed)"
PUBLISHED_ON = datetime.date(2022, 3, 21).isoformat()
CORRECTED_NOTE = (
    "Country: Cui Table 1 prints America, which was questionable and is corrected: the paper is deposited in "
    "University College London's repository (https://discovery.ucl.ac.uk/id/eprint/10078860) and its authors' group "
    "(Griffin, Denton, Butler) is at UCL and the Royal Free Hospital, London "
    "(https://www.ijsprotocols.com/articles/10.29337/j.isjp.2020.07.002/)"
)


def correct_seed(apps, schema_editor):
    Study = apps.get_model("evidence", "Study")
    ReviewVersion = apps.get_model("evidence", "ReviewVersion")
    for study in Study.objects.filter(review__slug="msc-ssc", label="Almadori 2019", country="America (Cui Table 1)"):
        kept = [line for line in study.data_quality_notes.splitlines() if not line.startswith("Country: ")]
        study.country = "United Kingdom"
        study.data_quality_notes = "\n".join([CORRECTED_NOTE, *kept])
        study.save(update_fields=["country", "data_quality_notes"])
    versions = ReviewVersion.objects.filter(review__slug="msc-ssc", number=0, kind="published_paper", trigger=SEED_TRIGGER)
    for version in versions:  # the date readers see (ReviewVersion.dated); published_at stays the snapshot's
        version.analysis_settings = {**(version.analysis_settings or {}), "source_published_on": PUBLISHED_ON}
        version.save(update_fields=["analysis_settings"])


class Migration(migrations.Migration):
    dependencies = [("evidence", "0016_registry")]

    operations = [migrations.RunPython(correct_seed, migrations.RunPython.noop)]
