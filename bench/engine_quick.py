#!/usr/bin/env python
"""Quick throughput check of the probe engine against a bare aiohttp GET loop, on loopback only.

Run from the repository root::

    .venv/bin/python bench/engine_quick.py                     # 5,000 sites, ~30 KB page, concurrency 100
    .venv/bin/python bench/engine_quick.py --sites 1000 --analysis --trace

A subprocess serves one fixed ~30 KB page for any Host header (aiohttp low-level server, uvloop) on an ephemeral
port of 127.0.0.1, so N virtual sites ``site<i>.example`` cost nothing to set up. In this process (uvloop):

* engine, cold: ``Engine.sweep`` of kind http over all sites, pages unchanged (``last_body_hash`` = the page's hash),
  every connection new (one per site);
* engine, warm: the same sweep again on the same engine: keep-alive connections are reused;
* engine, no keep-alive: ``keepalive_timeout=None`` (a new connection per check, nothing pooled);
* bare loop: one session with ``force_close=True`` and ``concurrency`` workers doing ``GET`` + ``read()`` of a
  distinct URL per site (IP literal + Host header) — a new connection per site, no name resolution, no hashing, no
  result objects: the floor the engine is measured against;
* ``--trace``: the engine with ``trace_phases=True`` (aiohttp TraceConfig) to show what tracing costs;
* ``--analysis``: content checks whose body is always analysed by a synthetic selectolax analyser, inline, in a
  thread pool and in a process pool.

Besides checks/s the table shows the client's CPU time per check (this process only): on a 2-core machine the server
competes for the CPU, so that column is the fairer measure of the engine's own overhead.

Not a test and not the full benchmark (blackbox_exporter, check_http and the real farm come later).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def make_page(size: int = 30_000) -> bytes:
    """A school home page of about ``size`` bytes: navigation, news items with links, a footer."""
    head = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>示范中学</title>"
        "<link rel='stylesheet' href='/static/site.css'></head><body><div id='nav'>"
        + "".join(f"<a href='/col/{i}.html'>栏目{i}</a>" for i in range(12))
        + "</div><ul class='news'>"
    )
    items = []
    i = 0
    while len(head.encode()) + sum(len(x.encode()) for x in items) < size - 300:
        items.append(
            f"<li><a href='/news/2024/{i:04d}.html'>学校开展第{i}次安全教育主题活动</a>"
            f"<span class='date'>2024-05-{i % 28 + 1:02d}</span><p>全体师生参加了本次活动，内容丰富。</p></li>"
        )
        i += 1
    tail = "</ul><div id='footer'>版权所有 示范中学 京ICP备12345678号 京公网安备11010502000001号</div></body></html>"
    return (head + "".join(items) + tail).encode()


# --- the page server (subprocess) ---------------------------------------------------------------------------------


def serve(cost_us: int = 0) -> None:
    import threading

    import uvloop
    from aiohttp import web

    # Die with the parent: it holds our stdin open and closes it by exiting, however it exits.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()

    page = make_page()

    async def handler(request):
        if cost_us:  # stand-in for a heavier site server (templating, the real farm's bookkeeping)
            deadline = time.perf_counter() + cost_us / 1e6
            while time.perf_counter() < deadline:
                pass
        return web.Response(body=page, content_type="text/html", charset="utf-8")

    async def main():
        server = web.Server(handler, access_log=None)
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(server, "127.0.0.1", 0, backlog=4096)
        print(listener.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


# --- the synthetic analyser (top level so a process pool can pickle it) -----------------------------------------------


def analyse_page(result) -> dict:
    """Stand-in for content analysis: parse the page, extract its text and links."""
    from selectolax.parser import HTMLParser

    tree = HTMLParser(result.body)
    text = tree.body.text(separator=" ") if tree.body else ""
    links = [node.attributes.get("href") for node in tree.css("a")]
    return {"chars": len(text), "links": len(links), "title": tree.css_first("title").text()}


# --- measurements --------------------------------------------------------------------------------------------------


def targets_for(sites: int, kind: str = "http", last_hash: bytes | None = None, want_body: bool = False):
    from monitoring.engine import ProbeTarget

    return [
        ProbeTarget(i, kind, f"http://site{i}.example/", f"site{i}.example", None, last_hash, want_body)
        for i in range(sites)
    ]


async def timed_sweep(engine, targets) -> tuple[float, float, dict]:
    errors: dict[str, int] = {}
    cpu0, t0 = time.process_time(), time.perf_counter()
    async for result in engine.sweep(targets):
        if not result.ok:
            errors[result.error] = errors.get(result.error, 0) + 1
    return time.perf_counter() - t0, time.process_time() - cpu0, errors


async def bare_loop(port: int, sites: int, concurrency: int) -> tuple[float, float, dict]:
    import aiohttp

    errors: dict[str, int] = {}
    urls = iter(range(sites))
    base = f"http://127.0.0.1:{port}/"
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            for i in urls:
                try:
                    # A distinct URL per site, as the engine has (aiohttp caches the parse of a repeated one).
                    async with session.get(f"{base}?site={i}", headers={"Host": f"site{i}.example"}) as resp:
                        await resp.read()
                        if resp.status >= 400:
                            errors["http"] = errors.get("http", 0) + 1
                except Exception as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0, time.process_time() - cpu0, errors


async def run(args, port: int) -> list[tuple]:
    from monitoring.engine import Engine, body_hash

    page_hash = body_hash(make_page())
    rows = []
    common = dict(concurrency=args.concurrency, port_map={80: port})
    unchanged = targets_for(args.sites, last_hash=page_hash)

    for attempt in range(args.repeat):
        suffix = f" #{attempt + 1}" if args.repeat > 1 else ""
        bare = await bare_loop(port, args.sites, args.concurrency)
        rows.append(("bare GET loop, new conn" + suffix, args.sites, *bare))
        async with Engine(**common) as engine:
            rows.append(("engine http, cold" + suffix, args.sites, *await timed_sweep(engine, unchanged)))
            rows.append(("engine http, warm" + suffix, args.sites, *await timed_sweep(engine, unchanged)))
        async with Engine(keepalive_timeout=None, **common) as engine:
            rows.append(("engine http, no keep-alive" + suffix, args.sites, *await timed_sweep(engine, unchanged)))
        if args.trace:
            async with Engine(trace_phases=True, **common) as engine:
                rows.append(("engine + tracing, cold" + suffix, args.sites, *await timed_sweep(engine, unchanged)))
                rows.append(("engine + tracing, warm" + suffix, args.sites, *await timed_sweep(engine, unchanged)))

    if args.analysis:
        n = args.analysis_sites
        changed = targets_for(n, kind="content", want_body=True)  # no previous hash: every body is analysed
        for attempt in range(args.repeat):
            suffix = f" #{attempt + 1}" if args.repeat > 1 else ""
            async with Engine(**common) as engine:
                await timed_sweep(engine, changed)  # warm the connections so only the analysis differs
                rows.append(("content, no analyser" + suffix, n, *await timed_sweep(engine, changed)))
            for mode in ("inline", "thread", "process"):
                async with Engine(analyse=analyse_page, analyse_in=mode, **common) as engine:
                    await timed_sweep(engine, changed)  # warm-up: connections, pool start
                    rows.append((f"content, analyse {mode}" + suffix, n, *await timed_sweep(engine, changed)))
    return rows


def print_table(rows, args) -> None:
    import statistics

    print(
        f"\nsites={args.sites} concurrency={args.concurrency} page={len(make_page()):,} bytes cpus={os.cpu_count()} "
        f"server cost={args.server_cost_us} µs/request"
    )
    print(f"{'run':30} {'checks':>7} {'seconds':>8} {'checks/s':>9} {'client CPU µs/check':>20}  errors")
    rates: dict[str, list[float]] = {}
    for name, n, seconds, cpu, errors in rows:
        rate = n / seconds
        rates.setdefault(name.split(" #")[0], []).append(rate)
        print(f"{name:30} {n:7d} {seconds:8.2f} {rate:9.0f} {cpu / n * 1e6:20.0f}  {errors or ''}")
    bare = rates.get("bare GET loop, new conn")
    plain = rates.get("content, no analyser")
    print("\nmedian checks/s; ratio to the bare loop (engine target ≥ 80 %), content rows to the one without analyser:")
    for name, values in rates.items():
        reference = plain if name.startswith("content") else bare
        median = statistics.median(values)
        ratio = f"{median / statistics.median(reference):6.0%}" if reference else ""
        print(f"  {name:30} {median:7.0f}  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="repeat the engine/bare measurements")
    parser.add_argument("--trace", action="store_true", help="also measure trace_phases=True")
    parser.add_argument("--analysis", action="store_true", help="also measure the analysis modes")
    parser.add_argument("--analysis-sites", type=int, default=2000)
    parser.add_argument(
        "--server-cost-us", type=int, default=0, help="CPU the page server burns per request (default 0)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.server_cost_us)
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--server-cost-us", str(args.server_cost_us)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(server.stdout.readline())
        import uvloop

        rows = uvloop.run(run(args, port))
    finally:
        server.terminate()
        server.wait()
    print_table(rows, args)


if __name__ == "__main__":
    main()
