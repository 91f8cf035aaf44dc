from django.db import migrations

# PostgreSQL only: a scanner finding's description, solution and evidence often pass the 2 kB at which PostgreSQL
# compresses a row's long values. Its default compressor, pglz, costs about a quarter of the time of a large Nessus
# import's COPY; lz4 (PostgreSQL 14 and later, when built with it) compresses as well at a fraction of that.
COLUMNS = ("description", "solution", "evidence")


def _lz4_available(cursor) -> bool:
    cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    row = cursor.fetchone()
    return bool(row and row[0])


def _set_compression(schema_editor, method: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if method == "lz4" and not _lz4_available(cursor):
            return
    columns = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in COLUMNS)
    schema_editor.execute(f"ALTER TABLE findings_finding {columns}")


def use_lz4(apps, schema_editor):
    _set_compression(schema_editor, "lz4")


def use_default(apps, schema_editor):
    _set_compression(schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [("findings", "0005_loose_import_and_user_references")]

    operations = [migrations.RunPython(use_lz4, use_default)]
