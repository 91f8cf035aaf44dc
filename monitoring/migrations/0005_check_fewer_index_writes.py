"""Cheaper updates of the check rows on PostgreSQL, which every probe updates twice (the claim moves ``next_due_at``,
the store writes the latest state).

- The website's own index is dropped: the unique (website, kind) index starts with the website and serves its
  look-ups, and an update that moves an indexed column writes an entry into every index of the row.
- PostgreSQL keeps 30 % of each page of the table free (``fillfactor``), so that the store's update, which changes no
  indexed column, can put the new row version on the same page and skip the indexes altogether (a heap-only tuple).
  It applies to pages written from now on. SQLite rewrites rows in place and has no such setting.
"""

from django.db import migrations, models

FILLFACTOR = 70


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("monitoring", "Check")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("monitoring", "Check")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0004_rollup_open_hour"),
    ]

    operations = [
        migrations.AlterField(
            model_name="check",
            name="website",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="checks",
                to="assets.website",
                verbose_name="website",
            ),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
