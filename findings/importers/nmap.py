"""nmap XML importer (``nmap -oX``): risky exposed services and NSE vulnerability results.

What becomes a record (one per host and port unless said otherwise):

1. An open port whose service is in ``RISKY_SERVICES`` (matched by nmap's service name, so a service moved to another
   port is still caught, or else by the port number) → one record, ``rule_id`` ``nmap:exposed:<key>``, the severity and
   title of the table.
2. An open HTTP(S) port whose ``http-title`` looks like an administration panel (``ADMIN_TITLE_RE`` on any port;
   ``LOGIN_TITLE_RE`` only on ports other than 80/443, where a public login page is normal) → ``medium``
   "Administrative web interface exposed", ``rule_id`` ``nmap:exposed:admin-panel``.
3. ``vulners`` NSE output → one record per CVE (``rule_id`` the CVE, severity from its CVSS); exploit-db and other
   non-CVE ids are ignored.
4. Other NSE scripts reporting ``State: VULNERABLE`` (the ``vuln`` category, e.g. ``smb-vuln-ms17-010``) → one record
   per script, ``rule_id`` the first CVE or ``nmap:<script id>``, severity ``high``.

Other open ports are *not* records, not even ``info``: an open web or mail port is not something a unit has to act on,
and one record per open port would bury the real problems (a /16 scan has tens of thousands). This is why our counts
differ from DefectDojo, which turns every open port into a finding:

* ``nmap_multiple_port.xml``: DefectDojo 13, EduSec 2 (FTP 21 medium, MySQL 3306 high; the 11 web/mail/DNS ports are
  not risky services).
* ``nmap_script_vulners.xml``: DefectDojo 3 (the open SSH port + 2 CVEs), EduSec 2 (the 2 CVEs; SSH is not risky).
* ``nmap_0port.xml``: 0 in both.

Hosts whose status is not "up" and ports whose state is not "open" are ignored. ``ip`` is the first ipv4/ipv6
address, ``host`` the first host name (a ``user``-given name preferred over the PTR name).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .base import Record, at_element, clip, free, iter_xml, severity_from_cvss, split_cves, to_float, to_port

TOOL = "nmap"

# key → (severity, title, nmap service names, default ports). Severity reasons: remote-login, file-sharing and
# remote-desktop services are the most common ransomware / brute-force entry points; database and cache services must
# never face untrusted networks, and Redis / Memcached / Elasticsearch / MongoDB are often deployed without any
# authentication. Exposure alone is not a confirmed vulnerability, so nothing here is ``critical``. FTP is medium
# (clear-text credentials, often anonymous).
RISKY_SERVICES: dict[str, tuple[str, str, tuple[str, ...], tuple[int, ...]]] = {
    "rdp": ("high", "Remote desktop (RDP) exposed", ("ms-wbt-server", "rdp"), (3389,)),
    "smb": ("high", "SMB / NetBIOS file sharing exposed", ("microsoft-ds", "netbios-ssn", "smb"), (445, 139)),
    "telnet": ("high", "Telnet (clear-text remote login) exposed", ("telnet",), (23,)),
    "vnc": ("high", "VNC remote desktop exposed", ("vnc", "vnc-http"), (5900,)),
    "mssql": ("high", "SQL Server database exposed", ("ms-sql-s", "mssql"), (1433,)),
    "oracle": ("high", "Oracle database listener exposed", ("oracle-tns", "oracle"), (1521,)),
    "mysql": ("high", "MySQL / MariaDB database exposed", ("mysql",), (3306,)),
    "postgresql": ("high", "PostgreSQL database exposed", ("postgresql",), (5432,)),
    "mongodb": ("high", "MongoDB database exposed", ("mongodb", "mongod"), (27017,)),
    "redis": ("high", "Redis cache exposed", ("redis",), (6379,)),
    "memcached": ("high", "Memcached exposed", ("memcache", "memcached"), (11211,)),
    "elasticsearch": ("high", "Elasticsearch exposed", ("elasticsearch",), (9200,)),
    "ftp": ("medium", "FTP service exposed", ("ftp",), (21,)),
}
_BY_NAME = {name: key for key, (_s, _t, names, _p) in RISKY_SERVICES.items() for name in names}
_BY_PORT = {port: key for key, (_s, _t, _n, ports) in RISKY_SERVICES.items() for port in ports}

ADMIN_TITLE_RE = re.compile(r"admin|manage|console|dashboard|phpmyadmin|后台|管理|控制台", re.IGNORECASE)
LOGIN_TITLE_RE = re.compile(r"log\s*in|sign\s*in|登录|登陆", re.IGNORECASE)
STATE_RE = re.compile(r"State:\s*([^\n]+)")
ADMIN_PANEL = ("medium", "Administrative web interface exposed")


def parse(stream) -> Iterator[Record]:
    for _event, elem in iter_xml(stream, ("host",), "nmaprun", "nmap XML"):
        if elem.getparent() is not None and elem.getparent().tag == "nmaprun":
            yield from _host(elem)
            free(elem)


def _host(host) -> Iterator[Record]:
    status = host.find("status")
    if status is not None and status.get("state") not in (None, "up"):
        return
    ip = hostname = ""
    for address in host.findall("address"):
        if address.get("addrtype") in ("ipv4", "ipv6") and not ip:
            ip = (address.get("addr") or "").strip()
    names = host.findall("hostnames/hostname")
    names.sort(key=lambda n: n.get("type") != "user")
    if names:
        hostname = (names[0].get("name") or "").strip()
    for port in host.iterfind("ports/port"):
        state = port.find("state")
        if state is None or state.get("state") != "open":
            continue
        yield from _port(port, hostname, ip)
    for script in host.iterfind("hostscript/script"):
        yield from _script(script, hostname, ip, None, "", "")


def _port(port, hostname: str, ip: str) -> Iterator[Record]:
    number = to_port(port.get("portid"), at_element("port", port.sourceline))
    protocol = (port.get("protocol") or "tcp").lower()
    service = port.find("service")
    name = product = ""
    if service is not None:
        name = (service.get("name") or "").lower()
        product = " ".join(p for p in (service.get("product"), service.get("version")) if p)
    tunnel = service is not None and service.get("tunnel") == "ssl"
    key = _BY_NAME.get(name) or _BY_PORT.get(number)
    base = {"tool": TOOL, "host": hostname, "ip": ip, "port": number, "protocol": protocol}
    evidence = f"{number}/{protocol} open, service {name or '?'}{' ' + product if product else ''}"
    if key:
        severity, title, _names, _ports = RISKY_SERVICES[key]
        yield Record(
            rule_id=f"nmap:exposed:{key}",
            title=title,
            severity=severity,
            description=f"{title} on {ip or hostname} port {number}/{protocol}.",
            solution="Close the port on the perimeter firewall or restrict it to a management network / VPN.",
            evidence=evidence,
            **base,
        )
    title_script = port.find("script[@id='http-title']")
    if title_script is not None and ("http" in name or tunnel):
        page_title = title_script.get("output") or ""
        if ADMIN_TITLE_RE.search(page_title) or (number not in (80, 443) and LOGIN_TITLE_RE.search(page_title)):
            yield Record(
                rule_id="nmap:exposed:admin-panel",
                title=ADMIN_PANEL[1],
                severity=ADMIN_PANEL[0],
                description=f"{ADMIN_PANEL[1]} on {ip or hostname} port {number}: page title {page_title.strip()!r}.",
                solution="Do not publish administration interfaces; restrict them to a management network / VPN.",
                evidence=clip(f"{evidence}; http-title: {page_title}"),
                **base,
            )
    for script in port.iterfind("script"):
        yield from _script(script, hostname, ip, number, protocol, product)


def _script(script, hostname: str, ip: str, port: int | None, protocol: str, product: str) -> Iterator[Record]:
    script_id = script.get("id") or ""
    base = {"tool": TOOL, "host": hostname, "ip": ip, "port": port, "protocol": protocol}
    if script_id == "vulners":
        for cve, score, cpe in _vulners(script):
            subject = product or cpe
            yield Record(
                rule_id=cve,
                title=f"{cve} in {subject}" if subject else cve,
                severity=severity_from_cvss(score),
                description=f"vulners: {subject or 'the service'} is affected by {cve} (CVSS {score}).",
                cve=[cve],
                cvss_score=score,
                references=[f"https://vulners.com/cve/{cve}"],
                evidence=clip(f"vulners {cpe}: {cve} {score}"),
                **base,
            )
        return
    output = script.get("output") or ""
    state = STATE_RE.search(output)
    if not state or not state.group(1).strip().upper().startswith(("VULNERABLE", "LIKELY VULNERABLE")):
        return
    cves = split_cves(output)
    title_elem = script.find(".//elem[@key='title']")
    title = (title_elem.text if title_elem is not None else "") or f"nmap {script_id}: vulnerable"
    yield Record(
        rule_id=cves[0] if cves else f"nmap:{script_id}",
        title=clip(title.strip(), 500),
        severity="high",
        description=clip(output),
        cve=cves,
        evidence=clip(output),
        **base,
    )


def _vulners(script) -> Iterator[tuple[str, float | None, str]]:
    """(CVE, CVSS, cpe) from the structured tables, or from the text output of old nmap versions."""
    seen: set[str] = set()
    for cpe_table in script.findall("table"):
        cpe = cpe_table.get("key") or ""
        for entry in cpe_table.findall("table"):
            values = {e.get("key"): (e.text or "").strip() for e in entry.findall("elem")}
            ident = values.get("id", "").upper()
            if values.get("type", "cve").lower() != "cve" or not ident.startswith("CVE-") or ident in seen:
                continue
            seen.add(ident)
            yield ident, to_float(values.get("cvss"), at_element("table", entry.sourceline), "vulners cvss"), cpe
    if seen:
        return
    cpe = ""
    for line in (script.get("output") or "").splitlines():
        line = line.strip()
        if line.startswith("cpe:") and line.endswith(":"):
            cpe = line[:-1].strip()
            continue
        match = re.match(r"(CVE-\d{4}-\d{4,})\s+(\d+(?:\.\d+)?)", line, re.IGNORECASE)
        if match and match.group(1).upper() not in seen:
            seen.add(match.group(1).upper())
            yield match.group(1).upper(), float(match.group(2)), cpe
