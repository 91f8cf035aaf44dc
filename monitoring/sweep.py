"""The scheduler: due checks (by the indexed ``next_due_at``) claimed, probed by the engine, stored.

Two ways to run it, one code path for claiming, probing and storing:

* ``Monitor`` — what ``edusec monitor`` (and ``edusec run``'s monitor thread) runs: one long-lived engine on one
  event loop. Every ``tick`` it claims what fell due (at most ``EDUSEC_MONITOR_BATCH`` checks at a time) and starts
  probing it at once, while earlier batches are still in flight; results are stored in batches every
  ``store_every`` seconds. Changed pages are analysed in a process pool of ``EDUSEC_MONITOR_ANALYSIS_WORKERS``
  processes fed straight from the engine, so fetching, analysis and storage overlap. The database work (claim,
  store) runs in one thread of its own: Django's ORM is synchronous, and SQLite takes one writer at a time anyway.
* ``run_due(now)`` / ``probe_checks(ids)`` — one batch, synchronously, analysis in-process: tests, the "probe now"
  button, Celery workers (``monitoring.probe_batch``) and small installations.

Claiming moves a check's ``next_due_at`` one interval past the time it was due (not past the time it was claimed, so
a check does not drift later by the scheduling delay at every run); a check more than a whole interval late (the
monitor was stopped) starts a new cycle from now, spread by a little jitter. With ``EDUSEC_BROKER_URL`` set,
``edusec monitor`` sends each claimed batch as a Celery task (``monitoring.probe_batch``) instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import random
import threading
import time
from array import array
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone

from . import alerts
from . import vocabulary as v
from .content import ContentOutcome
from .engine import Engine, ProbeTarget, run_sweep
from .models import Check
from .store import (
    StoreCounts,
    baseline_texts,
    column_converters,
    content_context,
    fetch_rows,
    load_checks,
    store_in_parts,
    store_results,
    update_rows,
)

logger = logging.getLogger("edusec.monitoring")

JITTER = 0.05  # up to 5 % of the interval, for checks that start a new cycle after a stop of the monitor


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


def analysis_workers() -> int:
    """Processes of the monitor's analysis pool: the setting, or one per core; 0 analyses in-process."""
    workers = settings.EDUSEC_MONITOR_ANALYSIS_WORKERS
    return (os.cpu_count() or 1) if workers is None or workers < 0 else workers


def pool_options(workers: int) -> dict:
    """Engine options that analyse changed pages in a pool of ``workers`` processes (nothing for 0)."""
    if workers <= 0:
        return {}
    from .content import analyse_in_pool

    return {
        "analyse": analyse_in_pool,
        "analyse_in": "process",
        "analysis_workers": workers,
        "analysis_preload": ["monitoring.analysis_pool"],
    }


def _exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).is_file()


def cloaking_variants() -> tuple[str, ...]:
    return tuple(name.strip() for name in settings.EDUSEC_MONITOR_CLOAKING_VARIANTS.split(",") if name.strip())


def target_for(check: Check, context=None, variants: tuple[str, ...] | None = None) -> ProbeTarget:
    content = check.kind == v.CONTENT
    return ProbeTarget(
        check_id=check.pk,
        kind=check.kind,
        url=check.url,
        host=check.website.host,
        last_body_hash=bytes.fromhex(check.analysed_hash) if content and check.analysed_hash else None,
        want_body=content,
        variants=(cloaking_variants() if variants is None else variants) if content else (),
        context=context,
    )


# What anything but the monitor's own store changes on a check, of what the store uses: another probe ("probe now",
# a Celery worker) sets the run time, accepting a baseline clears the analysed hash, an edit changes the URL, the
# grace or recovery count, the unit or the website. ``Monitor`` reuses a check it stored itself while these are as it
# left them (``claim`` reads them with the due checks).
STAMP_FIELDS = ("last_run_at", "analysed_hash", "url", "grace_failures", "recovery_successes", "unit_id", "website_id")
ROW_CACHE_SECONDS = 3600  # a kept check is read again after an hour at the latest (a unit moved in the tree)
HELD_ALERTS_POLL = 5.0  # seconds between the monitor's looks for held alerts that may go (alerts.Throttle)
ROW_CACHE_SIZE = 50_000  # checks kept by a ``Monitor`` (a few kB each; beyond this they are read at every claim)


def claim(now=None, limit: int | None = None, *, stamp_fields: tuple[str, ...] = ()) -> list[tuple]:
    """Up to ``limit`` due checks as (id, when it was due, *the values of ``stamp_fields``), their next run already
    moved on (so nobody else takes them): one indexed SELECT and one UPDATE (``update_rows``), in one transaction.

    The SELECT is plain SQL on the cursor (``store.fetch_rows``: on SQLite one step for the whole batch): this runs for
    every probe, and Django's query building and per-value conversion cost more than the statement."""
    now = now or timezone.now()
    limit = limit or settings.EDUSEC_MONITOR_BATCH
    meta, quote, ops = Check._meta, connection.ops.quote_name, connection.ops
    names = ("interval", "next_due_at", *stamp_fields)
    columns = [quote(meta.get_field(name).column) for name in ("id", *names)]
    table = quote(meta.db_table)
    due, enabled = quote(meta.get_field("next_due_at").column), quote(meta.get_field("enabled").column)
    # PostgreSQL: two schedulers never take the same check.
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    convert_due, *convert_stamp = column_converters(names[1:])
    convert_due = convert_due or (lambda value: value)  # PostgreSQL's driver returns aware datetimes already
    with transaction.atomic(), connection.cursor() as cursor:
        due_rows = fetch_rows(
            cursor,
            columns,
            f"FROM {table} WHERE {enabled} = %s AND {due} <= %s ORDER BY {due} LIMIT %s{lock}",
            [True, ops.adapt_datetimefield_value(now), limit],
        )
        if not due_rows:
            return []
        claimed, updates = [], []
        for pk, interval, due_at, *stamp in due_rows:
            due_at = convert_due(due_at)
            following = due_at + timedelta(seconds=interval)
            if following <= now:
                following = now + timedelta(seconds=interval + random.uniform(0, interval * JITTER))
            updates.append([following, pk])
            stamp = [
                value if convert is None or value is None else convert(value)
                for convert, value in zip(convert_stamp, stamp, strict=True)
            ]
            claimed.append((pk, due_at, *stamp))
        update_rows(Check, ["next_due_at"], updates)
    return claimed


_UNREAD = object()  # a baseline this monitor does not know (None: the check has none yet)


def _stamp_of(check) -> list:
    return [getattr(check, name) for name in STAMP_FIELDS]


def claim_due(now=None, limit: int | None = None) -> list[int]:
    """Ids of up to ``limit`` due checks, their next run already moved forward (so nobody else takes them)."""
    return [row[0] for row in claim(now, limit)]


def probe_checks(
    check_ids: list[int], *, now=None, throttle: alerts.Throttle | None = None, **engine_overrides
) -> StoreCounts | None:
    """Probe these checks now and store the results; the scheduling was done when they were claimed. Analysis runs
    in this process (``Monitor`` uses the pool). With ``throttle`` (the Celery workers' batches), alerts to a receiver
    told a moment ago are held (``alerts.Throttle``); without it ("probe now"), they go at once."""
    checks = load_checks(check_ids)
    if not checks:
        return None
    options = engine_options() | engine_overrides
    results = run_sweep([target_for(check) for check in checks.values()], **options)
    try:
        return store_results(results, now=now, schedule=False, checks=checks, throttle=throttle)
    except Exception as error:
        close_old_connections()
        return store_in_parts(results, error, now=now, throttle=throttle)


def send_to_workers(celery_app) -> int:
    """One round of ``edusec monitor`` with a broker: every due check sent to the Celery workers in batches (task
    ``monitoring.probe_batch``), and the alerts the workers held that may go by now sent. How many checks were sent."""
    sent = 0
    while ids := claim_due():
        celery_app.send_task("monitoring.probe_batch", args=[ids])
        sent += len(ids)
        if len(ids) < settings.EDUSEC_MONITOR_BATCH:
            break
    alerts.send_held(alerts.Throttle.from_settings())
    return sent


def run_due(now=None, **engine_overrides):
    """One round of the scheduler in this process. Returns the store counts, or None when nothing was due."""
    ids = claim_due(now)
    if not ids:
        return None
    return probe_checks(ids, now=now, **engine_overrides)


@dataclass
class MonitorStats:
    """What a ``Monitor`` did: counts, and each probe's schedule lag (start of the probe − when it was due)."""

    claimed: int = 0
    probed: int = 0
    stored: int = 0
    analysed: int = 0
    events: int = 0
    store_seconds: float = 0.0
    store_errors: int = 0  # stores that failed, and results the database refused even alone (left out)
    alerts: int = 0  # messages sent about the monitor's alerts (see ``alerts.Throttle``)
    first_claim: float | None = None  # time.monotonic() of the first claim that found something
    last_store: float | None = None  # time.monotonic() when the last store finished
    lags: array = field(default_factory=lambda: array("d"))  # seconds; only with Monitor(record_lags=True)

    @property
    def busy_seconds(self) -> float:
        """From the first claim that found work to the end of the last store."""
        if self.first_claim is None or self.last_store is None:
            return 0.0
        return self.last_store - self.first_claim

    def percentile(self, share: float) -> float | None:
        if not self.lags:
            return None
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Monitor:
    """The long-running scheduler loop (see the module docstring).

    ``run()`` blocks until ``stop()`` is called (from another thread), ``duration`` seconds have passed, or, with
    ``until_idle``, nothing is due and nothing is in flight. ``stats`` tells what the last run did. The checks it
    stored are kept between probes and runs (see ``STAMP_FIELDS``), so a monitor that runs again reads only what
    changed elsewhere.
    """

    def __init__(
        self,
        *,
        tick: float = 0.2,
        batch: int | None = None,
        store_every: float = 0.5,
        findings_every: float = 5.0,
        workers: int | None = None,
        switch_interval: float | None = 0.001,
        record_lags: bool = False,
        **engine_overrides,
    ):
        self.tick = tick
        self.batch = batch or settings.EDUSEC_MONITOR_BATCH
        self.store_every = store_every
        self.workers = analysis_workers() if workers is None else workers
        self.options = engine_options() | pool_options(self.workers) | engine_overrides
        self.stats = MonitorStats()
        # The database thread and the event loop share the GIL. With CPython's 5 ms switch interval the loop, which
        # only needs it for a few microseconds at a time, waits behind each slice of the store; 1 ms keeps requests
        # flowing while a batch is stored (measured on the busy 2-core machine: 10-30 % more checks/s end to end).
        self.switch_interval = switch_interval
        self.record_lags = record_lags  # keep every probe's schedule lag in ``stats.lags`` (benchmarks, tests)
        self.engine: Engine | None = None
        self.before_close = None  # called (in the loop) once everything is stored, before the engine and pool close
        self._stopping = threading.Event()
        self._checks: dict = {}  # check id → CheckRow, claimed and not yet stored
        self._texts: dict = {}  # check id → its baseline as read for the analysis pool, claimed and not yet stored
        self._kept: dict = {}  # check id → (CheckRow, time.monotonic(), baseline text) as this monitor stored it
        self._refreshed: dict = {}  # (check id, kind) → time.monotonic() when its finding was written (store_results)
        self._due: dict[int, float] = {}  # check id → when it was due (epoch seconds)
        self._results: list = []
        self._in_flight = 0
        self._drained = False  # no probe in flight any more: the storer stores what is left and ends
        # Findings raised or refreshed by stored batches, written together every ``findings_every`` seconds.
        self.findings_every = findings_every
        self._findings: dict = {}
        self._findings_written = time.monotonic()
        # Alerts to a receiver told of the same event type less than EDUSEC_MONITOR_ALERT_INTERVAL seconds ago wait,
        # and go as one message: a district-wide outage is found site by site over several minutes.
        self.throttle = alerts.Throttle.from_settings()
        self._held_polled = float("-inf")  # time.monotonic() when the held alerts were last looked at

    def stop(self) -> None:
        self._stopping.set()

    def run(self, *, duration: float | None = None, until_idle: bool = False) -> MonitorStats:
        import sys

        from .engine import run_coroutine

        saved = sys.getswitchinterval()
        if self.switch_interval:
            sys.setswitchinterval(min(saved, self.switch_interval))
        try:
            return run_coroutine(lambda: self._run(duration, until_idle))
        except BaseException:
            self._kept.clear()  # a run that failed starts the next one from the database
            self._refreshed.clear()
            raise
        finally:
            sys.setswitchinterval(saved)

    # --- database side (one thread) ---------------------------------------------------------------------------------

    def _claim(self) -> list[ProbeTarget]:
        try:
            claimed = claim(limit=self.batch, stamp_fields=STAMP_FIELDS)
            if not claimed:
                return []
            checks, texts = self._kept_checks(claimed)
            pool = self.workers > 0
            contents = {pk for pk, check in checks.items() if check.kind == v.CONTENT} if pool else set()
            to_read = {pk for pk in contents if texts.get(pk, _UNREAD) is _UNREAD}
            if to_read:
                texts.update(dict.fromkeys(to_read))  # None: the check has no baseline yet
                texts.update(baseline_texts(to_read))
            variants = cloaking_variants()
            targets = []
            for pk, due_at, *_stamp in claimed:
                check = checks.get(pk)
                if check is None:
                    continue
                context = content_context(check, texts.get(pk), for_pool=True) if pk in contents else None
                targets.append(target_for(check, context, variants))
                self._checks[pk] = check
                self._due[pk] = due_at.timestamp()
                if pk in contents:
                    self._texts[pk] = texts[pk]
            return targets
        except Exception:
            close_old_connections()  # a broken connection is replaced at the next round
            raise

    def _kept_checks(self, claimed: list[tuple]) -> tuple[dict, dict]:
        """The claimed checks by id: those this monitor stored itself and nobody changed since (their stamp is as it
        left it, see ``STAMP_FIELDS``) as it keeps them, the others read from the database; and the baselines (as
        stored JSON text, None for none) it knows of the kept ones."""
        now = time.monotonic()
        checks, texts, to_read = {}, {}, []
        for pk, _due, *stamp in claimed:
            kept = self._kept.pop(pk, None)
            if kept is not None and now - kept[1] < ROW_CACHE_SECONDS and _stamp_of(kept[0]) == stamp:
                checks[pk], texts[pk] = kept[0], kept[2]
            else:
                to_read.append(pk)
        if to_read:
            checks.update(load_checks(to_read))
        return checks, texts

    def _keep(self, checks: dict, texts: dict) -> None:
        """Keep the rows of a batch just stored (what they hold is now what the database holds), with the baselines
        of content checks as given (those the batch did not change: the analysis of a site's first page makes its
        baseline)."""
        now = time.monotonic()
        if len(self._kept) + len(checks) > ROW_CACHE_SIZE:  # drop what is too old to be reused (deleted checks too)
            self._kept = {pk: kept for pk, kept in self._kept.items() if now - kept[1] < ROW_CACHE_SECONDS}
        room = ROW_CACHE_SIZE - len(self._kept)
        for pk, check in checks.items():
            if room <= 0:
                break
            self._kept[pk] = (check, now, texts.get(pk, _UNREAD))
            room -= 1

    def _store(self, results, final: bool = False) -> StoreCounts:
        checks = {r.check_id: self._checks.pop(r.check_id) for r in results if r.check_id in self._checks}
        texts = {}
        for result in results:
            text = self._texts.pop(result.check_id, _UNREAD)
            # Its baseline is still the one read unless the page was analysed and that analysis made the site's
            # first one (or the pool's analysis failed: the store analysed it, and may have made one).
            outcome = result.analysis
            if result.body is None or (isinstance(outcome, ContentOutcome) and outcome.baseline is None):
                texts[result.check_id] = text
        write = final or time.monotonic() - self._findings_written >= self.findings_every
        try:
            counts = store_results(
                results,
                schedule=False,
                checks=checks,
                pending_findings=self._findings,
                write_findings=write,
                refreshed=self._refreshed,
                throttle=self.throttle,
            )
        except Exception as error:
            self._findings.clear()  # they were in the batch that failed; the next probes raise them again
            self._refreshed.clear()  # … at once
            close_old_connections()
            return store_in_parts(results, error, refreshed=self._refreshed, throttle=self.throttle)
        if not self._findings:
            self._findings_written = time.monotonic()
        self._keep(checks, texts)
        if len(self._refreshed) > ROW_CACHE_SIZE:  # forget deleted checks' detections
            oldest = time.monotonic() - settings.EDUSEC_MONITOR_FINDING_REFRESH
            self._refreshed = {key: at for key, at in self._refreshed.items() if at > oldest}
        return counts

    def _flush_findings(self) -> None:
        from .store import flush_findings

        with transaction.atomic():
            flush_findings(self._findings)

    def _send_held_alerts(self, everything: bool = False) -> int:
        return alerts.send_held(self.throttle, everything=everything)

    # --- event loop side -------------------------------------------------------------------------------------------

    async def _run(self, duration: float | None, until_idle: bool) -> MonitorStats:
        loop = asyncio.get_running_loop()
        self._drained = False
        self.stats = MonitorStats()
        # A run after a failed one starts clean (what was claimed then runs again at its next due time).
        self._checks.clear()
        self._texts.clear()
        self._due.clear()
        self._results = []
        self._in_flight = 0
        deadline = None if duration is None else time.monotonic() + duration
        database = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="edusec-monitor-db")
        sweeps: set[asyncio.Task] = set()
        max_in_flight = max(self.batch, 4 * self.options.get("concurrency", 100))
        store_wake = asyncio.Event()
        try:
            async with Engine(**self.options) as engine:
                self.engine = engine
                storer = asyncio.create_task(self._storer(loop, database, store_wake))
                while not self._stopping.is_set() and (deadline is None or time.monotonic() < deadline):
                    started = time.monotonic()
                    targets = []
                    if self._in_flight < max_in_flight:
                        try:
                            targets = await loop.run_in_executor(database, self._claim)
                        except Exception:
                            logger.exception("claiming due checks failed")
                    if targets:
                        if self.stats.first_claim is None:
                            self.stats.first_claim = time.monotonic()
                        self.stats.claimed += len(targets)
                        self._in_flight += len(targets)
                        task = asyncio.create_task(self._probe(engine, targets, store_wake))
                        sweeps.add(task)
                        task.add_done_callback(sweeps.discard)
                        if len(targets) >= self.batch:
                            continue  # more may be due: claim again at once
                    elif until_idle and not sweeps:
                        break
                    await asyncio.sleep(max(0.0, self.tick - (time.monotonic() - started)))
                if sweeps:
                    await asyncio.gather(*sweeps, return_exceptions=True)
                self._drained = True
                store_wake.set()
                await storer
                if self.before_close is not None:
                    self.before_close(self)
        finally:
            self.engine = None
            await loop.run_in_executor(database, connections.close_all)  # this thread's connection
            database.shutdown(wait=True)
        return self.stats

    async def _probe(self, engine: Engine, targets: list[ProbeTarget], store_wake: asyncio.Event) -> None:
        stats = self.stats
        due = self._due
        async for result in engine.sweep(targets):
            self._in_flight -= 1
            stats.probed += 1
            when = due.pop(result.check_id, None)
            if when is not None and self.record_lags:
                stats.lags.append(result.started_at - when)
            self._results.append(result)
            if len(self._results) >= self.batch:
                store_wake.set()

    async def _storer(self, loop, database, wake: asyncio.Event) -> None:
        # Full batches are stored at once; fewer results wait for ``store_every`` (or the end). A store has a fixed
        # cost (a transaction, the maintenance windows, the rollup rows' read): storing whatever came in during the
        # previous store made batches of about a hundred at 2,500 probes/s.
        while True:
            timed_out = False
            try:
                await asyncio.wait_for(wake.wait(), self.store_every)
            except TimeoutError:
                timed_out = True
            wake.clear()
            final = self._drained
            while len(self._results) >= self.batch or (self._results and (timed_out or final)):
                results, self._results = self._results[: self.batch], self._results[self.batch :]
                timed_out = False  # what comes in during this store waits for a full batch or the next round
                started = time.perf_counter()
                last = final and len(self._results) == 0
                try:
                    counts = await loop.run_in_executor(database, self._store, results, last)
                except Exception:
                    self.stats.store_errors += 1
                    logger.exception("storing %d probe results failed", len(results))
                    continue
                self.stats.store_errors += counts.refused
                self.stats.alerts += counts.alerts
                self.stats.store_seconds += time.perf_counter() - started
                self.stats.last_store = time.monotonic()
                self.stats.stored += counts.checks
                self.stats.analysed += counts.analysed
                self.stats.events += counts.events
            if final or time.monotonic() - self._held_polled >= HELD_ALERTS_POLL:
                self._held_polled = time.monotonic()
                try:  # what was held goes when its receivers may hear again, or as the monitor stops
                    self.stats.alerts += await loop.run_in_executor(database, self._send_held_alerts, final)
                except Exception:
                    logger.exception("sending held alerts failed")
            if final:
                if self._findings:  # a last batch that failed leaves nothing; anything else is written by now
                    await loop.run_in_executor(database, self._flush_findings)
                return
