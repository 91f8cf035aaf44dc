"""testssl.sh CSV importer (``--csvfile``: "id","fqdn/ip","port","severity","finding","cve","cwe").

testssl.sh writes one row per *check*, most of them passed checks. Only rows with severity LOW, MEDIUM, HIGH or
CRITICAL become records; OK, INFO and DEBUG rows are results, not problems, and WARN rows are testssl's own warnings
about the scan (e.g. "Can't connect"), so all of these are skipped (``include_info=True`` keeps INFO rows as ``info``
records). DefectDojo's two samples (``demo.csv``, ``defectdojo_no_vuln.csv``) therefore yield 0 records.

* ``rule_id`` is the first CVE of the ``cve`` column (space separated) if any, else ``testssl:<id>``.
* ``fqdn/ip`` "demo.example.org/104.131.110.75" → host + ip ("/" is split at the last slash; an IP alone goes to ip).
* Encoding is detected from the first 64 KB: UTF-8 with BOM, UTF-8, else GB18030 (a superset of GBK); an ASCII start
  followed by GBK text is read as GBK too (``base.read_csv``). Any stream works, seekable or not.
* Blank rows are skipped (also before the header); an empty or header-only file yields nothing.
* A row with too few columns, an unknown severity or a bad port raises ``ImportFormatError`` naming the line
  (``at_line``, or row and line when an earlier cell spans lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from django.utils.translation import gettext_lazy as _

from .base import ImportFormatError, Record, at_line, at_record, clip, is_ip, read_csv, split_cves, to_port

SEVERITY = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high", "CRITICAL": "critical"}
SKIPPED = {"OK", "INFO", "DEBUG", "WARN", "FATAL"}
COLUMNS = ("id", "fqdn/ip", "port", "severity", "finding", "cve", "cwe")
_CWE = re.compile(r"CWE-(\d+)", re.I)


def _split_target(value: str) -> tuple[str, str]:
    host, _sep, ip = value.strip().rpartition("/")
    if not host:
        host, ip = ip, ""
    if not ip:
        return ("", host) if is_ip(host) else (host, "")
    return ("" if host == ip else host), ip


def parse(stream: BinaryIO, include_info: bool = False) -> Iterator[Record]:
    header_seen = False
    for number, line, row in read_csv(stream, "testssl.sh"):
        if not row or all(not cell.strip() for cell in row):
            continue
        if not header_seen:
            names = tuple(h.strip().lstrip("\ufeff").strip().lower() for h in row)
            if names[:7] != COLUMNS:
                raise ImportFormatError(
                    _("not a testssl.sh CSV: the header row must start with %(expected)s, found %(found)s"),
                    at_line(line),
                    expected=", ".join(COLUMNS),
                    found=clip(", ".join(names), 200),
                )
            header_seen = True
            continue
        where = at_record(number, line)
        if len(row) < len(COLUMNS):
            raise ImportFormatError(
                _("the row has %(found)s columns, expected %(expected)s (%(columns)s)"),
                where,
                found=len(row),
                expected=len(COLUMNS),
                columns=", ".join(COLUMNS),
            )
        check_id, target, port, severity, finding, cve, cwe = (cell.strip() for cell in row[:7])
        level = severity.upper()
        if level in SEVERITY:
            sev = SEVERITY[level]
        elif level == "INFO" and include_info:
            sev = "info"
        elif level in SKIPPED:
            continue
        else:
            raise ImportFormatError(
                _("unknown testssl.sh severity “%(severity)s” (expected %(expected)s)"),
                where,
                severity=clip(severity, 40),
                expected=", ".join(["OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN", "DEBUG", "FATAL"]),
            )
        cves = split_cves(cve)
        host, ip = _split_target(target)
        yield Record(
            tool="testssl",
            rule_id=cves[0] if cves else f"testssl:{check_id}",
            title=clip(f"{check_id}: {finding}" if finding else check_id, 500),
            severity=sev,
            description=clip(finding),
            host=host,
            ip=ip,
            port=to_port(port, where),
            protocol="tcp",
            cve=cves,
            cwe=list(dict.fromkeys(int(c) for c in _CWE.findall(cwe))),
            evidence=clip(finding),
            raw_id=check_id,
        )
