"""``edusec check_deploy``: what this installation still lacks for production, then Django's own deploy checks."""

from io import StringIO

from django.core.checks import registry as check_registry
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from core.checks import deployment_items


class Command(BaseCommand):
    help = (
        "Print a checklist of what a production installation still lacks (secret key, HTTPS, database, broker, "
        "second factor, demo accounts, …) and run Django's deploy checks. Exit status 0; with --strict, 1 if "
        "anything is missing."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--strict", action="store_true", help="exit with status 1 if anything is missing")

    def handle(self, *args, **options):
        items = deployment_items()
        missing = [item for item in items if not item.ok]
        self.stdout.write(self.style.MIGRATE_HEADING("EduSec production checklist"))
        for item in items:
            if item.ok:
                self.stdout.write(f"  {self.style.SUCCESS('[ OK ]')} {item.label}")
            else:
                self.stdout.write(f"  {self.style.WARNING('[MISS]')} {item.label}")
                self.stdout.write(f"         {item.detail}")

        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Django deploy checks (manage.py check --deploy)"))
        django_problems = self.django_deploy_checks()

        self.stdout.write("")
        if missing or django_problems:
            summary = f"{len(missing)} of {len(items)} checklist item(s) missing"
            if django_problems:
                summary += "; Django's deploy checks reported issues"
            self.stdout.write(self.style.WARNING(summary + "."))
            if options["strict"]:
                raise CommandError("not ready for production (--strict)", returncode=1)
        else:
            self.stdout.write(self.style.SUCCESS("Nothing missing."))

    def django_deploy_checks(self) -> bool:
        """Run Django's deploy checks except ours (listed above already); True if they reported anything."""
        tags = sorted(check_registry.registry.tags_available(deployment_checks=True) - {"edusec"})
        out = StringIO()
        problems = False
        try:
            call_command("check", deploy=True, tags=tags, stdout=out, stderr=out)
        except SystemCheckError as exc:  # errors (not only warnings) were found
            out.write(str(exc))
            problems = True
        text = out.getvalue().strip()
        problems = problems or (bool(text) and "no issues" not in text)
        for line in text.splitlines():
            self.stdout.write(f"  {line}")
        return problems
