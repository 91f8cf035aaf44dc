"""A farm for the tests of other modules: ``with running_farm(sites, tmp_path) as farm: …``.

The farm runs in a background thread with its own event loop on free ports, so synchronous test code (Django tests,
the probe engine's own loop in another thread) can talk to it like to any server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitoring.simfarm.server import Farm
from monitoring.simfarm.sites import Site


@dataclass
class RunningFarm:
    """What a test needs of a running farm. ``farm`` is the ``Farm`` itself: touch it only through ``call``."""

    http_port: int
    https_port: int
    ca_path: Path
    control_url: str
    farm: Farm
    loop: asyncio.AbstractEventLoop

    @property
    def ipv6(self) -> bool:
        return self.farm.listen_ipv6

    def url(self, host: str, path: str = "/", https: bool = False) -> str:
        """A URL for ``host`` whose port is the farm's (connect to 127.0.0.1 and send this host name)."""
        return f"{'https' if https else 'http'}://{host}:{self.https_port if https else self.http_port}{path}"

    def call(self, function, *args, **kwargs):
        """Run ``function(*args, **kwargs)`` on the farm's loop thread and return its result."""

        async def run():
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def control(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """One request to the control API; returns (status, decoded JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.control_url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        return status, json.loads(raw) if raw else None

    def set_scenario(self, host: str, scenario: str, tls: str | None = None) -> dict:
        """Switch a site (or add it) through the control API, as an operator would."""
        body = {"scenario": scenario} | ({"tls": tls} if tls else {})
        status, answer = self.control("PUT", f"/sites/{host}", body)
        if status not in (200, 201):
            raise ValueError(f"farm refused {host} → {scenario}: {answer}")
        return answer


@contextlib.contextmanager
def running_farm(
    sites: Iterable[Site | dict] = (),
    state_dir: str | Path | None = None,
    **options,
) -> Iterator[RunningFarm]:
    """Start a farm on free ports (``options`` go to ``Farm``, e.g. ``slow_delay=0.5``); stop it on exit."""
    sites = [site if isinstance(site, Site) else Site.from_dict(site) for site in sites]
    options.setdefault("http_port", 0)
    options.setdefault("https_port", 0)
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            import tempfile

            state_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="simfarm-"))
        farm = Farm(state_dir, sites, **options)
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run():
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(farm.start())
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="simfarm", daemon=True)
        thread.start()
        started.wait(30)
        if failure or not started.is_set():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()
            raise RuntimeError("the farm did not start") from (failure[0] if failure else None)
        try:
            yield RunningFarm(farm.http_port, farm.https_port, farm.ca_path, farm.control_url, farm, loop)
        finally:
            asyncio.run_coroutine_threadsafe(farm.stop(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            _cancel_leftovers(loop)
            loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
