"""``edusec audit_verify``: walk the SM3 hash chain of the audit log and report the first broken link."""

import sys

from django.core.management.base import BaseCommand

from core.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit status 1 and the first broken entry when it was tampered with."

    def handle(self, *args, **options):
        result = verify_chain()
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"audit chain intact: {result.checked} entries"))
            return
        self.stderr.write(f"audit chain BROKEN at entry #{result.broken_seq}: {result.reason}")
        sys.exit(1)
