"""``edusec load_demo``: load the fictional demo region (示范市教育局). Safe to run again: it then changes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.registry import demo_loaders
from orgs import demo


class Command(BaseCommand):
    help = "Load the fictional demo region (示范市教育局: districts, schools, people and demo accounts). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print nothing on success")

    def handle(self, *args, quiet=False, **options):
        counts = demo.load()
        # The other apps' demo data (the asset ledger, …) hangs off the region; each loader is idempotent too.
        for loader in demo_loaders:
            extra = loader()
            if extra and not quiet:
                self.stdout.write(f"{loader.__module__}: " + ", ".join(f"{v} {k}" for k, v in extra.items()))
        if counts is None:
            if not quiet:
                self.stdout.write("demo region already loaded")
            return
        if not quiet:
            self.stdout.write(
                self.style.SUCCESS(
                    "demo region loaded: {units} units ({districts} districts, {schools} schools, {affiliated} "
                    "directly-affiliated units), {people} people, {accountabilities} accountable roles, "
                    "{accounts} demo accounts".format(**counts)
                )
            )
            self.stdout.write("list the demo accounts with: edusec demo_accounts")
            if not settings.EDUSEC_DEMO:
                self.stderr.write(
                    "warning: EDUSEC_DEMO is off; the demo accounts share a published password and must not exist on "
                    "a production instance"
                )
