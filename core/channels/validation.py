"""Checks of what administrators type in: webhook addresses, e-mail address lists, secrets. Each problem is a clear
message (Chinese by default), never an exception page."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

MAX_EMAIL_RECIPIENTS = 50

_SPLIT = re.compile(r"[\s,;，；]+")


def split_addresses(text: str) -> list[str]:
    """'a@x.test, b@x.test\\nc@x.test' → the addresses, in order, without duplicates."""
    seen: list[str] = []
    for part in _SPLIT.split(text or ""):
        part = part.strip()
        if part and part.lower() not in (s.lower() for s in seen):
            seen.append(part)
    return seen


def is_loopback_host(host: str) -> bool:
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook address here, or None."""
    if not url:
        return _("Enter the webhook address.")
    if any(c.isspace() for c in url):
        return _("The address must not contain spaces.")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError:
        return _("This is not a valid address.")
    if parts.scheme not in ("http", "https"):
        return _("The address must start with https:// (or http://).")
    if not parts.hostname:
        return _("The address has no host name.")
    if port == 0:
        return _("This is not a valid address.")
    if parts.username or parts.password:
        return _("The address must not contain a user name or password.")
    if not settings.EDUSEC_CHANNEL_ALLOW_PUBLIC and not is_loopback_host(parts.hostname):
        return _(
            "This installation sends only to this machine (127.0.0.1 or ::1), as in the demo; an administrator can "
            "allow other addresses with EDUSEC_CHANNEL_ALLOW_PUBLIC."
        )
    return None


def email_problems(text: str) -> list[str]:
    addresses = split_addresses(text)
    problems = []
    if not addresses:
        return [_("Enter at least one e-mail address.")]
    if len(addresses) > MAX_EMAIL_RECIPIENTS:
        problems.append(_("At most %(n)d addresses.") % {"n": MAX_EMAIL_RECIPIENTS})
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            problems.append(_("Not a valid e-mail address: %(address)s") % {"address": address})
    return problems


def endpoint_errors(endpoint) -> dict[str, list[str]]:
    """Field → messages for a ChannelEndpoint as it stands."""
    from ..models import ChannelKind

    errors: dict[str, list[str]] = {}
    if endpoint.kind == ChannelKind.EMAIL:
        problems = email_problems(endpoint.email_to)
        if problems:
            errors["email_to"] = problems
    elif endpoint.kind:
        problem = url_problem((endpoint.webhook_url or "").strip())
        if problem:
            errors["webhook_url"] = [problem]
        if endpoint.kind == ChannelKind.WEBHOOK and not endpoint.secret:
            errors["secret"] = [_("A signed webhook needs a secret: the receiver uses it to check the signature.")]
        if endpoint.secret and len(endpoint.secret) > 200:
            errors["secret"] = [_("The secret is too long (at most 200 characters).")]
    return errors
