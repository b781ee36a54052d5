"""Substring search without a table scan on PostgreSQL (issue 6): trigram GIN indexes on the
expressions Django's `icontains` compares, UPPER(name::text) and UPPER(key::text). SQLite
keeps working without them. Creating the pg_trgm extension needs a role allowed to (the
database owner on PostgreSQL 13+, where pg_trgm is a trusted extension)."""

from django.db import migrations

INDEXES = {
    "secret_name_trgm": "name",
    "secret_key_trgm": "key",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON secrets_app_secret "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("secrets_app", "0003_apitoken")]
    operations = [migrations.RunPython(create, drop)]
