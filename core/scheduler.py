"""Periodic jobs, started by ``edusec run`` in the same process as the web server.

    @periodic(3600)                      # every hour; the first run one interval after start (or first_after=…)
    @task(name="reports.refresh_cockpit")
    def refresh_cockpit(): ...

A due job is started with :func:`core.tasks.run_task`, so it is recorded in TaskRun and goes to Celery workers when a
broker is configured. Run exactly one scheduler per installation (the one in ``edusec run``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("edusec.scheduler")


@dataclass
class PeriodicJob:
    task_name: str
    seconds: float
    first_after: float


#: task name → job, filled by :func:`periodic` when a tasks module is imported.
periodic_jobs: dict[str, PeriodicJob] = {}


def periodic(seconds: float, *, first_after: float | None = None):
    """Run the decorated task every ``seconds``; the first time ``first_after`` seconds after the scheduler starts
    (default: one interval). The function is registered with @task first if it is not a task yet."""
    if seconds <= 0:
        raise ValueError("the interval must be positive")

    def register(func: Callable) -> Callable:
        if not hasattr(func, "task_name"):
            from .tasks import task

            func = task(func)
        periodic_jobs[func.task_name] = PeriodicJob(
            func.task_name, float(seconds), float(seconds if first_after is None else first_after)
        )
        return func

    return register


class Scheduler(threading.Thread):
    """A daemon thread that starts each periodic job when it is due. ``stop()`` ends it within a moment."""

    def __init__(self, jobs: list[PeriodicJob] | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(name="edusec-scheduler", daemon=True)
        self._jobs = jobs
        self._clock = clock
        self._stop_event = threading.Event()
        self.next_due: dict[str, float] = {}

    def jobs(self) -> list[PeriodicJob]:
        if self._jobs is None:
            from .tasks import autodiscover

            autodiscover()  # imports every app's tasks module, which registers its periodic jobs
            self._jobs = list(periodic_jobs.values())
        return self._jobs

    def run(self) -> None:
        start = self._clock()
        self.next_due = {job.task_name: start + job.first_after for job in self.jobs()}
        while not self._stop_event.is_set():
            now = self._clock()
            for job in self.jobs():
                if self.next_due[job.task_name] <= now:
                    self.next_due[job.task_name] = now + job.seconds
                    self.dispatch(job)
            wait = min(self.next_due.values(), default=now + 60) - self._clock()
            self._stop_event.wait(max(0.05, min(wait, 60)))

    def dispatch(self, job: PeriodicJob) -> None:
        from django.db import connections

        from .tasks import run_task

        try:
            run_task(job.task_name)
        except Exception:
            logger.exception("could not start periodic job %s", job.task_name)
        finally:
            connections.close_all()  # this thread's only; jobs are rare, so no connection is kept open between them

    def stop(self, timeout: float | None = 5) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
