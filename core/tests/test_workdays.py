"""Working days: weekends, official holidays and 调休 days from the maintained calendar, and the override table."""

from datetime import date, datetime

import pytest
from django.utils import timezone

from core import workdays
from core.models import WorkdayOverride


def test_weekend_and_weekday_in_an_ordinary_week():
    assert workdays.is_workday(date(2026, 11, 23))  # Monday
    assert not workdays.is_workday(date(2026, 11, 28))  # Saturday


def test_national_day_holiday_and_adjusted_saturday():
    # 2026: 1–7 October off; Saturday 10 October is a 调休 working day.
    assert not workdays.is_workday(date(2026, 10, 1))
    assert not workdays.is_workday(date(2026, 10, 7))
    assert workdays.is_workday(date(2026, 10, 10))


def test_deadline_jumps_over_the_golden_week():
    # Issued Wednesday 30 September 2026: 3 working days are 8, 9 and 10 October (Saturday, 调休).
    assert workdays.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert workdays.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert workdays.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert workdays.workdays_between(date(2026, 10, 10), date(2026, 9, 30)) == -3


def test_zero_and_negative_counts():
    assert workdays.add_workdays(date(2026, 11, 24), 0) == date(2026, 11, 24)
    with pytest.raises(ValueError):
        workdays.add_workdays(date(2026, 11, 24), -1)


def test_unknown_year_falls_back_to_monday_to_friday_and_says_so():
    assert workdays.is_known_year(2026)
    assert not workdays.is_known_year(2099)
    assert workdays.is_workday(date(2099, 1, 1))  # a Thursday; the real schedule is unknown
    assert not workdays.is_workday(date(2099, 1, 3))


def test_overrides_win_over_the_calendar():
    overrides = {date(2026, 11, 24): False, date(2026, 11, 28): True}
    assert not workdays.is_workday(date(2026, 11, 24), overrides)
    assert workdays.is_workday(date(2026, 11, 28), overrides)
    # Monday 23rd + 2 working days: 24th is off, so 25th and 26th.
    assert workdays.add_workdays(date(2026, 11, 23), 2, overrides) == date(2026, 11, 26)


def test_a_runaway_override_table_is_refused():
    overrides = {date(2026, 12, 1) + (date(2026, 12, 2) - date(2026, 12, 1)) * n: False for n in range(40)}
    with pytest.raises(ValueError):
        workdays.add_workdays(date(2026, 11, 30), 1, overrides)


@pytest.mark.django_db
def test_deadline_after_reads_the_override_table():
    # Spring Festival 2027 is not in the library yet: a bureau enters it by hand.
    issued = timezone.make_aware(datetime(2027, 2, 5, 16, 30))  # Friday
    assert workdays.deadline_after(issued, 1).date() == date(2027, 2, 8)
    for day in range(8, 15):
        WorkdayOverride.objects.create(date=date(2027, 2, day), is_workday=False, name="春节")
    deadline = workdays.deadline_after(issued, 1)
    assert deadline.date() == date(2027, 2, 15)
    assert timezone.localtime(deadline).hour == 23


@pytest.fixture
def people(db, settings):
    from core.testing import build_test_tree, make_user

    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, _unit_b, school = build_test_tree()
    return {
        "officer": make_user("officer", root, ["security_officer"]),
        "netadmin": make_user("na", school, ["school_netadmin"]),
    }


def _client(user):
    from django.test import Client

    from core.testing import BACKEND

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user, backend=BACKEND)
    return client


def test_calendar_page_adds_an_override_and_refuses_a_useless_one(people):
    client = _client(people["officer"])
    assert client.get("/workdays/").status_code == 200
    answer = client.post("/workdays/add/", {"date": "2027-02-08", "is_workday": "", "name": "春节"})
    assert answer.status_code == 302
    assert WorkdayOverride.objects.get(date=date(2027, 2, 8)).is_workday is False
    useless = client.post("/workdays/add/", {"date": "2026-10-01", "is_workday": "", "name": "国庆"})
    assert useless.status_code == 200 and "already says the same" in useless.content.decode()
    assert _client(people["netadmin"]).get("/workdays/").status_code == 403


def test_calendar_api(people):
    from rest_framework.test import APIClient

    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(people["officer"])
    created = api.post(
        "/api/core/workdays/", {"date": "2027-02-06", "is_workday": True, "name": "春节调休"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert api.post("/api/core/workdays/", {"date": "2026-10-10", "is_workday": True}, format="json").status_code == 400
    assert workdays.is_workday(date(2027, 2, 6), workdays.load_overrides(date(2027, 1, 1), date(2027, 12, 31)))
