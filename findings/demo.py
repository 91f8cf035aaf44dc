"""The demo region's scanner imports, loaded by ``edusec load_demo`` after the asset ledger (``assets.demo``).

Real scanner files in their real formats are generated in memory about the demo ledger as it is in the database
(website hosts, IPv4 ranges, the systems' MLPS levels) and imported exactly as an uploaded file is: a ``ScanImport``
holding the file, then ``findings.imports.run_import`` (format detection, parser, the shared writer). The history,
from about ten weeks ago to last week:

1. 全市教育网暴露面扫描 — nmap XML of every registered IPv4 range (the city security officer): RDP, SMB, Telnet, MySQL,
   Redis … on a minority of hosts, exposed administration pages, ``vulners`` CVEs and ``smb-vuln-ms17-010``;
2. 全市学校网站漏洞扫描 — Nuclei JSONL of every active website, plus a few sites nobody registered (unattributed);
3. 东湖区教育网漏洞扫描 — a Nessus ``.nessus`` report of 东湖区's ranges by its security officer, with two addresses of
   the neighbouring district (rejected) and an unregistered VPN gateway (unattributed on the district);
4. 东湖区智慧校园平台检测 — an OWASP ZAP XML report of 东湖区's smart-campus platform and the demo school's site;
5. 重点网站 TLS 配置检测 — a testssl.sh CSV of a handful of sites;
6. 全市学校网站漏洞复测 — the Nuclei re-scan with "close what was not seen": fixed problems close, a few new ones
   appear, and findings a unit had marked fixed but that are still there are reopened.

Between and after the scans units mark some findings fixed or confirmed, one accepted risk was approved and one
false-positive request waits for 东湖区's approval. Each unit has a hygiene profile drawn from a fixed seed (most
schools good or fair, some poor, a handful bad), so most schools have a few low/medium findings, some high and a few
critical. Finally today's MLPS duty states are recorded and ``findings.duties.sync_duty_findings`` (when it exists)
turns the overdue ones into findings (it also answers ``record_duty_states``'s signal, so this is a mere refresh when
the asset demo has just recorded them).

Everything is fictional: hosts end in ``.example``/``.test``, addresses come from the ledger's documentation ranges
(the unregistered sites use unallocated addresses of 2001:db8::/32). The same ledger and day give the same files.
Row-level audit is paused while loading; one summary entry records the counts (like ``assets.demo``), so the orgs
demo's single IMPORT entry stays the only one.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import ipaddress
import json
import random
from dataclasses import dataclass, field

from django.db import transaction
from lxml import etree

from core.registry import register_demo_loader
from orgs import demo as region_demo

SEED = 2026
CITY_CODE = region_demo.CITY_CODE
SUMMARY_OBJECT_REPR = "demo scan imports 示范市"
DISTRICT_PREFIX = {code: prefix for code, _name, prefix in region_demo.DISTRICTS}
DISTRICT_NAME = {code: name for code, name, _prefix in region_demo.DISTRICTS}
SCAN_DISTRICT = region_demo.DISTRICTS[0][0]  # 东湖区: the district with a security officer account (dh_security)

PROFILES = ("good", "fair", "poor", "bad")
FACTOR = {"good": 0.3, "fair": 1.0, "poor": 2.0, "bad": 3.0}
# The shared front ends of the city's site cluster (站群) in the IT centre's cloud range: schools without an address
# range of their own are hosted there.
CLOUD_FRONTENDS = ("203.0.113.40", "203.0.113.41", "203.0.113.42", "203.0.113.43")
# Sites found by the web scan that nobody registered: (url, profile, address in unallocated 2001:db8::/32 space).
UNREGISTERED_SITES = (
    ("https://www.dh-yuhua-xx.school.example", "poor", "2001:db8:9b01::15"),
    ("http://www.ng-nanhu-yey.school.example", "fair", "2001:db8:9b02::8"),
    ("https://kaoshi.school.example", "bad", "2001:db8:9b03::20"),
    ("http://2132990399.school.test", "fair", "2001:db8:9b04::31"),
    ("https://bm-zz.school.example", "poor", "2001:db8:9b05::2"),
    ("https://old.xs-jiaoyan.school.example", "fair", "2001:db8:9b06::9"),
)
# A VPN gateway nobody registered, found by the district's scan: at a free address of a /24 in which only one school of
# the district registered a range (then unattributed with that school as candidate unit), else at this address.
UNREGISTERED_VPN_V6 = "2001:db8:9b10::1"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ---- what is scanned (read from the ledger) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    unit_code: str
    url: str
    host: str
    level: int | None  # MLPS level of the site's system
    district: str  # district code above the unit ("" for the city level)

    @property
    def https(self) -> bool:
        return self.url.startswith("https:")

    @property
    def port(self) -> int:
        return 443 if self.https else 80


@dataclass(frozen=True)
class Net:
    unit_code: str
    unit_type: str
    cidr: str
    purpose: str
    district: str


@dataclass
class Snapshot:
    """The part of the demo ledger the scans are about, as plain data (sorted, so generation is deterministic)."""

    sites: list[Site]
    nets: list[Net]
    profiles: dict[str, str]  # unit code → good / fair / poor / bad
    demo_school: str = ""

    def v4_of(self, unit_code: str) -> Net | None:
        return next((n for n in self.nets if n.unit_code == unit_code and ":" not in n.cidr), None)


def _profile(seed: int, code: str, unit_type: str, demo_school: str) -> str:
    if code == demo_school:
        return "poor"  # the demo school's accounts see a high finding next to mediums
    rng = random.Random(f"{seed}:profile:{code}")
    weights = (55, 30, 11, 4) if unit_type == "school" else (50, 40, 10, 0)
    return rng.choices(PROFILES, weights)[0]


def read_snapshot(city, seed: int = SEED) -> Snapshot:
    from assets.models import IPRange, Website
    from orgs.models import Unit, User

    units = {u.code: u for u in Unit.objects.filter(path__startswith=city.path)}
    district_by_path = {u.path: u.code for u in units.values() if u.unit_type == "district"}

    def district_of(unit) -> str:
        return next((code for path, code in district_by_path.items() if unit.path.startswith(path)), "")

    cio = User.objects.filter(username="school_cio", is_demo=True).select_related("unit").first()
    demo_school = cio.unit.code if cio is not None and cio.unit_id else ""
    sites = []
    by_pk = {u.pk: u for u in units.values()}
    for host, url, unit_id, level in (
        Website.objects.filter(unit__path__startswith=city.path, is_active=True)
        .values_list("host", "url", "unit_id", "system__mlps_level")
        .order_by("host")
    ):
        unit = by_pk[unit_id]
        try:
            ipaddress.ip_address(host)
            continue  # a console on an address (the loopback one) is not a site the web scan covers
        except ValueError:
            pass
        sites.append(Site(unit.code, url, host, level, district_of(unit)))
    nets = []
    for cidr, unit_id, purpose in (
        IPRange.objects.filter(unit__path__startswith=city.path)
        .values_list("cidr", "unit_id", "purpose")
        .order_by("pk")
    ):
        unit = by_pk[unit_id]
        nets.append(Net(unit.code, unit.unit_type, cidr, purpose, district_of(unit)))
    nets.sort(key=lambda n: (ipaddress.ip_network(n.cidr).version, ipaddress.ip_network(n.cidr)))
    profiles = {code: _profile(seed, code, u.unit_type, demo_school) for code, u in sorted(units.items())}
    return Snapshot(sites, nets, profiles, demo_school)


# ---- hosts and services (nmap and Nessus describe the same machines) ---------------------------------------------


@dataclass
class Service:
    port: int
    name: str
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    tunnel: bool = False
    title: str = ""
    vulners: tuple = ()  # (CVE, CVSS)
    ms17_010: bool = False
    ajp: bool = False


@dataclass
class Host:
    ip: str
    name: str
    os: str
    unit_code: str
    role: str
    services: list[Service] = field(default_factory=list)


SSH_CVES = (("CVE-2023-38408", 9.8), ("CVE-2020-15778", 7.8), ("CVE-2021-41617", 7.0), ("CVE-2018-15473", 5.3))
NGINX_CVES = (("CVE-2021-23017", 7.7), ("CVE-2019-20372", 5.3))
APACHE_CVES = (("CVE-2021-42013", 9.8), ("CVE-2021-41773", 7.5))


def _chance(rng: random.Random, p: float) -> bool:
    return rng.random() < min(p, 0.9)


def _web_services(rng, f, *, title="首页") -> list[Service]:
    server = rng.choices(("nginx", "apache", "iis"), (6, 3, 1))[0]
    product, version, vulners = {
        "nginx": ("nginx", rng.choice(("1.16.1", "1.20.1", "1.24.0")), ()),
        "apache": ("Apache httpd", rng.choice(("2.4.6", "2.4.49", "2.4.57")), ()),
        "iis": ("Microsoft IIS httpd", "7.5", ()),
    }[server]
    if version == "1.16.1" and _chance(rng, 0.3 * f):
        vulners = NGINX_CVES
    if version == "2.4.49":
        vulners = APACHE_CVES if _chance(rng, 0.5 * f) else ()
    services = [
        Service(80, "http", product, version, title=title),
        Service(443, "http", product, version, tunnel=True, title=title, vulners=vulners),
    ]
    if server != "iis" and _chance(rng, 0.6):
        ssh_vulners = SSH_CVES if _chance(rng, 0.08 * f) else ()
        services.append(Service(22, "ssh", "OpenSSH", "7.4", "protocol 2.0", vulners=ssh_vulners))
    if _chance(rng, 0.06 * f):
        services.append(Service(21, "ftp", "vsftpd", "3.0.2"))
    if _chance(rng, 0.07 * f):
        services.append(Service(3306, "mysql", "MySQL", rng.choice(("5.5.62", "5.7.26"))))
    if _chance(rng, 0.03 * f):
        services.append(Service(6379, "redis", "Redis key-value store", "3.2.12"))
    if _chance(rng, 0.07 * f):
        services.append(
            Service(8080, "http", "Apache Tomcat", "8.5.31", title="后台管理系统", ajp=_chance(rng, 0.2 * f))
        )
    return services


def _role_services(role: str, rng: random.Random, f: float) -> tuple[str, list[Service]]:
    """(operating system, services) of a host with ``role``; ``f`` scales the chance of risky exposures."""
    if role == "gateway":
        services = []
        if _chance(rng, 0.4):
            services.append(Service(22, "ssh", "Comware sshd", "1.99"))
        if _chance(rng, 0.06 * f):
            services.append(Service(23, "telnet", "Huawei-3Com router telnetd"))
        if _chance(rng, 0.5):
            title = "Web网管系统" if _chance(rng, 0.15 * f) else "Redirecting"
            services.append(Service(443, "http", "", tunnel=True, title=title))
        return "Comware 7", services
    if role == "web":
        return "Linux 3.10", _web_services(rng, f)
    if role == "windows":
        services = []
        if _chance(rng, 0.5):
            services.append(Service(80, "http", "Microsoft IIS httpd", "7.5", title="IIS7"))
        if _chance(rng, 0.35 * f):
            services.append(Service(3389, "ms-wbt-server", "Microsoft Terminal Services"))
        if _chance(rng, 0.1 * f):
            services.append(Service(445, "microsoft-ds", "Microsoft Windows Server 2008 R2 microsoft-ds"))
            services[-1].ms17_010 = _chance(rng, 0.25 * f)
        if _chance(rng, 0.05 * f):
            services.append(Service(1433, "ms-sql-s", "Microsoft SQL Server 2008 R2", "10.50.1600"))
        if _chance(rng, 0.02 * f):
            services.append(Service(5900, "vnc", "RealVNC", "4.1"))
        if not services:
            services.append(Service(443, "http", "Microsoft IIS httpd", "8.5", tunnel=True, title="OA"))
        return rng.choice(("Windows Server 2008 R2", "Windows Server 2012 R2", "Windows Server 2016")), services
    if role == "camera":
        admin = _chance(rng, 0.25 * f)
        services = [Service(80, "http", "", title="网络视频录像机 管理" if admin else "登录"), Service(554, "rtsp")]
        if _chance(rng, 0.05 * f):
            services.append(Service(23, "telnet", "BusyBox telnetd"))
        return "Linux 2.6", services
    if role == "nas":
        services = [Service(5000, "http", "nginx", title="NAS 管理")]
        if _chance(rng, 0.3 * f):
            services.append(Service(445, "microsoft-ds", "Samba smbd", "4.6.2"))
        if _chance(rng, 0.25 * f):
            services.append(Service(21, "ftp", "vsftpd", "3.0.2"))
        return "Linux 4.4", services
    if role == "database":
        services = [Service(22, "ssh", "OpenSSH", "7.4", "protocol 2.0")]
        if _chance(rng, 0.3 * f):
            services.append(Service(3306, "mysql", "MySQL", "5.7.26"))
        if _chance(rng, 0.12 * f):
            services.append(Service(6379, "redis", "Redis key-value store", "5.0.7"))
        return "Linux 3.10", services
    raise ValueError(role)


def net_hosts(net: Net, profile: str, seed: int) -> list[Host]:
    """The live hosts of one IPv4 range, the same for the same seed (nmap and Nessus see the same machines)."""
    network = ipaddress.ip_network(net.cidr)
    rng = random.Random(f"{seed}:hosts:{net.cidr}")
    f = FACTOR[profile]
    addresses = list(network.hosts())
    if net.unit_type == "school":
        roles = {1: "gateway", 2: "web"}
        for offset in rng.sample(range(3, len(addresses)), rng.randint(1, 3)):
            roles[offset] = rng.choices(("windows", "camera", "nas"), (5, 3, 2))[0]
    elif net.unit_type == "district":
        roles = {1: "gateway", 2: "web", 3: "web", 5: "database"}
        for offset in rng.sample(range(6, len(addresses)), rng.randint(2, 4)):
            roles[offset] = rng.choices(("windows", "camera", "database"), (5, 2, 2))[0]
    elif "互联网出口" in net.purpose and net.unit_type != "school":
        # the metro network's NAT pool: port forwards of schools without addresses of their own
        roles = {1: "gateway"}
        for offset in rng.sample(range(2, len(addresses)), rng.randint(3, 5)):
            roles[offset] = rng.choices(("windows", "camera", "nas"), (5, 3, 2))[0]
        f = 1.5
    elif "云" in net.purpose:
        roles = {1: "gateway", 8: "web", 9: "web", 10: "web", 11: "web", 20: "database"}
    else:
        roles = {1: "gateway", 10: "web"}
        for offset in rng.sample(range(11, len(addresses)), min(2, len(addresses) - 11)):
            roles[offset] = rng.choice(("windows", "web"))
    hosts = []
    for offset, role in sorted(roles.items()):
        if offset > len(addresses):
            continue
        ip = str(addresses[offset - 1])
        os_name, services = _role_services(role, rng, f)
        if services:
            hosts.append(Host(ip, "", os_name, net.unit_code, role, services))
    return hosts


def _site_address(site: Site, snapshot: Snapshot) -> str:
    """The address a site resolves to: the web server of its unit's own range, the city's DMZ, or the site cluster."""
    own = snapshot.v4_of(site.unit_code)
    if own is not None and own.unit_type in ("school", "district"):
        return str(ipaddress.ip_network(own.cidr).network_address + 2)
    if own is not None and "DMZ" in own.purpose:
        return str(ipaddress.ip_network(own.cidr).network_address + 10)
    return CLOUD_FRONTENDS[int(hashlib.sha256(site.host.encode()).hexdigest(), 16) % len(CLOUD_FRONTENDS)]


# ---- time stamps -----------------------------------------------------------------------------------------------------


def _ctime(moment: datetime.datetime) -> str:
    return f"{WEEKDAYS[moment.weekday()]} {MONTHS[moment.month - 1]} {moment.day:2d} {moment:%H:%M:%S %Y}"


def _rfc(moment: datetime.datetime) -> str:
    return f"{WEEKDAYS[moment.weekday()]}, {moment.day:02d} {MONTHS[moment.month - 1]} {moment:%Y %H:%M:%S}"


def _xml(root, doctype: str | None = None) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True, doctype=doctype)


def _sub(parent, tag: str, text=None, **attrs):
    elem = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        elem.text = str(text)
    return elem


# ---- nmap ------------------------------------------------------------------------------------------------------------


def nmap_xml(hosts: list[Host], targets: list[str], started: datetime.datetime) -> bytes:
    args = (
        "nmap -sS -sV -Pn -T4 --top-ports 1000 --script http-title,vulners,smb-vuln-ms17-010 -oX exposure.xml "
        + " ".join(targets)
    )
    epoch = int(started.timestamp())
    root = etree.Element(
        "nmaprun",
        scanner="nmap",
        args=args,
        start=str(epoch),
        startstr=_ctime(started),
        version="7.94",
        xmloutputversion="1.05",
    )
    _sub(root, "scaninfo", type="syn", protocol="tcp", numservices="1000", services="1-65389")
    _sub(root, "verbose", level="0")
    _sub(root, "debugging", level="0")
    clock = epoch
    for host in hosts:
        clock += 37
        elem = _sub(root, "host", starttime=clock - 30, endtime=clock)
        _sub(elem, "status", state="up", reason="user-set", reason_ttl="0")
        _sub(elem, "address", addr=host.ip, addrtype="ipv4")
        names = _sub(elem, "hostnames")
        if host.name:
            _sub(names, "hostname", name=host.name, type="PTR")
        ports = _sub(elem, "ports")
        _sub(ports, "extraports", state="filtered", count=1000 - len(host.services))
        for service in sorted(host.services, key=lambda s: s.port):
            port = _sub(ports, "port", protocol="tcp", portid=service.port)
            _sub(port, "state", state="open", reason="syn-ack", reason_ttl="52")
            attrs = {"name": service.name, "method": "probed", "conf": "10"}
            if service.product:
                attrs["product"] = service.product
            if service.version:
                attrs["version"] = service.version
            if service.extrainfo:
                attrs["extrainfo"] = service.extrainfo
            if service.tunnel:
                attrs["tunnel"] = "ssl"
            _sub(port, "service", **attrs)
            if service.title and service.name == "http":
                _sub(port, "script", id="http-title", output=service.title)
            if service.vulners:
                cpe = _cpe(service)
                script = _sub(port, "script", id="vulners", output=_vulners_text(cpe, service.vulners))
                table = _sub(script, "table", key=cpe)
                for cve, score in service.vulners:
                    entry = _sub(table, "table")
                    _sub(entry, "elem", "false", key="is_exploit")
                    _sub(entry, "elem", score, key="cvss")
                    _sub(entry, "elem", cve, key="id")
                    _sub(entry, "elem", "cve", key="type")
            if service.ms17_010:
                output = (
                    "\n  VULNERABLE:\n  Remote Code Execution vulnerability in Microsoft SMBv1 servers (ms17-010)\n"
                    "    State: VULNERABLE\n    IDs:  CVE:CVE-2017-0143\n    Risk factor: HIGH\n"
                )
                script = _sub(port, "script", id="smb-vuln-ms17-010", output=output)
                table = _sub(script, "table", key="CVE-2017-0143")
                _sub(
                    table,
                    "elem",
                    "Remote Code Execution vulnerability in Microsoft SMBv1 servers (ms17-010)",
                    key="title",
                )
                _sub(table, "elem", "VULNERABLE", key="state")
        _sub(elem, "times", srtt="2381", rttvar="1004", to="100000")
    finished = clock + 12
    runstats = _sub(root, "runstats")
    _sub(
        runstats,
        "finished",
        time=finished,
        timestr=_ctime(datetime.datetime.fromtimestamp(finished, started.tzinfo)),
        elapsed=f"{finished - epoch:.2f}",
        summary=f"Nmap done; {len(hosts)} IP addresses ({len(hosts)} hosts up) scanned",
        exit="success",
    )
    _sub(runstats, "hosts", up=len(hosts), down="0", total=len(hosts))
    return _xml(root, "<!DOCTYPE nmaprun>")


def _cpe(service: Service) -> str:
    vendor = {"OpenSSH": "openbsd:openssh", "nginx": "nginx:nginx", "Apache httpd": "apache:http_server"}
    return f"cpe:/a:{vendor.get(service.product, 'unknown:unknown')}:{service.version}"


def _vulners_text(cpe: str, vulners) -> str:
    lines = [f"\n  {cpe}: "] + [f"    \t{cve}\t{score}" for cve, score in vulners]
    return "\n".join(lines) + "\n"


# ---- Nuclei ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebCheck:
    template: str
    name: str
    severity: str
    path: str  # "" for TLS checks (matched at host:port)
    description: str
    remediation: str = ""
    cve: str = ""
    cwe: int | None = None
    cvss: float | None = None
    vector: str = ""
    tags: str = ""
    matchers: tuple = ()
    extracted: tuple = ()
    body: str = ""  # what the matched response showed (reported as the extracted result)


V31 = "CVSS:3.1/AV:N/AC:L/PR:N/"
WEB_CHECKS = {
    check.template: check
    for check in (
        WebCheck(
            "http-missing-security-headers",
            "HTTP Missing Security Headers",
            "info",
            "/",
            "The response lacks security headers that protect browsers against clickjacking, MIME sniffing and "
            "downgrade attacks.",
            "Add the missing headers in the web server or the application.",
            tags="misconfig,headers",
            matchers=(
                "strict-transport-security",
                "content-security-policy",
                "x-frame-options",
                "x-content-type-options",
                "referrer-policy",
                "permissions-policy",
            ),
        ),
        WebCheck(
            "deprecated-tls",
            "Deprecated TLS Detection (TLS 1.0 / 1.1)",
            "info",
            "",
            "The server still accepts TLS 1.0 or 1.1.",
            "Accept TLS 1.2 and 1.3 only.",
            tags="ssl,tls",
            extracted=("tls10", "tls11"),
        ),
        WebCheck(
            "weak-cipher-suites",
            "Weak Cipher Suites Detection",
            "low",
            "",
            "The server offers cipher suites with 3DES or RC4.",
            "Remove 3DES and RC4 suites from the TLS configuration.",
            cwe=326,
            tags="ssl,tls",
            extracted=("TLS_RSA_WITH_3DES_EDE_CBC_SHA",),
        ),
        WebCheck(
            "self-signed-ssl",
            "Self-Signed SSL Certificate",
            "low",
            "",
            "The site's certificate is self-signed; visitors learn to click through warnings.",
            "Use a certificate issued by a trusted CA.",
            cwe=295,
            tags="ssl,tls",
        ),
        WebCheck(
            "expired-ssl",
            "Expired SSL Certificate",
            "medium",
            "",
            "The site's certificate has expired.",
            "Renew the certificate and automate its renewal.",
            cwe=298,
            tags="ssl,tls",
        ),
        WebCheck(
            "cookies-without-httponly",
            "Cookies without HttpOnly Flag",
            "low",
            "/login",
            "A session cookie is set without the HttpOnly flag, so injected scripts can read it.",
            "Set HttpOnly (and Secure) on session cookies.",
            cwe=1004,
            tags="misconfig,cookie",
            extracted=("JSESSIONID",),
        ),
        WebCheck(
            "cleartext-login-form",
            "Login Form Submitted over HTTP",
            "medium",
            "/login",
            "The login form is served and submitted without TLS; passwords cross the network in clear text.",
            "Serve the site over HTTPS only and redirect HTTP to HTTPS.",
            cwe=319,
            tags="misconfig,http",
        ),
        WebCheck(
            "CVE-2020-11022",
            "jQuery < 3.5.0 - Cross-Site Scripting",
            "medium",
            "/js/jquery-1.8.3.min.js",
            "The site loads jQuery 1.8.3, whose htmlPrefilter lets untrusted HTML execute scripts.",
            "Upgrade jQuery to 3.5.0 or later.",
            cve="CVE-2020-11022",
            cwe=79,
            cvss=6.1,
            vector=V31 + "UI:R/S:C/C:L/I:L/A:N",
            tags="cve,jquery,xss",
            extracted=("1.8.3",),
        ),
        WebCheck(
            "directory-listing",
            "Directory Listing Enabled",
            "medium",
            "/uploads/",
            "The upload directory is listed; attachments not linked from any page can be downloaded.",
            "Disable directory listing (autoindex / Options -Indexes).",
            cwe=548,
            tags="misconfig,listing",
            body="<title>Index of /uploads/</title>",
        ),
        WebCheck(
            "git-config-exposure",
            "Git Configuration Exposure",
            "medium",
            "/.git/config",
            "The .git directory is served: the site's source code and history can be downloaded.",
            "Remove .git from the web root or deny access to it.",
            cwe=538,
            tags="exposure,git",
            body="[core]\n\trepositoryformatversion = 0",
        ),
        WebCheck(
            "cms-admin-panel",
            "CMS Administration Login Panel Exposed",
            "medium",
            "/admin/login.php",
            "The content management system's administration login is reachable from the internet.",
            "Restrict the administration path to the school's management network or a VPN.",
            tags="panel,exposure",
            body="<title>网站管理后台</title>",
        ),
        WebCheck(
            "env-file-exposure",
            "Environment File Exposure (.env)",
            "high",
            "/.env",
            "The application's .env file is served; it holds database and mail passwords.",
            "Move .env out of the web root, deny dot-files and change every secret it held.",
            cwe=200,
            tags="exposure,config",
            body="DB_HOST=127.0.0.1\nDB_PASSWORD=******",
        ),
        WebCheck(
            "backup-archive-exposure",
            "Website Backup Archive Downloadable",
            "high",
            "/wwwroot.zip",
            "A backup archive of the web root can be downloaded by anyone.",
            "Delete backups from the web root and keep them off the server.",
            cwe=530,
            tags="exposure,backup",
        ),
        WebCheck(
            "ueditor-file-upload",
            "UEditor .NET Arbitrary File Upload",
            "high",
            "/ueditor/net/controller.ashx?action=catchimage",
            "The UEditor 'catchimage' handler fetches and stores remote files without checking their type, so an "
            "attacker can upload a web shell.",
            "Upgrade or remove UEditor; disable catchimage and deny script execution in the upload directory.",
            cwe=434,
            tags="ueditor,fileupload,intrusive",
        ),
        WebCheck(
            "tomcat-default-login",
            "Apache Tomcat Manager Default Login",
            "high",
            "/manager/html",
            "The Tomcat manager accepts the default credentials.",
            "Remove the manager application or set strong credentials and restrict it by address.",
            cwe=1391,
            tags="tomcat,default-login",
        ),
        WebCheck(
            "CVE-2021-41773",
            "Apache 2.4.49 - Path Traversal",
            "high",
            "/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd",
            "Apache HTTP Server 2.4.49 maps URLs outside the document root through encoded path segments.",
            "Upgrade Apache HTTP Server to 2.4.51 or later.",
            cve="CVE-2021-41773",
            cwe=22,
            cvss=7.5,
            vector=V31 + "UI:N/S:U/C:H/I:N/A:N",
            tags="cve,apache,lfi",
            body="root:x:0:0:root:/root:/bin/bash",
        ),
        WebCheck(
            "CVE-2017-12615",
            "Apache Tomcat - Remote Code Execution via HTTP PUT",
            "high",
            "/poc.jsp/",
            "Tomcat with writable default servlet accepts PUT of a JSP file, which it then executes.",
            "Set readonly=true on the default servlet and upgrade Tomcat.",
            cve="CVE-2017-12615",
            cwe=434,
            cvss=8.1,
            vector="CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
            tags="cve,tomcat,rce",
        ),
        WebCheck(
            "springboot-heapdump",
            "Spring Boot Actuator Heapdump Exposure",
            "high",
            "/actuator/heapdump",
            "The actuator heapdump endpoint is public; the memory dump contains passwords and session tokens.",
            "Disable or protect actuator endpoints.",
            cwe=200,
            tags="springboot,exposure",
        ),
        WebCheck(
            "CVE-2018-20062",
            "ThinkPHP 5.0.23 - Remote Code Execution",
            "critical",
            "/index.php?s=/Index/\\think\\app/invokefunction",
            "ThinkPHP 5.x before 5.0.23 and 5.1.31 lets a request name any controller method and run PHP code.",
            "Upgrade ThinkPHP to 5.0.24 / 5.1.31 or later.",
            cve="CVE-2018-20062",
            cwe=94,
            cvss=9.8,
            vector=V31 + "UI:N/S:U/C:H/I:H/A:H",
            tags="cve,thinkphp,rce",
        ),
        WebCheck(
            "CVE-2017-5638",
            "Apache Struts 2 - Remote Code Execution (S2-045)",
            "critical",
            "/login.action",
            "The Jakarta multipart parser evaluates an OGNL expression from the Content-Type header.",
            "Upgrade Struts to 2.3.32 / 2.5.10.1 or later.",
            cve="CVE-2017-5638",
            cwe=20,
            cvss=10.0,
            vector="CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            tags="cve,struts,rce",
        ),
        WebCheck(
            "CVE-2021-44228",
            "Apache Log4j2 - Remote Code Execution (Log4Shell)",
            "critical",
            "/api/login",
            "A JNDI lookup in a logged request header triggered an out-of-band DNS interaction.",
            "Upgrade Log4j to 2.17.1 or later.",
            cve="CVE-2021-44228",
            cwe=502,
            cvss=10.0,
            vector=V31 + "UI:N/S:C/C:H/I:H/A:H",
            tags="cve,log4j,rce,oast",
        ),
        WebCheck(
            "phpmyadmin-default-login",
            "phpMyAdmin - Default Login (root without password)",
            "critical",
            "/phpmyadmin/index.php",
            "phpMyAdmin is public and logs in as the database root user without a password.",
            "Remove phpMyAdmin from the public site and set a strong root password.",
            cwe=1391,
            tags="phpmyadmin,default-login",
        ),
    )
}
HIGH_WEB = (
    "env-file-exposure",
    "backup-archive-exposure",
    "ueditor-file-upload",
    "tomcat-default-login",
    "CVE-2021-41773",
    "CVE-2017-12615",
    "springboot-heapdump",
)
CRITICAL_WEB = ("CVE-2018-20062", "CVE-2017-5638", "CVE-2021-44228", "phpmyadmin-default-login")
NEW_ON_RESCAN = (
    "CVE-2020-11022",
    "directory-listing",
    "cms-admin-panel",
    "env-file-exposure",
    "cookies-without-httponly",
)
FIX_CHANCE = {"critical": 0.6, "high": 0.45, "medium": 0.25, "low": 0.12, "info": 0.04}


def web_problems(site: Site, profile: str, seed: int) -> list[str]:
    """The problems (WEB_CHECKS keys) the first web scan finds on ``site``."""
    rng = random.Random(f"{seed}:web:{site.host}")
    if site.level and site.level >= 3 and profile in ("poor", "bad"):
        profile = "fair"  # graded level-3 platforms are assessed every year; the worst does not survive that
    f = FACTOR[profile]
    keys = ["http-missing-security-headers"]
    if site.https:
        if _chance(rng, 0.35):
            keys.append("deprecated-tls")
        if _chance(rng, 0.15 + 0.12 * f):
            keys.append("weak-cipher-suites")
        if _chance(rng, 0.05 * f):
            keys.append(rng.choice(("self-signed-ssl", "expired-ssl")))
    elif _chance(rng, 0.6):
        keys.append("cleartext-login-form")
    for key, base, p in (
        ("cookies-without-httponly", 0.2, 0.15),
        ("CVE-2020-11022", 0.05, 0.15),
        ("directory-listing", 0.0, 0.07),
        ("git-config-exposure", 0.0, 0.03),
        ("cms-admin-panel", 0.0, 0.05),
    ):
        if _chance(rng, base + p * f):
            keys.append(key)
    if profile in ("poor", "bad"):
        keys.append(rng.choice(HIGH_WEB))
    if profile == "bad":
        keys.append(rng.choice(CRITICAL_WEB))
    return list(dict.fromkeys(keys))


def web_rescan(site: Site, keys: list[str], seed: int) -> list[str]:
    """What the re-scan still finds: most low problems stay, many high ones were fixed, a few problems are new."""
    rng = random.Random(f"{seed}:rescan:{site.host}")
    bonus = 0.1 if site.level and site.level >= 2 else 0.0  # graded systems have someone who fixes things
    kept = [k for k in keys if rng.random() >= FIX_CHANCE[WEB_CHECKS[k].severity] + bonus]
    if _chance(rng, 0.08):
        new = rng.choice(NEW_ON_RESCAN)
        if new not in keys:
            kept.append(new)
    return kept


def nuclei_jsonl(results: list[tuple[Site, str, str]], started: datetime.datetime) -> bytes:
    """JSONL lines as ``nuclei -jsonl -omit-raw`` writes them: one line per (template, matcher) hit."""
    out = io.BytesIO()
    clock = started
    for site, key, ip in results:
        check = WEB_CHECKS[key]
        base = f"{'https' if site.https else 'http'}://{site.host}"
        matchers = check.matchers or ("",)
        if check.matchers:
            rng = random.Random(f"headers:{site.host}:{clock:%Y%m%d}")
            offered = [m for m in check.matchers if site.https or m != "strict-transport-security"]
            matchers = tuple(m for m in offered if rng.random() < 0.7) or tuple(offered[:1])
        for matcher in matchers:
            clock += datetime.timedelta(seconds=3)
            info = {
                "name": check.name,
                "author": ["edusec-demo"],
                "tags": check.tags.split(",") if check.tags else [],
                "description": check.description,
                "severity": check.severity,
            }
            if check.remediation:
                info["remediation"] = check.remediation
            classification = {}
            if check.cve:
                classification["cve-id"] = [check.cve.lower()]
            if check.cwe:
                classification["cwe-id"] = [f"cwe-{check.cwe}"]
            if check.cvss is not None:
                classification["cvss-metrics"] = check.vector
                classification["cvss-score"] = check.cvss
            if classification:
                info["classification"] = classification
            tls = not check.path
            line = {
                "template": f"{'ssl' if tls else 'http'}/{check.template}.yaml",
                "template-id": check.template,
                "info": info,
                "type": "ssl" if tls else "http",
                "host": f"{site.host}:{site.port}" if tls else base,
                "port": str(site.port),
                "scheme": "https" if site.https else "http",
                "url": base,
                "matched-at": f"{site.host}:{site.port}" if tls else base + check.path,
                "ip": ip,
                "timestamp": clock.isoformat(),
                "matcher-status": True,
            }
            if matcher:
                line["matcher-name"] = matcher
            extracted = check.extracted or ((check.body,) if check.body else ())
            if extracted:
                line["extracted-results"] = list(extracted)
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
    return out.getvalue()


# ---- Nessus ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plugin:
    plugin_id: int
    name: str
    family: str
    severity: int  # 0 info … 4 critical
    synopsis: str
    solution: str = "n/a"
    cvss3: float | None = None
    cvss2: float | None = None
    cves: tuple = ()


RISK_FACTOR = {0: "None", 1: "Low", 2: "Medium", 3: "High", 4: "Critical"}
PLUGINS = {
    p.plugin_id: p
    for p in (
        Plugin(19506, "Nessus Scan Information", "Settings", 0, "This plugin displays information about the scan."),
        Plugin(11936, "OS Identification", "General", 0, "It is possible to guess the remote operating system."),
        Plugin(
            11219, "Nessus SYN scanner", "Port scanners", 0, "It is possible to determine which TCP ports are open."
        ),
        Plugin(10719, "MySQL Server Detection", "Databases", 0, "A database server is listening on the remote port."),
        Plugin(
            10114,
            "ICMP Timestamp Request Remote Date Disclosure",
            "General",
            1,
            "It is possible to determine the exact time set on the remote host.",
            "Filter out the ICMP timestamp requests (13), and the outgoing ICMP timestamp replies (14).",
            cvss2=2.1,
            cves=("CVE-1999-0524",),
        ),
        Plugin(
            70658,
            "SSH Server CBC Mode Ciphers Enabled",
            "Misc.",
            1,
            "The SSH server is configured to use Cipher Block Chaining.",
            "Disable CBC mode cipher encryption, and enable CTR or GCM cipher mode encryption.",
            cvss3=3.7,
            cvss2=2.6,
        ),
        Plugin(
            71049,
            "SSH Weak MAC Algorithms Enabled",
            "Misc.",
            1,
            "The remote SSH server is configured to allow MD5 and 96-bit MAC algorithms.",
            "Disable MD5 and 96-bit MAC algorithms.",
            cvss2=2.6,
        ),
        Plugin(
            104743,
            "TLS Version 1.0 Protocol Detection",
            "Service detection",
            2,
            "The remote service encrypts traffic using an older version of TLS.",
            "Enable support for TLS 1.2 and 1.3, and disable support for TLS 1.0.",
            cvss3=6.5,
            cvss2=6.1,
        ),
        Plugin(
            51192,
            "SSL Certificate Cannot Be Trusted",
            "General",
            2,
            "The SSL certificate for this service cannot be trusted.",
            "Purchase or generate a proper SSL certificate for this service.",
            cvss3=6.5,
            cvss2=6.4,
        ),
        Plugin(
            42873,
            "SSL Medium Strength Cipher Suites Supported (SWEET32)",
            "General",
            3,
            "The remote service supports the use of medium strength SSL ciphers.",
            "Reconfigure the affected application if possible to avoid use of medium strength ciphers.",
            cvss3=7.5,
            cvss2=5.0,
            cves=("CVE-2016-2183",),
        ),
        Plugin(
            42263,
            "Unencrypted Telnet Server",
            "Misc.",
            2,
            "The remote Telnet server transmits traffic in cleartext.",
            "Disable the Telnet service and use SSH instead.",
            cvss3=6.5,
            cvss2=5.8,
        ),
        Plugin(
            58453,
            "Terminal Services Doesn't Use Network Level Authentication (NLA) Only",
            "Misc.",
            2,
            "The remote Terminal Services doesn't use Network Level Authentication only.",
            "Enable Network Level Authentication (NLA) on the remote RDP server.",
            cvss3=4.0,
            cvss2=5.1,
        ),
        Plugin(
            18405,
            "Microsoft Windows Remote Desktop Protocol Server Man-in-the-Middle Weakness",
            "Windows",
            2,
            "It may be possible to get access to the remote host.",
            "Force the use of SSL as a transport layer for this service if supported.",
            cvss3=6.5,
            cvss2=5.1,
            cves=("CVE-2005-1794",),
        ),
        Plugin(
            57608,
            "SMB Signing not required",
            "Misc.",
            2,
            "Signing is not required on the remote SMB server.",
            "Enforce message signing in the host's configuration.",
            cvss3=5.3,
            cvss2=5.0,
        ),
        Plugin(
            97833,
            "MS17-010: Security Update for Microsoft Windows SMB Server (4013389) (ETERNALBLUE) (uncredentialed check)",
            "Windows",
            3,
            "The remote Windows host is affected by multiple vulnerabilities.",
            "Apply the MS17-010 update, or disable SMBv1.",
            cvss3=8.1,
            cvss2=9.3,
            cves=("CVE-2017-0143", "CVE-2017-0144", "CVE-2017-0145", "CVE-2017-0146", "CVE-2017-0148"),
        ),
        Plugin(
            108797,
            "Unsupported Windows OS (remote)",
            "Windows",
            4,
            "The remote OS or service pack is no longer supported.",
            "Upgrade to a supported version of Windows.",
            cvss3=10.0,
            cvss2=10.0,
        ),
        Plugin(
            134862,
            "Apache Tomcat AJP Connector Request Injection (Ghostcat)",
            "Web Servers",
            4,
            "There is a vulnerable AJP connector listening on the remote host.",
            "Update the AJP configuration to require authorization and/or upgrade the Tomcat server.",
            cvss3=9.8,
            cvss2=7.5,
            cves=("CVE-2020-1938",),
        ),
    )
}


def nessus_items(host: Host, seed: int) -> list[tuple[Plugin, int, str, str]]:
    """(plugin, port, service name, plugin output) of one host."""
    rng = random.Random(f"{seed}:nessus:{host.ip}")
    items = []

    def add(plugin_id, port, svc, output=""):
        items.append((PLUGINS[plugin_id], port, svc, output))

    add(19506, 0, "general", "Nessus version : 10.7.1\nScan type : Normal\nPort scanner(s) : nessus_syn_scanner")
    add(11936, 0, "general", f"Remote operating system : {host.os}\nConfidence level : 70")
    if _chance(rng, 0.3):
        add(10114, 0, "icmp", "The difference between the local and remote clocks is 2 seconds.")
    for service in sorted(host.services, key=lambda s: s.port):
        port = service.port
        svc = {"http": "www", "ms-wbt-server": "msrdp", "microsoft-ds": "cifs"}.get(service.name, service.name)
        add(11219, port, svc, f"Port {port}/tcp was found to be open")
        if service.name == "ssh":
            if _chance(rng, 0.5):
                add(70658, port, svc, "The following client-to-server CBC algorithms are supported :\n\n  aes128-cbc")
            if _chance(rng, 0.35):
                add(71049, port, svc, "hmac-md5\nhmac-md5-96\nhmac-sha1-96")
        elif service.tunnel:
            if _chance(rng, 0.45):
                add(104743, port, svc, "TLSv1 is enabled and the server supports at least one cipher.")
            if _chance(rng, 0.25):
                add(42873, port, svc, "Medium Strength Ciphers (> 64-bit and < 112-bit key, or 3DES)\n\n  DES-CBC3-SHA")
            if _chance(rng, 0.3):
                add(51192, port, svc, "The certificate chain is signed by an unknown certificate authority.")
        elif service.name == "telnet":
            add(42263, port, svc, "Nessus collected the following banner from the remote Telnet server :\n\nLogin:")
        elif service.name == "ms-wbt-server":
            add(58453, port, svc, "Nessus was able to negotiate non-NLA (Standard RDP) security.")
            if _chance(rng, 0.6):
                add(18405, port, svc)
        elif service.name == "microsoft-ds":
            add(57608, port, svc)
            if service.ms17_010:
                add(97833, port, svc, "Sent: 00000085ff534d42...\nReceived: 0000002fff534d42250500c0")
        elif service.name == "mysql":
            add(10719, port, svc, f"Version : {service.version}")
        if service.ajp:
            add(11219, 8009, "ajp13", "Port 8009/tcp was found to be open")
            add(134862, 8009, "ajp13", "Nessus was able to read /WEB-INF/web.xml through the AJP connector.")
    if host.os == "Windows Server 2008 R2" and _chance(rng, 0.4):
        add(108797, 0, "general", "Unsupported Windows version installed: Microsoft Windows Server 2008 R2")
    return items


def nessus_xml(report: list[tuple[Host, list]], name: str, started: datetime.datetime) -> bytes:
    root = etree.Element("NessusClientData_v2")
    policy = _sub(root, "Policy")
    _sub(policy, "policyName", "Basic Network Scan")
    container = _sub(root, "Report", name=name)
    clock = started
    for host, items in report:
        clock += datetime.timedelta(seconds=95)
        report_host = _sub(container, "ReportHost", name=host.name or host.ip)
        props = _sub(report_host, "HostProperties")
        _sub(props, "tag", _ctime(clock), name="HOST_END")
        _sub(props, "tag", host.os, name="operating-system")
        _sub(props, "tag", host.ip, name="host-ip")
        if host.name:
            _sub(props, "tag", host.name, name="host-fqdn")
        _sub(props, "tag", _ctime(clock - datetime.timedelta(seconds=90)), name="HOST_START")
        for plugin, port, svc, output in items:
            item = _sub(
                report_host,
                "ReportItem",
                port=port,
                svc_name=svc,
                protocol="udp" if svc == "icmp" else "tcp",
                severity=plugin.severity,
                pluginID=plugin.plugin_id,
                pluginName=plugin.name,
                pluginFamily=plugin.family,
            )
            _sub(item, "description", plugin.synopsis)
            _sub(item, "plugin_name", plugin.name)
            _sub(item, "plugin_type", "remote")
            _sub(item, "risk_factor", RISK_FACTOR[plugin.severity])
            _sub(item, "solution", plugin.solution)
            _sub(item, "synopsis", plugin.synopsis)
            for cve in plugin.cves:
                _sub(item, "cve", cve)
            if plugin.cvss3 is not None:
                _sub(item, "cvss3_base_score", plugin.cvss3)
            if plugin.cvss2 is not None:
                _sub(item, "cvss_base_score", plugin.cvss2)
            if output:
                _sub(item, "plugin_output", output)
    return _xml(root)


# ---- OWASP ZAP -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZapAlert:
    plugin_id: int
    name: str
    risk: int  # 0 info … 3 high
    cwe: int
    desc: str
    solution: str
    instances: tuple  # (path, method, param, attack, evidence)


RISK_DESC = {0: "Informational", 1: "Low", 2: "Medium", 3: "High"}


def zap_alerts(site: Site, profile: str, seed: int) -> list[ZapAlert]:
    rng = random.Random(f"{seed}:zap:{site.host}")
    pages = ("/", "/login", "/notice/list?page=1", "/notice/detail?id=1024", "/about")
    header = tuple((p, "GET", "", "", "") for p in pages[:3])
    alerts = [
        ZapAlert(
            10020,
            "Missing Anti-clickjacking Header",
            2,
            1021,
            "<p>The response does not protect against 'ClickJacking' attacks.</p>",
            "<p>Set Content-Security-Policy frame-ancestors or X-Frame-Options.</p>",
            tuple((p, "GET", "x-frame-options", "", "") for p in pages[:3]),
        ),
        ZapAlert(
            10038,
            "Content Security Policy (CSP) Header Not Set",
            2,
            693,
            "<p>No Content Security Policy header was found.</p>",
            "<p>Set the Content-Security-Policy header.</p>",
            header,
        ),
        ZapAlert(
            10021,
            "X-Content-Type-Options Header Missing",
            1,
            693,
            "<p>The Anti-MIME-Sniffing header X-Content-Type-Options was not set to 'nosniff'.</p>",
            "<p>Set X-Content-Type-Options: nosniff.</p>",
            tuple((p, "GET", "x-content-type-options", "", "") for p in pages),
        ),
        ZapAlert(
            10010,
            "Cookie No HttpOnly Flag",
            1,
            1004,
            "<p>A cookie has been set without the HttpOnly flag.</p>",
            "<p>Set the HttpOnly flag for all cookies.</p>",
            (("/login", "GET", "JSESSIONID", "", "Set-Cookie: JSESSIONID"),),
        ),
        ZapAlert(
            10036,
            'Server Leaks Version Information via "Server" HTTP Response Header Field',
            1,
            200,
            "<p>The web server leaks its version in the Server header.</p>",
            "<p>Suppress the Server header or its version.</p>",
            (("/", "GET", "", "", "nginx/1.16.1"),),
        ),
        ZapAlert(
            10096,
            "Timestamp Disclosure - Unix",
            0,
            200,
            "<p>A timestamp was disclosed by the application.</p>",
            "<p>Confirm the timestamp is not sensitive.</p>",
            (("/static/js/app.js", "GET", "", "", "1700000000"),),
        ),
        ZapAlert(
            10027,
            "Information Disclosure - Suspicious Comments",
            0,
            200,
            "<p>The response appears to contain suspicious comments.</p>",
            "<p>Remove comments that reveal internals.</p>",
            (("/static/js/app.js", "GET", "", "", "TODO"),),
        ),
    ]
    if site.https:
        alerts.append(
            ZapAlert(
                10035,
                "Strict-Transport-Security Header Not Set",
                1,
                319,
                "<p>HTTP Strict Transport Security (HSTS) is not enforced.</p>",
                "<p>Set the Strict-Transport-Security header.</p>",
                header,
            )
        )
    if _chance(rng, 0.5 * FACTOR[profile]):
        alerts.append(
            ZapAlert(
                10202,
                "Absence of Anti-CSRF Tokens",
                2,
                352,
                "<p>No Anti-CSRF tokens were found in a HTML submission form.</p>",
                "<p>Use an anti-CSRF token in every state-changing form.</p>",
                (("/login", "GET", "", "", '<form action="/login" method="post">'),),
            )
        )
    if profile in ("poor", "bad"):
        alerts.append(
            ZapAlert(
                40012,
                "Cross Site Scripting (Reflected)",
                3,
                79,
                "<p>Cross-site Scripting (XSS) is an attack "
                "technique that involves echoing attacker-supplied code into a user's browser.</p>",
                "<p>Encode output for its context and validate input.</p>",
                (
                    (
                        "/search?keyword=%22%3E%3CscrIpt%3Ealert%281%29%3B%3C%2FscRipt%3E",
                        "GET",
                        "keyword",
                        '"><scrIpt>alert(1);</scRipt>',
                        '"><scrIpt>alert(1);</scRipt>',
                    ),
                ),
            )
        )
        alerts.append(
            ZapAlert(
                40018,
                "SQL Injection",
                3,
                89,
                "<p>SQL injection may be possible.</p>",
                "<p>Use parameterised queries; never build SQL from request values.</p>",
                (("/notice/detail?id=1024+AND+1%3D1+--+", "GET", "id", "1024 AND 1=1 -- ", ""),),
            )
        )
        alerts.append(
            ZapAlert(
                0,
                "Directory Browsing",
                2,
                548,
                "<p>It is possible to view the directory listing.</p>",
                "<p>Disable directory browsing.</p>",
                (("/upload/", "GET", "", "", "Index of /upload"),),
            )
        )
    return alerts


def zap_xml(sites: list[tuple[Site, list[ZapAlert]]], generated: datetime.datetime) -> bytes:
    root = etree.Element("OWASPZAPReport", programName="ZAP", version="2.15.0", generated=_rfc(generated))
    for site, alerts in sites:
        elem = _sub(
            root,
            "site",
            name=f"{'https' if site.https else 'http'}://{site.host}",
            host=site.host,
            port=site.port,
            ssl="true" if site.https else "false",
        )
        container = _sub(elem, "alerts")
        for alert in alerts:
            item = _sub(container, "alertitem")
            _sub(item, "pluginid", alert.plugin_id)
            _sub(item, "alertRef", alert.plugin_id)
            _sub(item, "alert", alert.name)
            _sub(item, "name", alert.name)
            _sub(item, "riskcode", alert.risk)
            _sub(item, "confidence", 2)
            _sub(item, "riskdesc", f"{RISK_DESC[alert.risk]} (Medium)")
            _sub(item, "confidencedesc", "Medium")
            _sub(item, "desc", alert.desc)
            instances = _sub(item, "instances")
            base = f"{'https' if site.https else 'http'}://{site.host}"
            for path, method, param, attack, evidence in alert.instances:
                instance = _sub(instances, "instance")
                _sub(instance, "uri", base + path)
                _sub(instance, "method", method)
                _sub(instance, "param", param)
                _sub(instance, "attack", attack)
                _sub(instance, "evidence", evidence)
                _sub(instance, "otherinfo", "")
            _sub(item, "count", len(alert.instances))
            _sub(item, "solution", alert.solution)
            _sub(item, "otherinfo", "")
            _sub(item, "reference", "")
            _sub(item, "cweid", alert.cwe)
            _sub(item, "wascid", 15)
            _sub(item, "sourceid", 3)
    return _xml(root)


# ---- testssl.sh ------------------------------------------------------------------------------------------------------


def testssl_rows(site: Site, ip: str, profile: str, seed: int) -> list[tuple]:
    rng = random.Random(f"{seed}:testssl:{site.host}")
    f = FACTOR[profile]
    target = f"{site.host}/{ip}"
    port = str(site.port)

    def row(check, severity, finding, cve="", cwe=""):
        return (check, target, port, severity, finding, cve, cwe)

    tls10 = _chance(rng, 0.3 + 0.2 * f)
    sslv3 = _chance(rng, 0.05 * f)
    sweet32 = _chance(rng, 0.2 * f)
    expired = _chance(rng, 0.06 * f)
    rows = [
        row("service", "INFO", "HTTP"),
        row("SSLv2", "OK", "not offered"),
        row("SSLv3", "HIGH" if sslv3 else "OK", "offered (NOT ok)" if sslv3 else "not offered"),
        row("TLS1", "LOW" if tls10 else "INFO", "offered (deprecated)" if tls10 else "not offered"),
        row("TLS1_1", "LOW" if tls10 else "INFO", "offered (deprecated)" if tls10 else "not offered"),
        row("TLS1_2", "OK", "offered"),
        row("TLS1_3", "OK" if not tls10 else "INFO", "offered with final" if not tls10 else "not offered"),
        row(
            "cipherlist_3DES_IDEA",
            "MEDIUM" if sweet32 else "OK",
            "offered" if sweet32 else "not offered",
            "",
            "CWE-310" if sweet32 else "",
        ),
        row("heartbleed", "OK", "not vulnerable, no heartbeat extension", "CVE-2014-0160", "CWE-119"),
        row(
            "POODLE_SSL",
            "HIGH" if sslv3 else "OK",
            "VULNERABLE, uses SSLv3+CBC" if sslv3 else "not vulnerable, no SSLv3 support",
            "CVE-2014-3566",
            "CWE-310",
        ),
        row(
            "SWEET32",
            "LOW" if sweet32 else "OK",
            "uses 64 bit block ciphers" if sweet32 else "not vulnerable",
            "CVE-2016-2183 CVE-2016-6329",
            "CWE-327",
        ),
        row(
            "LUCKY13",
            "LOW" if tls10 else "OK",
            "potentially vulnerable, uses TLS CBC ciphers" if tls10 else "not vulnerable",
            "CVE-2013-0169",
            "CWE-310",
        ),
        row("HSTS", "OK" if _chance(rng, 0.5 / f) else "LOW", "not offered"),
        row("cert_expirationStatus", "CRITICAL" if expired else "OK", "expired" if expired else ">= 60 days"),
        row("cert_chain_of_trust", "OK", "passed."),
    ]
    return [r for r in rows if not (r[0] == "HSTS" and r[3] == "OK")]


def testssl_csv(rows: list[tuple]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(("id", "fqdn/ip", "port", "severity", "finding", "cve", "cwe"))
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# ---- the plan --------------------------------------------------------------------------------------------------------


@dataclass
class ScanFile:
    file_name: str
    unit_code: str
    username: str  # the demo account that uploads it
    days_ago: int
    at: datetime.time  # time of the upload on that day
    data: bytes
    close_missing: bool = False


def _moment(today: datetime.date, days_ago: int, at: datetime.time, tz) -> datetime.datetime:
    return datetime.datetime.combine(today - datetime.timedelta(days=days_ago), at, tzinfo=tz)


def _unregistered_neighbour(nets, all_v4):
    """A free address in a /24 where exactly one of ``nets`` lies (and nobody registered the address), with that net."""
    registered = [ipaddress.ip_network(n.cidr) for n in all_v4]
    for net in nets:
        block = ipaddress.ip_network(net.cidr).supernet(new_prefix=24)
        if sum(1 for n in nets if ipaddress.ip_network(n.cidr).subnet_of(block)) != 1:
            continue
        for address in reversed(list(block.hosts())):
            if not any(address in r for r in registered):
                return address, net
    return None, None


def build_scans(snapshot: Snapshot, today: datetime.date, tz, seed: int = SEED) -> list[ScanFile]:
    """The demo's scanner files in upload order; pure (no database), the same for the same snapshot and day."""
    sites = list(snapshot.sites)
    addresses = {site.host: _site_address(site, snapshot) for site in sites}
    unregistered = []
    for url, profile, address in UNREGISTERED_SITES:
        host = url.split("//", 1)[1]
        unregistered.append((Site("", url, host, None, ""), profile))
        addresses[host] = address
    profiles = dict(snapshot.profiles)
    files = []

    # 1. city-wide exposure scan of every registered IPv4 range
    v4 = [n for n in snapshot.nets if ":" not in n.cidr]
    hosts_by_net = {n.cidr: net_hosts(n, profiles.get(n.unit_code, "fair"), seed) for n in v4}
    all_hosts = [h for n in v4 for h in hosts_by_net[n.cidr]]
    nmap_day = 68
    started = _moment(today, nmap_day, datetime.time(1, 5), tz)
    targets = sorted({str(ipaddress.ip_network(n.cidr).supernet(new_prefix=24)) for n in v4})
    files.append(
        ScanFile(
            f"示范市教育网暴露面扫描-{(today - datetime.timedelta(days=nmap_day)):%Y%m%d}.xml",
            CITY_CODE,
            "city_security",
            nmap_day,
            datetime.time(9, 40),
            nmap_xml(all_hosts, targets, started),
        )
    )

    # 2. and 6. the web scan and its re-scan
    first, second = [], []
    for site in sites:
        keys = web_problems(site, profiles.get(site.unit_code, "fair"), seed)
        first += [(site, k, addresses[site.host]) for k in keys]
        second += [(site, k, addresses[site.host]) for k in web_rescan(site, keys, seed)]
    for site, profile in unregistered:
        keys = web_problems(site, profile, seed)
        first += [(site, k, addresses[site.host]) for k in keys]
        second += [(site, k, addresses[site.host]) for k in web_rescan(site, keys, seed)]
    web_day, rescan_day = 61, 9
    files.append(
        ScanFile(
            f"全市学校网站漏洞扫描-{(today - datetime.timedelta(days=web_day)):%Y%m%d}.jsonl",
            CITY_CODE,
            "city_security",
            web_day,
            datetime.time(10, 15),
            nuclei_jsonl(first, _moment(today, web_day, datetime.time(0, 30), tz)),
        )
    )

    # 3. 东湖区's network scan (Nessus), 4. its web application test (ZAP)
    district = SCAN_DISTRICT
    prefix = DISTRICT_PREFIX[district]
    name = DISTRICT_NAME[district]
    dh_nets = [n for n in v4 if n.district == district]
    report = [(h, nessus_items(h, seed)) for n in dh_nets for h in hosts_by_net[n.cidr]]
    own = next((n for n in dh_nets if n.unit_code == district), None)
    vpn_address, vpn_net = _unregistered_neighbour(dh_nets, v4)
    if vpn_address is None:  # the demo's IPv4 space is fully registered: an unallocated IPv6 documentation address
        vpn_address, vpn_net = ipaddress.ip_address(UNREGISTERED_VPN_V6), own
    if own is not None:
        vpn = Host(
            str(vpn_address),
            "",
            "Linux 3.10",
            vpn_net.unit_code,
            "vpn",
            [Service(443, "http", "", tunnel=True, title="SSL VPN")],
        )
        vpn_items = [(PLUGINS[19506], 0, "general", "Scan type : Normal")]
        vpn_items += [(PLUGINS[11219], 443, "www", "Port 443/tcp was found to be open")]
        vpn_items += [(PLUGINS[104743], 443, "www", "TLSv1 is enabled."), (PLUGINS[42873], 443, "www", "DES-CBC3-SHA")]
        report.append((vpn, vpn_items))
    # the target list was typed as a /26: two addresses of the neighbouring district answered
    neighbour = next((n for n in v4 if n.unit_type == "district" and n.district != district), None)
    if neighbour is not None:
        for offset in (1, 3):
            ip = str(ipaddress.ip_network(neighbour.cidr).network_address + offset)
            stray = Host(ip, "", "Linux 3.10", neighbour.unit_code, "web", [Service(443, "http", tunnel=True)])
            report.append(
                (
                    stray,
                    [
                        (PLUGINS[11219], 443, "www", "Port 443/tcp was found to be open"),
                        (PLUGINS[104743], 443, "www", "TLSv1 is enabled."),
                    ],
                )
            )
    nessus_day = 45
    files.append(
        ScanFile(
            f"{name}教育网漏洞扫描-{(today - datetime.timedelta(days=nessus_day)):%Y%m%d}.nessus",
            district,
            f"{prefix}_security",
            nessus_day,
            datetime.time(14, 30),
            nessus_xml(report, f"{name}教育网季度扫描", _moment(today, nessus_day, datetime.time(9, 0), tz)),
        )
    )
    zap_sites = [s for s in sites if s.host == f"zhxy.{prefix}.edu.shifan.example"]
    zap_sites += [s for s in sites if s.unit_code == snapshot.demo_school and s.district == district][:1]
    if zap_sites:
        zap_day = 38
        files.append(
            ScanFile(
                f"{name}智慧校园平台检测-ZAP-{(today - datetime.timedelta(days=zap_day)):%Y%m%d}.xml",
                district,
                f"{prefix}_security",
                zap_day,
                datetime.time(15, 10),
                zap_xml(
                    [(s, zap_alerts(s, profiles.get(s.unit_code, "fair"), seed)) for s in zap_sites],
                    _moment(today, zap_day, datetime.time(14, 55), tz),
                ),
            )
        )

    # 5. TLS configuration of a handful of important sites
    rng = random.Random(f"{seed}:testssl")
    https_sites = [s for s in sites if s.https]
    chosen = [s for s in https_sites if s.unit_code in (CITY_CODE, snapshot.demo_school) or s.host.startswith("cloud.")]
    chosen += rng.sample([s for s in https_sites if s not in chosen], min(6, len(https_sites) - len(chosen)))
    rows = []
    for site in sorted(chosen, key=lambda s: s.host):
        rows += testssl_rows(site, addresses[site.host], profiles.get(site.unit_code, "fair"), seed)
    tls_day = 24
    files.append(
        ScanFile(
            f"重点网站TLS配置检测-{(today - datetime.timedelta(days=tls_day)):%Y%m%d}.csv",
            CITY_CODE,
            "city_security",
            tls_day,
            datetime.time(11, 0),
            testssl_csv(rows),
        )
    )
    files.append(
        ScanFile(
            f"全市学校网站漏洞复测-{(today - datetime.timedelta(days=rescan_day)):%Y%m%d}.jsonl",
            CITY_CODE,
            "city_security",
            rescan_day,
            datetime.time(10, 5),
            nuclei_jsonl(second, _moment(today, rescan_day, datetime.time(0, 30), tz)),
            close_missing=True,
        )
    )
    return files


# ---- loading ---------------------------------------------------------------------------------------------------------


def is_loaded(city) -> bool:
    from .models import ScanImport

    return ScanImport.objects.filter(unit__path__startswith=city.path).exists()


def _backdate(t0, moment, scan_import) -> None:
    """Date what the import just wrote (everything at or after ``t0``) at ``moment``, as if uploaded then."""
    from .models import Finding, ScanImport

    Finding.objects.filter(first_seen__gte=t0).update(first_seen=moment, created_at=moment)
    Finding.objects.filter(last_seen__gte=t0).update(last_seen=moment)
    Finding.objects.filter(updated_at__gte=t0).update(updated_at=moment)
    took = datetime.timedelta(seconds=20 + scan_import.records // 25)
    ScanImport.objects.filter(pk=scan_import.pk).update(
        created_at=moment, updated_at=moment + took, started_at=moment, finished_at=moment + took
    )


def _every(queryset, step: int, offset: int = 0) -> list[int]:
    """Every ``step``-th pk of ``queryset`` in fingerprint order: a fixed, spread-out sample."""
    pks = list(queryset.order_by("fingerprint").values_list("pk", flat=True))
    return pks[offset::step]


def _set_status(pks, status, reason, moment, **extra) -> int:
    from .models import Finding

    return Finding.objects.filter(pk__in=pks).update(status=status, status_reason=reason, updated_at=moment, **extra)


def _unit_actions(city, step: str, moment, users) -> dict:
    """What units did with their findings between and after the scans (plain updates: this is demo history)."""
    from .models import Finding, FindingSource, FindingStatus, Severity

    # what the units themselves did: unattributed findings wait for someone to assign them first
    scoped = Finding.objects.filter(unit__path__startswith=city.path, source=FindingSource.SCANNER, attributed=True)
    counts = {}
    if step == "after_nmap":
        exposed = scoped.filter(tool="nmap", rule_id__startswith="nmap:exposed:", status=FindingStatus.OPEN)
        counts["fixed"] = _set_status(_every(exposed, 4), FindingStatus.FIXED, "已在出口防火墙关闭该端口的映射", moment)
        high = scoped.filter(tool="nmap", severity=Severity.HIGH, status=FindingStatus.OPEN)
        counts["confirmed"] = _set_status(
            _every(high, 3, 1), FindingStatus.CONFIRMED, "已确认，计划在机房改造时收回公网映射", moment
        )
    elif step == "after_web_scan":
        # marked fixed by the units; the re-scan shows whether they really were (else they are reopened)
        web = scoped.filter(tool="nuclei", severity__in=("critical", "high", "medium"), status=FindingStatus.OPEN)
        counts["fixed"] = _set_status(_every(web, 5), FindingStatus.FIXED, "已升级相关组件并删除测试文件", moment)
    elif step == "final":
        serious = scoped.filter(
            severity__in=("critical", "high"), status__in=(FindingStatus.OPEN, FindingStatus.REOPENED)
        )
        counts["confirmed"] = _set_status(_every(serious, 3), FindingStatus.CONFIRMED, "已确认，正在整改", moment)
        tls = scoped.filter(tool="testssl", status=FindingStatus.OPEN)
        counts["fixed"] = _set_status(_every(tls, 4), FindingStatus.FIXED, "已关闭 TLS 1.0/1.1 并更新证书", moment)
        counts.update(_exceptions(city, scoped, moment, users))
    return counts


def _exceptions(city, scoped, moment, users) -> dict:
    """One accepted risk approved by 东湖区 and one false-positive request of the demo school waiting for it."""
    from .models import Finding, FindingStatus

    counts = {}
    admin = users.get(f"{DISTRICT_PREFIX[SCAN_DISTRICT]}_admin")
    if admin is not None and admin.unit_id:
        candidates = scoped.filter(
            tool="nmap",
            severity="medium",
            status=FindingStatus.OPEN,
            unit__unit_type="school",
            unit__path__startswith=admin.unit.path,
        ).order_by("fingerprint")[:1]
        if candidates:
            reason = "该设备仅开放只读访问，新平台上线前暂保留，已限制访问来源"
            counts["risk_accepted"] = _set_status(
                [candidates[0].pk],
                FindingStatus.RISK_ACCEPTED,
                reason,
                moment,
                accepted_until=moment.date() + datetime.timedelta(days=120),
                status_approved_by=admin,
                status_approved_at=moment,
            )
    requester = users.get("school_cio")
    if requester is not None and requester.unit_id:
        pending = scoped.filter(unit=requester.unit, status=FindingStatus.OPEN, requested_status="")
        pending = pending.order_by("fingerprint")[:1]
        if pending:
            counts["pending_requests"] = Finding.objects.filter(pk=pending[0].pk).update(
                requested_status=FindingStatus.FALSE_POSITIVE,
                request_reason="该页面已下线，扫描器命中的是统一的404跳转页",
                requested_by=requester,
                requested_at=moment,
            )
    return counts


def _sync_duties(today) -> bool:
    """Record today's MLPS duty states and turn the overdue ones into findings, once findings.duties exists."""
    from assets.duties import record_duty_states

    record_duty_states(today)
    from .duties import sync_duty_findings

    sync_duty_findings(today=today)
    return True


@transaction.atomic
def load(seed: int = SEED) -> dict | None:
    """Import the demo scans. Returns the counts, or None when they exist already or there is no demo ledger."""
    from django.core.files.base import ContentFile
    from django.db.models import Count
    from django.utils import timezone

    from assets import demo as assets_demo
    from core.audit import record
    from core.models import AuditAction
    from orgs.models import Unit, User

    from .imports import file_digest, run_import
    from .models import Finding, FindingSource, ImportState, ScanImport

    city = Unit.objects.filter(code=CITY_CODE).first()
    if city is None or is_loaded(city) or not assets_demo.is_loaded():
        return None
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    files = build_scans(read_snapshot(city, seed), today, tz, seed)
    units = {u.code: u for u in Unit.objects.filter(path__startswith=city.path)}
    users = {u.username: u for u in User.objects.filter(is_demo=True).select_related("unit")}
    counts = {"imports": 0, "records": 0, "new": 0, "reopened": 0, "closed": 0, "unattributed": 0, "rejected": 0}
    # (days ago, what the units did then), between the uploads
    pending_actions = [(54, "after_nmap"), (30, "after_web_scan"), (4, "final")]

    def act_until(days_ago):
        while pending_actions and pending_actions[0][0] > days_ago:
            day, step = pending_actions.pop(0)
            moment = _moment(today, day, datetime.time(16, 20), tz)
            for key, value in _unit_actions(city, step, moment, users).items():
                counts[key] = counts.get(key, 0) + value

    with assets_demo._row_audit_paused((Finding, ScanImport)):
        for scan in files:
            act_until(scan.days_ago)
            unit = units.get(scan.unit_code, city)
            user = users.get(scan.username) or users.get("city_security")
            fileobj = io.BytesIO(scan.data)
            scan_import = ScanImport(
                unit=unit,
                file_name=scan.file_name,
                size=len(scan.data),
                sm3=file_digest(fileobj),
                close_missing=scan.close_missing,
                created_by=user,
                updated_by=user,
            )
            scan_import.upload.save("scan", ContentFile(scan.data), save=False)
            scan_import.save()
            t0 = timezone.now()
            run_import(scan_import, fileobj, user=user, audit_entry=False)  # one summary entry below
            if scan_import.state != ImportState.DONE:
                raise RuntimeError(f"demo scan {scan.file_name} did not import: {scan_import.error_en}")
            _backdate(t0, _moment(today, scan.days_ago, scan.at, tz), scan_import)
            counts["imports"] += 1
            for key in ("records", "new", "reopened", "closed", "unattributed", "rejected"):
                counts[key] += getattr(scan_import, key)
        act_until(-1)
        duties = _sync_duties(today)

    scoped = Finding.objects.filter(unit__path__startswith=city.path)
    counts["findings"] = scoped.filter(source=FindingSource.SCANNER).count()
    if duties:
        counts["duty_findings"] = scoped.filter(source=FindingSource.MLPS_DUTY).count()
    counts["units"] = scoped.values("unit").annotate(n=Count("pk")).count()
    record(AuditAction.CREATE, object_repr=SUMMARY_OBJECT_REPR, unit_path=city.path, changes=counts)
    return counts


register_demo_loader(load)
