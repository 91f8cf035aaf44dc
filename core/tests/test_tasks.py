"""Background tasks: the in-process executor, progress, the scheduler, the progress view, and a real Celery worker."""

import os
import threading
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from core import tasks
from core.models import TaskRun
from core.scheduler import PeriodicJob, Scheduler, periodic, periodic_jobs
from core.testing import REDIS_URL, celery_workers, require_redis

release = threading.Event()
started = threading.Event()


@tasks.task(name="tests.add")
def add(a, b):
    tasks.progress(50, "adding")
    return {"sum": a + b}


@tasks.task(name="tests.fail")
def fail():
    raise ValueError("bad input on line 3")


@tasks.task(name="tests.slow")
def slow():
    tasks.progress(40, "halfway there")
    started.set()
    assert release.wait(10), "the test never released the task"
    return "done"


@tasks.task(name="tests.count_runs")
def count_runs():
    return TaskRun.objects.filter(name="tests.count_runs").count()


# ---- in-process executor --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_thread_executor_records_success():
    run = tasks.run_task("tests.add", 2, b=3)
    assert isinstance(run, TaskRun) and run.pk
    assert tasks.wait(run, timeout=10) == {"sum": 5}
    run.refresh_from_db()
    assert run.name == "tests.add"
    assert run.executor == "thread"
    assert run.state == TaskRun.State.SUCCESS
    assert run.progress == 100
    assert run.message == "adding"  # the last progress message stays
    assert run.result == {"sum": 5}
    assert run.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_thread_executor_accepts_the_function_and_sees_committed_rows():
    run = tasks.run_task(count_runs)
    assert tasks.wait(run, timeout=10) == 1  # the task ran after its own TaskRun row was committed
    run.refresh_from_db()
    assert run.state == TaskRun.State.SUCCESS and run.result == 1


@pytest.mark.django_db(transaction=True)
def test_thread_executor_records_failure():
    run = tasks.run_task("tests.fail")
    with pytest.raises(ValueError):
        tasks.wait(run, timeout=10)
    run.refresh_from_db()
    assert run.state == TaskRun.State.FAILURE
    assert "ValueError: bad input on line 3" in run.message
    assert run.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_while_the_task_runs():
    release.clear()
    started.clear()
    run = tasks.run_task("tests.slow")
    try:
        assert started.wait(10)
        run.refresh_from_db()
        assert run.state == TaskRun.State.RUNNING
        assert (run.progress, run.message) == (40, "halfway there")
    finally:
        release.set()
    assert tasks.wait(run, timeout=10) == "done"
    run.refresh_from_db()
    assert run.state == TaskRun.State.SUCCESS and run.progress == 100


@pytest.mark.django_db
def test_task_is_started_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = tasks.run_task("core.ping", "x")
    assert len(callbacks) == 1
    assert not run.future.done()
    assert TaskRun.objects.get(pk=run.pk).state == TaskRun.State.PENDING


@pytest.mark.django_db
def test_report_progress_clamps_and_tolerates_unknown_runs():
    run = TaskRun.objects.create(name="tests.manual")
    tasks.report_progress(run.pk, 250, "too far")
    run.refresh_from_db()
    assert (run.progress, run.message) == (100, "too far")
    tasks.report_progress(run.pk + 1000, 10, "nobody")  # no such row: nothing happens
    tasks.report_progress(None, 10)
    tasks.progress(10, "outside any task")  # no current run: nothing happens


@pytest.mark.django_db
def test_execute_without_a_taskrun_row_still_runs():
    # As in a Celery worker that cannot see the caller's database.
    assert tasks.execute("tests.add", 999_999, [1], {"b": 1}) == {"sum": 2}
    assert not TaskRun.objects.exists()


def test_unknown_and_unregistered_tasks_are_refused():
    with pytest.raises(ValueError, match="unknown task"):
        tasks.run_task("tests.no_such_task")
    with pytest.raises(ValueError, match="not a registered task"):
        tasks.run_task(lambda: None)
    with pytest.raises(ValueError, match="already used"):

        @tasks.task(name="tests.add")
        def other():
            pass


def test_ping_and_default_names():
    assert tasks.ping(7) == {"pong": 7, "pid": os.getpid()}
    assert tasks.ping.task_name == "core.ping"
    assert tasks.registry["core.ping"] is tasks.ping
    assert periodic_jobs["core.audit_verify_daily"].seconds == 24 * 3600


@pytest.mark.django_db(transaction=True)
def test_fail_interrupted_runs_marks_only_thread_runs():
    stale = TaskRun.objects.create(name="tests.add", executor="thread", state=TaskRun.State.RUNNING)
    remote = TaskRun.objects.create(name="tests.add", executor="celery", state=TaskRun.State.RUNNING)
    assert tasks.fail_interrupted_runs() == 1
    stale.refresh_from_db()
    remote.refresh_from_db()
    assert stale.state == TaskRun.State.FAILURE and remote.state == TaskRun.State.RUNNING


@pytest.mark.django_db(transaction=True)
def test_audit_verify_daily_runs_as_a_task():
    run = tasks.run_task("core.audit_verify_daily")
    assert tasks.wait(run, timeout=20)["ok"] is True


# ---- scheduler ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_scheduler_starts_due_jobs_through_run_task():
    ticks = []

    @periodic(0.2, first_after=0)
    def tick():
        ticks.append(time.monotonic())
        return "tick"

    try:
        assert tick.task_name == f"{__name__.split('.')[0]}.tick"
        scheduler = Scheduler(jobs=[PeriodicJob(tick.task_name, 0.2, 0)])
        scheduler.start()
        # Waiting reads no table: with the test database in memory (shared cache), a read here would make the
        # scheduler's writes fail at once instead of waiting.
        deadline = time.monotonic() + 10
        while len(ticks) < 2 or tasks.in_flight():
            assert time.monotonic() < deadline, "the scheduler did not run the job twice"
            time.sleep(0.05)
        scheduler.stop()
        assert not scheduler.is_alive()
        assert TaskRun.objects.filter(name=tick.task_name, state=TaskRun.State.SUCCESS).count() >= 2
    finally:
        periodic_jobs.pop(tick.task_name, None)
        tasks.registry.pop(tick.task_name, None)


# ---- progress view --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_taskrun_view(client, settings):
    settings.EDUSEC_REQUIRE_2FA = False
    owner = get_user_model().objects.create_user("taskviewer", password="Xx-12345678")
    other = get_user_model().objects.create_user("someoneelse", password="Xx-12345678")
    run = TaskRun.objects.create(
        name="tests.add", state=TaskRun.State.RUNNING, progress=30, message="working", user=owner
    )
    url = reverse("core:taskrun", args=[run.pk])

    response = client.get(url)
    assert response.status_code == 302  # sign in first

    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"state": "running", "progress": 30, "message": "working"}
    assert client.get(reverse("core:taskrun", args=[run.pk + 1000])).status_code == 404

    client.force_login(other, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(url).status_code == 404  # someone else's job is not even there


# ---- a real Celery worker -------------------------------------------------------------------------------------------


@pytest.fixture
def celery_worker(tmp_path):
    """A real `celery worker` process on its own queue; it has its own settings and data directory."""
    broker = require_redis()
    queue = f"edusec-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "EDUSEC_RESULT_BACKEND"}}
    env.update(EDUSEC_BROKER_URL=broker, EDUSEC_DATA_DIR=str(tmp_path / "worker-data"))
    with celery_workers(env, queue) as (worker,):
        yield worker.process, queue


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_celery_worker_runs_ping(celery_worker, settings, monkeypatch):
    import edusec.celery

    proc, queue = celery_worker
    settings.EDUSEC_BROKER_URL = REDIS_URL
    client_app = edusec.celery.create_app(broker_url=REDIS_URL, result_backend=REDIS_URL, task_default_queue=queue)
    monkeypatch.setattr(edusec.celery, "app", client_app)
    try:
        run = tasks.run_task("core.ping", "hello")  # through the generic edusec.run_registered task
        assert run.executor == "celery"
        answer = tasks.wait(run, timeout=60)
        assert answer["pong"] == "hello"
        assert answer["pid"] == proc.pid != os.getpid()

        # Every @task is also a Celery task of its own name.
        direct = client_app.send_task("core.ping", args=["direct"]).get(timeout=60)
        assert direct == {"pong": "direct", "pid": proc.pid}

        # The worker cannot see the test database: its bookkeeping was skipped, nothing broke.
        run.refresh_from_db()
        assert run.state == TaskRun.State.PENDING
        assert proc.poll() is None, "the worker died"
    finally:
        client_app.close()
