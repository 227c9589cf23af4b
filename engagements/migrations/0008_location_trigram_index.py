"""A trigram index for `search` on the location too (PostgreSQL only), as
0006_search_trigram_indexes does for title, summary and outcomes: "Hanoi" is a location."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX "engagement_location_trgm" ON "engagements_engagement" '
            'USING gin ((UPPER("location")) gin_trgm_ops)'
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX IF EXISTS "engagement_location_trgm"')


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0007_actions_reviews"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
