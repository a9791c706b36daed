"""Issue 20: outcomes belong to a review; the review's wording, intervention vocabulary and risk-of-bias tools.

Existing outcomes go to the seeded MSC review (or, with no such review, the first one). An outcome another
review also measured, pooled or graded is copied into that review and its rows there point at the copy, so
no review reads another's outcome. The MSC review gets the texts its pages carried before.
"""

import django.db.models.deletion
from django.db import migrations, models

MSC_SLUG = "msc-ssc"
MSC_WORDING = {
    "intervention_name": "MSC therapy",
    "intervention_full": "mesenchymal stem cell therapy",
    "intervention_plain": "mesenchymal stem (stromal) cells",
    "population_name": "systemic sclerosis",
    "population_plain": "people with systemic sclerosis",
    "arm_label": "MSC",
    "intervention_fields": ["Cell source", "Donor", "Route", "Dose"],
    "rob_tool_randomized": "rob2",
    "rob_tool_non_randomized": "nos",
}
OUTCOME_COLUMNS = (
    "code",
    "name",
    "unit",
    "direction",
    "outcome_type",
    "benefit_in_words",
    "plausible_min",
    "plausible_max",
    "display_order",
)


def _users_of(apps, outcome) -> dict:
    """review id -> [(model, queryset of that review's rows pointing at ``outcome``)]."""
    uses = {}
    for model_name, path in (
        ("OutcomeMeasurement", "study__review_id"),
        ("PooledResult", "version__review_id"),
        ("GradeAssessment", "review_id"),
    ):
        model = apps.get_model("evidence", model_name)
        for review_id in model.objects.filter(outcome=outcome).values_list(path, flat=True).distinct():
            uses.setdefault(review_id, []).append(model.objects.filter(outcome=outcome, **{path: review_id}))
    return uses


def outcomes_to_reviews(apps, schema_editor):
    Review = apps.get_model("evidence", "Review")
    Outcome = apps.get_model("evidence", "Outcome")
    Review.objects.filter(slug=MSC_SLUG).update(**MSC_WORDING)
    home = Review.objects.filter(slug=MSC_SLUG).first() or Review.objects.order_by("pk").first()
    for outcome in Outcome.objects.filter(review__isnull=True):
        if home is None:
            outcome.delete()  # no review at all, so nothing measured it
            continue
        for review_id, rows in _users_of(apps, outcome).items():
            if review_id == home.pk:
                continue
            copy = Outcome.objects.create(review_id=review_id, **{c: getattr(outcome, c) for c in OUTCOME_COLUMNS})
            for queryset in rows:
                queryset.update(outcome=copy)
        outcome.review = home
        outcome.save(update_fields=["review"])
    if schema_editor.connection.vendor == "postgresql":
        # The deferred FK checks of these updates must fire before the ALTER TABLE that follows.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0021_binary_tte"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="historicalreview",
            name="outcomes_of_interest",
        ),
        migrations.RemoveField(
            model_name="review",
            name="outcomes_of_interest",
        ),
        migrations.AddField(
            model_name="historicalintervention",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="arm_label",
            field=models.CharField(
                default="Intervention", help_text="The intervention arm's label, e.g. 'MSC'.", max_length=80
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="intervention_fields",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="What a study's intervention records, one per line, e.g. Cell source, Donor, Route, Dose.",
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="intervention_full",
            field=models.CharField(
                blank=True,
                default="",
                help_text="In full, lower case, e.g. 'mesenchymal stem cell therapy' (site header, page description).",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="intervention_name",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Short name, e.g. 'MSC therapy' (page title, summary-of-findings caption).",
                max_length=120,
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="intervention_plain",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Plain language, read after 'treated with', e.g. 'mesenchymal stem (stromal) cells'.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="population_name",
            field=models.CharField(
                blank=True,
                default="", help_text="The condition, read after 'in', e.g. 'systemic sclerosis'.", max_length=200
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="population_plain",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Plain language, read after 'In', e.g. 'people with systemic sclerosis'.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="rob_tool_non_randomized",
            field=models.CharField(
                choices=[("nos", "Newcastle–Ottawa Scale"), ("rob2", "Cochrane RoB 2"), ("robins_i", "ROBINS-I")],
                default="nos",
                help_text="Risk-of-bias tool for every other design (single-arm, cohort, non-randomized controlled).",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="historicalreview",
            name="rob_tool_randomized",
            field=models.CharField(
                choices=[("nos", "Newcastle–Ottawa Scale"), ("rob2", "Cochrane RoB 2"), ("robins_i", "ROBINS-I")],
                default="rob2",
                help_text="Risk-of-bias tool for RCTs.",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="intervention",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="outcome",
            name="review",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="outcomes", to="evidence.review"
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="arm_label",
            field=models.CharField(
                default="Intervention", help_text="The intervention arm's label, e.g. 'MSC'.", max_length=80
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="intervention_fields",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="What a study's intervention records, one per line, e.g. Cell source, Donor, Route, Dose.",
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="intervention_full",
            field=models.CharField(
                blank=True,
                default="",
                help_text="In full, lower case, e.g. 'mesenchymal stem cell therapy' (site header, page description).",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="intervention_name",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Short name, e.g. 'MSC therapy' (page title, summary-of-findings caption).",
                max_length=120,
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="intervention_plain",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Plain language, read after 'treated with', e.g. 'mesenchymal stem (stromal) cells'.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="population_name",
            field=models.CharField(
                blank=True,
                default="", help_text="The condition, read after 'in', e.g. 'systemic sclerosis'.", max_length=200
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="population_plain",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Plain language, read after 'In', e.g. 'people with systemic sclerosis'.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="rob_tool_non_randomized",
            field=models.CharField(
                choices=[("nos", "Newcastle–Ottawa Scale"), ("rob2", "Cochrane RoB 2"), ("robins_i", "ROBINS-I")],
                default="nos",
                help_text="Risk-of-bias tool for every other design (single-arm, cohort, non-randomized controlled).",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="review",
            name="rob_tool_randomized",
            field=models.CharField(
                choices=[("nos", "Newcastle–Ottawa Scale"), ("rob2", "Cochrane RoB 2"), ("robins_i", "ROBINS-I")],
                default="rob2",
                help_text="Risk-of-bias tool for RCTs.",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="outcome",
            name="code",
            field=models.SlugField(max_length=40),
        ),
        migrations.AddField(
            model_name='historicalreview',
            name='protocol_public',
            field=models.BooleanField(default=False, help_text='Show the protocol, the question (PICO) and the search status publicly before the first version (the home page links to it). Studies and results stay private until a version is published.'),
        ),
        migrations.AddField(
            model_name='historicalreview',
            name='protocol_url',
            field=models.URLField(blank=True, help_text='The registered protocol, e.g. PROSPERO.', max_length=500),
        ),
        migrations.AddField(
            model_name='review',
            name='protocol_public',
            field=models.BooleanField(default=False, help_text='Show the protocol, the question (PICO) and the search status publicly before the first version (the home page links to it). Studies and results stay private until a version is published.'),
        ),
        migrations.AddField(
            model_name='review',
            name='protocol_url',
            field=models.URLField(blank=True, help_text='The registered protocol, e.g. PROSPERO.', max_length=500),
        ),
        migrations.AlterField(
            model_name='historicalintervention',
            name='cell_source',
            field=models.CharField(blank=True, choices=[('adipose_svf', 'Adipose stromal vascular fraction (SVF)'), ('adipose_msc', 'Adipose-derived MSC (ADSC)'), ('bone_marrow_msc', 'Bone-marrow MSC'), ('umbilical_cord_msc', 'Umbilical-cord MSC'), ('other', 'Other / mixed')], max_length=20),
        ),
        migrations.AlterField(
            model_name='historicalintervention',
            name='route',
            field=models.CharField(blank=True, choices=[('local_injection', 'Local injection (subcutaneous / hypodermic)'), ('intravenous', 'Intravenous'), ('other', 'Other')], max_length=20),
        ),
        migrations.AlterField(
            model_name='historicalreview',
            name='intervention_fields',
            field=models.JSONField(blank=True, default=list, help_text="What a study's intervention records, one per line, e.g. Conditioning regimen, Graft manipulation. Empty: Cell source, Donor, Route, Dose."),
        ),
        migrations.AlterField(
            model_name='intervention',
            name='cell_source',
            field=models.CharField(blank=True, choices=[('adipose_svf', 'Adipose stromal vascular fraction (SVF)'), ('adipose_msc', 'Adipose-derived MSC (ADSC)'), ('bone_marrow_msc', 'Bone-marrow MSC'), ('umbilical_cord_msc', 'Umbilical-cord MSC'), ('other', 'Other / mixed')], max_length=20),
        ),
        migrations.AlterField(
            model_name='intervention',
            name='route',
            field=models.CharField(blank=True, choices=[('local_injection', 'Local injection (subcutaneous / hypodermic)'), ('intravenous', 'Intravenous'), ('other', 'Other')], max_length=20),
        ),
        migrations.AlterField(
            model_name='review',
            name='intervention_fields',
            field=models.JSONField(blank=True, default=list, help_text="What a study's intervention records, one per line, e.g. Conditioning regimen, Graft manipulation. Empty: Cell source, Donor, Route, Dose."),
        ),
        migrations.RunPython(outcomes_to_reviews, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outcome",
            name="review",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="outcomes", to="evidence.review"
            ),
        ),
        migrations.AddConstraint(
            model_name="outcome",
            constraint=models.UniqueConstraint(fields=("review", "code"), name="outcome_code_unique_per_review"),
        ),
    ]
