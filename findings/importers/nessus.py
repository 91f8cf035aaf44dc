"""Nessus importer: ``.nessus`` XML (NessusClientData_v2) and Nessus / Tenable CSV exports.

Decisions (see also the tests, which pin them on DefectDojo's sample files):

* One record per ReportItem, i.e. per (plugin, host, port). Several CVEs on one plugin result stay on one record
  (``cve`` is a list); ``rule_id`` is always ``nessus:<pluginID>`` so the identity does not change when Tenable adds a
  CVE to a plugin. ``raw_id`` is the plugin ID.
* Severity 0 ("None"/"Info") items are kept as ``info`` records, not skipped: they carry the open-port and inventory
  facts (SYN scanner, OS identification) and the writer/UI can filter them. DefectDojo's ``nessus_many_vuln.xml``
  gives 6 findings; we give 7 because DefectDojo merges the two "Nessus SYN scanner" results (ports 443 and 264) into
  one finding with two endpoints while we keep the port in the record (it is part of the fingerprint).
* CSV: Nessus exports one row per (plugin, host, port, CVE); consecutive rows of the same plugin result are merged back
  into one record with a CVE list. Rows whose cells are all empty (Tenable.sc pads its exports with them) are ignored,
  so ``nessus_many_vuln.csv`` (533 rows, 4 non-empty) gives 4 records, as in DefectDojo.
  Both the Nessus Professional columns (``Plugin ID``, ``Risk``, ``Host`` …) and the Tenable.sc / Tenable.io columns
  (``Plugin``, ``Severity``, ``IP Address``, ``Plugin Text`` …) are understood; the delimiter (``,`` ``;`` tab) is
  sniffed from the header line and the encoding is UTF-8, UTF-8 with BOM or GBK (read as its superset GB18030).

The streaming, encoding, entity-refusal and CSV helpers (``iter_xml``, ``free``, ``iter_csv_rows``, ``pick`` …) are
shared with the other importers and live in ``base.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from .base import (
    CsvRow,
    ImportFormatError,
    Record,
    at_element,
    at_line,
    clip,
    free,
    is_ip,
    iter_csv_rows,
    iter_xml,
    peek,
    pick,
    pick_column,
    severity_from_cvss,
    split_cves,
    to_float,
    to_port,
)

TOOL = "nessus"
CWE_RE = re.compile(r"CWE\s*[#:-]?\s*(\d+)", re.IGNORECASE)
DIGITS_RE = re.compile(r"\d+")


# --------------------------------------------------------------------------------------------------------------
# Nessus

SEVERITY_BY_NUMBER = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}
SEVERITY_BY_WORD = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "none": "info",
    "info": "info",
    "informational": "info",
}


def parse(stream) -> Iterator[Record]:
    """Parse a Nessus file, XML or CSV (decided from the first non-blank byte)."""
    head, buffered = peek(stream)
    if not head.strip():
        return iter(())
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return parse_xml(buffered)
    return parse_csv(buffered)


def parse_xml(stream) -> Iterator[Record]:
    host = ip = ""
    for _event, elem in iter_xml(
        stream, ("Policy", "HostProperties", "ReportItem", "ReportHost"), "NessusClientData_v2", "Nessus"
    ):
        tag = elem.tag
        if tag == "ReportItem":
            yield _xml_item(elem, host, ip)
        elif tag == "HostProperties":
            props = {t.get("name"): (t.text or "").strip() for t in elem.iter("tag")}
            name = elem.getparent().get("name", "").strip()
            ip = props.get("host-ip") or (name if is_ip(name) else "")
            host = props.get("host-fqdn") or props.get("hostname") or ("" if is_ip(name) else name)
        elif tag == "ReportHost":
            host = ip = ""
        free(elem)


def _xml_item(item, host: str, ip: str) -> Record:
    try:
        return _xml_record(item, host, ip)
    except ImportFormatError as exc:
        if not exc.location:  # located here rather than for every item (a 100 MB report has 50,000 of them)
            exc.location = at_element("ReportItem", item.sourceline)
        raise


def _xml_record(item, host: str, ip: str) -> Record:
    plugin_id = (item.get("pluginID") or "").strip()
    if not plugin_id:
        raise ImportFormatError(_("the pluginID attribute (the Nessus plugin number) is missing or empty"))
    # The last text of each child element by tag (a comment's tag is not a string and is never asked for); the
    # elements that may repeat are read again below, only when present.
    fields: dict = {child.tag: child.text or "" for child in item}
    cves: list[str] = []
    cwes: list[int] = []
    refs: list[str] = []
    if "cve" in fields:
        for child in item.iterchildren("cve"):
            cves.extend(split_cves(child.text))
    if "cwe" in fields:
        for child in item.iterchildren("cwe"):
            cwes.extend(int(n) for n in DIGITS_RE.findall(child.text or ""))
    if "xref" in fields:
        for child in item.iterchildren("xref"):
            cwes.extend(int(n) for n in CWE_RE.findall(child.text or ""))
    if "see_also" in fields:
        for child in item.iterchildren("see_also"):
            refs.extend(line.strip() for line in (child.text or "").splitlines() if line.strip())
    cvss3 = to_float(fields.get("cvss3_base_score"), "", "<cvss3_base_score>")
    cvss2 = to_float(fields.get("cvss_base_score"), "", "<cvss_base_score>")
    score = cvss3 if cvss3 is not None else cvss2
    severity = SEVERITY_BY_NUMBER.get((item.get("severity") or "").strip())
    if severity is None:
        severity = SEVERITY_BY_WORD.get(fields.get("risk_factor", "").strip().lower()) or severity_from_cvss(score)
    synopsis = fields.get("synopsis", "").strip()
    description = fields.get("description", "").strip()
    solution = fields.get("solution", "")
    return Record(
        tool=TOOL,
        rule_id=f"nessus:{plugin_id}",
        title=clip(item.get("pluginName") or fields.get("plugin_name") or f"Nessus plugin {plugin_id}", 500),
        severity=severity,
        description=clip(f"{synopsis}\n\n{description}" if synopsis and description else synopsis or description),
        solution="" if solution.strip() == "n/a" else clip(solution),
        host=host,
        ip=ip,
        port=to_port(item.get("port")),
        protocol=(item.get("protocol") or "").strip().lower(),
        cve=list(dict.fromkeys(cves)) if len(cves) > 1 else cves,
        cwe=list(dict.fromkeys(cwes)) if len(cwes) > 1 else cwes,
        cvss_score=score,
        cvss_vector=(fields.get("cvss3_vector") if cvss3 is not None else fields.get("cvss_vector")) or "",
        evidence=clip(fields.get("plugin_output")),
        references=refs,
        raw_id=plugin_id,
    )


# CSV column aliases, lower-cased: Nessus Professional first, then Tenable.sc / Tenable.io.
COL_PLUGIN = ("plugin id", "plugin", "plugin_id", "pluginid")
COL_NAME = ("name", "plugin name")
COL_RISK = ("risk", "risk factor", "severity")
COL_HOST = ("host", "dns name", "fqdn", "netbios name")
COL_IP = ("ip address", "ip", "host ip")
COL_PROTOCOL = ("protocol",)
COL_PORT = ("port",)
COL_CVE = ("cve", "cves")
COL_CVSS3 = ("cvss v3.0 base score", "cvss v3 base score", "cvssv3", "cvss3 base score", "cvss v3.1 base score")
COL_CVSS2 = ("cvss v2.0 base score", "cvss v2 base score", "cvss", "cvss base score")
COL_VECTOR3 = ("cvss v3 vector", "cvss v3.0 vector", "cvss3 vector")
COL_VECTOR2 = ("cvss v2 vector", "cvss v2.0 vector", "cvss vector")
COL_OUTPUT = ("plugin output", "plugin text")


def parse_csv(stream) -> Iterator[Record]:
    pending: Record | None = None
    pending_key = None
    checked = False
    for _line, row in iter_csv_rows(stream, "Nessus"):
        if not checked:
            if not any(c in row for c in COL_PLUGIN):
                raise ImportFormatError(
                    _("not a Nessus CSV: the header row has no “Plugin ID” (or “Plugin”) column"),
                    at_line(row.header_line),
                )
            checked = True
        record = _csv_record(row)
        key = (record.rule_id, record.host, record.ip, record.protocol, record.port)
        if pending is not None and key == pending_key:
            pending.cve.extend(c for c in record.cve if c not in pending.cve)
            continue
        if pending is not None:
            yield pending
        pending, pending_key = record, key
    if pending is not None:
        yield pending


def _csv_number(row: CsvRow, names: tuple[str, ...]) -> float | None:
    column, value = pick_column(row, *names)
    return to_float(value, row.where, column)


def _csv_record(row: CsvRow) -> Record:
    where = row.where
    plugin_id = pick(row, *COL_PLUGIN)
    if not plugin_id:
        raise ImportFormatError(
            _("the “%(column)s” cell is empty; every row needs the Nessus plugin number"),
            where,
            column=row.column(next(c for c in COL_PLUGIN if c in row)),
        )
    cvss3 = _csv_number(row, COL_CVSS3)
    cvss2 = _csv_number(row, COL_CVSS2)
    score = cvss3 if cvss3 is not None else cvss2
    risk = pick(row, "risk", "risk factor").lower() or pick(row, "severity").lower()
    severity = SEVERITY_BY_WORD.get(risk) or SEVERITY_BY_NUMBER.get(risk) or severity_from_cvss(score)
    host_value = pick(row, *COL_HOST)
    ip = pick(row, *COL_IP)
    if not ip and is_ip(host_value):
        ip, host_value = host_value, ""
    synopsis = pick(row, "synopsis")
    description = pick(row, "description")
    output = pick(row, *COL_OUTPUT)
    if output.startswith("Plugin Output:"):
        output = output[len("Plugin Output:") :]
    solution = pick(row, "solution")
    refs = [r.strip() for r in pick(row, "see also").splitlines() if r.strip()]
    return Record(
        tool=TOOL,
        rule_id=f"nessus:{plugin_id}",
        title=clip(pick(row, *COL_NAME) or f"Nessus plugin {plugin_id}", 500),
        severity=severity,
        description=clip("\n\n".join(p for p in (synopsis, description) if p)),
        solution=clip("" if solution == "n/a" else solution),
        host=host_value,
        ip=ip,
        port=to_port(pick(row, *COL_PORT), where),
        protocol=pick(row, *COL_PROTOCOL).lower(),
        cve=split_cves(pick(row, *COL_CVE)),
        cwe=list(dict.fromkeys(int(n) for n in CWE_RE.findall(pick(row, "cross references", "cwe")))),
        cvss_score=score,
        cvss_vector=(pick(row, *COL_VECTOR3) if cvss3 is not None else pick(row, *COL_VECTOR2)),
        evidence=clip(output),
        references=refs,
        raw_id=plugin_id,
    )
