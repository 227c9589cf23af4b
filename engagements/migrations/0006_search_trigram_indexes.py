"""Trigram indexes for the list's `search` filter, on PostgreSQL only.

`search` is `icontains` on title, summary and outcomes, which Django runs on PostgreSQL as
`UPPER(col::text) LIKE UPPER('%word%')`. A B-tree cannot serve a pattern that starts with
`%`, so without these PostgreSQL reads the whole table. A GIN index with `gin_trgm_ops`
(pg_trgm) on the very same expression, `UPPER(col)`, can: the three are combined with a
BitmapOr (`tests/test_list_plans.py` checks that the planner can use them).

They are not in `Engagement.Meta.indexes`, because SQLite has neither GIN nor pg_trgm (and
rebuilds a table with every index its model declares). On SQLite this migration does
nothing and `search` stays a plain `icontains` scan. Django's model state does not know
about them, so `makemigrations` never proposes to drop them; removing them takes a
migration like this one.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "engagement_title_trgm": "title",
    "engagement_summary_trgm": "summary",
    "engagement_outcomes_trgm": "outcomes",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX "{name}" ON "engagements_engagement" '
            f'USING gin ((UPPER("{column}")) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ("engagements", "0005_lead_constraint_marking_rank_text_limits"),
    ]

    operations = [
        # CREATE EXTENSION IF NOT EXISTS pg_trgm on PostgreSQL, nothing elsewhere. pg_trgm is
        # a trusted extension: the database's owner may create it without being superuser.
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
