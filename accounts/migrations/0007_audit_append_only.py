"""The audit trail is append-only in the database too, whatever writes to it: an UPDATE is
refused, and a DELETE unless the transaction says it prunes (`manage.py prune_audit` sets
`tracker.audit_prune`). On PostgreSQL; SQLite refuses updates the same way, and deletes are
refused by the model and its queryset there."""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION accounts_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('tracker.audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_auditentry_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditentry
    FOR EACH ROW EXECUTE FUNCTION accounts_auditentry_append_only();
"""
POSTGRES_UNDO = """
DROP TRIGGER IF EXISTS accounts_auditentry_append_only ON accounts_auditentry;
DROP FUNCTION IF EXISTS accounts_auditentry_append_only();
"""
SQLITE = """
CREATE TRIGGER accounts_auditentry_append_only BEFORE UPDATE ON accounts_auditentry
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""
SQLITE_UNDO = "DROP TRIGGER IF EXISTS accounts_auditentry_append_only;"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UNDO)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UNDO)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_audit_trail_and_session_times")]

    operations = [migrations.RunPython(create, drop)]
