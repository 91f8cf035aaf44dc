"""Long-running companions of ``edusec run`` (the monitor, the demo's simulated school sites), registered by the
apps that own them so that core imports no domain app.

    @service("monitor")
    def start_monitor(say) -> Callable[[], None] | None:   # returns how to stop it, or None if it did not start
        ...

``edusec run`` starts them in registration order after the web server is set up and stops them in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger("edusec.services")

#: name → start function (``start(say)`` returns a stop callable, or None when there is nothing to run)
services: dict[str, Callable] = {}


def service(name: str):
    def register(start: Callable) -> Callable:
        services[name] = start
        return start

    return register


def start_all(say: Callable[[str], None]) -> list[tuple[str, Callable[[], None]]]:
    """Start every registered service; one that fails is reported and skipped, never stops the others."""
    running = []
    for name, start in services.items():
        try:
            stop = start(say)
        except Exception as exc:  # a companion must not keep the web server from starting
            logger.exception("service %s did not start", name)
            say(f"{name}: not started ({exc})")
            continue
        if stop is not None:
            running.append((name, stop))
    return running


def stop_all(running: list[tuple[str, Callable[[], None]]]) -> None:
    for name, stop in reversed(running):
        try:
            stop()
        except Exception:
            logger.exception("service %s did not stop cleanly", name)
