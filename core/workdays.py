"""Working days in mainland China: weekends, the official holidays and the adjusted working days (调休).

The State Council publishes each year's schedule in November or December; the ``chinesecalendar`` library carries the
published years. ``WorkdayOverride`` rows win over the library, so a bureau can enter next year's schedule (or a local
day off) before a library update. For a year the library does not know and no override covers, the calendar falls back
to Monday–Friday and ``is_known_year`` says so, so that pages can warn.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

import chinese_calendar
from django.utils import timezone

# Safety bound for loops over days: no real schedule has this many days off in a row.
MAX_DAYS_OFF_IN_A_ROW = 30


def is_known_year(year: int) -> bool:
    """Whether the maintained calendar has the official schedule of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_workday(day: date, overrides: Mapping[date, bool] | None = None) -> bool:
    """Whether ``day`` is a working day: an override first, then the official calendar, else Monday–Friday."""
    if overrides and day in overrides:
        return overrides[day]
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(start: date, count: int, overrides: Mapping[date, bool] | None = None) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself never counts; a count of 0 gives ``start``)."""
    if count < 0:
        raise ValueError("count must not be negative")
    day = start
    remaining = count
    off_in_a_row = 0
    while remaining:
        day += timedelta(days=1)
        if is_workday(day, overrides):
            remaining -= 1
            off_in_a_row = 0
        else:
            off_in_a_row += 1
            if off_in_a_row > MAX_DAYS_OFF_IN_A_ROW:
                raise ValueError(
                    f"more than {MAX_DAYS_OFF_IN_A_ROW} days off in a row after {start}: check the overrides"
                )
    return day


def workdays_between(start: date, end: date, overrides: Mapping[date, bool] | None = None) -> int:
    """Working days in (start, end]: how many working days ``end`` lies after ``start`` (negative when before)."""
    if end < start:
        return -workdays_between(end, start, overrides)
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=n), overrides))


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in the installation's time zone: deadlines fall due at the end of their day."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def load_overrides(first: date, last: date) -> dict[date, bool]:
    """The override table between two dates (inclusive), as a mapping for the functions above."""
    from .models import WorkdayOverride

    rows = WorkdayOverride.objects.filter(date__gte=first, date__lte=last).values_list("date", "is_workday")
    return dict(rows)


def deadline_after(issued_at: datetime, workdays: int) -> datetime:
    """The deadline of a duty issued at ``issued_at`` with ``workdays`` working days to do it: the end of the
    ``workdays``-th working day after the day of issue, overrides applied."""
    start = timezone.localtime(issued_at).date()
    # Generous window for overrides: the loop never goes further than this.
    overrides = load_overrides(start, start + timedelta(days=workdays * 3 + MAX_DAYS_OFF_IN_A_ROW + 7))
    return end_of_day(add_workdays(start, workdays, overrides))
