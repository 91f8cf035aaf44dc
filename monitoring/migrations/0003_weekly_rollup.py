"""Rollups by ISO week instead of by day: one row per check and week (from Monday) with 7 × 24 hourly figures, so
the per-row overhead of the database (on PostgreSQL 60–100 bytes of tuple header, line pointer and index entry) is
paid once a week. The daily rows are converted (each day's 24 hours at ``weekday × 24`` of its week's row, counts
summed), then the daily table is dropped. Reversible: a week row goes back to a row per day that had probes."""

from datetime import timedelta

import django.db.models.deletion
from django.db import migrations, models

from monitoring import rollups

BATCH = 1000


def days_to_weeks(apps, schema_editor):
    DailyRollup = apps.get_model("monitoring", "DailyRollup")
    WeeklyRollup = apps.get_model("monitoring", "WeeklyRollup")
    db = schema_editor.connection.alias
    rows = (
        DailyRollup.objects.using(db)
        .order_by("site_check_id", "day")
        .values_list("site_check_id", "day", "probes", "failures", "hours")
    )
    pending, check = [], None

    def flush():
        weeks = rollups.merge_days(pending)
        WeeklyRollup.objects.using(db).bulk_create(
            [
                WeeklyRollup(
                    site_check_id=check_id, week=week, probes=probes, failures=failures, hours=rollups.pack(hours)
                )
                for (check_id, week), (probes, failures, hours) in weeks.items()
            ],
            batch_size=BATCH,
        )
        pending.clear()

    # One check's days at a time (rows come ordered by check), written in batches.
    for row in rows.iterator(chunk_size=BATCH):
        if row[0] != check and len(pending) >= BATCH:
            flush()
        check = row[0]
        pending.append(row)
    if pending:
        flush()


def weeks_to_days(apps, schema_editor):
    DailyRollup = apps.get_model("monitoring", "DailyRollup")
    WeeklyRollup = apps.get_model("monitoring", "WeeklyRollup")
    db = schema_editor.connection.alias
    days = []
    for check_id, week, hours in WeeklyRollup.objects.using(db).values_list("site_check_id", "week", "hours"):
        for offset, day_hours in enumerate(rollups.days_of(rollups.unpack_week(hours))):
            probes = sum(good + failed for good, failed, _mean in day_hours)
            if probes:
                days.append(
                    DailyRollup(
                        site_check_id=check_id,
                        day=week + timedelta(days=offset),
                        probes=probes,
                        failures=sum(failed for _good, failed, _mean in day_hours),
                        hours=rollups.pack(day_hours),
                    )
                )
        if len(days) >= BATCH:
            DailyRollup.objects.using(db).bulk_create(days)
            days.clear()
    DailyRollup.objects.using(db).bulk_create(days)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0002_rollup_check_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="WeeklyRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("week", models.DateField(verbose_name="week")),
                ("probes", models.PositiveIntegerField(default=0, verbose_name="probes")),
                ("failures", models.PositiveIntegerField(default=0, verbose_name="failures")),
                ("hours", models.BinaryField(verbose_name="hourly figures")),
                (
                    "site_check",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="weekly_rollups",
                        to="monitoring.check",
                        verbose_name="check",
                    ),
                ),
            ],
            options={
                "verbose_name": "weekly figures",
                "verbose_name_plural": "weekly figures",
            },
        ),
        migrations.AddConstraint(
            model_name="weeklyrollup",
            constraint=models.UniqueConstraint(fields=("site_check", "week"), name="monitoring_one_rollup_per_week"),
        ),
        migrations.RunPython(days_to_weeks, weeks_to_days),
        migrations.DeleteModel(name="DailyRollup"),
        # The related name was taken by the daily table until here.
        migrations.AlterField(
            model_name="weeklyrollup",
            name="site_check",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rollups",
                to="monitoring.check",
                verbose_name="check",
            ),
        ),
    ]
