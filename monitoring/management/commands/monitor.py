"""``edusec monitor``: the monitoring scheduler. It claims the due checks every tick and probes them here
(``monitoring.sweep.Monitor``: one long-lived engine, changed pages analysed in a process pool, results stored in
batches), or, with ``EDUSEC_BROKER_URL`` set, sends each claimed batch to the Celery workers (``edusec worker``)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from monitoring.ledger import sync_checks
from monitoring.sweep import Monitor, send_to_workers


class Command(BaseCommand):
    help = "Run the monitoring scheduler: probe every due check of the ledger's websites, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="probe what is due (until nothing is) and exit")
        parser.add_argument("--tick", type=float, default=0.2, help="seconds between scheduler rounds (default 0.2)")

    def handle(self, *args, once=False, tick=0.2, **options):
        synced = sync_checks()
        self.stdout.write(f"checks: {synced['created']} created, {synced['changed']} updated from the ledger")
        if settings.EDUSEC_BROKER_URL:
            self.send_to_workers(once, tick)
            return
        monitor = Monitor(tick=tick)
        try:
            stats = monitor.run(until_idle=once)
        except KeyboardInterrupt:
            self.stdout.write("monitor stopped")
            return
        self.stdout.write(f"{stats.stored} checks probed")

    def send_to_workers(self, once: bool, tick: float) -> None:
        from core.tasks import get_celery_app

        celery_app = get_celery_app()
        try:
            while True:
                started = time.monotonic()
                sent = send_to_workers(celery_app)
                if once:
                    self.stdout.write(f"{sent} checks sent to the workers")
                    return
                time.sleep(max(0.0, tick - (time.monotonic() - started)))
        except KeyboardInterrupt:
            self.stdout.write("monitor stopped")
