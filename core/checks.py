"""What a production installation still lacks: shown by ``edusec check_deploy`` and, as Warnings tagged "edusec", by
Django's ``edusec check --deploy`` (registered on import of this module: CoreConfig.ready() imports it)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings
from django.core.checks import Warning, register
from django.db import DatabaseError

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
# Usernames that are the first guess of anyone trying passwords.
DEFAULT_LOOKING_USERNAMES = {
    "admin",
    "administrator",
    "root",
    "superuser",
    "super",
    "su",
    "sa",
    "sysadmin",
    "system",
    "manager",
    "edusec",
    "test",
    "tester",
    "demo",
    "guest",
    "user",
    "operator",
    "webmaster",
    "django",
}


@dataclass
class Item:
    code: str  # check id, also "edusec.W<code>"
    ok: bool
    label: str  # what is checked, as a checklist line
    detail: str = ""  # when not ok: what is wrong and how to fix it


def _secret_key() -> Item:
    ok = bool(getattr(settings, "SECRET_KEY_FROM_ENV", False))
    return Item(
        "001",
        ok,
        "EDUSEC_SECRET_KEY set in the environment",
        f"The secret key is read from {settings.DATA_DIR / 'secret_key'}: fine for one machine, but several app "
        "servers must share one key: set EDUSEC_SECRET_KEY (50+ random characters) and keep it out of the data "
        "directory's backups.",
    )


def _field_key() -> Item:
    return Item(
        "002",
        bool(os.environ.get("EDUSEC_FIELD_KEY")),
        "EDUSEC_FIELD_KEY set in the environment",
        f"The SM4 key of encrypted personal fields is read from {settings.DATA_DIR / 'field_key'}: if that file is "
        "lost, encrypted phone numbers cannot be read. Back it up, or set EDUSEC_FIELD_KEY (32 hex digits).",
    )


def _debug() -> Item:
    return Item(
        "003",
        not settings.DEBUG,
        "DEBUG off",
        "EDUSEC_DEBUG is on: error pages show code and settings to every visitor. Unset it.",
    )


def _database() -> Item:
    engine = settings.DATABASES["default"]["ENGINE"]
    return Item(
        "004",
        "sqlite" not in engine,
        "PostgreSQL database (DATABASE_URL)",
        "DATABASE_URL is not set, so data is in SQLite under the data directory: fine for one machine and a small "
        "region; for a region, set DATABASE_URL=postgres://user:password@host:5432/edusec.",
    )


def _broker() -> Item:
    return Item(
        "005",
        bool(getattr(settings, "EDUSEC_BROKER_URL", "")),
        "task broker (EDUSEC_BROKER_URL)",
        "EDUSEC_BROKER_URL is not set, so background tasks run in the web process's threads. For larger "
        "installations set EDUSEC_BROKER_URL=redis://host:6379/0 and start workers with `edusec worker`.",
    )


def _https() -> Item:
    return Item(
        "006",
        bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
        "HTTPS (EDUSEC_HTTPS)",
        "EDUSEC_HTTPS is not set: cookies may travel over plain HTTP and no HSTS header is sent. Serve through an "
        "HTTPS reverse proxy that sets X-Forwarded-Proto and set EDUSEC_HTTPS=1.",
    )


def _two_factor() -> Item:
    return Item(
        "007",
        bool(getattr(settings, "EDUSEC_REQUIRE_2FA", True)),
        "second factor required (EDUSEC_REQUIRE_2FA)",
        "EDUSEC_REQUIRE_2FA is off: accounts sign in with a password alone (MLPS level 3 asks for two factors). "
        "Unset it or set it to 1.",
    )


def _demo_accounts() -> Item:
    from django.contrib.auth import get_user_model

    try:
        count = get_user_model().objects.filter(is_demo=True).count()
    except DatabaseError:  # not migrated yet: nothing to report
        count = 0
    return Item(
        "008",
        count == 0,
        "no demo accounts",
        f"{count} demo account(s) with published passwords exist. Remove them (or start from a fresh database) "
        "before real data goes in.",
    )


def _default_superusers() -> Item:
    from django.contrib.auth import get_user_model

    try:
        names = list(get_user_model().objects.filter(is_superuser=True).values_list("username", flat=True))
    except DatabaseError:
        names = []
    guessable = sorted(n for n in names if n.lower() in DEFAULT_LOOKING_USERNAMES)
    return Item(
        "009",
        not guessable,
        "no superuser with a default-looking username",
        f"Superuser(s) {', '.join(guessable)} have names anyone would guess first. Create a superuser with a "
        "personal name and remove these.",
    )


def _allowed_hosts() -> Item:
    hosts = set(settings.ALLOWED_HOSTS)
    return Item(
        "010",
        bool(hosts - LOOPBACK_HOSTS),
        "EDUSEC_ALLOWED_HOSTS names the public host",
        "EDUSEC_ALLOWED_HOSTS lists only loopback names, so only this machine can use the site (fine behind a "
        "reverse proxy on the same host that forwards Host: localhost). Set it to the site's host name(s).",
    )


def _email() -> Item:
    backend = settings.EMAIL_BACKEND
    return Item(
        "011",
        not backend.endswith(("console.EmailBackend", "locmem.EmailBackend", "dummy.EmailBackend")),
        "e-mail is delivered (EDUSEC_EMAIL_BACKEND)",
        f"EMAIL_BACKEND is {backend}: notices by e-mail are not sent. Set "
        "EDUSEC_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EDUSEC_SMTP_*.",
    )


CHECKS = [
    _secret_key,
    _field_key,
    _debug,
    _database,
    _broker,
    _https,
    _two_factor,
    _demo_accounts,
    _default_superusers,
    _allowed_hosts,
    _email,
]


def deployment_items() -> list[Item]:
    """Every production-readiness item, passed or not, in checklist order."""
    return [check() for check in CHECKS]


@register("edusec", deploy=True)
def check_deployment(app_configs=None, **kwargs):
    return [Warning(item.detail, id=f"edusec.W{item.code}") for item in deployment_items() if not item.ok]
