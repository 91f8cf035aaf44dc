"""Nuclei JSON / JSONL importer (old ``templateID``/``matched`` schema and v3 ``template-id``/``matched-at``).

* JSONL (``-jsonl``, the default and the streaming case): one ``orjson.loads`` per line, one record per line; blank
  lines are skipped; a line that is not a JSON object with a template id raises ``ImportFormatError`` at
  ``at_line(N)``.
* JSON array (``-json-export``, e.g. DefectDojo's ``multiple_v3.json``): the array is parsed whole, so it is limited
  to ``ARRAY_LIMIT`` bytes (50 MB); a larger array is refused with a message asking for JSONL. JSONL has no limit.
* ``rule_id`` is the first CVE of ``info.classification.cve-id`` if any, else ``nuclei:<template-id>``. CWE ids such as
  ``cwe-79`` become ``79``; non-numeric ones (``nvd-cve-other``) are ignored. ``request``/``response`` are clipped.
* ``raw_id`` is ``<template-id>:<matcher-name>`` when the result names its matcher (``tech-detect:nginx``): several
  lines of one template at one URL differ only by matcher, and the writer may want that in its fingerprint.
* The first non-blank byte decides array vs lines; blank lines and a BOM before it are skipped (any amount, and the
  line numbers still count them). Any stream works, seekable or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

import orjson
from django.utils.translation import gettext_lazy as _

from .base import (
    EVIDENCE_LIMIT,
    SEVERITIES,
    ImportFormatError,
    Location,
    Record,
    at_line,
    clip,
    peek,
    severity_from_cvss,
    split_cves,
)

ARRAY_LIMIT = 50 * 1024 * 1024
_CWE = re.compile(r"^\s*(?:cwe-)?(\d+)\s*$", re.I)
_URL = re.compile(r"https?://\S+")
_PROTOCOLS = {"http": "http", "dns": "dns", "network": "tcp", "tcp": "tcp", "ssl": "tcp", "javascript": "tcp"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse(stream: BinaryIO) -> Iterator[Record]:
    _head, buffered = peek(stream)
    first, skipped = _skip_blank(buffered)
    if first is None:
        return
    if first == b"[":
        yield from _parse_array(buffered, skipped)
    else:
        yield from _parse_lines(buffered, skipped)


def _skip_blank(buffered) -> tuple[bytes | None, int]:
    """Consume the BOM and the blank bytes before the first value; return its first byte and the lines consumed."""
    lines = 0
    start = True
    while True:
        data = buffered.peek(1)[: 1 << 16]
        if not data:
            return None, lines
        if start and data.startswith(b"\xef\xbb\xbf"):
            buffered.read(3)
            start = False
            continue
        start = False
        rest = data.lstrip(b" \t\r\n")
        blank = data[: len(data) - len(rest)]
        buffered.read(len(blank))
        lines += blank.count(b"\n")
        if rest:
            return rest[:1], lines


def _json_error(exc: orjson.JSONDecodeError, line: int) -> ImportFormatError:
    return ImportFormatError(
        _("not valid JSON: %(detail)s (column %(column)s)"), at_line(line), detail=exc.msg, column=exc.colno
    )


def _parse_lines(stream, skipped: int) -> Iterator[Record]:
    for number, line in enumerate(stream, start=skipped + 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _json_error(exc, number) from None
        yield _record(item, at_line(number))


def _parse_array(stream, skipped: int) -> Iterator[Record]:
    data = stream.read(ARRAY_LIMIT + 1)
    if len(data) > ARRAY_LIMIT:
        raise ImportFormatError(
            _(
                "the Nuclei JSON array is larger than %(limit)s MB; export the results as JSON Lines instead "
                "(nuclei -jsonl -o results.jsonl), which has no size limit"
            ),
            at_line(skipped + 1),
            limit=ARRAY_LIMIT // 1024 // 1024,
        )
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _json_error(exc, skipped + exc.lineno) from None
    for index, item in enumerate(items):
        yield _record(item, Location(_("result %(number)s of the JSON array"), number=index + 1))


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def _record(item, where: Location) -> Record:
    if not isinstance(item, dict):
        raise ImportFormatError(_("not a Nuclei result: expected a JSON object {…}"), where)
    template_id = item.get("template-id") or item.get("templateID")
    if not template_id or not isinstance(template_id, str):
        raise ImportFormatError(_("not a Nuclei result: the “template-id” (or “templateID”) field is missing"), where)
    info = item.get("info") or {}
    if not isinstance(info, dict):
        raise ImportFormatError(_("the “info” field of the Nuclei result is not a JSON object"), where)
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
        # clipped on its own, so that huge extracted results cannot push the request and response out
        evidence.append("extracted: " + clip(", ".join(str(x) for x in extracted), EVIDENCE_LIMIT // 8))
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
