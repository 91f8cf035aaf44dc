"""Daily rollups: one row per check and day, with 24 hourly (good, failed, mean latency) triples packed in a blob.

A 5-minute check makes 288 probes a day; keeping a row per probe is what drowns other monitors. Here the charts read
one small row per day, and a probe adds nothing but an in-place update of that row (batched per sweep).
"""

from __future__ import annotations

import struct
import zlib
from datetime import datetime

from django.utils import timezone

HOUR = struct.Struct("<HHH")  # good probes, failed probes, mean latency (ms, capped at 65,535)
EMPTY_DAY = bytes(HOUR.size * 24)


def unpack(blob: bytes | memoryview | None) -> list[tuple[int, int, int]]:
    """The 24 hourly (good, failed, mean latency ms) triples of a stored day."""
    raw = zlib.decompress(bytes(blob)) if blob else EMPTY_DAY
    return [HOUR.unpack_from(raw, i * HOUR.size) for i in range(24)]


def pack(hours: list[tuple[int, int, int]]) -> bytes:
    return zlib.compress(b"".join(HOUR.pack(*hour) for hour in hours), 9)


def add(hours: list[tuple[int, int, int]], hour: int, good: int, failed: int, latency_total: float, timed: int):
    """Fold ``good``/``failed`` probes (``timed`` of them with a latency summing to ``latency_total``) into ``hour``."""
    old_good, old_failed, old_mean = hours[hour]
    old_timed = old_good + old_failed  # the stored mean covers every earlier probe of the hour that had a latency
    total_timed = old_timed + timed
    mean = round((old_mean * old_timed + latency_total) / total_timed) if total_timed else 0
    hours[hour] = (min(old_good + good, 65535), min(old_failed + failed, 65535), min(mean, 65535))


class Accumulator:
    """Collects one sweep's probes per check, then writes them into today's rollup rows in a few statements."""

    def __init__(self, now: datetime):
        local = timezone.localtime(now)
        self.day, self.hour = local.date(), local.hour
        self.per_check: dict[int, list] = {}

    def add(self, check_id: int, ok: bool, latency_ms: float | None) -> None:
        entry = self.per_check.setdefault(check_id, [0, 0, 0.0, 0])
        entry[0 if ok else 1] += 1
        if latency_ms is not None:
            entry[2] += latency_ms
            entry[3] += 1

    def save(self) -> None:
        from .models import DailyRollup

        if not self.per_check:
            return
        existing = {
            row.site_check_id: row
            for row in DailyRollup.objects.filter(day=self.day, site_check_id__in=list(self.per_check))
        }
        created, updated = [], []
        for check_id, (good, failed, latency_total, timed) in self.per_check.items():
            row = existing.get(check_id)
            if row is None:
                row = DailyRollup(site_check_id=check_id, day=self.day)
                created.append(row)
            else:
                updated.append(row)
            hours = unpack(row.hours)
            add(hours, self.hour, good, failed, latency_total, timed)
            row.hours = pack(hours)
            row.probes += good + failed
            row.failures += failed
        DailyRollup.objects.bulk_create(created)
        DailyRollup.objects.bulk_update(updated, ["hours", "probes", "failures"])
