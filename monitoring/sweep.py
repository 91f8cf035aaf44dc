"""The scheduler: due checks (by the indexed ``next_due_at``) in batches, probed by the engine, stored.

``run_due(now)`` runs one round: it claims up to ``EDUSEC_MONITOR_BATCH`` due checks by moving their ``next_due_at``
to the end of their interval plus a little jitter (so a second scheduler, or the next round, does not take them
again), probes them, and stores the results. ``edusec monitor`` calls it in a loop; with ``EDUSEC_BROKER_URL`` set,
each claimed batch is sent as a Celery task (``monitoring.probe_batch``) to whichever worker takes it.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import vocabulary as v
from .engine import ProbeTarget, run_sweep
from .models import Check
from .store import store_results

logger = logging.getLogger("edusec.monitoring")
JITTER = 0.05  # up to 5 % of the interval, so checks created together drift apart


def engine_options() -> dict:
    """The engine's settings from the environment (see settings.py, "Monitoring")."""
    port_map = {}
    for pair in filter(None, settings.EDUSEC_MONITOR_PORT_MAP.split(",")):
        source, _colon, target = pair.partition(":")
        port_map[int(source)] = int(target)
    ca_file = settings.EDUSEC_MONITOR_CA_FILE
    return {
        "concurrency": settings.EDUSEC_MONITOR_CONCURRENCY,
        "port_map": port_map or None,
        "ca_file": ca_file if ca_file and _exists(ca_file) else None,
        "allow_public": settings.EDUSEC_MONITOR_ALLOW_PUBLIC,
    }


def _exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).is_file()


def target_for(check: Check) -> ProbeTarget:
    content = check.kind == v.CONTENT
    return ProbeTarget(
        check_id=check.pk,
        kind=check.kind,
        url=check.url,
        host=check.website.host,
        last_body_hash=bytes.fromhex(check.analysed_hash) if content and check.analysed_hash else None,
        want_body=content,
        variants=("spider", "mobile", "referer") if content else (),
    )


def claim_due(now=None, limit: int | None = None) -> list[int]:
    """Ids of up to ``limit`` due checks, their next run already moved forward (so nobody else takes them)."""
    now = now or timezone.now()
    limit = limit or settings.EDUSEC_MONITOR_BATCH
    with transaction.atomic():
        due = list(
            Check.objects.filter(enabled=True, next_due_at__lte=now)
            .order_by("next_due_at")
            .values_list("pk", "interval")[:limit]
        )
        by_interval: dict[int, list[int]] = {}
        for pk, interval in due:
            by_interval.setdefault(interval, []).append(pk)
        for interval, pks in by_interval.items():
            jitter = random.uniform(0, interval * JITTER)
            Check.objects.filter(pk__in=pks).update(next_due_at=now + timedelta(seconds=interval + jitter))
    return [pk for pk, _interval in due]


def probe_checks(check_ids: list[int], *, now=None, **engine_overrides):
    """Probe these checks now and store the results; the scheduling was done when they were claimed."""
    checks = list(Check.objects.filter(pk__in=check_ids).select_related("website"))
    if not checks:
        return None
    options = engine_options() | engine_overrides
    results = run_sweep([target_for(check) for check in checks], **options)
    return store_results(results, now=now, schedule=False)


def run_due(now=None, **engine_overrides):
    """One round of the scheduler in this process. Returns the store counts, or None when nothing was due."""
    ids = claim_due(now)
    if not ids:
        return None
    return probe_checks(ids, now=now, **engine_overrides)
