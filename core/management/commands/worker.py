"""``edusec worker``: a Celery worker for the tasks of this installation (needs EDUSEC_BROKER_URL)."""

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Start a Celery worker that runs EduSec background tasks from the broker in EDUSEC_BROKER_URL. "
        "Further Celery worker options go after `--`, e.g. `edusec worker -- --autoscale=8,2`."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("-c", "--concurrency", type=int, help="worker processes/threads (default: CPU count)")
        parser.add_argument("-P", "--pool", help="pool implementation: prefork (default), threads, solo")
        parser.add_argument(
            "-Q", "--queues", help="comma-separated queues to consume (default: EDUSEC_CELERY_QUEUE, else celery)"
        )
        parser.add_argument("-l", "--loglevel", default="INFO", help="log level (default INFO)")
        parser.add_argument("celery_args", nargs=argparse.REMAINDER, help="more `celery worker` options, after --")

    def handle(self, *args, **options):
        if not settings.EDUSEC_BROKER_URL:
            raise CommandError(
                "EDUSEC_BROKER_URL is not set. Without a broker, background tasks run inside `edusec run` and no "
                "worker is needed. To use workers, set EDUSEC_BROKER_URL=redis://host:6379/0 for both the web server "
                "and the workers."
            )
        from edusec.celery import app

        argv = ["worker", f"--loglevel={options['loglevel']}"]
        if options["concurrency"]:
            argv.append(f"--concurrency={options['concurrency']}")
        if options["pool"]:
            argv.append(f"--pool={options['pool']}")
        if options["queues"]:
            argv.append(f"--queues={options['queues']}")
        extra = list(options["celery_args"] or [])
        if extra[:1] == ["--"]:
            extra = extra[1:]
        app.worker_main(argv=argv + extra)
