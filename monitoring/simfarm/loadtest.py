"""A quick throughput check of a running farm: ``python -m monitoring.simfarm.loadtest --sites 5000``.

Keep-alive connections from one aiohttp client session, ``--concurrency`` requests in flight, hosts taken round-robin
from s00001.farm.test …, bounded by ``--requests`` and ``--seconds``. Only ever connects to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ssl
import time

import aiohttp

from monitoring.simfarm.server import DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT


async def run(
    sites: int, requests: int, seconds: float, concurrency: int, port: int, https: bool, ca: str | None
) -> dict:
    hosts = [f"s{i + 1:05d}.farm.test" for i in range(sites)]
    statuses: collections.Counter = collections.Counter()
    counter = iter(range(requests))
    deadline = time.perf_counter() + seconds
    received = 0
    ssl_context: ssl.SSLContext | bool = False
    if https and ca:
        ssl_context = ssl.create_default_context(cafile=ca)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False, ssl=ssl_context)
    timeout = aiohttp.ClientTimeout(total=10)
    scheme = "https" if https else "http"

    async def worker(session: aiohttp.ClientSession):
        nonlocal received
        for n in counter:
            if time.perf_counter() > deadline:
                return
            host = hosts[n % len(hosts)]
            try:
                # The URL names 127.0.0.1; the Host header names the site, as the probe engine does.
                async with session.get(f"{scheme}://127.0.0.1:{port}/", headers={"Host": host}) as response:
                    body = await response.read()
                    statuses[response.status] += 1
                    received += len(body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                statuses[type(exc).__name__] += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    done = sum(statuses.values())
    return {"requests": done, "seconds": elapsed, "rate": done / elapsed, "bytes": received, "statuses": statuses}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--port", type=int)
    parser.add_argument("--https", action="store_true", help="HTTPS without SNI checks (host name in Host only)")
    parser.add_argument("--ca", help="CA file to verify the listener's own certificate")
    args = parser.parse_args(argv)
    port = args.port or (DEFAULT_HTTPS_PORT if args.https else DEFAULT_HTTP_PORT)
    result = asyncio.run(run(args.sites, args.requests, args.seconds, args.concurrency, port, args.https, args.ca))
    print(
        f"{result['requests']} requests in {result['seconds']:.2f} s = {result['rate']:.0f} requests/s, "
        f"{result['bytes'] / result['seconds'] / 1e6:.1f} MB/s; statuses {dict(result['statuses'])}"
    )


if __name__ == "__main__":
    main()
