"""The demo's availability history: thirty days of figures on every farm site's page from the first minute."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring import demo, rollups
from monitoring import vocabulary as v
from monitoring.models import Check, WeeklyRollup
from monitoring.views import CHART_DAYS, chart_data
from orgs import demo as orgs_demo
from orgs.models import Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_region():
    call_command("load_demo", "--quiet")
    return Unit.objects.get(code=orgs_demo.CITY_CODE)


def http_checks():
    farm_hosts = {site["host"] for site in demo.farm_sites()}
    checks = list(Check.objects.filter(kind=v.HTTP, website__is_active=True).select_related("website"))
    return [check for check in checks if check.website.host in farm_hosts]


def reseed(region, now):
    """The history as ``load_demo`` would have seeded it at ``now`` (so that no hour turns during a test)."""
    WeeklyRollup.objects.all().delete()
    return demo.seed_history(region, now=now)


def test_every_farm_site_shows_thirty_days_of_response_times_and_availability(demo_region):
    checks = http_checks()
    assert len(checks) > 100
    now = timezone.localtime()
    assert reseed(demo_region, now) == len(checks)
    today = now.date()
    for check in checks[:: max(1, len(checks) // 10)]:
        data = chart_data([check], today)
        assert data["has_data"]
        # Every hour of the thirty days before this one, and nothing from the hour the monitor is filling.
        assert len(data["latency"]) == CHART_DAYS * 24 - (24 - now.hour)
        assert max(point[0] for point in data["latency"]) < now.replace(minute=0, second=0).timestamp() * 1000
        assert all(1 <= mean < 50 for _at, mean in data["latency"])  # milliseconds, as the farm answers
        past_days = data["uptime"][:-1]
        assert all(value is not None and value >= 95 for value in past_days)
        assert data["probes"][0] == 24 * 3600 // check.interval

    # A week row's slots are local hours: the seeded figures fill whole local days before today.
    yesterday = today - dt.timedelta(days=1)
    row = WeeklyRollup.objects.get(site_check=checks[0], week=rollups.week_of(yesterday))
    day = rollups.days_of(row.hourly())[yesterday.weekday()]
    assert all(good + failed == 3600 // checks[0].interval for good, failed, _mean in day)

    # Sites in trouble now were fine until now: their trouble starts at the monitor's first probe, as their state and
    # events will say.
    troubled = {site["host"] for site in demo.farm_sites() if site["scenario"] in ("refused", "timeout", "error")}
    in_trouble = [check for check in checks if check.website.host in troubled]
    assert len(in_trouble) == 3
    for check in in_trouble:
        uptime = chart_data([check], today)["uptime"]
        assert min(value for value in uptime if value is not None) >= 95

    # The same story at every load.
    figures = {row.week: bytes(row.hours) for row in WeeklyRollup.objects.filter(site_check=checks[0])}
    assert reseed(demo_region, now) == len(checks)
    assert {row.week: bytes(row.hours) for row in WeeklyRollup.objects.filter(site_check=checks[0])} == figures


def test_the_monitor_adds_to_the_history_and_loading_again_never_replaces_what_it_wrote(demo_region):
    check = http_checks()[0]
    rows = WeeklyRollup.objects.count()
    assert demo.load() is None
    assert demo.seed_history(demo_region) == 0
    assert WeeklyRollup.objects.count() == rows

    # A check the monitor has written figures for keeps them, even when it has no history before them.
    WeeklyRollup.objects.filter(site_check=check).delete()
    accumulator = rollups.Accumulator(timezone.now())
    accumulator.add(check.pk, True, 4.0)
    accumulator.save()
    assert demo.seed_history(demo_region) == 0
    assert list(WeeklyRollup.objects.filter(site_check=check).values_list("probes", flat=True)) == [1]

    # The monitor's first probe adds to the history.
    now = timezone.make_aware(dt.datetime(2026, 11, 25, 10, 30))  # a Wednesday: this week has seeded hours
    reseed(demo_region, now)
    week = WeeklyRollup.objects.get(site_check=check, week=rollups.week_of(now.date()))
    before = week.hourly()
    assert before[rollups.slot(now.date(), 9)][0] > 0 and before[rollups.slot(now.date(), 10)] == (0, 0, 0)
    accumulator = rollups.Accumulator(now)
    accumulator.add(check.pk, False, None)
    accumulator.save()
    week.refresh_from_db()
    after = week.hourly()
    at = rollups.slot(now.date(), now.hour)
    assert after[at] == (0, 1, 0)
    assert after[:at] == before[:at]  # the seeded hours of this week are kept
    assert week.probes == sum(good + failed for good, failed, _mean in after)
