"""OpenVAS / Greenbone (GVM) importer: report XML (``<report>`` … ``<results><result>``) and the GVM CSV export.

* One record per result (NVT × host × port). Several CVEs of one NVT stay on one record (``cve`` list).
  ``rule_id`` = ``openvas:<NVT OID>`` (the NVT is the stable identity), ``raw_id`` = the result id.
* Severity comes from the result's CVSS score with the CVSS v3 bands (``severity_from_cvss``): GVM's own "High" spans
  7.0–10.0, so a 9.8 becomes ``critical``. Without a score the threat word is used (High/Medium/Low; Log, Debug and
  False Positive → ``info``). "Log" results (score 0) are kept as ``info`` records like Nessus severity 0.
* ``port`` comes from "443/tcp"; "general/tcp", "general/icmp" or "package" give no port number.
* ``description`` = the NVT summary (from its ``tags``, else the CSV Summary) + insight + impact; ``evidence`` = the
  result's description, i.e. what the scanner actually found ("Specific Result" in CSV).

Sample files: ``report_detail_v2.xml`` and ``.csv`` → 1 record each (same as DefectDojo); ``no_vuln.*`` → 0.
Nested ``<result>`` elements (inside ``<detection>`` or a delta report) are not results of their own.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from .base import (
    CsvRow,
    ImportFormatError,
    Location,
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

TOOL = "openvas"

THREAT_SEVERITY = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "log": "info",
    "debug": "info",
    "false positive": "info",
    "none": "info",
}


def parse(stream) -> Iterator[Record]:
    """Parse a GVM report, XML or CSV (decided from the first non-blank byte)."""
    head, buffered = peek(stream)
    if not head.strip():
        return iter(())
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return parse_xml(buffered)
    return parse_csv(buffered)


def _severity(score: float | None, threat: str) -> str:
    if score is not None and score > 0:
        return severity_from_cvss(score)
    return THREAT_SEVERITY.get(threat.strip().lower(), severity_from_cvss(score))


def _split_port(value: str, where: Location) -> tuple[int | None, str]:
    value = (value or "").strip()
    number, _, protocol = value.partition("/")
    if not number.isdigit():
        return None, protocol.lower() if protocol.isalpha() else ""
    return to_port(number, where), protocol.lower()


def _tags(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split("|"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
        elif out:  # a "|" inside a value
            last = next(reversed(out))
            out[last] += "|" + part
    return out


def parse_xml(stream) -> Iterator[Record]:
    for _event, elem in iter_xml(
        stream, ("result", "host"), ("report", "get_reports_response", "omp", "gmp"), "OpenVAS/GVM XML"
    ):
        parent = elem.getparent()
        parent_tag = parent.tag if parent is not None else ""
        if elem.tag == "result" and parent_tag == "results":
            yield _xml_result(elem)
            free(elem)
        elif elem.tag == "host" and parent_tag == "report":  # per-host details block: not needed, can be large
            free(elem)


def _text(elem, path: str) -> str:
    found = elem.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _xml_result(result) -> Record:
    where = at_element("result", result.sourceline)
    nvt = result.find("nvt")
    oid = (nvt.get("oid") or "").strip() if nvt is not None else ""
    name = _text(result, "name") or (_text(nvt, "name") if nvt is not None else "")
    if not oid and not name:
        raise ImportFormatError(_("the result has neither an NVT OID (<nvt oid=…>) nor a <name>"), where)
    host_elem = result.find("host")
    ip = (host_elem.text or "").strip() if host_elem is not None and host_elem.text else ""
    hostname = _text(host_elem, "hostname") if host_elem is not None else ""
    if ip and not is_ip(ip):
        ip, hostname = "", hostname or ip
    port, protocol = _split_port(_text(result, "port"), where)
    score = to_float(_text(result, "severity"), where, "<severity>")
    if score is None and nvt is not None:
        score = to_float(_text(nvt, "cvss_base"), where, "<cvss_base>")
    cves: list[str] = []
    refs: list[str] = []
    vector = ""
    tags: dict[str, str] = {}
    solution = ""
    if nvt is not None:
        for ref in nvt.iterfind("refs/ref"):
            kind, ident = (ref.get("type") or "").lower(), (ref.get("id") or "").strip()
            if kind == "cve":
                cves.extend(split_cves(ident))
            elif kind == "url" and ident:
                refs.append(ident)
        cves.extend(split_cves(_text(nvt, "cve")))  # GVM < 9 puts "CVE-…, CVE-…" (or NOCVE) in <cve>
        tags = _tags(_text(nvt, "tags"))
        vector = tags.get("cvss_base_vector", "")
        severity_value = nvt.find("severities/severity/value")
        if severity_value is not None and severity_value.text:
            vector = severity_value.text.strip()
        solution = _text(nvt, "solution") or tags.get("solution", "")
    description = "\n\n".join(
        tags[k] for k in ("summary", "insight", "impact") if tags.get(k) and tags[k].lower() != "n/a"
    )
    return Record(
        tool=TOOL,
        rule_id=f"openvas:{oid}" if oid else f"openvas:{name}",
        title=clip(name, 500),
        severity=_severity(score, _text(result, "threat")),
        description=clip(description),
        solution=clip(solution),
        host=hostname,
        ip=ip,
        port=port,
        protocol=protocol,
        cve=list(dict.fromkeys(cves)),
        cvss_score=score,
        cvss_vector=vector if vector.lower() not in ("", "none") else "",
        evidence=clip(_text(result, "description")),
        references=refs,
        raw_id=(result.get("id") or "").strip(),
    )


def parse_csv(stream) -> Iterator[Record]:
    checked = False
    for _line, row in iter_csv_rows(stream, "OpenVAS/GVM"):
        if not checked:
            if "nvt oid" not in row and "nvt name" not in row:
                raise ImportFormatError(
                    _("not an OpenVAS/GVM CSV: the header row has no “NVT OID” or “NVT Name” column"),
                    at_line(row.header_line),
                )
            checked = True
        yield _csv_record(row)


def _csv_record(row: CsvRow) -> Record:
    where = row.where
    oid = pick(row, "nvt oid", "oid")
    name = pick(row, "nvt name", "name")
    if not oid and not name:
        raise ImportFormatError(_("both the “NVT OID” and the “NVT Name” cells are empty"), where)
    ip = pick(row, "ip", "host")
    hostname = pick(row, "hostname")
    if ip and not is_ip(ip):
        ip, hostname = "", hostname or ip
    port_text = pick(row, "port")
    protocol = pick(row, "port protocol").lower()
    port, parsed_protocol = _split_port(port_text if "/" in port_text else f"{port_text}/{protocol}", where)
    column, value = pick_column(row, "cvss", "severity score")
    score = to_float(value, where, column)
    description = "\n\n".join(
        v for v in (pick(row, "summary"), pick(row, "vulnerability insight"), pick(row, "impact")) if v
    )
    refs = [r.strip() for r in pick(row, "other references").split(",") if r.strip().startswith("http")]
    return Record(
        tool=TOOL,
        rule_id=f"openvas:{oid}" if oid else f"openvas:{name}",
        title=clip(name, 500),
        severity=_severity(score, pick(row, "severity", "threat")),
        description=clip(description),
        solution=clip(pick(row, "solution")),
        host=hostname,
        ip=ip,
        port=port,
        protocol=protocol or parsed_protocol,
        cve=split_cves(pick(row, "cves", "cve")),
        cvss_score=score,
        evidence=clip(pick(row, "specific result")),
        references=refs,
        raw_id=pick(row, "result id"),
    )
