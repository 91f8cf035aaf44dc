"""Turning a batch of probe results into stored state: the checks' latest state, events only on change or detection,
a page copy as evidence, the week's rollup, and findings through the findings writer.

Everything for one batch happens in one transaction with a fixed number of statements per batch, whatever its size:
the latest state is written with one prepared UPDATE per set of changed columns (``executemany``; an unchanged page
changes only the run time, latency and good-probe count of its check), the rollups with one more, events and page
copies in bulk, plus one findings write per region root when something is detected. The content analysis of a changed
page is either already done (``result.analysis``, by the monitor's analysis pool) or done here, in-process
(``monitoring.content``, the same function).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import partial
from operator import attrgetter

import orjson
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from findings.importers.base import EVIDENCE_LIMIT, Record
from findings.models import OPEN_STATUSES, Finding, FindingSource, FindingStatus
from findings.writer import AssetIndex, write_records
from orgs.models import Unit

from . import alerts, rollups, rules
from . import vocabulary as v
from .analysis import Detection
from .content import ContentContext, ContentOutcome, analyse_content, library_for_pool
from .engine.targets import ProbeResult
from .keywords import keyword_library_for
from .models import Check, CheckEvent, CheckState, ContentBaseline, PageSnapshot, ProbeRecord, open_windows

logger = logging.getLogger("edusec.monitoring")

TOOL = "monitoring"
SNAPSHOT_LEVEL = 6  # zlib level of stored page copies
# The latest-state columns a probe may change. Only those that did change are written.
CHECK_FIELDS = (
    "state", "last_run_at", "last_ok_at", "state_since", "status_code", "latency_ms", "error", "failures",
    "successes", "body_hash", "analysed_hash", "content_changed_at", "detections", "details", "next_due_at",
)  # fmt: skip


@dataclass
class StoreCounts:
    checks: int = 0
    events: int = 0
    detections: int = 0
    findings_written: int = 0
    findings_fixed: int = 0
    analysed: int = 0  # pages analysed (here or in the pool)
    state_updates: int = 0  # checks whose row was written
    refused: int = 0  # results the database refused even stored alone (``sweep.Monitor`` leaves them out)
    alerts: int = 0  # messages sent on the channels (``monitoring.alerts``)
    by_state: dict = field(default_factory=lambda: defaultdict(int))

    def add(self, other: StoreCounts) -> None:
        for counter in fields(self):
            if counter.name != "by_state":
                setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))
        for state, count in other.by_state.items():
            self.by_state[state] += count


def rule_id(kind: str) -> str:
    return f"{TOOL}:{kind}"


class _Website:
    __slots__ = ("pk", "host")

    def __init__(self, pk, host):
        self.pk, self.host = pk, host


class _Unit:
    __slots__ = ("pk", "path")
    steplen = Unit.steplen

    def __init__(self, pk, path):
        self.pk, self.path = pk, path


class CheckRow:
    """A check as the scheduler and the storage use it: its row's values as plain attributes, with its website's host
    and its unit's path. Made from one ``values_list`` query: building hundreds of model instances (with their
    website and unit) per batch cost more than storing the batch."""

    __slots__ = ("pk", "unit_id", "website_id", "kind", "url", "interval", "grace_failures", "recovery_successes",
                 *CHECK_FIELDS, "website", "unit")  # fmt: skip
    _COLUMNS = (*__slots__[:-2], "website__host", "unit__path")

    @property
    def id(self) -> int:
        return self.pk

    def get_state_display(self) -> str:
        return str(CheckState(self.state).label) if self.state in CheckState.values else self.state


def load_checks(ids) -> dict[int, CheckRow]:
    """The checks with what the storage needs (and the website's host and unit's path), by id.

    One plain SQL query (``fetch_rows``) per 2,000 ids; its rows are converted here (JSON decoded, SQLite's naive UTC
    datetimes made aware), which costs a fraction of Django's per-value converters: this runs for every probe.
    """
    ids = list(ids)
    checks = {}
    setters = [CheckRow.__dict__[name].__set__ for name in CheckRow.__slots__[:-2]]
    converters = _row_converters()
    meta, quote = Check._meta, connection.ops.quote_name
    website, unit = meta.get_field("website").related_model._meta, meta.get_field("unit").related_model._meta
    check_table, website_table, unit_table = quote(meta.db_table), quote(website.db_table), quote(unit.db_table)
    expressions = [
        f"{check_table}.{quote(meta.pk.column if name == 'pk' else meta.get_field(name).column)}"
        for name in CheckRow.__slots__[:-2]
    ]
    expressions += [
        f"{website_table}.{quote(website.get_field('host').column)}",
        f"{unit_table}.{quote(unit.get_field('path').column)}",
    ]
    joins = (
        f"FROM {check_table} "
        f"JOIN {website_table} ON {website_table}.{quote(website.pk.column)} = "
        f"{check_table}.{quote(meta.get_field('website').column)} "
        f"JOIN {unit_table} ON {unit_table}.{quote(unit.pk.column)} = "
        f"{check_table}.{quote(meta.get_field('unit').column)}"
    )
    rows = []
    with connection.cursor() as cursor:
        for condition, params in id_conditions(f"{check_table}.{quote(meta.pk.column)}", ids):
            rows += fetch_rows(cursor, expressions, f"{joins} WHERE {condition}", params)
    for values in rows:
        check = CheckRow()
        for setter, convert, value in zip(setters, converters, values, strict=False):
            setter(check, value if convert is None or value is None else convert(value))
        check.website = _Website(check.website_id, values[-2])
        check.unit = _Unit(check.unit_id, values[-1])
        checks[check.pk] = check
    return checks


def id_conditions(column: str, ids: list[int]) -> list[tuple[str, list]]:
    """(SQL condition, its parameters) pairs that together select the rows whose ``column`` is one of ``ids``.

    SQLite: ``column IN (%s, …)``, one per 2,000 ids (within its parameter limit). PostgreSQL: one
    ``column = ANY(%s::bigint[])`` with the ids as one array literal: Django's cursors bind parameters on the client,
    where psycopg quotes each one in Python, and a statement as long as 500 placeholders make is parsed again at
    every call (psycopg caches the parsing of short statements only)."""
    if connection.vendor == "postgresql":
        return [(f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, map(int, ids))) + "}"])] if ids else []
    return [
        (f"{column} IN ({', '.join(['%s'] * len(chunk))})", chunk)
        for chunk in (ids[start : start + 2000] for start in range(0, len(ids), 2000))
    ]


def fetch_rows(cursor, expressions: list[str], query: str, params) -> list:
    """The rows of ``SELECT {expressions} {query}`` (lists on SQLite, tuples elsewhere).

    SQLite returns them as one JSON array made by the database: the sqlite3 module releases the interpreter lock
    around every step of a statement, which is once per row fetched. With the monitor's event loop in another thread,
    each step is a hand-over of the lock to the loop and back; for a batch of 500 rows that cost more than the query
    and interrupted the loop 500 times. JSON carries numbers, text (datetimes as SQLite stores them) and null; select
    a blob as ``hex(...)``.
    """
    if connection.vendor != "sqlite":
        _load_timestamps_in_c(cursor)
        cursor.execute(f"SELECT {', '.join(expressions)} {query}", params)
        return cursor.fetchall()
    inner = ", ".join(f"{expression} AS edusec_{index}" for index, expression in enumerate(expressions))
    outer = ", ".join(f"edusec_{index}" for index in range(len(expressions)))
    cursor.execute(f"SELECT json_group_array(json_array({outer})) FROM (SELECT {inner} {query})", params)
    return orjson.loads(cursor.fetchone()[0])


def _load_timestamps_in_c(cursor) -> None:
    """PostgreSQL: read ``timestamptz`` values with psycopg's own loader on this cursor.

    Django registers a subclass of psycopg's loader (to set the tzinfo it wants), so every timestamp is parsed by
    psycopg's Python code: in a claim, two values per check and most of its client time. psycopg's own loader is the
    C one of psycopg-binary and returns the same instant, in the session's time zone (UTC, which Django sets)."""
    from psycopg.types.datetime import TimestamptzLoader  # the PostgreSQL driver: not imported on SQLite

    cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)


def _json_value(value):
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:  # e.g. an integer beyond 64 bits, which json wrote
        return json.loads(value)


_PARSED_DATETIMES: dict[str, datetime] = {}  # text → aware datetime: a batch's checks share their run times


def _sqlite_datetime(value):
    # Django stores an aware datetime in SQLite as UTC without an offset (``USE_TZ``); the driver hands it back
    # parsed (Django registers a converter for the declared type) or, through an expression, as text.
    if isinstance(value, str):
        parsed = _PARSED_DATETIMES.get(value)
        if parsed is None:
            if len(_PARSED_DATETIMES) >= 4096:
                _PARSED_DATETIMES.clear()
            parsed = _PARSED_DATETIMES[value] = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return parsed
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _row_converters() -> list:
    """Per column of ``CheckRow`` (but the host and the path): how a raw database value becomes the model's value."""
    return column_converters(CheckRow.__slots__[:-2])


def column_converters(names) -> list:
    """Per named column of ``Check``: how its raw database value becomes the model's value (None: as it is)."""
    converters = []
    for name in names:
        field = Check._meta.pk if name in ("pk", "id") else Check._meta.get_field(name)
        if isinstance(field, models.JSONField):
            converters.append(_json_value)
        elif isinstance(field, models.DateTimeField) and connection.vendor == "sqlite":
            converters.append(_sqlite_datetime)
        else:
            converters.append(None)
    return converters


def baseline_texts(check_ids) -> dict[int, str]:
    """The stored baselines of these content checks as JSON text: decoded only for a page that did change."""
    ids = list(check_ids)
    meta, quote = ContentBaseline._meta, connection.ops.quote_name
    check_column, data = quote(meta.get_field("site_check").column), quote(meta.get_field("data").column)
    text = data if connection.vendor == "sqlite" else f"CAST({data} AS text)"  # SQLite keeps JSON as text
    texts = {}
    with connection.cursor() as cursor:
        for condition, params in id_conditions(check_column, ids):
            texts.update(
                fetch_rows(cursor, [check_column, text], f"FROM {quote(meta.db_table)} WHERE {condition}", params)
            )
    return texts


def content_context(check: Check, baseline_text: str | None, *, for_pool: bool = False) -> ContentContext:
    """What the analysis of ``check``'s page needs: the site, its baseline and its unit's keyword library."""
    library = keyword_library_for(check.unit)
    if for_pool:
        library = library_for_pool(library)
    return ContentContext(url=check.url, host=check.website.host, baseline_json=baseline_text, library=library)


# A check's latest-state values as one tuple (read twice per probe: before and after the store).
_state = attrgetter(*CHECK_FIELDS)


def store_results(
    results: list[ProbeResult],
    *,
    now: datetime | None = None,
    schedule: bool = True,
    checks: dict[int, Check] | None = None,
    pending_findings: dict[str, list[Record]] | None = None,
    write_findings: bool = True,
    refreshed: dict[tuple[int, str], float] | None = None,
    throttle: alerts.Throttle | None = None,
) -> StoreCounts:
    """Apply ``results`` (one per check) to the database. ``schedule``: set each check's next due time.

    ``checks``: the checks as loaded by ``load_checks`` (the scheduler already has them); loaded here otherwise.

    ``pending_findings`` (the long-running monitor's): the findings this batch raises or refreshes are added to it
    (by region root path) and written only when ``write_findings`` or when this batch closes findings (so that a
    refresh is never written after the close that followed it). The findings writer indexes every asset of the
    installation at each call (about 75 ms for 5,000 websites), too much to pay for every half-second batch.

    ``refreshed`` (the long-running monitor's): (check id, kind) → ``time.monotonic()`` when its finding was last
    written. A detection the same as at the check's previous probe is then written again only once
    ``EDUSEC_MONITOR_FINDING_REFRESH`` seconds have passed; without it, every detection is written at every probe.

    ``throttle`` (the long-running monitor's): alerts to a receiver told of the same event type a moment ago are held
    there and sent together later (``alerts.Throttle``); without it, each store sends its alerts.
    """
    now = now or timezone.now()
    counts = StoreCounts()
    if not results:
        return counts
    if checks is None:
        checks = load_checks(r.check_id for r in results)
    before = {pk: _state(check) for pk, check in checks.items()}
    # The windows open now are few whatever the batch: read them all rather than filter by the batch's websites,
    # a parameter per website that the PostgreSQL driver quotes in Python at every store.
    windows = open_windows(now)
    websites_in_maintenance = {window.website_id for window in windows if window.website_id is not None}
    units_in_maintenance = tuple(window.unit.path for window in windows if window.website_id is None)
    # Pages to analyse here: those the pool did not analyse (no pool, or it failed) and that carry no context.
    to_analyse = [
        r.check_id
        for r in results
        if r.body is not None
        and not isinstance(r.analysis, ContentOutcome)
        and not isinstance(r.context, ContentContext)
    ]
    baselines = baseline_texts(to_analyse) if to_analyse else {}
    events: list[CheckEvent] = []
    records = defaultdict(list) if pending_findings is None else pending_findings  # region root path → findings
    to_fix: list[tuple[Check, str]] = []
    rollup = rollups.Accumulator(now)
    new_baselines: list[ContentBaseline] = []
    stored: list[Check] = []
    to_alert: list[alerts.Alert] = []
    stale_days = settings.EDUSEC_MONITOR_STALE_DAYS
    clock, refresh_every = time.monotonic(), settings.EDUSEC_MONITOR_FINDING_REFRESH
    probe_records: list[ProbeRecord] | None = [] if settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS > 0 else None
    for result in results:
        check = checks.get(result.check_id)
        if check is None:
            continue  # deleted while it was being probed
        counts.checks += 1
        stored.append(check)
        rollup.add(check.pk, result.ok, result.latency_ms)
        if probe_records is not None:
            probe_records.append(probe_record(result, now))
        # A fresh top-level dict: the loaded one stays as it was, so that the change can be detected at the end.
        details = check.details = dict(check.details)
        failing = not result.ok
        check.failures = check.failures + 1 if failing else 0
        check.successes = 0 if failing else check.successes + 1
        # Detections as the plain dicts that are stored (``Detection.as_dict`` deep-copies the evidence, which is
        # what the analysers hand over once; the carried-over ones are read from the row and not changed).
        found = [_plain(item) for item in rules.after_grace(rules.probe_detections(result), check.failures,
                                                            check.grace_failures)]  # fmt: skip
        page = None
        if check.kind == v.CONTENT and result.ok and result.body is not None:
            outcome = result.analysis if isinstance(result.analysis, ContentOutcome) else None
            if outcome is None:
                context = result.context
                if not isinstance(context, ContentContext):
                    context = content_context(check, baselines.get(check.pk))
                outcome = analyse_content(result, context)
            counts.analysed += 1
            found += _apply_outcome(check, result, outcome, now, new_baselines)
            page = result  # its copy is kept with the events of new detections (``_record_changes``)
        elif result.ok and check.kind == v.CONTENT:
            # The page did not change since it was analysed: what the analysis found stands.
            found += details.get("analysed", [])
            stale = rules.unchanged_for(check.content_changed_at, now, stale_days)
            if stale is not None and v.STALE_SITE not in {item["kind"] for item in found}:
                found.append(_plain(stale))
        detections = found
        previous = {d["kind"]: d for d in check.detections}
        recorded = len(events)
        _record_changes(check, previous, detections, now, events, page)
        maintenance = check.website_id in websites_in_maintenance or (
            bool(units_in_maintenance) and check.unit.path.startswith(units_in_maintenance)
        )
        if not maintenance:
            if len(events) > recorded:
                to_alert += alerts.alerts_of(events[recorded:], check.unit_id, check.website_id)
            if previous:
                to_alert += alerts.escalations(previous, detections, check.unit_id, check.website_id)
        state = CheckState.MAINTENANCE if maintenance else rules.state_of(detections, failing=failing)
        if state != check.state:
            events.append(
                CheckEvent(
                    unit_id=check.unit_id, site_check_id=check.pk, at=now, kind=CheckEvent.Kind.STATE, state=state,
                    summary=f"{check.get_state_display() if check.state else ''} → {CheckState(state).label}"[:300],
                    evidence={"from": check.state, "error": result.error, "detail": result.error_detail,
                              "status": result.status},
                )
            )  # fmt: skip
            check.state, check.state_since = state, now
        counts.by_state[state] += 1
        _update_latest(check, result, detections, now, schedule)
        if not maintenance and found:
            batch = records.setdefault(check.unit.path[: check.unit.steplen], [])
            for item in found:
                if refreshed is not None:
                    key = (check.pk, item["kind"])
                    written = refreshed.get(key)
                    if written is not None and clock - written < refresh_every and previous.get(item["kind"]) == item:
                        continue  # the same as last time, and its finding was written a moment ago
                    refreshed[key] = clock
                batch.append(_record(check, item))
        if refreshed is not None:
            for kind in previous.keys() - {item["kind"] for item in found}:
                refreshed.pop((check.pk, kind), None)  # gone: if it comes back, it is written at once
        counts.detections += len(found)
        # A kind that has been absent for ``recovery_successes`` probes in a row closes its finding. The count stops
        # there (a healthy check's details then stay the same from probe to probe, and need no write).
        clearing = details["clearing"] = dict(details.get("clearing", {}))
        present = {item["kind"] for item in found}
        enough = max(check.recovery_successes, 1)
        for kind in rules.KINDS_OF_CHECK[check.kind]:
            if kind in present or (kind in rules.NEEDS_GRACE and failing):
                clearing.pop(kind, None)
                continue
            absent = clearing.get(kind, 0)
            if absent < enough:
                clearing[kind] = absent + 1
                if absent + 1 == check.recovery_successes:
                    to_fix.append((check, kind))
    with transaction.atomic():
        if new_baselines:
            ContentBaseline.objects.bulk_create(new_baselines, ignore_conflicts=True)
        counts.state_updates = _write_latest(stored, before)
        if probe_records:
            ProbeRecord.objects.bulk_create(probe_records)
        snapshots = [e.snapshot for e in events if e.snapshot is not None and e.snapshot.pk is None]
        for snapshot in {id(s): s for s in snapshots}.values():
            snapshot.save()
        if events:
            CheckEvent.objects.bulk_create(events)
        rollup.save()
        if pending_findings is None or write_findings or to_fix:
            counts.findings_written = flush_findings(records)
        counts.findings_fixed = _fix(to_fix, now)
        counts.alerts = alerts.send_safely(to_alert, now, throttle)
    counts.events = len(events)
    return counts


# A store failing with these did not refuse a value: storing its results in smaller parts cannot help.
UNAVAILABLE = (OperationalError, InterfaceError)


def store_in_parts(
    results: list[ProbeResult], error: Exception, *, now=None, refreshed=None, throttle: alerts.Throttle | None = None
) -> StoreCounts:
    """After ``error`` failed the store of ``results`` as one batch: ``store_results`` again in halves, each in a
    transaction of its own, down to single results; one the database still refuses is logged and left out
    (``refused``). ``error`` is raised again when it was one result, or when the database is unavailable (smaller
    parts cannot help).

    A site chooses what its page, certificate and redirects hold, and one result the database refuses must not lose
    the results stored with it (nor, as the check is probed again, at every later probe). The checks are read
    again: the failed store changed the loaded rows in memory.
    """
    if len(results) == 1 or isinstance(error, UNAVAILABLE):
        raise error
    logger.error("storing %d probe results failed (%r); storing them again in parts", len(results), error)
    counts = StoreCounts()
    middle = len(results) // 2
    for part in (results[:middle], results[middle:]):
        try:
            counts.add(store_results(part, now=now, schedule=False, refreshed=refreshed, throttle=throttle))
        except UNAVAILABLE:
            raise  # the database is gone, not refusing a value: the batch is dropped as a whole
        except Exception as part_error:
            close_old_connections()
            if len(part) > 1:
                counts.add(store_in_parts(part, part_error, now=now, refreshed=refreshed, throttle=throttle))
            else:
                logger.exception("the result of check %s was refused by the database; left out", part[0].check_id)
                counts.refused += 1
    return counts


def flush_findings(records: dict[str, list[Record]]) -> int:
    """Write (raise or refresh) these findings, one writer call per region root; empties ``records``. New findings.

    Each record names its check's website (``website_id`` in ``_record``), so the writer places it with an index of
    those websites alone."""
    written = 0
    for root_path, batch in records.items():
        if batch:
            root = Unit.objects.get(path=root_path)  # the writer places each record on its website's unit
            index = AssetIndex.of_websites({record.raw_id for record in batch})
            written += write_records(batch, unit=root, tool=TOOL, index=index).new
    records.clear()
    return written


def probe_record(result: ProbeResult, now: datetime) -> ProbeRecord:
    """The raw row of one probe (kept only with ``EDUSEC_MONITOR_PROBE_RECORD_DAYS``)."""
    at = datetime.fromtimestamp(result.started_at, tz=UTC) if result.started_at else now
    status = result.status if result.status is not None and 0 < result.status < 1000 else None
    latency = round(result.latency_ms, 1) if result.latency_ms is not None else None
    return ProbeRecord(site_check_id=result.check_id, at=at, ok=result.ok, status_code=status, latency_ms=latency,
                       error=result.error[:40])  # fmt: skip


def _write_latest(checks: list[Check], before: dict[int, tuple]) -> int:
    """Write the latest-state columns that changed: one UPDATE per set of changed columns."""
    groups: dict[tuple[str, ...], list[Check]] = defaultdict(list)
    for check in checks:
        old = before[check.pk]
        new = _state(check)
        if old != new:
            groups[tuple(name for name, a, b in zip(CHECK_FIELDS, old, new, strict=True) if a != b)].append(check)
    written = 0
    for names, group in groups.items():
        update_rows(Check, names, [[getattr(check, name) for name in names] + [check.pk] for check in group])
        written += len(group)
    return written


def update_rows(model, names, rows: list[list]) -> None:
    """Update rows of ``model`` by primary key in one statement: each row is the values of the fields ``names`` as
    the model holds them, then the primary key.

    Both databases read the rows from one JSON array (SQLite with ``json_each``, PostgreSQL with ``values_table``).
    One statement per batch instead of one per row (``executemany``): the driver's work per row and, on SQLite, the
    release and re-acquisition of the interpreter lock at each row cost more than the updates, and kept the event
    loop and the database thread trading the lock."""
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in names]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = [_column_value(field) for field in fields]
    for row in rows:
        for index, convert in enumerate(columns):
            if convert is not None and row[index] is not None:
                row[index] = convert(row[index])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A JSONField's value is its JSON text here, cast to its column type (jsonb) like any other value.
            typed = [(quote(f.column), f.db_type(connection)) for f in fields]
            source, rows_json = values_table([*typed, ("edusec_pk", meta.pk.db_type(connection))], rows)
            assignments = ", ".join(f"{name} = v.{name}" for name, _kind in typed)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {source} WHERE {table}.{pk} = v.edusec_pk", [rows_json]
            )
        else:
            assignments = ", ".join(f"{quote(f.column)} = row.value ->> {i}" for i, f in enumerate(fields))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM json_each(%s) AS row "
                f"WHERE {table}.{pk} = row.value ->> {len(fields)}",
                [orjson.dumps(rows).decode()],
            )


def values_table(columns: list[tuple[str, str]], rows) -> tuple[str, str]:
    """PostgreSQL: ``rows`` (sequences of values in the order of ``columns``, each a (name, PostgreSQL type)) as the
    derived table ``v``, read from one JSON array. Returns the SQL to put after ``FROM`` and its one parameter.

    Not one array per column (``unnest(%s::bigint[], …)``): Django's cursors bind parameters on the client, where
    psycopg quotes every element of a list in Python (2.7 ms for four columns of 500 rows, against 0.1 ms to write
    the same rows with orjson), and this runs for every batch of probes. A bytea value travels as hex; a jsonb value
    as its JSON text."""
    expressions, hex_columns = [], []
    for index, (name, kind) in enumerate(columns):
        if kind == "bytea":
            hex_columns.append(index)
            expressions.append(f"decode(e ->> {index}, 'hex') AS {name}")
        else:
            expressions.append(f"(e ->> {index})::{kind} AS {name}")
    if hex_columns:
        rows = [list(row) for row in rows]
        for row in rows:
            for index in hex_columns:
                if row[index] is not None:
                    row[index] = bytes(row[index]).hex()
    source = f"(SELECT {', '.join(expressions)} FROM json_array_elements(%s::json) AS e) AS v"
    return source, orjson.dumps(rows).decode()


def _column_value(field):
    """How ``update_rows`` passes a value of ``field`` (None: as it is)."""
    if isinstance(field, models.JSONField):
        return partial(json.dumps, cls=field.encoder, ensure_ascii=False)
    if isinstance(field, models.DateTimeField) and connection.vendor != "postgresql":
        adapt, last = connection.ops.adapt_datetimefield_value, [None, None]

        def datetime_value(value):  # a batch's run time is the same for every row: adapted once
            if value is not last[0]:
                # UTC (every time the monitor makes) is stored as it reads without its offset: Django's adapter
                # converts and checks in Python, and the claim's next due times differ from row to row.
                offset = value.utcoffset()
                last[0], last[1] = (
                    value,
                    str(value.replace(tzinfo=None)) if offset is not None and not offset else adapt(value),
                )
            return last[1]

        return datetime_value
    return None


def _apply_outcome(check, result, outcome: ContentOutcome | None, now, new_baselines) -> list[dict]:
    """Record a changed page's analysis on the check; the detections found (their evidence says that a copy of the
    page goes with them: ``_record_changes`` keeps one with each event of a new detection)."""
    check.analysed_hash = (result.body_hash or b"").hex()
    check.content_changed_at = now
    if outcome is None:
        return []
    if outcome.baseline is not None:
        new_baselines.append(
            ContentBaseline(unit_id=check.unit_id, site_check_id=check.pk, data=outcome.baseline, samples=1)
        )
    found = [
        _plain(Detection(d.kind, d.severity, str(d.summary), d.technique, _clip_evidence(d.evidence)))
        for d in outcome.detections
    ]
    for item in found:
        item["evidence"]["snapshot"] = True
    check.details["analysed"] = found
    return list(found)


def _plain(item: Detection) -> dict:
    """The stored form of a detection (what ``Detection.as_dict`` gives, without copying the evidence again)."""
    return {
        "kind": item.kind,
        "severity": item.severity,
        "summary": item.summary,
        "technique": item.technique,
        "evidence": item.evidence,
    }


def _record_changes(check, before, detections, now, events, page: ProbeResult | None) -> None:
    """Events of the detections that came and went. An event of a new detection that says so in its evidence keeps a
    copy of ``page`` (the analysed page): made (compressed, about 0.3 ms for 30 KB) only then, once for all of them,
    as a detection that persists from probe to probe needs none."""
    after = {d["kind"]: d for d in detections}
    if before == after:
        return
    copy = None
    for kind, item in after.items():
        if kind not in before:
            if page is not None and item["evidence"].get("snapshot") and copy is None:
                copy = _snapshot(check, page, now)
            events.append(
                CheckEvent(
                    unit_id=check.unit_id, site_check_id=check.pk, at=now, kind=CheckEvent.Kind.DETECTED,
                    detection=kind,
                    severity=item["severity"], summary=item["summary"][:300], evidence=item["evidence"],
                    snapshot=copy if page is not None and item["evidence"].get("snapshot") else None,
                )
            )  # fmt: skip
    for kind, item in before.items():
        if kind not in after:
            events.append(
                CheckEvent(
                    unit_id=check.unit_id, site_check_id=check.pk, at=now, kind=CheckEvent.Kind.CLEARED,
                    detection=kind,
                    severity=item["severity"], summary=item["summary"][:300],
                )
            )  # fmt: skip


def _update_latest(check, result, detections, now, schedule) -> None:
    check.last_run_at = now
    if result.ok:
        check.last_ok_at = now
    check.status_code = result.status
    check.latency_ms = result.latency_ms
    check.error = (result.error_detail or result.error)[:300]
    if result.body_hash is not None:
        check.body_hash = result.body_hash.hex()
    check.detections = detections
    if result.tls is not None:
        tls = rules._tls_evidence(result.tls)
        if check.details.get("tls") != tls:
            check.details["tls"] = tls
    if result.redirects:
        check.details["redirects"] = [list(hop) for hop in result.redirects]
    if schedule:
        check.next_due_at = now + timezone.timedelta(seconds=check.interval)


def _snapshot(check, result, now) -> PageSnapshot:
    body = result.body or b""
    return PageSnapshot(
        unit_id=check.unit_id,
        site_check_id=check.pk,
        taken_at=now,
        url=result.final_url or check.url,
        status_code=result.status,
        headers=dict(result.headers),
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        body=zlib.compress(body, SNAPSHOT_LEVEL),
    )


def _clip_evidence(evidence: dict) -> dict:
    """Evidence as stored: JSON-safe (what is not JSON becomes its text), and cut down to its summary keys when it
    takes more than 4 × ``EVIDENCE_LIMIT`` characters serialised. orjson: this runs for each detection of every
    analysed page, in the monitor's database thread (a sixth of json's time)."""
    try:
        encoded = orjson.dumps(evidence, default=str, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
        encoded = json.dumps(evidence, default=str, ensure_ascii=False).encode()
    data = orjson.loads(encoded)
    if len(encoded.decode()) > EVIDENCE_LIMIT * 4:
        data = {key: data[key] for key in ("techniques", "reasons", "categories", "missing", "matches") if key in data}
    return data


def _record(check: Check, item: dict) -> Record:
    evidence = json.dumps(item["evidence"], ensure_ascii=False, default=str)
    # The finding is written in the installation's language (the analysers' summaries are catalogue strings).
    with translation.override(settings.LANGUAGE_CODE):
        summary = gettext(item["summary"])
        title = f"{v.DETECTION_KINDS[item['kind']]}: {summary}"[:300]
    return Record(
        tool=TOOL,
        rule_id=rule_id(item["kind"]),
        title=title,
        severity=item["severity"],
        description=summary,
        host=check.website.host,
        url=check.url,
        evidence=evidence[:EVIDENCE_LIMIT],
        source=FindingSource.MONITORING,
        raw_id=str(check.website_id),  # the website the finding belongs to (see ``flush_findings``)
    )


def _fix(to_fix: list[tuple[Check, str]], now) -> int:
    """Close the open monitoring findings of these (check, kind) pairs: the problem has been gone long enough.

    Two statements whatever the number of pairs (a new check reaches its recovery count for every kind it does not
    show at its second probe): the open candidates by rule and host, then one UPDATE of those that match exactly."""
    if not to_fix:
        return 0
    wanted = {(check.unit_id, rule_id(kind), check.website.host) for check, kind in to_fix}
    candidates = Finding.objects.filter(
        source=FindingSource.MONITORING,
        status__in=OPEN_STATUSES,
        rule_id__in={rule for _unit, rule, _host in wanted},
        host__in={host for _unit, _rule, host in wanted},
    ).values_list("pk", "unit_id", "rule_id", "host")
    ids = [pk for pk, unit_id, rule, host in candidates if (unit_id, rule, host) in wanted]
    if not ids:
        return 0
    return Finding.objects.filter(pk__in=ids).update(status=FindingStatus.FIXED, closed_by_rescan=True, updated_at=now)
