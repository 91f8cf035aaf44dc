"""Decide a scan file's format from its content (first ``HEAD_BYTES``), and dispatch to the right importer.

``detect_format(head, filename)`` looks only at content; ``filename`` is accepted for messages and never decides.
``parse_any(stream)`` peeks, detects, rewinds and calls the importer module named in ``PARSERS`` (imported lazily).
A module that reads two formats (``nessus`` and ``nessus_csv``, ``openvas`` and ``openvas_csv``) is called through
``parse_csv(stream)`` for the ``*_csv`` format if it defines one, else through ``parse(stream)``.
"""

from __future__ import annotations

import csv
import importlib
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from .base import HEAD_BYTES, ImportFormatError, Record, detect_encoding

PARSERS: dict[str, str] = {
    "nmap": "findings.importers.nmap",
    "nessus": "findings.importers.nessus",
    "nessus_csv": "findings.importers.nessus",
    "openvas": "findings.importers.openvas",
    "openvas_csv": "findings.importers.openvas",
    "zap": "findings.importers.zap",
    "nuclei": "findings.importers.nuclei",
    "testssl": "findings.importers.testssl",
    "xlsx": "findings.importers.generic",
}

_ROOT = re.compile(r"<([!?]?)([A-Za-z_][\w:.-]*)")
_OPENVAS_MARKERS = (
    "<omp",
    "<gmp",
    "<get_reports_response",
    "<results",
    "<scan_run_status",
    "<nvt oid",
    "a994b278-1f62-11e1-96ac-406186ea4fc5",  # GVM/OpenVAS "XML" report format id
)
_ZAP_JSON = re.compile(r'"@programName"\s*:\s*"(?:OWASP )?ZAP"')
_NUCLEI_KEYS = ('"template-id"', '"templateID"', '"matched-at"')


def _decode(head: bytes) -> str:
    encoding = detect_encoding(head)
    return head.decode(encoding, errors="ignore").lstrip("\ufeff")


def _root_tag(text: str) -> str:
    for match in _ROOT.finditer(text):
        if not match.group(1):
            return match.group(2)
    return ""


def _csv_header(text: str) -> list[str]:
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        row = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    except csv.Error:
        return []
    return [cell.strip().strip('"').strip().lower() for cell in row]


def detect_format(head: bytes, filename: str = "") -> str:
    """Format name (a key of ``PARSERS``) or "empty"; raises ``ImportFormatError("unknown format")``."""
    head = head[:HEAD_BYTES]
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = _decode(head).lstrip()
    if not text:
        return "empty"
    if text.startswith("<"):
        root = _root_tag(text)
        if root == "nmaprun":
            return "nmap"
        if root == "NessusClientData_v2":
            return "nessus"
        if root == "OWASPZAPReport":
            return "zap"
        if root in ("report", "get_reports_response", "omp", "gmp") and any(m in text for m in _OPENVAS_MARKERS):
            return "openvas"
    elif text[0] in "{[":
        if _ZAP_JSON.search(text[:4096]) or ('"@version"' in text[:4096] and '"site"' in text):
            return "zap"
        if any(key in text for key in _NUCLEI_KEYS):
            return "nuclei"
    else:
        header = _csv_header(text)
        if header[:2] == ["id", "fqdn/ip"]:
            return "testssl"
        if ("plugin id" in header or "plugin" in header) and any(
            h in header for h in ("risk", "risk factor", "severity")
        ):
            return "nessus_csv"
        if "nvt name" in header or "nvt oid" in header:
            return "openvas_csv"
    where = filename or ""
    raise ImportFormatError("unknown format", where=where)


def load_parser(fmt: str):
    """The ``parse`` callable for ``fmt``; a clear ``ImportFormatError`` if its module is not written yet."""
    if fmt not in PARSERS:
        raise ImportFormatError(f"no importer for format {fmt!r}")
    try:
        module = importlib.import_module(PARSERS[fmt])
    except ModuleNotFoundError as exc:
        if exc.name and PARSERS[fmt].startswith(exc.name):
            raise ImportFormatError(f"importer for format {fmt!r} ({PARSERS[fmt]}) is not available") from None
        raise
    if fmt.endswith("_csv") and hasattr(module, "parse_csv"):
        return module.parse_csv
    return module.parse


def parse_any(stream: BinaryIO, filename: str = "") -> tuple[str, Iterator[Record]]:
    """Detect the format of ``stream`` (binary) from its head and return (format, record iterator)."""
    if stream.seekable():
        pos = stream.tell()
        head = stream.read(HEAD_BYTES)
        stream.seek(pos)
    else:  # importers peek and rewind: spool a pipe/socket (memory up to 16 MB, then a temporary file)
        spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        shutil.copyfileobj(stream, spool)
        spool.seek(0)
        head = spool.read(HEAD_BYTES)
        spool.seek(0)
        stream = spool
    fmt = detect_format(head, filename)
    if fmt == "empty":
        return fmt, iter(())
    return fmt, load_parser(fmt)(stream)
