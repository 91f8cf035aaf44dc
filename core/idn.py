"""Internationalised host names (IDN), such as the ``.公益`` and ``.政务`` names of public institutions and schools.

They are stored and probed in their ASCII (punycode) form, which is what DNS, TLS certificates and scanner reports
carry, and shown to people in their own script, as they were registered.
"""

from urllib.parse import urlsplit, urlunsplit

ACE_PREFIX = "xn--"


def ascii_host(host: str) -> str:
    """Lower-case host name; internationalised labels in their ASCII (punycode) form."""
    host = host.strip().rstrip(".").lower()
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return host


def unicode_host(host: str) -> str:
    """``host`` as people write it: each punycode label (``xn--…``) in its own script; a label that does not decode,
    and anything else, as it is."""
    if ACE_PREFIX not in host:
        return host
    labels = []
    for label in host.split("."):
        if label.startswith(ACE_PREFIX):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)


def unicode_url(url: str) -> str:
    """``url`` with its host as people write it (``unicode_host``); the rest as it is."""
    if ACE_PREFIX not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = unicode_host(host)
    if shown == host:
        return url
    user, _at, hostport = parts.netloc.rpartition("@")
    netloc = (f"{user}@" if _at else "") + hostport.lower().replace(host, shown, 1)
    return urlunsplit(parts._replace(netloc=netloc))
