"""OWASP ZAP importer: XML report (``OWASPZAPReport/site/alerts/alertitem``) and traditional JSON report.

One record per *instance* (URL + method + parameter) of an alert, not one per alert as DefectDojo does: our
fingerprint includes the URL and parameter, so each affected location can be fixed, closed and reopened separately.
An alert without instances (old reports) yields one record from the alert's own ``uri``/``param``.

* ``rule_id`` is ``zap:<pluginid>`` (CVEs found in the alert name/reference are listed in ``cve`` but ZAP's plugin id
  stays the identity); ``riskcode`` 0–3 → info/low/medium/high; ``desc``/``solution`` are HTML → plain text.
* XML is read with ``lxml.etree.iterparse`` (``safe_xml_parser_kwargs``) and each ``alertitem`` is cleared after use.
  A document that declares entities (internal DTD subset with ``<!ENTITY``: XXE, billion laughs) or references an
  external DTD is refused with ``ImportFormatError`` before any alert is read.
* JSON is parsed whole (it is one object), limited to ``JSON_LIMIT`` bytes (100 MB); use the XML report for larger.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import BinaryIO

import orjson
from lxml import etree

from .base import (
    EVIDENCE_LIMIT,
    ImportFormatError,
    Record,
    clip,
    free,
    refuse_entities,
    safe_xml_parser_kwargs,
    split_cves,
)

JSON_LIMIT = 100 * 1024 * 1024
RISK = {"0": "info", "1": "low", "2": "medium", "3": "high"}
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(?:p|br|li|ul|ol|div|h\d)\b[^>]*>", re.I)
_URL = re.compile(r"https?://[^\s<>\"']+")


def parse(stream: BinaryIO) -> Iterator[Record]:
    pos = stream.tell()
    head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    stream.seek(pos)
    if not head:
        return
    if head[:1] == b"{":
        yield from parse_json(stream)
    else:
        yield from parse_xml(stream)


# --- helpers shared by XML and JSON -------------------------------------------------------------------------------


def html_to_text(value: str | None) -> str:
    text = _BLOCK.sub("\n", value or "")
    text = html.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _record(alert: dict, instance: dict, site: dict, where: str) -> Record:
    plugin = str(alert.get("pluginid") or "").strip()
    if not plugin:
        raise ImportFormatError("alert without pluginid", where=where)
    riskcode = str(alert.get("riskcode") or "").strip()
    if riskcode not in RISK:
        raise ImportFormatError(f"riskcode {riskcode!r} is not 0–3", where=where)
    name = (alert.get("alert") or alert.get("name") or f"ZAP alert {plugin}").strip()
    cwe = _int(alert.get("cweid"), -1)
    reference_text = html_to_text(alert.get("reference"))
    cves = split_cves(f"{name} {reference_text}")

    parts = []
    confidence = (alert.get("confidencedesc") or "").strip()
    if confidence:
        parts.append(f"confidence: {confidence}")
    for key, label in (("method", "method"), ("attack", "attack"), ("evidence", "evidence")):
        value = (instance.get(key) or "").strip()
        if value:
            parts.append(f"{label}: {value}")
    other = (instance.get("otherinfo") or alert.get("otherinfo") or "").strip()
    if other:
        parts.append("other info: " + html_to_text(other))
    quarter = EVIDENCE_LIMIT // 4 - 100
    for key, label in (("requestheader", "request"), ("responseheader", "response")):
        value = "\n".join(line.strip() for line in (instance.get(key) or "").strip().splitlines())
        if value:
            parts.append(f"--- {label} ---\n" + clip(value, quarter))

    return Record(
        tool="zap",
        rule_id=f"zap:{plugin}",
        title=clip(name, 500),
        severity=RISK[riskcode],
        description=clip(html_to_text(alert.get("desc"))),
        solution=clip(html_to_text(alert.get("solution"))),
        host=site.get("host", ""),
        port=_int(site.get("port")),
        protocol="http",
        url=(instance.get("uri") or "").strip(),
        parameter=(instance.get("param") or "").strip(),
        cve=cves,
        cwe=[cwe] if cwe and cwe > 0 else [],
        references=_URL.findall(reference_text),
        evidence=clip("\n".join(parts)),
        raw_id=str(alert.get("alertRef") or plugin).strip(),
    )


def _site_info(attrs: dict) -> dict:
    host = attrs.get("host") or ""
    if not host:
        name = attrs.get("name") or ""
        host = name.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return {"host": host, "port": attrs.get("port") or ""}


# --- XML ----------------------------------------------------------------------------------------------------------


def parse_xml(stream: BinaryIO) -> Iterator[Record]:
    site: dict = {"host": "", "port": ""}
    checked = False
    context = etree.iterparse(stream, events=("start", "end"), **safe_xml_parser_kwargs())
    try:
        for event, elem in context:
            if not checked:
                refuse_entities(elem, external_dtd=True)
                if elem.tag != "OWASPZAPReport":
                    raise ImportFormatError(f"not a ZAP report (root <{elem.tag}>)", where=f"<{elem.tag}>")
                checked = True
            if event == "start":
                if elem.tag == "site":
                    site = _site_info(dict(elem.attrib))
                continue
            if elem.tag == "alertitem":
                where = f"<alertitem> line {elem.sourceline}"
                alert = {child.tag: child.text or "" for child in elem if child.tag != "instances"}
                instances = [
                    {child.tag: child.text or "" for child in inst} for inst in elem.iterfind("instances/instance")
                ]
                yield from (_record(alert, inst, site, where) for inst in (instances or [alert]))
                free(elem)
            elif elem.tag == "site":
                elem.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        raise ImportFormatError(f"malformed XML: {exc.msg}", where=f"line {line}") from None
    if not checked:  # a file with only whitespace / prolog
        return


# --- JSON (traditional-json report) -------------------------------------------------------------------------------


def parse_json(stream: BinaryIO) -> Iterator[Record]:
    data = stream.read(JSON_LIMIT + 1)
    if len(data) > JSON_LIMIT:
        raise ImportFormatError(f"ZAP JSON larger than {JSON_LIMIT // 1024 // 1024} MB; export XML", where="line 1")
    try:
        report = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFormatError(f"invalid JSON: {exc.msg}", where=f"line {exc.lineno}") from None
    if not isinstance(report, dict) or "site" not in report:
        raise ImportFormatError("not a ZAP JSON report (no 'site')", where="line 1")
    sites = report["site"]
    if isinstance(sites, dict):
        sites = [sites]
    for s_index, raw_site in enumerate(sites or []):
        if not isinstance(raw_site, dict):
            raise ImportFormatError("site is not an object", where=f"site[{s_index}]")
        site = _site_info({k.lstrip("@"): str(v) for k, v in raw_site.items() if k.startswith("@")})
        for a_index, alert in enumerate(raw_site.get("alerts") or []):
            where = f"site[{s_index}].alerts[{a_index}]"
            if not isinstance(alert, dict):
                raise ImportFormatError("alert is not an object", where=where)
            alert = {k: v if isinstance(v, str | list) else str(v) for k, v in alert.items()}
            instances = alert.get("instances") or []
            for instance in instances or [alert]:
                if not isinstance(instance, dict):
                    raise ImportFormatError("instance is not an object", where=where)
                yield _record(alert, {k: str(v) for k, v in instance.items()}, site, where)
