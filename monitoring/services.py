"""What ``edusec run`` starts for monitoring (core.services): in the demo, the simulated school sites serving every
website of the ledger; always, the monitor loop in a thread of the same process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings

from core.services import service

FARM_START_SECONDS = 30


@service("simulated school sites")
def start_farm(say):
    """The demo's farm, in a child process, serving the ledger's websites with the scenarios of ``demo.farm_sites``."""
    if not settings.EDUSEC_DEMO:
        return None
    from .demo import farm_sites

    state_dir = Path(settings.DATA_DIR) / "simfarm"
    state_dir.mkdir(parents=True, exist_ok=True)
    manifest = state_dir / "demo-manifest.json"
    manifest.write_text(json.dumps(farm_sites(), ensure_ascii=False, indent=1), encoding="utf-8")
    ports = dict(pair.split(":") for pair in settings.EDUSEC_MONITOR_PORT_MAP.split(",") if pair)
    http_port, https_port = int(ports.get("80", 18080)), int(ports.get("443", 18443))
    log = open(state_dir / "farm.log", "ab")  # noqa: SIM115 (kept open for the child's lifetime)
    child = subprocess.Popen(
        [sys.executable, "-m", "monitoring.simfarm", "--manifest", str(manifest), "--state-dir", str(state_dir),
         "--http-port", str(http_port), "--https-port", str(https_port), "--reset"],
        stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
    )  # fmt: skip
    deadline = time.monotonic() + FARM_START_SECONDS
    while time.monotonic() < deadline and child.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", http_port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    if child.poll() is not None:
        log.close()
        raise RuntimeError(f"the simulated farm exited (see {state_dir / 'farm.log'})")
    say(f"Simulated school sites: {len(farm_sites())} on 127.0.0.1:{http_port} (HTTP) and :{https_port} (HTTPS)")

    def stop():
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()

    return stop


@service("monitor")
def start_monitor(say):
    """The monitor loop (``edusec monitor``'s ``Monitor``) in a thread: probes due checks in this process (changed
    pages analysed in a process pool), or sends the batches to Celery workers when a broker is configured."""
    import logging

    from django.db import close_old_connections

    from .ledger import sync_checks
    from .sweep import Monitor, send_to_workers

    sync_checks()
    stopping = threading.Event()
    celery_app = None
    monitor = None
    if settings.EDUSEC_BROKER_URL:
        from core.tasks import get_celery_app

        celery_app = get_celery_app()
    else:
        monitor = Monitor()

    def send_loop():
        while not stopping.is_set():
            try:
                send_to_workers(celery_app)
            except Exception:  # logged; the next round tries again
                logging.getLogger("edusec.monitoring").exception("monitor round failed")
            finally:
                close_old_connections()
            stopping.wait(1.0)

    def monitor_loop():
        while not stopping.is_set():
            try:
                monitor.run()
            except Exception:  # logged; started again after a pause
                logging.getLogger("edusec.monitoring").exception("monitor stopped unexpectedly")
                stopping.wait(5.0)

    thread = threading.Thread(target=send_loop if celery_app else monitor_loop, name="monitor", daemon=True)
    thread.start()
    say("Monitor: probing the ledger's websites" + (" through Celery workers" if celery_app else ""))

    def stop():
        stopping.set()
        if monitor is not None:
            monitor.stop()
        thread.join(timeout=30)

    return stop
