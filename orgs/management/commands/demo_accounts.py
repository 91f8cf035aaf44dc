"""``edusec demo_accounts [--json]``: the demo accounts with their password, role and unit."""

import json
import unicodedata

from django.core.management.base import BaseCommand

from orgs import demo


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "List the demo accounts (username, password, role, unit)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print a JSON list instead of a table")

    def handle(self, *args, **options):
        rows = demo.demo_accounts()
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("no demo accounts; load them with: edusec load_demo")
            return
        columns = [
            ("username", "username"),
            ("password", "password"),
            ("role_label", "role"),
            ("unit_code", "unit code"),
            ("unit_name", "unit"),
        ]
        widths = [max(_width(title), *(_width(str(r[key])) for r in rows)) for key, title in columns]
        self.stdout.write("  ".join(_pad(title, w) for (_key, title), w in zip(columns, widths, strict=True)).rstrip())
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            cells = [_pad(str(row[key]), w) for (key, _title), w in zip(columns, widths, strict=True)]
            self.stdout.write("  ".join(cells).rstrip())
