"""``edusec simfarm``: the simulated school-website farm (serve, set, remove, list); see docs/simfarm.md.

A thin wrapper: the farm itself lives in ``monitoring.simfarm`` and runs without Django (``python -m
monitoring.simfarm``), so this command only supplies the default state directory from the settings.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring.simfarm.cli import add_arguments, run
from monitoring.simfarm.sites import SiteError


class Command(BaseCommand):
    help = (
        "Serve many virtual school sites on 127.0.0.1 and ::1 (default), or change one (set HOST SCENARIO "
        "[--tls X]), remove one (remove HOST), or list them (list)."
    )
    # The farm touches no model; skipping the checks keeps start-up instant.
    requires_system_checks = []

    def add_arguments(self, parser):
        data_dir = Path(getattr(settings, "DATA_DIR", Path(settings.BASE_DIR) / "var"))
        add_arguments(parser, default_state_dir=data_dir / "simfarm")

    def handle(self, *args, **options):
        try:
            run(options, self.stdout)
        except (SiteError, OSError) as exc:
            raise CommandError(str(exc)) from exc
