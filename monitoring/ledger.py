"""Checks follow the ledger: every active registered website gets one check of each kind, with the default interval.

Run after the ledger changes (a signal on Website) and by ``edusec monitor`` at start. Existing checks keep what
people edited (interval, grace, enabled); a website that is removed or deactivated has its checks disabled.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from assets.models import Website

from . import vocabulary as v
from .models import DEFAULT_INTERVALS, Check

KINDS = (v.HTTP, v.CONTENT, v.TLS, v.DNS, v.IPV6)


def checks_for(website: Website, now=None) -> list[Check]:
    """Unsaved checks a new website gets; the first run of each is spread over its interval (no thundering herd)."""
    now = now or timezone.now()
    kinds = [kind for kind in KINDS if kind != v.TLS or website.url.lower().startswith("https://")]
    return [
        Check(
            unit_id=website.unit_id,
            website=website,
            kind=kind,
            url=website.url,
            interval=DEFAULT_INTERVALS[kind],
            next_due_at=now + timedelta(seconds=random.uniform(0, min(DEFAULT_INTERVALS[kind], 300))),
        )
        for kind in kinds
    ]


@transaction.atomic
def sync_checks(websites=None) -> dict:
    """Create missing checks for active websites, follow URL and unit changes, disable checks of inactive sites."""
    websites = Website.objects.all() if websites is None else websites
    existing: dict[tuple[int, str], Check] = {
        (c.website_id, c.kind): c for c in Check.objects.filter(website__in=websites)
    }
    created, changed = [], []
    for website in websites:
        for check in checks_for(website):
            current = existing.get((website.pk, check.kind))
            if current is None:
                if website.is_active:
                    created.append(check)
                continue
            enabled = current.enabled and website.is_active
            if (current.url, current.unit_id, current.enabled) != (website.url, website.unit_id, enabled):
                current.url, current.unit_id, current.enabled = website.url, website.unit_id, enabled
                changed.append(current)
    Check.objects.bulk_create(created)
    Check.objects.bulk_update(changed, ["url", "unit", "enabled"])
    return {"created": len(created), "changed": len(changed)}
