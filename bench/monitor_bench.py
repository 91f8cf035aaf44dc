#!/usr/bin/env python
"""Monitoring benchmark: sweeps of the simulated school-site farm by EduSec and by its peers in one run, a steady
run of the real scheduler with its schedule lag, and the storage it leaves per check and day.

Run from the repository root (needs Debian's prometheus-blackbox-exporter and monitoring-plugins-basic)::

    .venv/bin/python bench/monitor_bench.py                                  # 5,000 sites, concurrency 100
    .venv/bin/python bench/monitor_bench.py --sites 500                      # smoke run
    .venv/bin/python bench/monitor_bench.py --steady 600 --rate 300          # + 10 minutes at 300 checks/s
    .venv/bin/python bench/monitor_bench.py --steady 60 --only steady --backends sqlite,postgres

The farm (``python -m monitoring.simfarm``, a child process) serves N sites on 127.0.0.1 with a mix of scenarios that
all answer at once with a ~30 KB page (healthy, hidden links, keywords, defaced, ID leak, missing ICP, stale,
malicious script; not "dynamic", whose page changes at every request, and not the holding scenarios slow, timeout
and refused). Every runner probes the same N sites at the same concurrency over plain HTTP, one GET per check:

* **bare loop** (the ceiling): aiohttp GET + read with a new connection per site, nothing else;
* **blackbox_exporter** (Debian's prometheus-blackbox-exporter, its own process): an ``http`` module with a body regex
  (``ICP备``), asked through ``/probe?target=…&hostname=<site>`` by an aiohttp client at the same concurrency;
* **check_http** (monitoring-plugins): one process per site, ``-H <site> -r ICP备``, at the same concurrency;
* **EduSec engine, unchanged** (``Engine.sweep`` alone, no database): status, latency, body hash compared with the
  hash of the last analysed page, result object; a warm-up sweep learns the hashes;
* **EduSec sweep, unchanged** (end to end, what ``edusec monitor`` does: ``sweep.Monitor`` claims the due content
  checks from the database by ``next_due_at``, probes them, and stores latest state, rollups, findings): every page
  is the one analysed last time, so nothing is analysed. One ``Monitor`` runs every sweep, as ``edusec monitor``
  keeps one for its life (with the checks it stored), and the sweep after the first is untimed: a new check's
  second probe closes the findings of the kinds it did not show twice (its recovery count), a one-off;
* **EduSec sweep, every page changed**: the same after clearing every check's "last analysed" hash, so every page is
  analysed in full (hidden links, scripts, keywords, personal information, registration, stale banners, defacement
  against the site's baseline) in the monitor's analysis pool (``EDUSEC_MONITOR_ANALYSIS_WORKERS`` processes, fed
  by the engine while it fetches), and the outcome stored (events, page copies, findings).

The EduSec rows run in a child process per database backend (``--backends``; SQLite in a scratch directory, or a
scratch PostgreSQL database ``edusec_monitor_bench`` on 127.0.0.1), with the cloaking variants off
(``EDUSEC_MONITOR_CLOAKING_VARIANTS=""``: one GET per check, as for the peers; with them a content check makes four).
The sweep rates are checks stored per second from the first claim to the end of the last store.

**CPU** (seconds per 1,000 checks) counts the measuring process and everything it runs: reaped children
(check_http's processes), the exporter's own process for blackbox_exporter, and for EduSec the child process plus its
live descendants (the analysis pool's fork server and workers, read from /proc just before the pool closes). The farm
is excluded for every runner, and so is the PostgreSQL server's own CPU for the PostgreSQL rows (SQLite runs inside
the measuring process, so its rows include the database work). The table also prints the load average at each row and
the ratio of CPU per check, which on this shared 2-core machine is steadier than the ratio of rates.
**Peak RSS** of the EduSec rows is the child process's peak plus the peaks of the pool
processes (pages shared copy-on-write with the fork server are counted in each, so this overstates).

**Steady run** (``--steady SECONDS --rate R``): websites of the farm with an ``http`` check (5/6 of the rate) and a
``content`` check (1/6) each, intervals chosen so that R checks per second fall due; after an untimed warm-up round
(first pages analysed, baselines made), the due times are spread evenly over each interval and ``sweep.Monitor`` —
the ``edusec monitor`` code path: claim every 0.2 s, probe, analyse in the pool, store every 0.5 s — runs for SECONDS.
Each probe's **schedule lag** is the wall-clock time its probe started minus the ``next_due_at`` it was claimed for;
p50/p95/p99 and the achieved checks/s are printed.

**Storage per check-day** (measured in the steady run): database bytes of the monitoring tables (page counts ×
page size from SQLite's ``dbstat``, after ``VACUUM``; ``pg_total_relation_size`` on PostgreSQL, after ``VACUUM
FULL``), defined as what one check adds to the database per day of monitoring:

* rollups: one row per check and ISO week, measured as it stands at the end of a week: after the run each rollup
  row is filled to 7 × 24 hours at the check's own rate (the hour's measured figures, latencies taken from other
  checks' hours so the week is not artificially uniform), then the table and its index are measured and divided by
  the rows × 7 (a week row holds seven check-days);
* events, page copies and findings added during the run, scaled to a day (× 86,400 / SECONDS) and divided by the
  checks;
* the check rows themselves (latest state) and content baselines are a fixed cost per check, not per day: printed
  apart, not in the figure.

Loopback only: every name is under ``.test``, every address 127.0.0.1; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# No "dynamic" sites: their page changes at every request, so they would be analysed in the "unchanged" sweep too
# (their cost is what the "every page changed" sweep measures). No holding scenarios (slow, timeout, refused) either.
MIX = "healthy=75,hidden=10,keywords=3,defaced=2,id_leak=2,missing_icp=3,stale=3,malicious_script=2"
BODY_REGEX = "ICP备"
BLACKBOX = shutil.which("prometheus-blackbox-exporter")
CHECK_HTTP = next(
    (p for p in ("/usr/lib/nagios/plugins/check_http", shutil.which("check_http") or "") if p and Path(p).exists()),
    None,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def descendants(root: int) -> list[int]:
    """Live processes below ``root`` (children, grandchildren …), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a live process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Descendants:
    """CPU seconds and peak RSS of this process's live descendants (the analysis pool's fork server and workers,
    which are not children this process waits for, so ``RUSAGE_CHILDREN`` never counts them): sampled before a
    run and again while they still live (``Monitor.before_close``)."""

    def __init__(self, exclude: set[int] = frozenset()):
        self.exclude = set(exclude)
        self.before = self._cpu()
        self.cpu = 0.0
        self.rss_mb = 0.0
        self.count = 0

    def _cpu(self) -> dict[int, float]:
        cpu = {}
        for pid in descendants(os.getpid()):
            if pid not in self.exclude:
                try:
                    cpu[pid] = process_cpu(pid)
                except OSError:
                    pass
        return cpu

    def sample(self, *_args) -> None:
        now = self._cpu()
        self.cpu = sum(value - self.before.get(pid, 0.0) for pid, value in now.items())
        self.count = len(now)
        self.rss_mb = 0.0
        for pid in now:
            try:
                self.rss_mb += peak_rss_mb(pid)
            except OSError:
                pass


class Farm:
    """The simulated farm in a child process, with N generated sites."""

    def __init__(self, sites: int, workdir: Path):
        self.port, self.tls_port = free_port(), free_port()
        self.state = workdir / "farm"
        command = [sys.executable, "-m", "monitoring.simfarm", "--sites", str(sites), "--mix", MIX, "--tls-mix",
                   "none=100", "--http-port", str(self.port), "--https-port", str(self.tls_port), "--state-dir",
                   str(self.state), "--no-ipv6", "--warm", "--reset"]  # fmt: skip
        self.log = open(workdir / "farm.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(command, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, seconds=600)
            self.hosts = self._read_hosts()
        except BaseException:
            self.stop()  # never leave a farm behind
            raise

    def _read_hosts(self) -> list[str]:
        """The farm listens a moment before it has written its site table: wait for the table too."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return [site["host"] for site in json.loads((self.state / "sites.json").read_text())]
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        self.log.flush()
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


async def bounded(items, concurrency: int, work) -> None:
    queue = list(items)
    queue.reverse()

    async def worker():
        while queue:
            await work(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def run_bare(farm: Farm, concurrency: int) -> dict:
    import aiohttp

    ok = 0

    async def main():
        nonlocal ok
        connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def get(host):
                nonlocal ok
                async with session.get(f"http://127.0.0.1:{farm.port}/", headers={"Host": host}) as response:
                    await response.read()
                    ok += response.status == 200

            await bounded(farm.hosts, concurrency, get)

    return timed(lambda: asyncio.run(main()), len(farm.hosts), lambda: ok)


def run_blackbox(farm: Farm, concurrency: int, workdir: Path) -> dict | None:
    if BLACKBOX is None:
        return None
    import aiohttp

    config = workdir / "blackbox.yml"
    config.write_text(
        "modules:\n  http_body:\n    prober: http\n    timeout: 10s\n    http:\n      method: GET\n"
        f"      preferred_ip_protocol: ip4\n      fail_if_body_not_matches_regexp: ['{BODY_REGEX}']\n",
        encoding="utf-8",
    )
    port = free_port()
    exporter = subprocess.Popen(
        [BLACKBOX, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ok = 0
    try:
        wait_for_port(port)
        exporter_cpu = process_cpu(exporter.pid)

        async def main():
            nonlocal ok
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:

                async def probe(host):
                    nonlocal ok
                    params = {"module": "http_body", "target": f"http://127.0.0.1:{farm.port}/", "hostname": host}
                    async with session.get(f"http://127.0.0.1:{port}/probe", params=params) as response:
                        ok += "probe_success 1" in await response.text()

                await bounded(farm.hosts, concurrency, probe)

        result = timed(lambda: asyncio.run(main()), len(farm.hosts), lambda: ok)
        result["cpu"] += process_cpu(exporter.pid) - exporter_cpu
        return result
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)


def run_check_http(farm: Farm, concurrency: int) -> dict | None:
    if CHECK_HTTP is None:
        return None
    ok = 0
    failures: list[str] = []  # the first failure's output, shown with the result

    async def main():
        nonlocal ok

        async def probe(host):
            nonlocal ok
            process = await asyncio.create_subprocess_exec(
                CHECK_HTTP, "-I", "127.0.0.1", "-p", str(farm.port), "-H", host, "-r", BODY_REGEX, "-t", "10",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            output, _ = await process.communicate()
            ok += process.returncode == 0
            if process.returncode != 0 and not failures:
                failures.append(output.decode(errors="replace").strip())

        await bounded(farm.hosts, concurrency, probe)

    result = timed(lambda: asyncio.run(main()), len(farm.hosts), lambda: ok)
    result["first_failure"] = failures[0] if failures else ""
    return result


def timed(run, checks: int, ok) -> dict:
    started, cpu = time.perf_counter(), own_cpu()
    run()
    return {"seconds": time.perf_counter() - started, "cpu": own_cpu() - cpu, "checks": checks, "ok": ok()}


# --- EduSec, in a child process per backend -------------------------------------------------------------------------

PG_DB = "edusec_monitor_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
MONITOR_TABLES = (
    "monitoring_check", "monitoring_weeklyrollup", "monitoring_checkevent", "monitoring_pagesnapshot",
    "monitoring_contentbaseline", "findings_finding",
)  # fmt: skip


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True, capture_output=True)


def child_env(backend: str, workdir: Path, port: int, workers: int | None, phase: str = "sweeps") -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="edusec.settings",
        EDUSEC_DATA_DIR=str(workdir / f"data-{phase}-{backend}"),  # a fresh SQLite database per child
        EDUSEC_MONITOR_CLOAKING_VARIANTS="",
        EDUSEC_MONITOR_ALLOW_PUBLIC="0",
        EDUSEC_MONITOR_PORT_MAP=f"80:{port}",
        EDUSEC_MONITOR_CA_FILE="",
        EDUSEC_BROKER_URL="",
        EDUSEC_LOG_LEVEL="ERROR",
    )
    if workers is not None:
        env["EDUSEC_MONITOR_ANALYSIS_WORKERS"] = str(workers)
    if backend == "postgres":
        env["DATABASE_URL"] = PG_URL
    return env


def run_child(phase: str, backend: str, args, workdir: Path, farm: Farm, timeout: float) -> dict | None:
    if backend == "postgres":
        psql(f"DROP DATABASE IF EXISTS {PG_DB}")
        psql(f"CREATE DATABASE {PG_DB}")
    hosts = workdir / "hosts.json"
    hosts.write_text(json.dumps(farm.hosts), encoding="utf-8")
    command = [sys.executable, str(Path(__file__).resolve()), "--child", phase, "--backend", backend,
               "--hosts-file", str(hosts), "--port", str(farm.port), "--concurrency", str(args.concurrency),
               "--repeat", str(args.repeat), "--steady", str(args.steady), "--rate", str(args.rate)]  # fmt: skip
    env = child_env(backend, workdir, farm.port, args.workers, phase)
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"    {phase} on {backend}: no result within {timeout:.0f} s", flush=True)
        return None
    finally:
        if backend == "postgres":
            psql(f"DROP DATABASE IF EXISTS {PG_DB}")
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
        print(f"    {line}", flush=True)
    print(f"    {phase} on {backend} failed (exit {done.returncode}):\n{done.stderr[-3000:]}", flush=True)
    return None


def _say(text: str) -> None:
    print(text, flush=True)


def _setup_django(backend: str) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _ledger(hosts: list[str], kinds: dict[str, int]) -> int:
    """Units, one website per farm host, and the given check kinds (kind → interval) for each. Returns checks made."""
    from django.db import transaction

    from assets.models import Website
    from monitoring.models import Check
    from orgs.models import Unit

    root = Unit.objects.add_root(instance=Unit(name="基准市教育局", code="329900", unit_type="city",
                                               division_code="329900"))  # fmt: skip
    schools = [
        Unit.objects.add_child(
            root,
            instance=Unit(
                name=f"基准学校{i:02d}", code=f"2132990{i:03d}", unit_type="school", school_code=f"2132990{i:03d}"
            ),
        )  # fmt: skip
        for i in range(50)
    ]
    with transaction.atomic():
        Website.objects.bulk_create(
            [Website(unit=schools[i % len(schools)], name=h, url=f"http://{h}/", host=h) for i, h in enumerate(hosts)]
        )
        websites = list(Website.objects.all())
        checks = [
            Check(unit_id=w.unit_id, website=w, kind=kind, url=w.url, interval=interval)
            for w in websites
            for kind, interval in kinds.items()
        ]
        Check.objects.bulk_create(checks, batch_size=2000)
    return len(checks)


def _all_due() -> None:
    from django.utils import timezone

    from monitoring.models import Check

    Check.objects.update(next_due_at=timezone.now())


def new_monitor(concurrency: int):
    from monitoring.sweep import Monitor

    return Monitor(tick=0.05, concurrency=concurrency, keepalive_timeout=None, record_lags=True)


def _monitor_sweep(monitor) -> dict:
    """Every check due now; ``monitor`` runs until nothing is due or in flight. Rate from first claim to last store."""
    _all_due()
    pool = Descendants()
    monitor.before_close = pool.sample
    cpu = own_cpu()
    stats = monitor.run(until_idle=True)
    cpu = own_cpu() - cpu + pool.cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + pool.rss_mb
    seconds = stats.busy_seconds or 1e-9
    return {"seconds": seconds, "cpu": cpu, "checks": stats.stored, "ok": stats.stored, "analysed": stats.analysed,
            "rss_mb": rss, "pool_processes": pool.count, "store_seconds": stats.store_seconds,
            "store_errors": stats.store_errors}  # fmt: skip


def _engine_sweep(hosts: list[str], port: int, concurrency: int) -> dict:
    """``Engine.sweep`` alone over content targets whose page hash is known (a warm-up sweep learns them)."""
    from monitoring.engine import Engine, ProbeTarget, run_coroutine

    def targets(hashes):
        return [
            ProbeTarget(i, "content", f"http://{host}/", host=host, last_body_hash=hashes.get(i), want_body=True)
            for i, host in enumerate(hosts)
        ]

    async def sweep(engine, hashes):
        learned, ok, returned = {}, 0, 0
        async for result in engine.sweep(targets(hashes)):
            ok += result.ok
            returned += result.body is not None
            if result.body_hash is not None:
                learned[result.check_id] = result.body_hash
        return learned, ok, returned

    async def main():
        options = dict(concurrency=concurrency, port_map={80: port}, allow_public=False, keepalive_timeout=None)
        async with Engine(**options) as engine:
            known = (await sweep(engine, {}))[0]
            started, cpu = time.perf_counter(), own_cpu()
            _learned, ok, returned = await sweep(engine, known)
            return time.perf_counter() - started, own_cpu() - cpu, ok, returned

    seconds, cpu, ok, returned = run_coroutine(main)
    return {"seconds": seconds, "cpu": cpu, "ok": ok, "checks": len(hosts), "analysed": returned,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def child_sweeps(args) -> dict:
    hosts = json.loads(Path(args.hosts_file).read_text())
    _setup_django(args.backend)
    from monitoring.models import Check

    rows = []
    for _ in range(args.repeat):
        rows.append(("EduSec engine, unchanged (no database)", _engine_sweep(hosts, args.port, args.concurrency)))
    _ledger(hosts, {"content": 3600})
    # One monitor for every sweep, as ``edusec monitor`` keeps one for its life (with the checks it stored).
    monitor = new_monitor(args.concurrency)
    first = _monitor_sweep(monitor)  # every page new: analysed, baselines made, hashes learnt
    rows.append(("EduSec sweep, first probe of every site", first))
    # Untimed: the second probe of a new check closes what it did not show twice (its recovery count), a one-off.
    _monitor_sweep(monitor)
    for _ in range(args.repeat):
        rows.append(("EduSec sweep, unchanged", _monitor_sweep(monitor)))
    for _ in range(args.repeat):
        Check.objects.update(analysed_hash="")
        rows.append(("EduSec sweep, every page changed", _monitor_sweep(monitor)))
    return {"rows": rows}


# --- steady run and storage -------------------------------------------------------------------------------------------


def table_bytes(tables=MONITOR_TABLES, *, compact: bool = True) -> dict[str, int]:
    """Bytes of each table with its indexes. SQLite: dbstat page sizes (after VACUUM when ``compact``); PostgreSQL:
    pg_total_relation_size (after VACUUM FULL when ``compact``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            if compact:
                cursor.execute("VACUUM")
            cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")
            owner = dict(cursor.fetchall())
            cursor.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            sizes: dict[str, int] = {}
            for name, size in cursor.fetchall():
                table = owner.get(name, name)
                if table in tables:
                    sizes[table] = sizes.get(table, 0) + size
            return {table: sizes.get(table, 0) for table in tables}
        sizes = {}
        for table in tables:
            if compact:
                cursor.execute(f"VACUUM FULL {table}")
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = cursor.fetchone()[0]
        return sizes


def _fill_rollups_to_a_week() -> int:
    """Rewrite every rollup row as it would stand at the end of its week: 7 × 24 hours at the check's rate, the last
    hour still open (its sums beside the blob, as a store leaves them)."""
    import random

    from monitoring import rollups
    from monitoring.models import WeeklyRollup

    rows = list(WeeklyRollup.objects.select_related("site_check").defer("site_check__details"))
    means = [mean for row in rows for good, failed, mean in row.hourly() if good + failed]
    rng = random.Random(7)
    last = rollups.SLOTS - 1
    for row in rows:
        measured = [hour for hour in row.hourly() if hour[0] + hour[1]]
        good, failed, _mean = measured[0] if measured else (1, 0, 0)
        per_hour = max(1, round(3600 / row.site_check.interval))
        share = failed / (good + failed) if good + failed else 0.0
        bad = round(per_hour * share)
        hours = [(per_hour - bad, bad, rng.choice(means) if means else 0) for _ in range(rollups.SLOTS)]
        row.open_slot, row.open_good, row.open_failed = last, per_hour - bad, bad
        row.open_timed, row.open_latency = per_hour, float(per_hour * hours[last][2])
        hours[last] = (0, 0, 0)
        row.hours = rollups.pack(hours)
        row.probes, row.failures = rollups.SLOTS * per_hour, rollups.SLOTS * bad
    fields = ["hours", "probes", "failures", "open_slot", "open_good", "open_failed", "open_timed", "open_latency"]
    WeeklyRollup.objects.bulk_update(rows, fields, batch_size=1000)
    return len(rows)


def child_steady(args) -> dict:
    import random

    hosts = json.loads(Path(args.hosts_file).read_text())
    _setup_django(args.backend)
    from django.db import connection
    from django.utils import timezone

    from monitoring.models import Check
    from monitoring.sweep import Monitor

    n = len(hosts)
    http_interval = max(1, round(n / (args.rate * 5 / 6)))
    content_interval = max(1, round(n / (args.rate / 6)))
    checks = _ledger(hosts, {"http": http_interval, "content": content_interval})
    scheduled = n / http_interval + n / content_interval
    _say(f"    steady: {checks:,} checks (http every {http_interval} s, content every {content_interval} s): "
         f"{scheduled:,.0f} checks/s fall due; warm-up round …")  # fmt: skip
    from findings.models import Finding

    warm = _monitor_sweep(new_monitor(args.concurrency))
    fixed = table_bytes()
    findings_before = Finding.objects.count()
    # Due times spread evenly over each interval, starting 2 s from now (the monitor's start-up is not lag).
    start = timezone.now() + timezone.timedelta(seconds=2)
    rng = random.Random(3)
    updates = [
        (pk, start + timezone.timedelta(seconds=rng.uniform(0, interval)))
        for pk, interval in Check.objects.values_list("pk", "interval")
    ]
    objects = [Check(pk=pk, next_due_at=due) for pk, due in updates]
    Check.objects.bulk_update(objects, ["next_due_at"], batch_size=1000)
    pool = Descendants()
    monitor = Monitor(concurrency=args.concurrency, record_lags=True)
    monitor.before_close = pool.sample
    _say(f"    steady: running for {args.steady} s …")
    cpu = own_cpu()
    started = time.monotonic()
    stats = monitor.run(duration=args.steady)
    wall = time.monotonic() - started
    cpu = own_cpu() - cpu + pool.cpu
    live = table_bytes(compact=False)
    after = table_bytes()
    filled = _fill_rollups_to_a_week()
    week_rollups = table_bytes(("monitoring_weeklyrollup",))["monitoring_weeklyrollup"]
    check_days = max(filled, 1) * 7  # a full week row holds seven check-days
    days = args.steady / 86400
    added = {table: after[table] - fixed[table] for table in MONITOR_TABLES}
    # Rows added per day: events and page copies (tables that only grow), and new findings at the table's average
    # row size. Rows updated in place (checks, refreshed findings) do not grow with the days: reported apart.
    findings_after = Finding.objects.count()
    new_findings = findings_after - findings_before
    finding_row = after["findings_finding"] / findings_after if findings_after else 0
    per_day_rows = added["monitoring_checkevent"] + added["monitoring_pagesnapshot"] + new_findings * finding_row
    lags = sorted(stats.lags)

    def pct(share):
        return lags[min(len(lags) - 1, int(share * len(lags)))] if lags else None

    return {
        "backend": connection.vendor,
        "checks": checks,
        "scheduled_rate": scheduled,
        "seconds": args.steady,
        "wall": wall,
        "probed": stats.probed,
        "stored": stats.stored,
        "rate": stats.stored / (stats.busy_seconds or args.steady),  # from the first claim to the last store
        "lag_p50": pct(0.50),
        "lag_p95": pct(0.95),
        "lag_p99": pct(0.99),
        "lag_max": lags[-1] if lags else None,
        "cpu_per_1000": cpu / max(stats.stored, 1) * 1000,
        "cpu_share": cpu / wall,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + pool.rss_mb,
        "analysed": stats.analysed,
        "events": stats.events,
        "store_errors": stats.store_errors,
        "warm_rate": warm["checks"] / warm["seconds"],
        "bytes_fixed": fixed,
        "bytes_live_after": live,
        "bytes_after": after,
        "rollup_rows": filled,
        "rollup_bytes_per_check_day": week_rollups / check_days,
        "event_bytes_per_check_day": per_day_rows / checks / days,
        "new_findings": new_findings,
        "check_row_bytes": after["monitoring_check"] / checks,
        "baseline_bytes_per_content_check": after["monitoring_contentbaseline"] / n,
        "per_check_day": week_rollups / check_days + per_day_rows / checks / days,
    }


def child_main(args) -> None:
    result = child_sweeps(args) if args.child == "sweeps" else child_steady(args)
    print("RESULT " + json.dumps(result), flush=True)


# --- the parent -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="timed sweeps per runner (the table shows each)")
    parser.add_argument("--only", default="peers,sweeps", help="comma-separated: peers, sweeps, steady")
    parser.add_argument("--backends", default="sqlite", help="EduSec databases: sqlite, postgres (comma-separated)")
    parser.add_argument("--workers", type=int, default=None, help="analysis pool processes (default: the setting)")
    parser.add_argument("--steady", type=int, default=0, help="seconds of the steady run (0: none; the issue: 600)")
    parser.add_argument("--rate", type=float, default=300.0, help="checks per second due in the steady run")
    parser.add_argument("--child", choices=["sweeps", "steady"], help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="sqlite", help=argparse.SUPPRESS)
    parser.add_argument("--hosts-file", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    only = set(args.only.split(","))
    if args.steady:
        only.add("steady")
    backends = [b for b in args.backends.split(",") if b]
    workdir = Path(tempfile.mkdtemp(prefix="edusec-monitor-bench-"))
    print(f"starting the farm with {args.sites} sites …", flush=True)
    farm = Farm(args.sites, workdir)
    rows, steady = [], []
    load = [os.getloadavg()[0]]
    try:
        runners = []
        if "peers" in only:
            runners += [
                ("bare loop (new connection per site)", lambda: run_bare(farm, args.concurrency)),
                ("blackbox_exporter http + body regex", lambda: run_blackbox(farm, args.concurrency, workdir)),
                ("check_http -r (process per check)", lambda: run_check_http(farm, args.concurrency)),
            ] * args.repeat
        for name, run in runners:
            print(f"{name} …", flush=True)
            result = run()
            if result is None:
                print("    not installed, skipped", flush=True)
                continue
            result.update(name=name, rate=result["checks"] / result["seconds"], load=os.getloadavg()[0])
            rows.append(result)
            print(f"    {result['rate']:,.0f} checks/s, {result['ok']:,} ok (load {result['load']:.1f})", flush=True)
            if result.get("first_failure"):
                print(f"    first failure: {result['first_failure'][:200]}", flush=True)
        if "sweeps" in only:
            for backend in backends:
                print(f"EduSec sweeps on {backend} …", flush=True)
                result = run_child("sweeps", backend, args, workdir, farm, timeout=1800)
                for name, row in (result or {}).get("rows", []):
                    row.update(
                        name=f"{name} [{backend}]",
                        rate=row["checks"] / row["seconds"],
                        backend=backend,
                        load=os.getloadavg()[0],
                    )
                    rows.append(row)
                    print(f"    {row['name']}: {row['rate']:,.0f} checks/s", flush=True)
                load.append(os.getloadavg()[0])
        if "steady" in only and args.steady:
            for backend in backends:
                print(f"steady run on {backend} …", flush=True)
                result = run_child("steady", backend, args, workdir, farm, timeout=args.steady + 1800)
                if result:
                    result["load"] = os.getloadavg()[0]
                    steady.append(result)
    finally:
        farm.stop()
    report(args, rows, steady, load)
    (REPO / "var").mkdir(exist_ok=True)
    (REPO / "var" / "monitor_bench.json").write_text(
        json.dumps({"rows": rows, "steady": steady}, indent=1, default=str), encoding="utf-8"
    )
    shutil.rmtree(workdir, ignore_errors=True)


def _best(rows: list[dict], prefix: str) -> dict | None:
    """The median run of a runner (by rate), when it was repeated."""
    found = sorted((r for r in rows if r["name"].startswith(prefix)), key=lambda r: r["rate"])
    return found[len(found) // 2] if found else None


def _cpu(row: dict) -> float:
    return row["cpu"] / row["checks"]


def report(args, rows: list[dict], steady: list[dict], load: list[float]) -> None:
    print()
    print(
        f"monitor_bench: {args.sites} sites, concurrency {args.concurrency}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} / {os.getloadavg()[2]:.1f} at the end"
    )
    print(
        f"{'runner':52s} {'checks/s':>9s} {'ok':>6s} {'analysed':>8s} {'CPU s/1000':>10s} {'RSS MB':>7s} {'load':>5s}"
    )
    for row in rows:
        print(
            f"{row['name']:52s} {row['rate']:9,.0f} {row['ok']:6d} {row.get('analysed', ''):>8} "
            f"{row['cpu'] / row['checks'] * 1000:10.2f} {row.get('rss_mb', 0):7.0f} {row.get('load', load[-1]):5.1f}"
        )
    print()
    bare = _best(rows, "bare loop")
    blackbox = _best(rows, "blackbox_exporter")
    for backend in args.backends.split(","):
        engine = _best(rows, f"EduSec engine, unchanged (no database) [{backend}]")
        unchanged = _best(rows, f"EduSec sweep, unchanged [{backend}]")
        changed = _best(rows, f"EduSec sweep, every page changed [{backend}]")
        if blackbox and unchanged:
            print(
                f"[{backend}] unchanged sweep vs blackbox_exporter:  {unchanged['rate'] / blackbox['rate']:.2f}× "
                "(target ≥ 1.3×)"
            )
        if bare and unchanged:
            print(
                f"[{backend}] unchanged sweep vs bare loop:          {unchanged['rate'] / bare['rate']:.0%} "
                "(target ≥ 80 %)"
            )
        if bare and engine:
            print(f"[{backend}] engine alone, unchanged, vs bare loop: {engine['rate'] / bare['rate']:.0%}")
        if blackbox and unchanged:
            print(
                f"[{backend}] CPU per check, blackbox_exporter / unchanged sweep: "
                f"{_cpu(blackbox) / _cpu(unchanged):.2f}× (what the rate ratio is when both are CPU-bound; "
                "less sensitive to other load on the machine)"
            )
        if blackbox and changed:
            print(
                f"[{backend}] every page changed vs blackbox:        {changed['rate'] / blackbox['rate']:.2f}× "
                "(target ≥ 0.5×)"
            )
            print(
                f"[{backend}] CPU per check, blackbox_exporter / every page changed: "
                f"{_cpu(blackbox) / _cpu(changed):.2f}×"
            )
    print(f"peak RSS of the parent process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for run in steady:
        print()
        print(
            f"steady run [{run['backend']}]: {run['checks']:,} checks, {run['scheduled_rate']:,.0f}/s due, "
            f"{run['seconds']} s (load {run['load']:.1f})"
        )
        print(
            f"  achieved {run['rate']:,.1f} checks/s stored; lag p50 {run['lag_p50']:.3f} s, "
            f"p95 {run['lag_p95']:.3f} s (target < 1 s), p99 {run['lag_p99']:.3f} s, max {run['lag_max']:.3f} s"
        )
        print(
            f"  CPU {run['cpu_per_1000']:.2f} s per 1,000 checks ({run['cpu_share']:.0%} of one core), peak RSS "
            f"{run['rss_mb']:.0f} MB (monitor + pool), {run['analysed']} pages analysed, {run['events']} events, "
            f"{run['store_errors']} store errors"
        )
        print(
            f"  storage per check-day: {run['per_check_day']:.1f} bytes (target ≤ 100) = rollup row at the end of "
            f"a week / 7 {run['rollup_bytes_per_check_day']:.1f} + new events, page copies and findings "
            f"{run['event_bytes_per_check_day']:.1f} ({run['new_findings']} new findings)"
        )
        print(
            f"  fixed per check (not per day): check row {run['check_row_bytes']:.0f} bytes; content baseline "
            f"{run['baseline_bytes_per_content_check']:.0f} bytes per site"
        )
        growth = {t: run["bytes_after"][t] - run["bytes_fixed"][t] for t in MONITOR_TABLES}
        print(
            "  bytes added during the run (compacted; checks and refreshed findings are updated in place, so their "
            "growth is not per day): " + ", ".join(f"{t} {v:+,}" for t, v in growth.items())
        )


if __name__ == "__main__":
    main()
