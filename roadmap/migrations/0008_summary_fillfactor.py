"""Room on every page of the summary table for a row's next version (PostgreSQL's
fillfactor), so that a count changing in place is a heap-only update: no new entry in the
table's four indexes. An engagement write changes a few dozen counts, a partner change up
to hundreds of thousands (at 100,000 engagements, ASEAN's kind changed updated 170,000
day rows in 15.5 s with full pages, 4.0 s with this; at a million, with 358,000 in one
transaction, the room runs out and it saves less). Pages written from now on keep the
room (`VACUUM FULL roadmap_reportsummary` rewrites the old ones). SQLite has no such
setting."""

from django.db import migrations

TABLE = "roadmap_reportsummary"


def set_fillfactor(value):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = {value})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("roadmap", "0007_report_stamps")]

    operations = [migrations.RunPython(set_fillfactor(90), set_fillfactor(100))]
