"""How long monitoring keeps its history (run daily by the ``monitoring.prune_history`` task).

Events are the timeline a bureau looks back on (a year by default); page copies are bulky evidence (90 days), except
those a content baseline still points at; weekly rollups feed the charts (two years; a week goes as a whole once
its last day, Sunday, is older than that); raw probe records, when turned on, as many days as configured.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import CheckEvent, ContentBaseline, PageSnapshot, ProbeRecord, WeeklyRollup


@transaction.atomic
def prune_history(now=None) -> dict:
    """Delete what is older than the configured retention; returns how many rows of each kind went."""
    now = now or timezone.now()
    events = CheckEvent.objects.filter(at__lt=now - timedelta(days=settings.EDUSEC_MONITOR_EVENT_DAYS)).delete()[0]
    kept = ContentBaseline.objects.exclude(snapshot=None).values("snapshot")
    snapshots = (
        PageSnapshot.objects.filter(taken_at__lt=now - timedelta(days=settings.EDUSEC_MONITOR_SNAPSHOT_DAYS))
        .exclude(pk__in=kept)
        .delete()[0]
    )
    # A week row is kept while any of its days (Monday … Sunday) is inside the retention.
    oldest_day = timezone.localtime(now - timedelta(days=settings.EDUSEC_MONITOR_ROLLUP_DAYS)).date()
    rollups = WeeklyRollup.objects.filter(week__lt=oldest_day - timedelta(days=6)).delete()[0]
    # Raw probe rows: only while turned on, and none are kept once it is turned off (0 days).
    records = ProbeRecord.objects.filter(at__lt=now - timedelta(days=settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS))
    return {"events": events, "snapshots": snapshots, "rollups": rollups, "probe_records": records.delete()[0]}
