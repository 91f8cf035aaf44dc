"""Nuclei JSON / JSONL importer (old ``templateID``/``matched`` schema and v3 ``template-id``/``matched-at``).

* JSONL (``-jsonl``, the default and the streaming case): one ``orjson.loads`` per line, one record per line; blank
  lines are skipped; a line that is not a JSON object with a template id raises ``ImportFormatError(where="line N")``.
* JSON array (``-json-export``, e.g. DefectDojo's ``multiple_v3.json``): the array is parsed whole, so it is limited
  to ``ARRAY_LIMIT`` bytes (50 MB); a larger array is refused with a message asking for JSONL. JSONL has no limit.
* ``rule_id`` is the first CVE of ``info.classification.cve-id`` if any, else ``nuclei:<template-id>``. CWE ids such as
  ``cwe-79`` become ``79``; non-numeric ones (``nvd-cve-other``) are ignored. ``request``/``response`` are clipped.
* ``raw_id`` is ``<template-id>:<matcher-name>`` when the result names its matcher (``tech-detect:nginx``): several
  lines of one template at one URL differ only by matcher, and the writer may want that in its fingerprint.
* The stream must be seekable (or an ``io.BufferedReader`` that can peek): the first byte decides array vs lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

import orjson

from .base import EVIDENCE_LIMIT, SEVERITIES, ImportFormatError, Record, clip, severity_from_cvss, split_cves

ARRAY_LIMIT = 50 * 1024 * 1024
_CWE = re.compile(r"^\s*(?:cwe-)?(\d+)\s*$", re.I)
_URL = re.compile(r"https?://\S+")
_PROTOCOLS = {"http": "http", "dns": "dns", "network": "tcp", "tcp": "tcp", "ssl": "tcp", "javascript": "tcp"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse(stream: BinaryIO) -> Iterator[Record]:
    first = _first_byte(stream)
    if first is None:
        return
    if first == b"[":
        yield from _parse_array(stream)
    else:
        yield from _parse_lines(stream)


def _first_byte(stream: BinaryIO) -> bytes | None:
    """Peek at the first non-blank byte and rewind (the stream must be seekable or peekable)."""
    head = stream.peek(64) if hasattr(stream, "peek") and not stream.seekable() else None
    if head is None:
        pos = stream.tell()
        head = stream.read(4096)
        stream.seek(pos)
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] or None


def _parse_lines(stream: BinaryIO) -> Iterator[Record]:
    for number, line in enumerate(stream, start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ImportFormatError(f"invalid JSON: {exc}", where=f"line {number}") from None
        yield _record(item, f"line {number}")


def _parse_array(stream: BinaryIO) -> Iterator[Record]:
    data = stream.read(ARRAY_LIMIT + 1)
    if len(data) > ARRAY_LIMIT:
        raise ImportFormatError(
            f"Nuclei JSON array larger than {ARRAY_LIMIT // 1024 // 1024} MB; export JSONL (nuclei -jsonl) instead",
            where="line 1",
        )
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFormatError(f"invalid JSON: {exc.msg}", where=f"line {exc.lineno}") from None
    for index, item in enumerate(items):
        yield _record(item, f"item {index + 1}")


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def _record(item, where: str) -> Record:
    if not isinstance(item, dict):
        raise ImportFormatError("expected a JSON object (one Nuclei result)", where=where)
    template_id = item.get("template-id") or item.get("templateID")
    if not template_id or not isinstance(template_id, str):
        raise ImportFormatError("not a Nuclei result: no template-id/templateID", where=where)
    info = item.get("info") or {}
    if not isinstance(info, dict):
        raise ImportFormatError("'info' is not an object", where=where)
    classification = info.get("classification") or {}
    if not isinstance(classification, dict):
        classification = {}

    cves = split_cves(" ".join(str(value) for value in _as_list(classification.get("cve-id"))))
    cwes: list[int] = []
    for value in _as_list(classification.get("cwe-id")):
        m = _CWE.match(str(value))
        if m and int(m.group(1)) not in cwes:
            cwes.append(int(m.group(1)))
    cvss_score = None
    try:
        if classification.get("cvss-score") not in (None, ""):
            cvss_score = float(classification["cvss-score"])
    except (TypeError, ValueError):
        cvss_score = None

    severity = str(info.get("severity") or "").lower()
    if severity not in SEVERITIES:  # "unknown", missing
        severity = severity_from_cvss(cvss_score)

    matched = str(item.get("matched-at") or item.get("matched") or "")
    host_field = str(item.get("host") or "")
    host, port, url = _location(matched, host_field)
    if item.get("port") not in (None, ""):
        try:
            port = int(item["port"])
        except (TypeError, ValueError):
            pass

    references = info.get("reference")
    if isinstance(references, str):  # old schema: "- http://a\n- http://b\n"
        references = _URL.findall(references)
    references = [str(r) for r in _as_list(references) if r]

    evidence = []
    matcher = item.get("matcher-name") or item.get("matcher_name") or ""
    if matcher:
        evidence.append(f"matcher: {matcher}")
    extracted = _as_list(item.get("extracted-results") or item.get("extracted_results"))
    if extracted:
        evidence.append("extracted: " + ", ".join(str(x) for x in extracted))
    if matched:
        evidence.append(f"matched at: {matched}")
    part = EVIDENCE_LIMIT // 2 - 200
    if item.get("request"):
        evidence.append("--- request ---\n" + clip(str(item["request"]), part))
    if item.get("response"):
        evidence.append("--- response ---\n" + clip(str(item["response"]), part))

    return Record(
        tool="nuclei",
        rule_id=cves[0] if cves else f"nuclei:{template_id}",
        title=clip(str(info.get("name") or template_id), 500),
        severity=severity,
        description=clip(str(info.get("description") or "")),
        solution=clip(str(info.get("remediation") or "")),
        host=host,
        ip=str(item.get("ip") or ""),
        port=port,
        protocol=_PROTOCOLS.get(str(item.get("type") or ""), str(item.get("type") or "")),
        url=url,
        parameter="",
        cve=cves,
        cwe=cwes,
        cvss_score=cvss_score,
        cvss_vector=str(classification.get("cvss-metrics") or ""),
        evidence=clip("\n".join(evidence)),
        references=references,
        raw_id=f"{template_id}:{matcher}" if matcher else str(template_id),
    )


def _location(matched: str, host_field: str) -> tuple[str, int | None, str]:
    """(host name, port, url) from ``matched-at`` (URL or host:port) with ``host`` as fallback."""
    url = matched if matched.startswith(("http://", "https://")) else ""
    for candidate in (matched, host_field):
        if not candidate:
            continue
        parts = urlsplit(candidate if "://" in candidate else f"//{candidate}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is None:
            port = _DEFAULT_PORTS.get(parts.scheme)
        if parts.hostname:
            return parts.hostname, port, url
    return "", None, url
