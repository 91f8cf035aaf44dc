"""The monitor's probe process: ``sweep.Monitor`` runs the probe engine (and, through it, the analysis pool) in a
process of its own, and does the database work (claim, store) in its own process.

Why two processes: the engine's event loop and the database work are both Python. In one process they share one
interpreter lock, and on an unchanged sweep of 5,000 sites the database thread spent half of its time waiting for it
(0.3 ms of CPU but 0.6 ms of wall time per check). Apart, each runs on a core of its own.

The process is ``python -m monitoring.probe_process FD`` (a fresh interpreter: safe whatever threads the caller
runs, as in ``edusec run``), talking over one end of a socket pair; it needs no database. Messages on the
``multiprocessing`` connection are pickled tuples:

* parent → child: first ``("options", {…})``, the engine's options; then ``("probe", [ProbeTarget, …])`` probes
  these now; ``("stop", None)`` finishes what is in flight and ends;
* child → parent: ``("results", [ProbeResult, …])`` as probes finish, gathered for at most ``FLUSH`` seconds;
  ``("done", None)`` at the end; ``("error", traceback)`` if the engine failed.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

FLUSH = 0.02  # seconds a finished result may wait to be sent with others
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def start(options: dict) -> tuple[subprocess.Popen, Connection]:
    """Start a probe process for an ``Engine(**options)``; the process and the parent's end of the connection."""
    import socket

    parent_end, child_end = socket.socketpair()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitoring.probe_process", str(child_end.fileno())],
            pass_fds=[child_end.fileno()],
            env=env,
        )
    except BaseException:
        parent_end.close()
        raise
    finally:
        child_end.close()
    conn = Connection(parent_end.detach())
    conn.send(("options", options))
    return process, conn


def main(fd: int) -> None:
    conn = Connection(fd)
    kind, options = conn.recv()
    if kind != "options":
        raise SystemExit(f"probe process: expected the engine's options first, got {kind!r}")
    serve(conn, options)


def serve(conn, options: dict) -> None:
    """The probe process's entry point: an ``Engine(**options)`` probing what ``conn`` sends until told to stop."""
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        import django

        django.setup()  # the analysers' texts are lazy translations
    from .engine import run_coroutine

    outgoing: queue.SimpleQueue = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(conn, outgoing), name="probe-sender", daemon=True)
    sender.start()
    try:
        run_coroutine(lambda: _serve(conn, options, outgoing))
        outgoing.put(("done", None))
    except BaseException:  # reported to the parent, which raises it
        outgoing.put(("error", traceback.format_exc()))
    finally:
        outgoing.put(None)
        sender.join()
        conn.close()


def _send_all(conn, outgoing: queue.SimpleQueue) -> None:
    """Sends from a thread of its own, so that the event loop never waits for the parent to read (it may be storing
    a batch)."""
    while (message := outgoing.get()) is not None:
        try:
            conn.send(message)
        except OSError:  # the parent is gone
            return
        except Exception:  # a result that cannot be pickled: the parent must hear of it, not wait for ever
            try:
                conn.send(("error", traceback.format_exc()))
            except OSError:
                return


async def _serve(conn, options: dict, outgoing: queue.SimpleQueue) -> None:
    from .content import ContentOutcome
    from .engine import Engine

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()

    def receive_all() -> None:
        """Blocking reads in a thread of their own (the connection stays a blocking socket for the sender too)."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent is gone: finish and end
                message = ("stop", None)
            loop.call_soon_threadsafe(inbox.put_nowait, message)
            if message[0] == "stop":
                return

    results: list = []
    sweeps: set[asyncio.Task] = set()

    async def send_results() -> None:
        while True:
            await asyncio.sleep(FLUSH)
            if results:
                outgoing.put(("results", results.copy()))
                results.clear()

    async with Engine(**options) as engine:

        async def probe(targets) -> None:
            async for result in engine.sweep(targets):
                if isinstance(result.analysis, ContentOutcome):
                    # Analysed here: the page, its cloaking variants and the baseline that came with the target are
                    # not needed where the outcome is stored (the page copy kept as evidence is in the outcome).
                    result.body, result.variants, result.context = None, {}, None
                results.append(result)

        threading.Thread(target=receive_all, name="probe-receiver", daemon=True).start()
        sender = asyncio.create_task(send_results())
        try:
            while (message := await inbox.get())[0] != "stop":
                task = asyncio.create_task(probe(message[1]))
                sweeps.add(task)
                task.add_done_callback(sweeps.discard)
            if sweeps:
                await asyncio.gather(*sweeps)
        finally:
            sender.cancel()
        if results:
            outgoing.put(("results", results.copy()))


if __name__ == "__main__":
    main(int(sys.argv[1]))
