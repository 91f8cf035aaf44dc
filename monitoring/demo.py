"""The demo region's websites on the simulated farm: which scenario each one plays.

Deterministic (sorted by host, fixed seed), so that the demo tells the same story at every start: most sites healthy
or dynamic-but-benign, and a few of each kind of trouble a bureau meets — down, slow, server errors, defaced, hidden
links of several techniques, gambling keywords, an ID-number leak, a missing ICP number, cloaking, outdated software,
expired, expiring and self-signed certificates, no IPv6, pages in GBK. Switch any of them at run time with
``edusec simfarm set HOST SCENARIO`` to watch the monitor notice.

The demo also gives each of these sites thirty days of availability history (``seed_history``), so that its site page
shows response times and daily availability from the first minute, not only from the monitor's first hours.
"""

from __future__ import annotations

import ipaddress
import random

from assets.models import Website
from core.registry import register_demo_loader

SEED = 20261123
# Problem scenarios handed out to the first sites of the shuffled list, in this order; the rest are benign.
TROUBLE = [
    ("hidden_css_display_none", None), ("hidden_offscreen_position", None), ("hidden_js_write_hidden", None),
    ("hidden_marquee_tiny", None), ("hidden_comment_links", None), ("defaced", None), ("keywords", None),
    ("id_leak", None), ("missing_icp", None), ("malicious_script", None), ("cloaking_spider", None),
    ("cloaking_referer", None), ("cloaking_referer_redirect", None), ("stale", None), ("refused", None),
    ("error", None), ("slow", None),
    ("timeout", None), ("healthy", "expired"), ("healthy", "expiring"), ("healthy", "self_signed"),
    ("healthy", "wrong_host"),
]  # fmt: skip
NO_IPV6_SHARE = 0.3  # schools whose site does not answer over IPv6 (a common gap in the 2025 IPv6 push)
# Older CMS installations write GB2312/GBK: a share of the benign sites, and the gambling-keywords one (so the demo
# shows a GBK page judged by its Chinese text).
GBK_SHARE = 0.2
GBK_TROUBLE = {"keywords"}


def farm_sites() -> list[dict]:
    """One site dict (the farm's manifest format) per active website of the ledger."""
    # The farm serves names; a website registered by address (a console on 127.0.0.1) is probed where it is.
    websites = [
        website
        for website in Website.objects.filter(is_active=True).select_related("unit").order_by("host")
        if not _is_address(website.host)
    ]
    rng = random.Random(SEED)
    charsets = random.Random(f"{SEED}-charset")  # apart, so that the other choices stay as they were
    order = list(range(len(websites)))
    rng.shuffle(order)
    sites = []
    trouble = list(TROUBLE)
    for index in order:
        website = websites[index]
        https = website.url.lower().startswith("https://")
        # The next trouble this site can play (certificate troubles need an HTTPS site), else a benign scenario.
        pick = next((item for item in trouble if https or item[1] is None), None)
        if pick is not None:
            trouble.remove(pick)
            scenario, tls = pick
        else:
            scenario, tls = ("dynamic" if rng.random() < 0.25 else "healthy"), None
        gbk = scenario in GBK_TROUBLE if pick is not None else charsets.random() < GBK_SHARE
        sites.append(
            {
                "host": website.host,
                "scenario": scenario,
                "tls": (tls or "valid") if https else "none",
                "ipv6": rng.random() >= NO_IPV6_SHARE,
                "school": website.unit.name,
                "charset": "gbk" if gbk else "utf-8",
            }
        )
    return sorted(sites, key=lambda site: site["host"])


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def load() -> dict | None:
    """Loaded by ``edusec load_demo`` after the ledger (idempotent): the demo region's maintenance windows and its
    sites' availability history (``seed_history``)."""
    from orgs import demo as orgs_demo
    from orgs.models import Unit

    city = Unit.objects.filter(code=orgs_demo.CITY_CODE).first()
    if city is None:
        return None
    loaded = {"maintenance windows": _maintenance_windows(city), "checks with history": seed_history(city)}
    return {name: count for name, count in loaded.items() if count} or None


def _maintenance_windows(city) -> int:
    """The demo school's site upgrade on the coming Saturday night, and a power cut of 东湖区's data centre for all its
    websites in ten days. Both lie ahead, so the demo's sites stay monitored; they show on the site pages and the
    list. Returns how many were made (none when the region has windows already)."""
    import datetime as dt

    from django.utils import timezone

    from orgs import demo as orgs_demo
    from orgs.models import Unit

    from .models import MaintenanceWindow

    if MaintenanceWindow.objects.filter(unit__path__startswith=city.path).exists():
        return 0
    district = Unit.objects.filter(code=orgs_demo.DISTRICTS[0][0]).first()
    website = (
        Website.objects.filter(unit__path__startswith=district.path, unit__unit_type="school", is_active=True)
        .order_by("host")
        .first()
        if district is not None
        else None
    )
    if website is None:
        return 0
    today = timezone.localdate()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)

    def at(day, hour):
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))

    MaintenanceWindow.objects.create(
        unit=website.unit, website=website, starts_at=at(saturday, 22), ends_at=at(saturday + dt.timedelta(days=1), 2),
        reason="网站内容管理系统升级（演示）",
    )  # fmt: skip
    power = today + dt.timedelta(days=10)
    MaintenanceWindow.objects.create(
        unit=district,
        starts_at=at(power, 8),
        ends_at=at(power, 18),
        reason="区教育城域网数据中心电力检修，全区网站暂停（演示）",
    )
    return 2


HISTORY_DAYS = 30  # as many as the site page's charts show
TRANSIENT_FAILURES = 0.003  # share of hours with one failed probe: below the grace period, so no event, as in life


def seed_history(city, now=None) -> int:
    """Thirty days of hourly availability figures (the weekly rollups the site page's charts read) for the availability
    check of each demo website on the farm, up to the hour before ``now``. Returns the checks given a history.

    The figures are what the monitor would have written for a site on the farm: every probe of the check's interval,
    response times of a few milliseconds (loopback), a little slower in school hours, and now and then one failed
    probe, which the grace period keeps from becoming an event. Sites in trouble now were fine until now: their
    trouble starts when the monitor first probes them, as their state and events say. Only checks without any rollup
    are given one, so figures the monitor wrote are never replaced. Deterministic per host."""
    import datetime as dt

    from django.utils import timezone

    from . import rollups
    from . import vocabulary as v
    from .ledger import sync_checks
    from .models import Check, WeeklyRollup

    sync_checks(Website.objects.filter(unit__path__startswith=city.path))  # the ledger's checks, made if not yet
    checks = [
        check
        for check in Check.objects.filter(
            kind=v.HTTP, website__is_active=True, unit__path__startswith=city.path, rollups__isnull=True
        ).select_related("website")
        if not _is_address(check.website.host)
    ]
    if not checks:
        return 0
    current = timezone.localtime(now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    hours = [current - dt.timedelta(hours=back) for back in range(HISTORY_DAYS * 24, 0, -1)]
    rows = []
    for check in checks:
        rng = random.Random(f"{SEED}-history-{check.website.host}")
        per_hour = max(1, round(3600 / check.interval))
        base = rng.uniform(3.0, 9.0)  # ms: the farm answers on loopback
        weeks: dict[dt.date, list] = {}
        for at in hours:
            local = timezone.localtime(at)
            week = weeks.setdefault(rollups.week_of(local.date()), list(rollups.EMPTY_WEEK))
            school_hours = local.weekday() < 5 and 8 <= local.hour < 18
            mean = max(1, round(base * (1.4 if school_hours else 1.0) * rng.uniform(0.8, 1.25)))
            failed = 1 if rng.random() < TRANSIENT_FAILURES else 0
            week[rollups.slot(local.date(), local.hour)] = (per_hour - failed, failed, mean)
        for week, figures in weeks.items():
            rows.append(
                WeeklyRollup(
                    site_check=check,
                    week=week,
                    hours=rollups.pack(figures),
                    probes=sum(good + failed for good, failed, _mean in figures),
                    failures=sum(failed for _good, failed, _mean in figures),
                )
            )
    WeeklyRollup.objects.bulk_create(rows, batch_size=500)
    return len(checks)


register_demo_loader(load)
