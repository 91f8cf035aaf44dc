"""The open hour of a weekly rollup row as plain sums beside its blob: a store adds to them in SQL, and the hour is
folded into the blob when a probe of a later hour comes (``rollups.Accumulator``). Existing rows have no open hour."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0003_weekly_rollup'),
    ]

    operations = [
        migrations.AddField(
            model_name='weeklyrollup',
            name='open_failed',
            field=models.PositiveIntegerField(default=0, verbose_name='failed probes of the open hour'),
        ),
        migrations.AddField(
            model_name='weeklyrollup',
            name='open_good',
            field=models.PositiveIntegerField(default=0, verbose_name='good probes of the open hour'),
        ),
        migrations.AddField(
            model_name='weeklyrollup',
            name='open_latency',
            field=models.FloatField(default=0.0, verbose_name='latency sum of the open hour (ms)'),
        ),
        migrations.AddField(
            model_name='weeklyrollup',
            name='open_slot',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='open hour'),
        ),
        migrations.AddField(
            model_name='weeklyrollup',
            name='open_timed',
            field=models.PositiveIntegerField(default=0, verbose_name='timed probes of the open hour'),
        ),
    ]
