"""Maintenance windows: once, every day or every week, for one website or for every website of a unit's subtree; the
rules on their times, what the site page and the list show, and the same through the API. (What an open window does
to the probes' findings is in ``test_store_batch.py``.)"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from monitoring.models import MaintenanceWindow, open_windows
from monitoring.tests import test_api
from monitoring.tests.test_api import api
from monitoring.tests.test_views import login

region = test_api.region  # the fixture: a district with a school site, a sibling district with another

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def window(**fields):
    values = {"starts_at": at(1, 0), "ends_at": at(1, 6), "reason": "备份"}  # Sunday 1 November, 00:00–06:00
    return MaintenanceWindow(**{**values, **fields})


@pytest.fixture(autouse=True)
def china_time(settings):
    settings.TIME_ZONE = "Asia/Shanghai"


def test_a_window_once_is_open_between_its_start_and_end():
    once = window()
    assert once.occurrence_at(at(1, 3)) == (at(1, 0), at(1, 6))
    assert once.occurrence_at(at(1, 6)) is None and once.occurrence_at(at(8, 3)) is None
    assert once.next_occurrence(dt.datetime(2026, 10, 31, 12, tzinfo=SHANGHAI)) == (at(1, 0), at(1, 6))
    assert once.next_occurrence(at(1, 7)) is None


def test_a_weekly_window_opens_on_its_weekday_at_its_hours_until_its_last_day():
    weekly = window(repeat="weekly", repeat_until=dt.date(2026, 11, 22))
    assert weekly.occurrence_at(at(15, 5, 59)) == (at(15, 0), at(15, 6))  # the third Sunday
    assert weekly.occurrence_at(at(15, 6)) is None
    assert weekly.occurrence_at(at(18, 3)) is None  # a Wednesday
    assert weekly.occurrence_at(at(22, 3)) == (at(22, 0), at(22, 6))  # its last day
    assert weekly.occurrence_at(at(29, 3)) is None  # past it
    assert weekly.occurrence_at(dt.datetime(2026, 10, 25, 3, tzinfo=SHANGHAI)) is None  # before the first
    assert weekly.next_occurrence(at(18, 3)) == (at(22, 0), at(22, 6))
    assert weekly.next_occurrence(at(22, 7)) is None


def test_a_daily_window_across_midnight():
    nightly = window(starts_at=at(1, 23), ends_at=at(2, 1), repeat="daily")
    assert nightly.occurrence_at(at(10, 0, 30)) == (at(9, 23), at(10, 1))
    assert nightly.occurrence_at(at(10, 1, 30)) is None
    assert nightly.next_occurrence(at(10, 12)) == (at(10, 23), at(11, 1))


def test_the_rules_on_the_times():
    def errors(**fields):
        try:
            window(**fields).clean()
        except ValidationError as error:
            return error.message_dict
        return {}

    assert "ends_at" in errors(ends_at=at(1, 0))
    assert "ends_at" in errors(ends_at=at(9, 0))  # once: 7 days at most
    assert errors(ends_at=at(8, 0)) == {}
    assert "ends_at" in errors(ends_at=at(2, 0), repeat="daily")  # would overlap the next day's
    assert "ends_at" in errors(ends_at=at(8, 0), repeat="weekly")
    assert errors(ends_at=at(7, 23), repeat="weekly") == {}
    assert "repeat_until" in errors(repeat_until=dt.date(2026, 11, 30))  # a window once has no last day
    assert "repeat_until" in errors(repeat="daily", repeat_until=dt.date(2026, 10, 31))
    assert errors(repeat="daily", repeat_until=dt.date(2026, 11, 1)) == {}


@pytest.mark.django_db
def test_open_windows_reads_the_repeating_ones_and_not_the_expired(region):
    unit = region["mine"].unit
    weekly = window(unit=unit, website=region["mine"], repeat="weekly")
    weekly.save()
    ended = window(unit=unit, website=region["mine"], repeat="daily", repeat_until=dt.date(2026, 11, 10))
    ended.save()
    assert ended.expires_at == at(10, 6) and weekly.expires_at is None
    assert open_windows(at(29, 3)) == [weekly]
    assert set(open_windows(at(8, 3))) == {weekly, ended}
    assert open_windows(at(29, 7)) == []


def test_the_schedule_reads_in_the_readers_language():
    weekly = window(repeat="weekly", repeat_until=dt.date(2026, 12, 27))
    with translation.override("zh-hans"):
        assert weekly.schedule_text() == "每星期日 00:00–06:00，2026-11-01 至 2026-12-27"
        assert window(repeat="daily").schedule_text() == "每天 00:00–06:00，2026-11-01 起"
    with translation.override("en"):
        assert weekly.schedule_text() == "every Sunday 00:00–06:00, 2026-11-01 to 2026-12-27"


def test_a_district_announces_maintenance_of_all_its_websites(region):
    client = login(region["officer_a"])
    start = timezone.localtime().replace(second=0, microsecond=0)
    data = {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "repeat": "weekly",
        "reason": "区数据中心每周巡检",
    }
    response = client.post("/monitoring/maintenance/add/", data)
    assert response.status_code == 200 and "unit" in response.context["form"].errors  # neither website nor unit
    response = client.post("/monitoring/maintenance/add/", {**data, "unit": region["unit_b"].pk})
    assert "unit" in response.context["form"].errors  # another district
    response = client.post("/monitoring/maintenance/add/", {**data, "unit": region["unit_a"].pk})
    assert response.status_code == 302
    created = MaintenanceWindow.objects.get()
    assert created.unit == region["unit_a"] and created.website is None and created.repeat == "weekly"
    # It shows on the page of each website under the district, as the district's.
    page = client.get(f"/monitoring/sites/{region['mine'].pk}/").content.decode()
    assert 'data-testid="window"' in page and "区数据中心每周巡检" in page and "甲区教育局的全部网站" in page
    listing = client.get("/monitoring/maintenance/").content.decode()
    assert "本单位及下级单位的全部网站" in listing and "每星期" in listing
    # Not on the pages of the other district.
    other = login(region["city_officer"]).get(f"/monitoring/sites/{region['theirs'].pk}/").content.decode()
    assert "区数据中心每周巡检" not in other
    assert login(region["city_officer"]).get("/monitoring/maintenance/", {"current": "true"}).status_code == 200


def test_the_same_through_the_api(region):
    client = api(region["officer_a"])
    start = timezone.now().replace(microsecond=0)
    data = {
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "repeat": "daily",
        "repeat_until": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        "reason": "每日备份",
    }
    response = client.post("/api/monitoring/maintenance/", data, format="json")
    assert response.status_code == 400 and "unit" in response.json()
    response = client.post("/api/monitoring/maintenance/", {**data, "unit": region["unit_b"].pk}, format="json")
    assert response.status_code == 400 and "unit" in response.json()
    response = client.post(
        "/api/monitoring/maintenance/",
        {**data, "unit": region["unit_a"].pk, "ends_at": (start + dt.timedelta(hours=25)).isoformat()},
        format="json",
    )
    assert response.status_code == 400 and "ends_at" in response.json()
    response = client.post("/api/monitoring/maintenance/", {**data, "unit": region["unit_a"].pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["website"] is None and body["repeat"] == "daily" and body["unit"] == region["unit_a"].pk
    listed = client.get("/api/monitoring/maintenance/", {"current": "true"}).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]  # open now: its first day started a moment ago


def test_the_export_gives_the_local_times_and_the_repetition(region):
    MaintenanceWindow.objects.create(
        unit=region["unit_a"], starts_at=at(29, 2), ends_at=at(29, 4), repeat="weekly", reason="数据中心例行维护"
    )
    response = login(region["officer_a"]).get("/monitoring/maintenance/", {"export": "csv"})
    rows = response.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "ID,单位,网站,开始,结束,重复,重复至,原因"
    assert rows[1].endswith(",329901,,2026-11-29T02:00:00+08:00,2026-11-29T04:00:00+08:00,每周,,数据中心例行维护")


@pytest.mark.django_db
def test_the_demo_announces_two_windows_ahead_of_time():
    from django.core.management import call_command

    from core.registry import demo_loaders
    from monitoring import demo

    call_command("load_demo", "--quiet")
    assert demo.load in demo_loaders
    windows = list(MaintenanceWindow.objects.order_by("starts_at"))
    assert len(windows) == 2 and all(window.starts_at > timezone.now() for window in windows)
    school, district = windows
    assert school.website is not None and school.unit.unit_type == "school"
    assert timezone.localtime(school.starts_at).weekday() == 5  # Saturday night
    assert district.website is None and district.unit.code == "329901" and open_windows(timezone.now()) == []
    assert demo.load() is None  # loaded once
