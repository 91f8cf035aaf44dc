"""Weekly rollups: the week blob, slots across the week boundary, the conversion of daily rows (as a function and as
the migration), retention by whole weeks, and charts from week rows equal to what daily rows gave."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets.tests.factories import WebsiteFactory
from core.testing import build_test_tree
from monitoring import rollups
from monitoring.engine.targets import ProbeResult
from monitoring.ledger import sync_checks
from monitoring.models import Check, WeeklyRollup
from monitoring.store import store_results
from monitoring.views import CHART_DAYS, chart_data

MONDAY = dt.date(2026, 3, 2)


def test_week_blob_round_trip_size_and_slots():
    rng = random.Random(11)
    for _ in range(200):
        hours = [
            (rng.choice([0, 1, 12, 200, 70_000]), rng.choice([0, 0, 2]), rng.randint(0, 70_000)) for _ in range(168)
        ]
        assert rollups.unpack_week(rollups.pack(hours)) == [tuple(min(x, 65535) for x in hour) for hour in hours]
    assert rollups.unpack_week(None) == rollups.EMPTY_WEEK
    assert len(rollups.pack(rollups.EMPTY_WEEK)) <= 10  # runs of 168 empty hours: a few bytes
    one_hour = list(rollups.EMPTY_WEEK)
    one_hour[100] = (12, 0, 80)
    assert len(rollups.pack(one_hour)) <= 32
    for _ in range(200):  # a probe's update touches only its day, and equals unpack, add, pack
        hours = [(rng.choice([0, 12]), rng.choice([0, 0, 1]), rng.choice([0, 50, 300, 20_000])) for _ in range(168)]
        at, good, failed = rng.randrange(168), rng.randint(0, 3), rng.randint(0, 1)
        expected = list(hours)
        rollups.add(expected, at, good, failed, 80.0 * (good + failed), good + failed)
        assert rollups.add_to_week(rollups.pack(hours), at, good, failed, 80.0 * (good + failed), good + failed) == (
            rollups.pack(expected)
        )
    first = rollups.add_to_week(None, 167, 1, 0, 40.0, 1)
    assert rollups.unpack_week(first)[167] == (1, 0, 40) and sum(h[0] for h in rollups.unpack_week(first)) == 1
    week = [(12, 0, rng.randint(40, 200)) for _ in range(168)]  # a full week of a 5-minute check
    assert len(rollups.pack(week)) <= 7 * 50
    days = rollups.days_of(week)
    assert len(days) == 7 and days[6] == week[144:] and sum(days, []) == week
    with pytest.raises(ValueError):
        rollups.unpack_week(rollups.pack(rollups.EMPTY_DAY))
    assert rollups.week_of(MONDAY + dt.timedelta(days=6)) == MONDAY and rollups.week_of(MONDAY) == MONDAY
    assert rollups.slot(MONDAY, 0) == 0 and rollups.slot(MONDAY + dt.timedelta(days=6), 23) == 167


def test_day_blobs_are_still_read_as_days():
    hours = [(12, 1, 80 + i) for i in range(24)]
    assert rollups.unpack(rollups.pack(hours)) == hours


def daily_rows(check_ids, first, count, seed=3):
    """(check id, day, probes, failures, day blob) as the daily table held them, with some empty days."""
    rng = random.Random(seed)
    rows = []
    for check_id in check_ids:
        for offset in range(count):
            if rng.random() < 0.1:
                continue
            hours = [
                (12, 1, rng.randint(60, 400)) if rng.random() < 0.05 else (12, 0, rng.randint(60, 400))
                if rng.random() < 0.9 else (0, 0, 0)
                for _hour in range(24)
            ]  # fmt: skip
            rows.append((check_id, first + dt.timedelta(days=offset), sum(g + f for g, f, _m in hours),
                         sum(f for _g, f, _m in hours), rollups.pack(hours)))  # fmt: skip
    return rows


def test_merge_days_places_each_day_at_its_weekday():
    rows = daily_rows([1, 2], MONDAY - dt.timedelta(days=3), 17)
    weeks = rollups.merge_days(rows)
    assert {week for _check, week in weeks} == {MONDAY - dt.timedelta(days=7), MONDAY, MONDAY + dt.timedelta(days=7)}
    for check_id, day, _probes, _failures, blob in rows:
        week = weeks[(check_id, rollups.week_of(day))]
        assert rollups.days_of(week[2])[day.weekday()] == rollups.unpack(blob)
    for (check_id, week), (probes, failures, _hours) in weeks.items():
        days = [r for r in rows if r[0] == check_id and rollups.week_of(r[1]) == week]
        assert probes == sum(r[2] for r in days) and failures == sum(r[3] for r in days)
    # A day without a row stays empty in its week.
    present = {(r[0], r[1]) for r in rows}
    for (check_id, week), (_p, _f, hours) in weeks.items():
        for weekday, day_hours in enumerate(rollups.days_of(hours)):
            if (check_id, week + dt.timedelta(days=weekday)) not in present:
                assert day_hours == rollups.EMPTY_DAY


@pytest.fixture
def http_checks(db):
    _root, _unit_a, _unit_b, school = build_test_tree()
    for i in range(3):
        WebsiteFactory(unit=school, name=f"学校{i}", url=f"http://w{i}.school.example/")
    sync_checks()
    return list(Check.objects.filter(kind="http").order_by("pk"))


def ok(check, latency):
    return ProbeResult(check.pk, "http", ok=True, status=200, latency_ms=latency, body_hash=b"\1" * 16)


def test_sunday_23h_and_monday_0h_go_to_two_week_rows(http_checks):
    zone = timezone.get_current_timezone()
    sunday = MONDAY + dt.timedelta(days=6)
    late = dt.datetime.combine(sunday, dt.time(23, 30), tzinfo=zone)
    store_results([ok(c, 50.0) for c in http_checks], now=late, schedule=False)
    store_results([ok(c, 70.0) for c in http_checks], now=late + dt.timedelta(minutes=20), schedule=False)
    store_results([ok(c, 90.0) for c in http_checks], now=late + dt.timedelta(minutes=40), schedule=False)
    store_results([ok(c, 110.0) for c in http_checks], now=late + dt.timedelta(minutes=60), schedule=False)
    rows = {r.week: r for r in WeeklyRollup.objects.filter(site_check=http_checks[0])}
    assert set(rows) == {MONDAY, MONDAY + dt.timedelta(days=7)}
    old, new = rows[MONDAY], rows[MONDAY + dt.timedelta(days=7)]
    assert (old.probes, new.probes) == (2, 2)
    old_hours, new_hours = old.hourly(), new.hourly()
    assert old_hours[167] == (2, 0, 60) and sum(h[0] for h in old_hours) == 2
    assert new_hours[0] == (2, 0, 100) and sum(h[0] for h in new_hours) == 2
    assert WeeklyRollup.objects.count() == 2 * len(http_checks)


def test_the_open_hour_is_added_to_in_sql_and_folded_into_the_blob_when_the_next_hour_comes(http_checks):
    zone = timezone.get_current_timezone()
    ten = dt.datetime.combine(MONDAY + dt.timedelta(days=2), dt.time(10, 5), tzinfo=zone)
    at_ten = rollups.slot(MONDAY + dt.timedelta(days=2), 10)
    store_results([ok(c, 50.0) for c in http_checks], now=ten, schedule=False)
    with CaptureQueriesContext(connection) as queries:
        store_results([ok(c, 70.0) for c in http_checks], now=ten + dt.timedelta(minutes=20), schedule=False)
    rollup_sql = [q["sql"] for q in queries.captured_queries if "monitoring_weeklyrollup" in q["sql"]]
    # Within the hour: the open slots read, one UPDATE adding to the sums; no blob read or written.
    assert len(rollup_sql) == 2 and all('"hours"' not in sql and "hours =" not in sql for sql in rollup_sql)
    row = WeeklyRollup.objects.get(site_check=http_checks[0])
    assert row.hours == rollups.pack(rollups.EMPTY_WEEK) and row.open_slot == at_ten
    assert (row.open_good, row.open_failed, row.open_timed, row.open_latency) == (2, 0, 2, 120.0)
    assert row.hourly()[at_ten] == (2, 0, 60) and row.probes == 2

    failed = ProbeResult(http_checks[0].pk, "http", ok=False, error="refused")  # no latency: not timed
    store_results([failed, *(ok(c, 30.0) for c in http_checks[1:])], now=ten + dt.timedelta(hours=1), schedule=False)
    row = WeeklyRollup.objects.get(site_check=http_checks[0])
    folded = rollups.unpack_week(row.hours)
    assert folded[at_ten] == (2, 0, 60) and sum(h[0] + h[1] for h in folded) == 2  # the hour of ten, and only it
    assert row.open_slot == at_ten + 1 and (row.open_good, row.open_failed, row.open_timed) == (0, 1, 0)
    hours = row.hourly()
    assert hours[at_ten] == (2, 0, 60) and hours[at_ten + 1] == (0, 1, 0) and (row.probes, row.failures) == (3, 1)
    assert WeeklyRollup.objects.get(site_check=http_checks[1]).hourly()[at_ten + 1] == (1, 0, 30)

    # Another writer folded the hour between a store's read and its write: that store must not fold it again.
    before = WeeklyRollup.objects.get(site_check=http_checks[1])
    rollups._open_new_hour(MONDAY, at_ten + 2, [(http_checks[1].pk, at_ten, b"\2garbage", 5, 0, 5, 100.0)])
    after = WeeklyRollup.objects.get(site_check=http_checks[1])
    assert (bytes(after.hours), after.open_slot, after.probes) == (bytes(before.hours), before.open_slot, before.probes)


def test_rows_made_before_the_open_hour_existed_start_one(http_checks):
    zone = timezone.get_current_timezone()
    day = MONDAY + dt.timedelta(days=1)
    hours = list(rollups.EMPTY_WEEK)
    hours[rollups.slot(day, 3)] = (12, 0, 80)
    WeeklyRollup.objects.create(site_check=http_checks[0], week=MONDAY, probes=12, hours=rollups.pack(hours))
    store_results([ok(http_checks[0], 40.0)], now=dt.datetime.combine(day, dt.time(9), tzinfo=zone), schedule=False)
    row = WeeklyRollup.objects.get(site_check=http_checks[0])
    assert row.open_slot == rollups.slot(day, 9) and row.probes == 13
    assert row.hourly()[rollups.slot(day, 3)] == (12, 0, 80) and row.hourly()[rollups.slot(day, 9)] == (1, 0, 40)


def test_retention_prunes_whole_weeks_only(http_checks, settings):
    from monitoring.retention import prune_history

    settings.EDUSEC_MONITOR_ROLLUP_DAYS = 10
    check = http_checks[0]
    for weeks_back in range(4):
        WeeklyRollup.objects.create(
            site_check=check, week=MONDAY - dt.timedelta(days=7 * weeks_back), hours=rollups.pack(rollups.EMPTY_WEEK)
        )
    zone = timezone.get_current_timezone()
    # Oldest day kept: Sunday MONDAY - 1 day → the week before MONDAY stays, the two before it go.
    now = dt.datetime.combine(MONDAY + dt.timedelta(days=9), dt.time(12), tzinfo=zone)
    assert prune_history(now)["rollups"] == 2
    assert sorted(WeeklyRollup.objects.values_list("week", flat=True)) == [MONDAY - dt.timedelta(days=7), MONDAY]
    # One day later that Sunday is out too.
    assert prune_history(now + dt.timedelta(days=1))["rollups"] == 1


def chart_from_days(rows, today):
    """What ``chart_data`` returned from the daily rows (the code before weekly rows), without the "end" stamp."""
    by_day = {day: (probes, failures, blob) for _check, day, probes, failures, blob in rows}
    zone = timezone.get_current_timezone()
    first = today - dt.timedelta(days=CHART_DAYS - 1)
    latency, days, uptime, probes_per_day = [], [], [], []
    for offset in range(CHART_DAYS):
        day = first + dt.timedelta(days=offset)
        days.append(day.isoformat())
        row = by_day.get(day)
        if row is None or not row[0]:
            uptime.append(None)
            probes_per_day.append(0)
            continue
        uptime.append(round(100 * (row[0] - row[1]) / row[0], 2))
        probes_per_day.append(row[0])
        for hour, (good, failed, mean) in enumerate(rollups.unpack(row[2])):
            if good + failed and mean:
                at = dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
                latency.append([int(at.timestamp() * 1000), mean])
    return latency, days, uptime, probes_per_day


@pytest.mark.parametrize("weekday", range(7))
def test_chart_from_week_rows_equals_the_daily_rows(http_checks, weekday):
    today = MONDAY + dt.timedelta(days=21 + weekday)
    check, other = http_checks[0], http_checks[1]
    rows = daily_rows([check.pk], today - dt.timedelta(days=40), 41)
    noise = daily_rows([other.pk], today - dt.timedelta(days=40), 41, seed=9)  # another check's rows are not read
    WeeklyRollup.objects.bulk_create(
        WeeklyRollup(site_check_id=check_id, week=week, probes=p, failures=f, hours=rollups.pack(hours))
        for (check_id, week), (p, f, hours) in rollups.merge_days(rows + noise).items()
    )
    weeks = {rollups.week_of(today - dt.timedelta(days=n)) for n in range(CHART_DAYS)}
    assert len(weeks) == (6 if weekday == 0 else 5)  # from a Sunday to a Monday: six weeks
    chart = chart_data([check], today)
    latency, days, uptime, probes = chart_from_days(rows, today)
    assert chart["days"] == days and chart["uptime"] == uptime and chart["probes"] == probes
    assert chart["latency"] == latency and len(latency) > 500
    first = dt.datetime.combine(
        today - dt.timedelta(days=CHART_DAYS - 1), dt.time(0), tzinfo=timezone.get_current_timezone()
    )
    assert chart["start"] == int(first.timestamp() * 1000) and chart["has_data"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_daily_rows_to_week_rows_and_back():
    before, after = [("monitoring", "0002_rollup_check_index")], [("monitoring", "0004_rollup_open_hour")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        _root, _unit_a, _unit_b, school = build_test_tree()
        for i in range(2):
            WebsiteFactory(unit=school, name=f"学校{i}", url=f"http://m{i}.school.example/")
        sync_checks()
        check_ids = list(Check.objects.filter(kind="http").order_by("pk").values_list("pk", flat=True))
        rows = daily_rows(check_ids, MONDAY - dt.timedelta(days=2), 12)
        DailyRollup = apps.get_model("monitoring", "DailyRollup")
        DailyRollup.objects.bulk_create(
            DailyRollup(site_check_id=c, day=d, probes=p, failures=f, hours=b) for c, d, p, f, b in rows
        )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        expected = rollups.merge_days(rows)
        stored = {(r.site_check_id, r.week): [r.probes, r.failures, r.hourly()] for r in WeeklyRollup.objects.all()}
        assert stored == expected and len(stored) == 3 * len(check_ids)
        # Back: one daily row per day that had probes, with the same figures.
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        DailyRollup = executor.loader.project_state(before).apps.get_model("monitoring", "DailyRollup")
        back = {
            (r.site_check_id, r.day): (r.probes, r.failures, rollups.unpack(r.hours)) for r in DailyRollup.objects.all()
        }
        assert back == {(c, d): (p, f, rollups.unpack(b)) for c, d, p, f, b in rows if p}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
