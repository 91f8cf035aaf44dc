"""``edusec import_scan PATH --unit CODE [--close-missing] [--user NAME]``: import a scan or notice sheet."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from findings.imports import file_digest, run_import
from findings.models import ImportState, ScanImport
from orgs.models import Unit


class Command(BaseCommand):
    help = "Import a scanner file (format recognised from the content) into a unit's findings."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--unit", required=True, help="unit code whose subtree the findings belong to")
        parser.add_argument(
            "--close-missing", action="store_true", help="close findings of this scope that the scan no longer reports"
        )
        parser.add_argument("--user", help="account the import is recorded under (audit log, import history)")

    def handle(self, path, unit, close_missing=False, user=None, **options):
        file_path = Path(path)
        if not file_path.is_file():
            raise CommandError(f"no such file: {path}")
        owner = Unit.objects.filter(code=unit).first()
        if owner is None:
            raise CommandError(f"no unit with code {unit}")
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"no user {user}")
        with file_path.open("rb") as fileobj:
            scan_import = ScanImport.objects.create(
                unit=owner,
                file_name=file_path.name[:255],
                size=file_path.stat().st_size,
                sm3=file_digest(fileobj),
                close_missing=close_missing,
                created_by=account,
                updated_by=account,
            )
            run_import(scan_import, fileobj, user=account)
        if scan_import.state == ImportState.FAILED:
            raise CommandError(
                f"{file_path.name}: {scan_import.error}\n{scan_import.error_en}\n"
                "(nothing was imported / 未导入任何数据)"
            )
        self.stdout.write(
            f"{file_path.name} ({scan_import.file_format}): {scan_import.records} records, {scan_import.new} new, "
            f"{scan_import.updated} updated, {scan_import.reopened} reopened, {scan_import.closed} closed, "
            f"{scan_import.unattributed} unattributed, {scan_import.rejected} rejected"
        )
