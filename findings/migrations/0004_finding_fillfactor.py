from django.db import migrations

# PostgreSQL only: room on every page for the new versions of re-seen findings, so that a re-import's update stays on
# the page (a HOT update) and writes no index entries. SQLite has no such setting.
FILLFACTOR = 50


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE findings_finding SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE findings_finding RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("findings", "0003_last_import_not_indexed")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
