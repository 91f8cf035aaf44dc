"""The Celery app, used only when ``EDUSEC_BROKER_URL`` is set (start workers with ``edusec worker``).

Configuration comes from Django settings prefixed ``CELERY_`` (see edusec/settings.py). Every function decorated with
``core.tasks.task`` is a Celery task of the same name; ``core.tasks.run_task`` sends the generic task
``edusec.run_registered`` instead, which runs the named task and records it in TaskRun.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edusec.settings")


def run_registered(name: str, taskrun_id: int | None, args: list | None = None, kwargs: dict | None = None):
    """Run registered task ``name`` in this worker and record its outcome in TaskRun ``taskrun_id`` (if the worker can
    see that row; if not, the task still runs)."""
    from core.tasks import execute

    return execute(name, taskrun_id, args or [], kwargs or {})


def create_app(**config) -> Celery:
    """A Celery app for EduSec; ``config`` overrides settings (tests use it to point at their own broker/queue)."""
    celery_app = Celery("edusec")
    celery_app.config_from_object("django.conf:settings", namespace="CELERY")
    if config:
        celery_app.conf.update(config)
    celery_app.autodiscover_tasks()  # <app>/tasks.py of every installed app, where @task functions live
    celery_app.task(name="edusec.run_registered")(run_registered)
    return celery_app


app = create_app()
