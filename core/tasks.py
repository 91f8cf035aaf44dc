"""Background tasks: one decorator, one registry, two executors.

    from core.tasks import task, progress

    @task                                   # registered as "<app>.<function>", here "reports.build_annual"
    def build_annual(report_id):
        ...
        progress(40, "tables done")         # or report_progress(taskrun_id, 40, "tables done")
        return {"pages": 12}                # stored (as JSON) in TaskRun.result

    run = run_task("reports.build_annual", report.pk)   # or run_task(build_annual, report.pk) → a TaskRun

Executors: when ``settings.EDUSEC_BROKER_URL`` is set, the call is sent to Celery workers (``edusec worker``) through
the generic Celery task ``edusec.run_registered`` defined in ``edusec/celery.py``; otherwise it runs on a thread pool in
this process (``EDUSEC_TASK_THREADS`` threads, default 4). Either way it is recorded in :class:`core.models.TaskRun`,
and it starts only once the surrounding database transaction commits, so a task always sees the rows its caller wrote.

Arguments and results travel as JSON: pass primary keys, not model instances.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from .context import get_request
from .models import TaskRun
from .scheduler import periodic

logger = logging.getLogger("edusec.tasks")

#: name → function, filled by the :func:`task` decorator when a ``<app>/tasks.py`` module is imported.
registry: dict[str, Callable[..., Any]] = {}

_current_run: contextvars.ContextVar[int | None] = contextvars.ContextVar("edusec_taskrun_id", default=None)
_discovered = False
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_in_flight: set[Future] = set()  # submitted to the thread pool and not finished


# ---- registration ---------------------------------------------------------------------------------------------------


def task(func: Callable | None = None, *, name: str | None = None):
    """Register ``func`` as a background task. Usable bare (``@task``) or with a name (``@task(name="x.y")``).

    The default name is ``<top-level package>.<function name>`` (``core.ping``). The function itself is returned
    unchanged (it can still be called directly) with a ``task_name`` attribute. It is also registered as a plain Celery
    task of the same name, so ``celery_app.send_task(name, args, kwargs)`` works too (without TaskRun bookkeeping).
    """

    def register(fn: Callable) -> Callable:
        task_name = name or f"{fn.__module__.split('.')[0]}.{fn.__name__}"
        existing = registry.get(task_name)
        if existing is not None and _qualname(existing) != _qualname(fn):
            raise ValueError(f"task name {task_name!r} is already used by {_qualname(existing)}")
        registry[task_name] = fn
        fn.task_name = task_name
        _register_with_celery(task_name, fn)
        return fn

    return register(func) if func is not None else register


def _qualname(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _register_with_celery(task_name: str, fn: Callable) -> None:
    # shared_task attaches the function to every Celery app, now or when the app is finalised, whichever comes later.
    from celery import shared_task

    shared_task(name=task_name)(fn)


def autodiscover() -> None:
    """Import ``tasks`` of every installed app, so that every @task is in :data:`registry`."""
    global _discovered
    if not _discovered:
        autodiscover_modules("tasks")
        _discovered = True


def get_task(name_or_func: str | Callable) -> tuple[str, Callable]:
    if callable(name_or_func):
        task_name = getattr(name_or_func, "task_name", None)
        if task_name is None or registry.get(task_name) is not name_or_func:
            raise ValueError(f"{_qualname(name_or_func)} is not a registered task (decorate it with @task)")
        return task_name, name_or_func
    if name_or_func not in registry:
        autodiscover()
    try:
        return name_or_func, registry[name_or_func]
    except KeyError:
        raise ValueError(f"unknown task {name_or_func!r}") from None


# ---- dispatch -------------------------------------------------------------------------------------------------------


def run_task(name_or_func: str | Callable, *args, **kwargs) -> TaskRun:
    """Start a registered task in the background and return its :class:`TaskRun` (state ``pending``).

    The returned instance also carries a handle for callers that want to wait: ``run.future`` (a
    ``concurrent.futures.Future``) for the in-process executor, ``run.async_result`` (a Celery ``AsyncResult``) for
    Celery; :func:`wait` works with both.
    """
    task_name, _func = get_task(name_or_func)
    args_list, kwargs_dict = _jsonable(list(args)), _jsonable(kwargs)
    use_celery = bool(getattr(settings, "EDUSEC_BROKER_URL", ""))
    request = get_request()
    starter = getattr(request, "user", None)
    run = TaskRun.objects.create(
        name=task_name,
        executor="celery" if use_celery else "thread",
        user=starter if starter is not None and starter.is_authenticated else None,
    )
    run.future = None
    run.async_result = None

    if use_celery:
        app = get_celery_app()
        celery_id = str(uuid.uuid4())
        run.async_result = app.AsyncResult(celery_id)

        def dispatch():
            app.send_task("edusec.run_registered", args=[task_name, run.pk, args_list, kwargs_dict], task_id=celery_id)

    elif getattr(settings, "EDUSEC_TASKS_EAGER", False):
        # Run in the caller's thread once the transaction commits (tests on an in-memory database, debugging).
        run.future = Future()

        def dispatch():
            try:
                run.future.set_result(execute(task_name, run.pk, args_list, kwargs_dict, close_connections=False))
            except Exception as exc:  # recorded on the TaskRun by execute(); kept for wait()
                run.future.set_exception(exc)

    else:
        run.future = Future()

        def dispatch():
            inner = _get_executor().submit(execute, task_name, run.pk, args_list, kwargs_dict, close_connections=True)
            _in_flight.add(inner)
            inner.add_done_callback(lambda done: _copy_outcome(done, run.future, run.pk))

    transaction.on_commit(dispatch)
    return run


def wait(run: TaskRun, timeout: float | None = None) -> Any:
    """Block until ``run`` finishes and return its result (re-raising its exception). For tests and scripts."""
    if getattr(run, "async_result", None) is not None:
        return run.async_result.get(timeout=timeout)
    if getattr(run, "future", None) is not None:
        return run.future.result(timeout=timeout)
    raise ValueError("this TaskRun was not started by run_task() in this process")


def get_celery_app():
    from edusec.celery import app

    return app


def _copy_outcome(source: Future, target: Future, taskrun_id: int) -> None:
    _in_flight.discard(source)
    if source.cancelled():  # by shutdown(): the task never started
        _record(
            taskrun_id,
            state=TaskRun.State.FAILURE,
            message="cancelled: the server stopped before the task started",
            finished_at=timezone.now(),
        )
        target.cancel()
    elif source.exception() is not None:
        target.set_exception(source.exception())
    else:
        target.set_result(source.result())


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=task_threads(), thread_name_prefix="edusec-task")
        return _executor


def task_threads() -> int:
    value = getattr(settings, "EDUSEC_TASK_THREADS", None) or os.environ.get("EDUSEC_TASK_THREADS") or 4
    return max(1, int(value))


def in_flight() -> int:
    """How many in-process tasks are queued or running."""
    return len(_in_flight)


def shutdown(wait: bool = True) -> None:
    """Stop the in-process executor: tasks not yet started are cancelled (and recorded as failed), running ones finish
    when ``wait`` is true. Used by ``edusec run`` on Ctrl-C."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=wait, cancel_futures=True)


def fail_interrupted_runs() -> int:
    """Mark in-process runs left pending or running by a previous server process as failed; returns how many.

    Only for the thread executor: a Celery run may still be going on in a worker."""
    return TaskRun.objects.filter(executor="thread", state__in=[TaskRun.State.PENDING, TaskRun.State.RUNNING]).update(
        state=TaskRun.State.FAILURE, message="interrupted: the server stopped", finished_at=timezone.now()
    )


# ---- execution (in a pool thread or in a Celery worker) -------------------------------------------------------------


def execute(task_name: str, taskrun_id: int | None, args=(), kwargs=None, *, close_connections: bool = False) -> Any:
    """Run a registered task and record its outcome in TaskRun ``taskrun_id``.

    Bookkeeping never gets in the way of the task: if the row (or the table) is not there, as for a worker that
    cannot see the caller's database, nothing is recorded and the task runs all the same.
    """
    token = _current_run.set(taskrun_id)
    try:
        _, func = get_task(task_name)
        _record(taskrun_id, state=TaskRun.State.RUNNING)
        try:
            result = func(*(args or ()), **(kwargs or {}))
        except Exception as exc:
            logger.exception("task %s (run %s) failed", task_name, taskrun_id)
            _record(
                taskrun_id,
                state=TaskRun.State.FAILURE,
                message=f"{type(exc).__name__}: {exc}",
                finished_at=timezone.now(),
            )
            raise
        _record(
            taskrun_id,
            state=TaskRun.State.SUCCESS,
            progress=100,
            result=_jsonable(result),
            finished_at=timezone.now(),
        )
        return result
    finally:
        _current_run.reset(token)
        if close_connections:
            connections.close_all()  # this thread's connections only: connections are per thread


def _record(taskrun_id: int | None, **fields) -> bool:
    if taskrun_id is None:
        return False
    try:
        return TaskRun.objects.filter(pk=taskrun_id).update(**fields) > 0
    except DatabaseError as exc:
        logger.debug("TaskRun %s not recorded: %s", taskrun_id, exc)
        return False


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dates and decimals as strings); anything else as its ``repr``."""
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except (TypeError, ValueError):
        return repr(value)


# ---- progress -------------------------------------------------------------------------------------------------------


def current_taskrun_id() -> int | None:
    """The TaskRun of the task running in this thread, or None outside a task."""
    return _current_run.get()


def report_progress(taskrun_id: int | None, percent: float, message: str = "") -> None:
    """Record how far a task is (0–100) and what it is doing, for the progress shown in the UI."""
    percent = max(0, min(100, int(percent)))
    _record(taskrun_id, progress=percent, message=str(message))


def progress(percent: float, message: str = "") -> None:
    """:func:`report_progress` for the task running in this thread (no-op when called outside a task)."""
    report_progress(current_taskrun_id(), percent, message)


# ---- built-in tasks -------------------------------------------------------------------------------------------------


@task(name="core.ping")
def ping(value: Any = None) -> dict:
    """Round trip through the executor, without touching the database: returns the value and the executing pid."""
    return {"pong": value, "pid": os.getpid()}


@periodic(24 * 3600, first_after=300)
@task(name="core.audit_verify_daily")
def audit_verify_daily() -> dict:
    """Walk the audit hash chain (daily, from the scheduler of ``edusec run``); log an error naming the first broken
    link."""
    from .audit import verify_chain

    outcome = verify_chain()
    if not outcome.ok:
        logger.error(
            "audit chain broken at entry #%s: %s (%s entries verified before it)",
            outcome.broken_seq,
            outcome.reason,
            outcome.checked,
        )
    return {"ok": outcome.ok, "checked": outcome.checked, "broken_seq": outcome.broken_seq, "reason": outcome.reason}
