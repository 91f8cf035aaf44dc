#!/usr/bin/env python
"""Monitoring benchmark: sweeps of the simulated school-site farm by EduSec's engine and by its peers, in one run.

Run from the repository root (needs Debian's prometheus-blackbox-exporter and monitoring-plugins-basic)::

    .venv/bin/python bench/monitor_bench.py                      # 5,000 sites, concurrency 100
    .venv/bin/python bench/monitor_bench.py --sites 500          # smoke run

The farm (``python -m monitoring.simfarm``, a child process) serves N sites on 127.0.0.1 with a mix of scenarios that
all answer at once with a ~30 KB page (healthy, dynamic, hidden links, keywords, defaced, ID leak, stale …; the
holding scenarios slow/timeout/refused are left out so that every runner gets the same pages). Every runner probes the
same N sites at the same concurrency over plain HTTP:

* **bare loop** (the ceiling): aiohttp GET + read with a new connection per site, nothing else;
* **blackbox_exporter** (Debian's prometheus-blackbox-exporter, its own process): an ``http`` module with a body regex
  (``ICP备``), asked through ``/probe?target=…&hostname=<site>`` by an aiohttp client at the same concurrency;
* **check_http** (monitoring-plugins): one process per site, ``-H <site> -r ICP备``, at the same concurrency;
* **EduSec, unchanged pages**: ``Engine.sweep`` of content checks whose page hash is already known — status, latency,
  body hash; the page is not analysed again because its hash did not change (a warm-up sweep learns the hashes);
* **EduSec, every page changed**: the same sweep with no known hashes, every page analysed by
  ``monitoring.analysis.analyse_page`` (the full analysers: hidden links, scripts, keywords, personal information,
  registration, stale banners) in a process pool.

Printed: checks/s, CPU seconds per 1,000 checks (the measuring process, its children and, for the exporter, the
exporter's own process; the farm is excluded for everyone), the ratios the issue sets as targets, and peak RSS of the
measuring side. Loopback only: every name is under ``.test``, every address 127.0.0.1.

Not yet here (see docs/monitoring.md): the 10-minute steady run at 300 checks/s with schedule lag, and storage bytes
per check-day.
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

MIX = "healthy=60,dynamic=15,hidden=10,keywords=3,defaced=2,id_leak=2,missing_icp=3,stale=3,malicious_script=2"
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
        wait_for_port(self.port, seconds=600)
        self.hosts = [site["host"] for site in json.loads((self.state / "sites.json").read_text())]

    def stop(self):
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


def analyse_body(result):
    """The content analysis of one fetched page (runs in the engine's process pool)."""
    from monitoring.analysis import analyse_page

    html = result.body.decode("utf-8", "replace")
    return [d.kind for d in analyse_page(html, url=result.final_url, headers=result.headers).detections]


def run_engine(farm: Farm, concurrency: int, *, changed: bool) -> dict:
    """One timed sweep of content checks. Unchanged: a first, untimed sweep learns each page's hash, and the timed
    sweep passes it, so no page is returned for analysis. Changed: no hash is known, every page is analysed."""
    import uvloop

    from monitoring.engine import Engine, ProbeTarget

    options = dict(concurrency=concurrency, port_map={80: farm.port}, allow_public=False, keepalive_timeout=None)
    if changed:
        options.update(analyse=analyse_body, analyse_in="process")

    def targets(hashes: dict[int, bytes]) -> list[ProbeTarget]:
        return [
            ProbeTarget(i, "content", f"http://{host}/", host=host, last_body_hash=hashes.get(i), want_body=True)
            for i, host in enumerate(farm.hosts)
        ]

    async def sweep(engine, hashes: dict[int, bytes]) -> tuple[dict[int, bytes], int, int]:
        learned, ok, analysed = {}, 0, 0
        async for result in engine.sweep(targets(hashes)):
            ok += result.ok
            analysed += result.analysis is not None
            if result.body_hash is not None:
                learned[result.check_id] = result.body_hash
        return learned, ok, analysed

    async def main():
        async with Engine(**options) as engine:
            known = {} if changed else (await sweep(engine, {}))[0]
            started, cpu = time.perf_counter(), own_cpu()
            _learned, ok, analysed = await sweep(engine, known)
            return time.perf_counter() - started, own_cpu() - cpu, ok, analysed

    seconds, cpu, ok, analysed = uvloop.run(main())
    return {"seconds": seconds, "cpu": cpu, "ok": ok, "checks": len(farm.hosts), "analysed": analysed}


def timed(run, checks: int, ok) -> dict:
    started, cpu = time.perf_counter(), own_cpu()
    run()
    return {"seconds": time.perf_counter() - started, "cpu": own_cpu() - cpu, "checks": checks, "ok": ok()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edusec.settings")
    import django

    django.setup()
    workdir = Path(tempfile.mkdtemp(prefix="edusec-monitor-bench-"))
    print(f"starting the farm with {args.sites} sites …", flush=True)
    farm = Farm(args.sites, workdir)
    rows = []
    try:
        for name, run in (
            ("bare loop (new connection per site)", lambda: run_bare(farm, args.concurrency)),
            ("blackbox_exporter http + body regex", lambda: run_blackbox(farm, args.concurrency, workdir)),
            ("check_http -r (process per check)", lambda: run_check_http(farm, args.concurrency)),
            ("EduSec, unchanged pages", lambda: run_engine(farm, args.concurrency, changed=False)),
            ("EduSec, every page changed (analysed)", lambda: run_engine(farm, args.concurrency, changed=True)),
        ):
            print(f"{name} …", flush=True)
            result = run()
            if result is None:
                print("    not installed, skipped", flush=True)
                continue
            result["name"] = name
            result["rate"] = result["checks"] / result["seconds"]
            rows.append(result)
            print(f"    {result['rate']:,.0f} checks/s, {result['ok']:,} ok", flush=True)
            if result.get("first_failure"):
                print(f"    first failure: {result['first_failure'][:200]}", flush=True)
    finally:
        farm.stop()
    by_name = {row["name"]: row for row in rows}
    print()
    print(f"monitor_bench: {args.sites} sites, concurrency {args.concurrency}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'runner':40s} {'checks/s':>9s} {'ok':>6s} {'CPU s/1000':>10s}")
    for row in rows:
        print(f"{row['name']:40s} {row['rate']:9,.0f} {row['ok']:6d} {row['cpu'] / row['checks'] * 1000:10.2f}")
    bare = by_name.get("bare loop (new connection per site)")
    blackbox = by_name.get("blackbox_exporter http + body regex")
    unchanged = by_name.get("EduSec, unchanged pages")
    changed = by_name.get("EduSec, every page changed (analysed)")
    print()
    if blackbox and unchanged:
        print(f"unchanged pages vs blackbox_exporter: {unchanged['rate'] / blackbox['rate']:.2f}× (target ≥ 1.3×)")
    if bare and unchanged:
        print(f"unchanged pages vs bare loop:         {unchanged['rate'] / bare['rate']:.0%} (target ≥ 80 %)")
    if blackbox and changed:
        print(f"every page changed vs blackbox:       {changed['rate'] / blackbox['rate']:.2f}× (target ≥ 0.5×)")
    print(f"peak RSS of the measuring process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    (REPO / "var").mkdir(exist_ok=True)
    (REPO / "var" / "monitor_bench.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
