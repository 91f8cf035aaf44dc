"""testssl.sh CSV importer (``--csvfile``: "id","fqdn/ip","port","severity","finding","cve","cwe").

testssl.sh writes one row per *check*, most of them passed checks. Only rows with severity LOW, MEDIUM, HIGH or
CRITICAL become records; OK, INFO and DEBUG rows are results, not problems, and WARN rows are testssl's own warnings
about the scan (e.g. "Can't connect"), so all of these are skipped (``include_info=True`` keeps INFO rows as ``info``
records). DefectDojo's two samples (``demo.csv``, ``defectdojo_no_vuln.csv``) therefore yield 0 records.

* ``rule_id`` is the first CVE of the ``cve`` column (space separated) if any, else ``testssl:<id>``.
* ``fqdn/ip`` "demo.example.org/104.131.110.75" → host + ip ("/" is split at the last slash; an IP alone goes to ip).
* Encoding is detected from the first 64 KB: UTF-8 with BOM, UTF-8, else GB18030 (a superset of GBK).
* A row with the wrong number of columns or an unknown severity raises ``ImportFormatError(where="line N")``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import BinaryIO

from .base import ImportFormatError, Record, clip, is_ip, open_text, split_cves

SEVERITY = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high", "CRITICAL": "critical"}
SKIPPED = {"OK", "INFO", "DEBUG", "WARN", "FATAL"}
COLUMNS = ("id", "fqdn/ip", "port", "severity", "finding", "cve", "cwe")
_CWE = re.compile(r"CWE-(\d+)", re.I)


def _split_target(value: str) -> tuple[str, str]:
    host, _, ip = value.strip().rpartition("/")
    if not host:
        host, ip = ip, ""
    if not ip:
        return ("", host) if is_ip(host) else (host, "")
    return ("" if host == ip else host), ip


def parse(stream: BinaryIO, include_info: bool = False) -> Iterator[Record]:
    text = open_text(stream)
    try:
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFormatError(f"unreadable CSV: {exc}", where="line 1") from None
        if header is None:
            return
        names = [h.strip().lower() for h in header]
        if tuple(names[:7]) != COLUMNS:
            raise ImportFormatError(f"not a testssl.sh CSV header: {header!r}", where="line 1")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise ImportFormatError(f"unreadable CSV: {exc}", where=f"line {reader.line_num}") from None
            where = f"line {reader.line_num}"
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 7:
                raise ImportFormatError(f"expected 7 columns, got {len(row)}", where=where)
            check_id, target, port, severity, finding, cve, cwe = (cell.strip() for cell in row[:7])
            level = severity.upper()
            if level in SEVERITY:
                sev = SEVERITY[level]
            elif level == "INFO" and include_info:
                sev = "info"
            elif level in SKIPPED:
                continue
            else:
                raise ImportFormatError(f"unknown testssl.sh severity {severity!r}", where=where)
            cves = split_cves(cve)
            host, ip = _split_target(target)
            try:
                port_number = int(port) if port else None
            except ValueError:
                raise ImportFormatError(f"port {port!r} is not a number", where=where) from None
            yield Record(
                tool="testssl",
                rule_id=cves[0] if cves else f"testssl:{check_id}",
                title=clip(f"{check_id}: {finding}" if finding else check_id, 500),
                severity=sev,
                description=clip(finding),
                host=host,
                ip=ip,
                port=port_number,
                protocol="tcp",
                cve=cves,
                cwe=list(dict.fromkeys(int(c) for c in _CWE.findall(cwe))),
                evidence=clip(finding),
                raw_id=check_id,
            )
    finally:
        text.detach()
