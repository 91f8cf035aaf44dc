"""The identity of a finding, shared by the import writer and manually entered findings."""

from urllib.parse import urlsplit

from core.crypto import sm3_hex

from .importers.base import Record


def fingerprint(record: Record) -> str:
    """Stable identity of a problem at a place: rule (CVE or tool rule) + host/IP + port + URL path + parameter."""
    where = (record.host or record.ip).lower()
    path = ""
    if record.url:
        parts = urlsplit(record.url)
        where = where or (parts.hostname or "")
        path = parts.path or "/"
    key = "|".join([record.rule_id.lower(), where, str(record.port or ""), path, record.parameter])
    return sm3_hex(key.encode("utf-8"))
