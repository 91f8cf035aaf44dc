"""Decide a scan file's format from its content (first ``HEAD_BYTES``), and dispatch to the right importer.

``detect_format(head, filename)`` looks only at content; ``filename`` is accepted for messages and never decides.
A zip (``PK``) is reported as ``"xlsx"``: which workbook template it is needs the whole file, so
``detect_workbook(stream)`` opens it (read-only, after a zip-bomb check) and reads the first sheet's header row:
``upstream_xlsx`` (上级通报: 问题, 整改期限 and 单位 columns) or ``generic_xlsx`` (标题 and 级别). A CSV whose header
has the generic template's 标题 and 级别 columns is ``generic_csv``.
``parse_any(stream)`` peeks, detects, rewinds and calls the importer module named in ``PARSERS`` (imported lazily).
A module that reads two formats (``nessus`` and ``nessus_csv``, ``generic_csv`` and ``generic_xlsx`` …) is called
through ``parse_<suffix>(stream)`` (``parse_csv``, ``parse_xlsx``) if it defines one, else through ``parse(stream)``.
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

from django.utils.translation import gettext_lazy as _

from .base import HEAD_BYTES, ImportFormatError, Record, detect_encoding
from .child import can_parse_in_child, records_in_child

PARSERS: dict[str, str] = {
    "nmap": "findings.importers.nmap",
    "nessus": "findings.importers.nessus",
    "nessus_csv": "findings.importers.nessus",
    "openvas": "findings.importers.openvas",
    "openvas_csv": "findings.importers.openvas",
    "zap": "findings.importers.zap",
    "nuclei": "findings.importers.nuclei",
    "testssl": "findings.importers.testssl",
    "generic_csv": "findings.importers.generic",
    "generic_xlsx": "findings.importers.generic",
    "upstream_xlsx": "findings.importers.upstream",
}
WORKBOOK = "xlsx"  # what ``detect_format`` says of a zip; ``detect_workbook`` tells which template it is

ACCEPTED_FORMATS = _(
    "nmap XML, Nessus (.nessus or CSV), OpenVAS/GVM XML or CSV, Nuclei JSON/JSONL, ZAP XML or JSON, testssl.sh CSV, "
    "the generic findings template (XLSX or CSV) and the 上级通报 template (XLSX)"
)
MSG_UNKNOWN = _("unknown format")
MSG_UNKNOWN_ACCEPTED = _("unknown format; accepted formats: %(formats)s")
MSG_OLD_EXCEL = _(
    "an Excel 97-2003 (.xls) file or a password-protected workbook; save it as .xlsx without a password and import "
    "it again"
)
MSG_NOT_TEMPLATE = _(
    "this workbook is neither the generic findings template (columns 标题 and 级别) nor the 上级通报 template "
    "(columns 单位, 问题 and 整改期限): no such header row in its first sheet; download a template from the upload page"
)
MSG_NO_IMPORTER = _("no importer for format %(format)s")
MSG_NOT_AVAILABLE = _("the importer for format %(format)s (%(module)s) is not available")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

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
    """Format name (a key of ``PARSERS``), ``"xlsx"`` (a workbook: ask ``detect_workbook``) or ``"empty"``.

    Raises ``ImportFormatError`` ("unknown format"; an old .xls or encrypted workbook is named as such).
    """
    head = head[:HEAD_BYTES]
    if head.startswith(b"PK\x03\x04"):
        return WORKBOOK
    if head.startswith(OLE_MAGIC):
        raise ImportFormatError(MSG_OLD_EXCEL, filename or "")
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
        if _is_generic_header(header):
            return "generic_csv"
    where = filename or ""
    raise ImportFormatError(MSG_UNKNOWN, where=where)


def _is_generic_header(header: list[str]) -> bool:
    from .generic import norm_header

    return _is_generic_names({norm_header(h) for h in header})


def _is_generic_names(names: set[str]) -> bool:
    from .generic import GENERIC_COLUMNS

    return all(names & c.names for c in GENERIC_COLUMNS if c.required)


def detect_workbook(stream: BinaryIO, filename: str = "") -> str:
    """``upstream_xlsx`` or ``generic_xlsx`` from the first sheet's header row (among its first 20 rows).

    The stream (seekable) is rewound. A zip bomb, a zip that is not a workbook and a workbook that is neither
    template raise ``ImportFormatError``.
    """
    from .generic import first_sheet_header
    from .upstream import looks_like_upstream

    found = first_sheet_header(stream, lambda names: looks_like_upstream(names) or _is_generic_names(names))
    if found is None:
        raise ImportFormatError(MSG_NOT_TEMPLATE, filename or "")
    _sheet, names = found
    return "upstream_xlsx" if looks_like_upstream(names) else "generic_xlsx"


def load_parser(fmt: str):
    """The ``parse`` callable for ``fmt``; a clear ``ImportFormatError`` if its module is not written yet."""
    if fmt not in PARSERS:
        raise ImportFormatError(MSG_NO_IMPORTER, format=fmt)
    try:
        module = importlib.import_module(PARSERS[fmt])
    except ModuleNotFoundError as exc:
        if exc.name and PARSERS[fmt].startswith(exc.name):
            raise ImportFormatError(MSG_NOT_AVAILABLE, format=fmt, module=PARSERS[fmt]) from None
        raise
    _name, underscore, kind = fmt.rpartition("_")
    if underscore and hasattr(module, f"parse_{kind}"):
        return getattr(module, f"parse_{kind}")
    return module.parse


def parse_any(stream: BinaryIO, filename: str = "", *, child: bool = False) -> tuple[str, Iterator[Record]]:
    """Detect the format of ``stream`` (binary) from its head and return (format, record iterator).

    ``child=True``: a large file of a streaming format is parsed by a child process (``child.py``) while the caller
    writes the records.
    """
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
    try:
        fmt = detect_format(head, filename)
    except ImportFormatError as exc:
        if exc.template is MSG_UNKNOWN:  # the user-facing path says what would have been accepted
            raise ImportFormatError(MSG_UNKNOWN_ACCEPTED, exc.location, formats=ACCEPTED_FORMATS) from None
        raise
    if fmt == "empty":
        return fmt, iter(())
    if fmt == WORKBOOK:
        fmt = detect_workbook(stream, filename)
    if child and can_parse_in_child(fmt, stream):
        return fmt, records_in_child(fmt, stream)
    return fmt, load_parser(fmt)(stream)
