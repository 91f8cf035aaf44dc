"""Weekly rollups: one row per check and ISO week (from Monday), with 7 × 24 hourly (good, failed, mean latency)
triples packed in a blob.

A 5-minute check makes 288 probes a day; keeping a row per probe is what drowns other monitors. Here the charts read
one small row per week, and a probe adds nothing but an in-place update of that row (batched per store). A row per
week rather than per day pays the database's per-row cost (PostgreSQL: tuple header, line pointer, index entry,
60–100 bytes) once a week instead of every day. The hour of a probe is the slot ``weekday × 24 + hour`` of its
week's row (local time; Monday 00:00 is slot 0, Sunday 23:00 slot 167).

The blob is small because the figures are very regular. A day's 24 hours are three columns (good probes, failed
probes, mean latency in ms), each stored either as runs of equal values (``count, value`` pairs: "12 good probes in
each of the 24 hours" is 2 bytes) or, when that is not shorter, as plain values, every number as an unsigned LEB128
varint. A week blob (format 2) is a version byte, then its 7 days Monday first, each as its length (a varint) and its
three columns; an empty day is a single zero byte, so an empty week is 8 bytes and a week that has just begun costs
little more than its days so far. A full day of a 5-minute check takes 30–45 bytes (about 70 with zlib, whose framing
outweighs what it saves on 144 bytes).

The hour being filled is not in the blob: the row keeps it as plain sums (good, failed, timed probes, latency total,
and its slot), which every store adds to in SQL. When a probe of a later hour comes, the open hour is folded into the
blob, decoding and re-encoding only its own day (``add_to_week``, a few tens of microseconds), and the new hour is
opened. A 5-minute check thus re-encodes a day once an hour instead of at each of its twelve probes, and a store of a
batch reads no blob at all within an hour. Readers take the week with its open hour (``week_hours``,
``WeeklyRollup.hourly``).
Format 1 (one day, a version byte and the three columns) and the first format (zlib) are the blobs of the earlier
daily table; ``unpack`` still reads them. Hand-written because no library packs small integers better for this
shape.
"""

from __future__ import annotations

import struct
import zlib
from datetime import date, datetime, timedelta
from itertools import groupby
from operator import ne

from django.utils import timezone

HOURS = 24
DAYS = 7
SLOTS = DAYS * HOURS  # the hours of a week row
LIMIT = 65535  # each figure is capped (as in the earlier 16-bit format)
FORMAT = 1  # a day: 24 slots (the earlier daily rows)
WEEK_FORMAT = 2  # a week: 168 slots
_SLOTS_OF = {FORMAT: HOURS, WEEK_FORMAT: SLOTS}
_FORMAT_OF = {HOURS: FORMAT, SLOTS: WEEK_FORMAT}
_RUNS, _PLAIN = 0, 1
_ZLIB_HOUR = struct.Struct("<HHH")  # the first format: zlib of 24 × (good, failed, mean latency) uint16
EMPTY_DAY = [(0, 0, 0)] * HOURS
EMPTY_WEEK = [(0, 0, 0)] * SLOTS
_EMPTY_WEEK_BLOB = bytes((WEEK_FORMAT,)) + b"\0" * DAYS  # the version byte, then seven empty days


def week_of(day: date) -> date:
    """The Monday that starts the ISO week of ``day`` (the key of its rollup row)."""
    return day - timedelta(days=day.weekday())


def slot(day: date, hour: int) -> int:
    """The slot of ``hour`` of ``day`` in its week's row."""
    return day.weekday() * HOURS + hour


def _put(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _put_all(values, out: bytearray) -> None:
    append = out.append
    for value in values:
        if value < 0x80:
            append(value)
        elif value < 0x4000:
            append((value & 0x7F) | 0x80)
            append(value >> 7)
        else:
            _put(value, out)


def _encode_column(values: list[int], out: bytearray) -> None:
    # Runs take at least two bytes each: they are only built when they can be shorter than the plain values.
    changes = sum(map(ne, values, values[1:]))
    if max(values) < 0x80:
        plain = values  # one byte each (the usual case)
        if 2 * (changes + 1) >= len(values):
            out.append(_PLAIN)
            out += bytes(values)
            return
    else:
        plain = bytearray()
        _put_all(values, plain)
        if 2 * (changes + 1) >= len(plain):
            out.append(_PLAIN)
            out += plain
            return
    encoded_runs = bytearray()
    for value, group in groupby(values):
        _put(len(list(group)), encoded_runs)
        _put(value, encoded_runs)
    if len(encoded_runs) < len(plain):
        out.append(_RUNS)
        out += encoded_runs
    else:
        out.append(_PLAIN)
        out += bytes(plain)


def _encode(hours: list[tuple[int, int, int]], out: bytearray, checked: bool = False) -> None:
    """``checked``: every figure is already an int within ``LIMIT`` (as ``add`` and the decoder make them)."""
    for column in zip(*hours, strict=True):
        if not checked and (max(column) > LIMIT or not all(type(value) is int for value in column)):
            column = [min(int(value), LIMIT) for value in column]
        _encode_column(column, out)


def _day_segment(hours: list[tuple[int, int, int]], checked: bool = False) -> bytes:
    """A day inside a week blob: its length as a varint, then its three columns; an empty day is one zero byte."""
    if not any(good or failed or mean for good, failed, mean in hours):
        return b"\0"
    body = bytearray()
    _encode(hours, body, checked)
    head = bytearray()
    _put(len(body), head)
    return bytes(head + body)


def pack(hours: list[tuple[int, int, int]]) -> bytes:
    """The blob of a week's 168 (format 2) or a day's 24 (format 1) hourly (good, failed, mean latency ms)
    triples."""
    if len(hours) == SLOTS:
        return bytes((WEEK_FORMAT,)) + b"".join(_day_segment(hours[d * HOURS : (d + 1) * HOURS]) for d in range(DAYS))
    out = bytearray((_FORMAT_OF[len(hours)],))
    _encode(hours, out)
    return bytes(out)


def _segments(raw: bytes) -> list[bytes]:
    """The 7 day segments (their columns, without the length; empty for an empty day) of a week blob."""
    pos, segments = 1, []
    for _day in range(DAYS):
        (length,), pos = _get_all(raw, pos, 1)
        segments.append(raw[pos : pos + length])
        pos += length
    return segments


def _get_all(raw: bytes, pos: int, count: int) -> tuple[list[int], int]:
    """``count`` varints from ``pos``; and the position after them."""
    values: list[int] = []
    append = values.append
    while count:
        byte = raw[pos]
        pos += 1
        if byte >= 0x80:
            value, shift = byte & 0x7F, 7
            while True:
                byte = raw[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
            byte = value
        append(byte)
        count -= 1
    return values, pos


def _decode(raw: bytes, slots: int, pos: int = 1) -> list[tuple[int, int, int]]:
    columns = []
    for _column in range(3):
        mode = raw[pos]
        pos += 1
        if mode == _PLAIN:
            chunk = raw[pos : pos + slots]
            if len(chunk) == slots and max(chunk) < 0x80:  # one byte per value (the usual case)
                columns.append(list(chunk))
                pos += slots
            else:
                values, pos = _get_all(raw, pos, slots)
                columns.append(values)
            continue
        values = []
        while len(values) < slots:
            (count, value), pos = _get_all(raw, pos, 2)
            values.extend([value] * count)
        columns.append(values[:slots])
    return list(zip(*columns, strict=True))


def unpack(blob: bytes | memoryview | None) -> list[tuple[int, int, int]]:
    """The hourly (good, failed, mean latency ms) triples of a stored blob: 24 for a day's (formats 1 and zlib),
    168 for a week's (format 2). An empty blob is an empty day."""
    if not blob:
        return list(EMPTY_DAY)
    raw = bytes(blob)
    if raw[0] == WEEK_FORMAT:
        hours: list[tuple[int, int, int]] = []
        for segment in _segments(raw):
            hours += _decode(segment, HOURS, 0) if segment else EMPTY_DAY
        return hours
    if raw[0] == FORMAT:
        return _decode(raw, HOURS)
    # The first format: a zlib stream of a day (its first byte is 0x78, never 1 or 2).
    raw = zlib.decompress(raw)
    return [_ZLIB_HOUR.unpack_from(raw, i * _ZLIB_HOUR.size) for i in range(HOURS)]


def unpack_week(blob: bytes | memoryview | None) -> list[tuple[int, int, int]]:
    """The 168 hourly triples of a stored week row (an empty blob is an empty week)."""
    if not blob:
        return list(EMPTY_WEEK)
    hours = unpack(blob)
    if len(hours) != SLOTS:
        raise ValueError(f"not a week's rollup blob ({len(hours)} slots)")
    return hours


def add_to_week(blob: bytes | memoryview | None, at: int, good: int, failed: int, latency_total: float, timed: int):
    """The week blob with probes folded into slot ``at`` (as ``add``): only that day's segment is decoded and
    re-encoded, and the bytes of the other days are copied as they are, so an update costs what it cost on a daily
    row."""
    raw = bytes(blob) if blob else _EMPTY_WEEK_BLOB
    if raw[0] != WEEK_FORMAT:
        raise ValueError("not a week's rollup blob")
    day, hour = divmod(at, HOURS)
    pos = 1
    for _day in range(day):  # skip the days before
        (length,), pos = _get_all(raw, pos, 1)
        pos += length
    start = pos
    (length,), pos = _get_all(raw, pos, 1)
    hours = _decode(raw, HOURS, pos) if length else list(EMPTY_DAY)
    add(hours, hour, good, failed, latency_total, timed)
    return raw[:start] + _day_segment(hours, checked=True) + raw[pos + length :]


def days_of(week_hours: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """A week's 168 slots as its 7 days of 24 hours, Monday first."""
    return [week_hours[day * HOURS : (day + 1) * HOURS] for day in range(DAYS)]


def merge_days(days) -> dict[tuple[int, date], list]:
    """Daily rows ``(check id, day, probes, failures, blob)`` as weekly ones: ``{(check id, Monday): [probes,
    failures, 168 hourly triples]}``. Each day's 24 hours go to slots ``weekday × 24`` onwards (the daily table held
    one row per check and day); the counts are summed. Used by the migration that made the weekly table."""
    weeks: dict[tuple[int, date], list] = {}
    for check_id, day, probes, failures, blob in days:
        entry = weeks.get((check_id, week_of(day)))
        if entry is None:
            entry = weeks[(check_id, week_of(day))] = [0, 0, list(EMPTY_WEEK)]
        entry[0] += probes
        entry[1] += failures
        base = day.weekday() * HOURS
        entry[2][base : base + HOURS] = unpack(blob)
    return weeks


def add(hours: list[tuple[int, int, int]], hour: int, good: int, failed: int, latency_total: float, timed: int):
    """Fold ``good``/``failed`` probes (``timed`` of them with a latency summing to ``latency_total``) into ``hour``."""
    old_good, old_failed, old_mean = hours[hour]
    old_timed = old_good + old_failed  # the stored mean covers every earlier probe of the hour that had a latency
    total_timed = old_timed + timed
    mean = round((old_mean * old_timed + latency_total) / total_timed) if total_timed else 0
    hours[hour] = (min(old_good + good, LIMIT), min(old_failed + failed, LIMIT), min(mean, LIMIT))


def week_hours(blob, open_slot: int | None, good: int, failed: int, latency_total: float, timed: int):
    """The 168 hourly triples of a week row with its open hour (the sums not folded into the blob yet) included."""
    hours = unpack_week(blob)
    if open_slot is not None and (good or failed):
        add(hours, open_slot, good, failed, latency_total, timed)
    return hours


def fold_open(blob, open_slot: int | None, good: int, failed: int, latency_total: float, timed: int) -> bytes:
    """The week blob with the open hour's sums folded in (only that hour's day is re-encoded)."""
    if open_slot is None or not (good or failed):
        return bytes(blob) if blob else _EMPTY_WEEK_BLOB
    return add_to_week(blob, open_slot, good, failed, latency_total, timed)


class Accumulator:
    """Collects one store's probes per check, then adds them to this week's rollup rows in a few statements.

    The hour being filled is kept as plain sums beside the blob (``WeeklyRollup.open_*``), which a store adds to in
    SQL: no blob is read, decoded or encoded for a probe of the same hour. The first store of a later hour folds the
    sums into the blob (``fold_open``) and opens the new hour, so a 5-minute check re-encodes its day once an hour,
    not twelve times.
    """

    def __init__(self, now: datetime):
        local = timezone.localtime(now)
        self.week, self.slot = week_of(local.date()), slot(local.date(), local.hour)
        self.per_check: dict[int, list] = {}

    def add(self, check_id: int, ok: bool, latency_ms: float | None) -> None:
        entry = self.per_check.get(check_id)
        if entry is None:
            entry = self.per_check[check_id] = [0, 0, 0.0, 0]
        entry[0 if ok else 1] += 1
        if latency_ms is not None:
            entry[2] += latency_ms
            entry[3] += 1

    def save(self) -> None:
        from .models import WeeklyRollup

        if not self.per_check:
            return
        open_slots = _open_slots(self.week, list(self.per_check))
        created, same_hour, to_fold = [], [], []
        for check_id, (good, failed, latency_total, timed) in self.per_check.items():
            if check_id not in open_slots:
                created.append(
                    WeeklyRollup(
                        site_check_id=check_id, week=self.week, hours=_EMPTY_WEEK_BLOB, probes=good + failed,
                        failures=failed, open_slot=self.slot, open_good=good, open_failed=failed, open_timed=timed,
                        open_latency=latency_total,
                    )
                )  # fmt: skip
            elif open_slots[check_id] == self.slot:
                same_hour.append((check_id, good, failed, timed, latency_total))
            else:
                to_fold.append(check_id)
        # A row made by another writer since the read above would only lose this store's figures of the hour.
        WeeklyRollup.objects.bulk_create(created, ignore_conflicts=True)
        if same_hour:
            _add_to_open_hour(self.week, self.slot, same_hour)
        if to_fold:
            folded = []
            for check_id, blob, open_slot, *sums in _open_hours(self.week, to_fold):
                good, failed, latency_total, timed = self.per_check[check_id]
                old = -1 if open_slot is None else open_slot
                folded.append((check_id, old, fold_open(blob, open_slot, *sums), good, failed, timed, latency_total))
            _open_new_hour(self.week, self.slot, folded)


def _open_slots(week: date, check_ids: list[int]) -> dict[int, int | None]:
    """Check id → the open slot of its row of ``week``, for those of ``check_ids`` that have a row."""
    return {check_id: open_slot for check_id, open_slot in _read_week(week, check_ids, ["open_slot"])}


def _open_hours(week: date, check_ids: list[int]) -> list[tuple]:
    """(check id, blob, open slot, open good, failed, latency sum, timed) of the rows of ``week`` of ``check_ids``."""
    columns = ["hex(hours)", "open_slot", "open_good", "open_failed", "open_latency", "open_timed"]
    return [(check_id, bytes.fromhex(blob), *rest) for check_id, blob, *rest in _read_week(week, check_ids, columns)]


def _read_week(week: date, check_ids: list[int], columns: list[str]) -> list:
    """(check id, *columns) of the rows of ``week`` of ``check_ids`` (``store.fetch_rows``; a blob as ``hex``)."""
    from django.db import connection

    from .models import WeeklyRollup
    from .store import fetch_rows, id_conditions

    table = connection.ops.quote_name(WeeklyRollup._meta.db_table)
    week_value = WeeklyRollup._meta.get_field("week").get_db_prep_value(week, connection)
    if connection.vendor == "postgresql":
        columns = [column.replace("hex(hours)", "encode(hours, 'hex')") for column in columns]
    rows = []
    with connection.cursor() as cursor:
        for condition, params in id_conditions("site_check_id", check_ids):
            query = f"FROM {table} WHERE week = %s AND {condition}"
            rows += fetch_rows(cursor, ["site_check_id", *columns], query, [week_value, *params])
    return rows


_OPEN_COLUMNS = [("check_id", "bigint"), ("good", "integer"), ("failed", "integer"), ("timed", "integer"),
                 ("latency", "double precision")]  # fmt: skip
_ADD_COUNTS = "probes = {t}.probes + v.good + v.failed, failures = {t}.failures + v.failed, "


def _add_to_open_hour(week: date, at: int, rows: list[tuple]) -> None:
    """(check id, good, failed, timed, latency sum) added to the open hour ``at`` of this week's rows, in SQL. A row
    whose open hour moved on since it was read (another writer) is left alone.

    The hour travels with each row and is compared as a join condition: as a constant (``open_slot = 46``)
    PostgreSQL's planner, whose statistics still hold the previous hour, expected no row to match, and joined the
    whole table to the rows in a nested loop (360 ms for 150 rows of 10,000 instead of about 1 ms)."""
    _update_from(
        week,
        [*_OPEN_COLUMNS, ("slot", "integer")],
        [(*row, at) for row in rows],
        _ADD_COUNTS + "open_good = {t}.open_good + v.good, open_failed = {t}.open_failed + v.failed, "
        "open_timed = {t}.open_timed + v.timed, open_latency = {t}.open_latency + v.latency",
        "{t}.open_slot = v.slot",
    )


def _open_new_hour(week: date, at: int, rows: list[tuple]) -> None:
    """(check id, open slot as read (-1: none), blob with that hour folded in, good, failed, timed, latency sum):
    the blob written and hour ``at`` opened with this store's figures. Only where the open slot is still the one
    read, so that two writers never fold the same hour twice."""
    columns = [_OPEN_COLUMNS[0], ("old_slot", "integer"), ("hours", "bytea"), *_OPEN_COLUMNS[1:]]
    _update_from(
        week,
        columns,
        rows,
        _ADD_COUNTS + "hours = v.hours, open_slot = %s, open_good = v.good, open_failed = v.failed, "
        "open_timed = v.timed, open_latency = v.latency",
        "COALESCE({t}.open_slot, -1) = v.old_slot",
        set_params=[at],
    )


def _update_from(week: date, columns, rows, assignments: str, condition: str, set_params=()) -> None:
    """``UPDATE`` this week's rollup rows from ``rows`` (one tuple per row, the check id first, in the order of
    ``columns``: (name, PostgreSQL type)) in one statement (one per 2,000 rows on SQLite), rather than one per row
    (see ``store.update_rows``). ``assignments`` and ``condition`` name the table ``{t}`` and the row ``v``;
    ``set_params`` fill the ``%s`` of ``assignments``."""
    from django.db import connection

    from .models import WeeklyRollup
    from .store import values_table

    table = connection.ops.quote_name(WeeklyRollup._meta.db_table)
    names = ", ".join(name for name, _type in columns)
    week_value = WeeklyRollup._meta.get_field("week").get_db_prep_value(week, connection)
    tail = f"WHERE {table}.site_check_id = v.check_id AND {table}.week = %s AND {condition.format(t=table)}"
    assignments = assignments.format(t=table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            source, rows_json = values_table(columns, rows)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {source} {tail}", [*set_params, rows_json, week_value]
            )
            return
        # SQLite: the rows as a VALUES list (blobs cannot travel in JSON), in chunks within its parameter limit.
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            cursor.execute(
                f"WITH v({names}) AS (VALUES {', '.join([row_sql] * len(chunk))}) "
                f"UPDATE {table} SET {assignments} FROM v {tail}",
                [*(value for row in chunk for value in row), *set_params, week_value],
            )
