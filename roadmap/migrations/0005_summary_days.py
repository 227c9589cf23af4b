# Summaries per day as well as per month. They are derived data: the table is made anew
# and `rebuild()` fills it again from the engagements.

from django.db import migrations, models


def rebuild(apps, schema_editor):
    from engagements import summaries

    if apps.get_model("engagements", "Engagement").objects.exists():
        summaries.rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("roadmap", "0004_text_limits"),
        ("engagements", "0005_lead_constraint_marking_rank_text_limits"),
    ]

    operations = [
        migrations.DeleteModel(name="ReportSummary"),
        migrations.CreateModel(
            name="ReportSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("span", models.CharField(choices=[("day", "day"), ("month", "month")], max_length=5, verbose_name="span")),
                ("start", models.DateField(verbose_name="first day")),
                ("status", models.CharField(max_length=20, verbose_name="status")),
                ("marking", models.CharField(max_length=2, verbose_name="marking")),
                ("kind", models.CharField(max_length=20, verbose_name="kind")),
                ("ref", models.CharField(max_length=80, verbose_name="reference")),
                ("pillar", models.IntegerField(default=0, verbose_name="pillar id")),
                ("count", models.PositiveIntegerField(verbose_name="count")),
                ("last", models.DateField(verbose_name="newest start date")),
            ],
            options={
                "indexes": [
                    models.Index(fields=["span", "kind", "start", "status"], name="summary_read_idx"),
                    models.Index(fields=["span", "start", "status", "marking"], name="summary_slice_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("span", "kind", "ref", "pillar", "start", "status", "marking"),
                        name="roadmap_reportsummary_unique_bucket",
                    )
                ],
            },
        ),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
