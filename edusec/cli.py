"""The ``edusec`` command line: Django's manage.py under the project's name.

Every management command works through it (``edusec migrate``, ``edusec shell``, ``edusec run``, …). A few spellings
from the documentation are accepted as aliases: ``edusec audit verify`` = ``edusec audit_verify``, and dashes for
underscores in a command name (``edusec check-deploy`` = ``edusec check_deploy``).
"""

import os
import sys

# Two-word commands: (first, second) → management command.
ALIASES = {("audit", "verify"): "audit_verify"}


def normalise(argv: list[str]) -> list[str]:
    argv = list(argv)
    if len(argv) >= 3 and (argv[1], argv[2]) in ALIASES:
        argv[1:3] = [ALIASES[argv[1], argv[2]]]
    if len(argv) >= 2 and not argv[1].startswith("-") and "-" in argv[1]:
        argv[1] = argv[1].replace("-", "_")
    return argv


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edusec.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(normalise(sys.argv if argv is None else argv))


if __name__ == "__main__":
    main()
