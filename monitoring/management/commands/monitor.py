"""``edusec monitor``: the monitoring scheduler. Every tick it claims the due checks in batches and probes them here,
or, with ``EDUSEC_BROKER_URL`` set, sends each batch to the Celery workers (``edusec worker``)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from monitoring.ledger import sync_checks
from monitoring.sweep import claim_due, probe_checks


class Command(BaseCommand):
    help = "Run the monitoring scheduler: probe every due check of the ledger's websites, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run the due checks once and exit")
        parser.add_argument("--tick", type=float, default=1.0, help="seconds between scheduler rounds (default 1)")

    def handle(self, *args, once=False, tick=1.0, **options):
        synced = sync_checks()
        self.stdout.write(f"checks: {synced['created']} created, {synced['changed']} updated from the ledger")
        celery_app = None
        if settings.EDUSEC_BROKER_URL:
            from core.tasks import get_celery_app

            celery_app = get_celery_app()
        try:
            while True:
                started = time.monotonic()
                probed = self.round(celery_app)
                if once:
                    self.stdout.write(f"{probed} checks probed")
                    return
                time.sleep(max(0.0, tick - (time.monotonic() - started)))
        except KeyboardInterrupt:
            self.stdout.write("monitor stopped")

    def round(self, celery_app) -> int:
        """Claim and probe (or send) batches until nothing is due."""
        probed = 0
        while ids := claim_due():
            probed += len(ids)
            if celery_app is not None:
                celery_app.send_task("monitoring.probe_batch", args=[ids])
            else:
                probe_checks(ids)
            if len(ids) < settings.EDUSEC_MONITOR_BATCH:
                break
        return probed
