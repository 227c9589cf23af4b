"""The two rows of ReportStamp (the data stamp and the directory stamp), made once here so
that writers only ever update them: two first writes at once would otherwise both try to
make the row, and one of the two changes would not move the stamp."""

from django.db import migrations


def make_stamps(apps, schema_editor):
    ReportStamp = apps.get_model("roadmap", "ReportStamp")
    for pk in (1, 2):  # engagements.summaries.DATA_STAMP, DIRECTORY_STAMP
        ReportStamp.objects.get_or_create(pk=pk, defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [("roadmap", "0006_target")]

    operations = [migrations.RunPython(make_stamps, migrations.RunPython.noop)]
