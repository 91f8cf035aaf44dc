"""OWASP ZAP importer: XML report (``OWASPZAPReport/site/alerts/alertitem``) and traditional JSON report.

One record per *instance* (URL + method + parameter) of an alert, not one per alert as DefectDojo does: our
fingerprint includes the URL and parameter, so each affected location can be fixed, closed and reopened separately.
An alert without instances (old reports) yields one record from the alert's own ``uri``/``param``.

* ``rule_id`` is ``zap:<pluginid>`` (CVEs found in the alert name/reference are listed in ``cve`` but ZAP's plugin id
  stays the identity); ``riskcode`` 0–3 → info/low/medium/high; ``desc``/``solution`` are HTML → plain text.
* XML is streamed with ``base.iter_xml`` (safe parser settings, entity refusal, root check) and each ``alertitem``
  is freed after use. A document that declares entities (internal DTD subset with ``<!ENTITY``: XXE, billion laughs)
  or references an external DTD is refused with ``ImportFormatError`` before any alert is read.
* JSON is parsed whole (it is one object), limited to ``JSON_LIMIT`` bytes (100 MB); use the XML report for larger.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import BinaryIO

import orjson
from django.utils.translation import gettext_lazy as _

from .base import (
    EVIDENCE_LIMIT,
    ImportFormatError,
    Location,
    Record,
    at_element,
    at_line,
    clip,
    free,
    iter_xml,
    peek,
    split_cves,
)

JSON_LIMIT = 100 * 1024 * 1024
RISK = {"0": "info", "1": "low", "2": "medium", "3": "high"}
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(?:p|br|li|ul|ol|div|h\d)\b[^>]*>", re.I)
_URL = re.compile(r"https?://[^\s<>\"']+")


def parse(stream: BinaryIO) -> Iterator[Record]:
    head, buffered = peek(stream)
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return
    if head[:1] == b"{":
        yield from parse_json(buffered)
    else:
        yield from parse_xml(buffered)


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


def _record(alert: dict, instance: dict, site: dict, where: Location | str) -> Record:
    plugin = str(alert.get("pluginid") or "").strip()
    if not plugin:
        raise ImportFormatError(_("the alert has no “pluginid” (the ZAP rule number)"), where)
    riskcode = str(alert.get("riskcode") or "").strip()
    if riskcode not in RISK:
        raise ImportFormatError(
            _("the alert's “riskcode” is “%(riskcode)s”, expected 0 (informational), 1 (low), 2 (medium) or 3 (high)"),
            where,
            riskcode=clip(riskcode, 40),
        )
    name = (alert.get("alert") or alert.get("name") or f"ZAP alert {plugin}").strip()
    cwe = _int(alert.get("cweid"), -1)
    reference_text = html_to_text(alert.get("reference"))
    cves = split_cves(f"{name} {reference_text}")

    # Each part is clipped on its own so that a huge attack / evidence / other info cannot push the request and
    # response out of the clipped whole.
    small = EVIDENCE_LIMIT // 8
    parts = []
    confidence = (alert.get("confidencedesc") or "").strip()
    if confidence:
        parts.append(f"confidence: {confidence}")
    for key, label in (("method", "method"), ("attack", "attack"), ("evidence", "evidence")):
        value = (instance.get(key) or "").strip()
        if value:
            parts.append(f"{label}: {clip(value, small)}")
    other = (instance.get("otherinfo") or alert.get("otherinfo") or "").strip()
    if other:
        parts.append("other info: " + clip(html_to_text(other), small))
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
    for event, elem in iter_xml(
        stream, ("site", "alertitem"), "OWASPZAPReport", "ZAP XML", events=("start", "end"), external_dtd=True
    ):
        if event == "start":
            if elem.tag == "site":
                site = _site_info(dict(elem.attrib))
            continue
        if elem.tag == "alertitem":
            where = at_element("alertitem", elem.sourceline)
            alert = {child.tag: child.text or "" for child in elem if child.tag != "instances"}
            instances = [
                {child.tag: child.text or "" for child in inst} for inst in elem.iterfind("instances/instance")
            ]
            yield from (_record(alert, inst, site, where) for inst in (instances or [alert]))
            free(elem)
        elif elem.tag == "site":
            elem.clear(keep_tail=False)


# --- JSON (traditional-json report) -------------------------------------------------------------------------------


def parse_json(stream: BinaryIO) -> Iterator[Record]:
    data = stream.read(JSON_LIMIT + 1)
    if len(data) > JSON_LIMIT:
        raise ImportFormatError(
            _(
                "the ZAP JSON report is larger than %(limit)s MB; export the XML report instead, which has no size "
                "limit"
            ),
            at_line(1),
            limit=JSON_LIMIT // 1024 // 1024,
        )
    try:
        report = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFormatError(
            _("not valid JSON: %(detail)s (column %(column)s)"), at_line(exc.lineno), detail=exc.msg, column=exc.colno
        ) from None
    if not isinstance(report, dict) or "site" not in report:
        raise ImportFormatError(_("not a ZAP JSON report: there is no “site” field"), at_line(1))
    sites = report["site"]
    if isinstance(sites, dict):
        sites = [sites]
    for s_index, raw_site in enumerate(sites or []):
        if not isinstance(raw_site, dict):
            raise ImportFormatError(_("the site is not a JSON object"), f"site[{s_index}]")
        site = _site_info({k.lstrip("@"): str(v) for k, v in raw_site.items() if k.startswith("@")})
        for a_index, alert in enumerate(raw_site.get("alerts") or []):
            where = f"site[{s_index}].alerts[{a_index}]"
            if not isinstance(alert, dict):
                raise ImportFormatError(_("the alert is not a JSON object"), where)
            alert = {k: v if isinstance(v, str | list) else str(v) for k, v in alert.items()}
            instances = alert.get("instances") or []
            for i_index, instance in enumerate(instances or [alert]):
                if not isinstance(instance, dict):
                    raise ImportFormatError(
                        _("the alert instance is not a JSON object"), f"{where}.instances[{i_index}]"
                    )
                yield _record(alert, {k: str(v) for k, v in instance.items()}, site, where)
