#!/usr/bin/env python
"""Scanner-import benchmark: a generated Nessus XML and Nuclei JSONL through ``run_import`` on SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python bench/import_bench.py                  # full size: Nessus ≥ 100 MB, Nuclei ≥ 500k lines
    .venv/bin/python bench/import_bench.py --scale 0.05     # smoke run (a few seconds per step)
    .venv/bin/python bench/import_bench.py --scale 0.1 --profile nuclei --backends sqlite   # where the time goes

Steps:

1. Generate (``random.Random(seed)``, reused when present) under ``--out``/data/seed<S>-scale<X>/: a fictitious city
   (districts, schools, their domains, websites and IP ranges), ~5k hosts (IPv4 in 10/8, 198.18/15, IPv6 in
   2001:db8::/32, names under ``.example``), a Nessus ``.nessus`` of ~50k ReportItems and a Nuclei v3 JSONL of ≥ 500k
   lines, each with a re-scan file in which 10 % of the findings differ (4 % gone, 4 % new, 2 % new severity), and a
   ground-truth JSON per file. The ground truth is the generator's own bookkeeping of which (rule, host/IP, port, path,
   parameter) it emitted — including deliberate duplicates (Nessus: one plugin on 53/tcp and 53/udp; Nuclei: several
   matchers, query-string variants, exact repeats, two templates naming the same CVE at one place).
2. Parse-only: each file through ``parse_any`` without writing, timed, in its own process; then (untimed) the
   writer's ``fingerprint()`` of every parsed record is compared with the ground truth, as a cross-check.
3. Per backend: a fresh database (``edusec_bench`` on PostgreSQL 127.0.0.1, or a SQLite file under ``--out``), one
   setup process (migrate, units, assets), then per file a process that times ``run_import`` (detect + parse + write +
   commit) and one for the re-scan (``close_missing``), each counting its SQL statements and reporting its peak RSS,
   then checking the database against the ground truth.
4. A table (also ``--out``/results.json). The exit status is 0 even when targets are missed: this is a report.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = 4
DEFAULT_SEED = 20260
PG_DB = "edusec_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
ROOT_CODE = "329900"
TARGET_RATE = {"sqlite": 20_000, "postgres": 15_000}
RSS_LIMIT_MB = 300
QUERY_LIMIT = 5.0  # per 1,000 findings
GONE, NEW, RESEVERED = 0.04, 0.04, 0.02  # re-scan: share of the distinct findings gone / added / with a new severity
SEVERITY_WORD = {0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical"}
RISK_FACTOR = {0: "None", 1: "Low", 2: "Medium", 3: "High", 4: "Critical"}
RESULT_PREFIX = "BENCH-RESULT "
OS_LABEL = {"linux": "Linux Kernel 5.15", "windows": "Microsoft Windows Server 2019", "device": "Cisco IOS 15"}


def identity(rule: str, where: str, port, path: str = "", parameter: str = "") -> str:
    """The generator's name for one finding: the place it put it. Same fields as the writer's identity."""
    return "|".join([rule.lower(), where.lower(), str(port or ""), path, parameter])


def set_digest(hex_digests) -> str:
    """Order-independent digest of a set of SM3 hex digests."""
    h = hashlib.sha256()
    for item in sorted(hex_digests):
        h.update(item.encode())
    return h.hexdigest()


def sm3_hex(text: str) -> str:
    return hashlib.new("sm3", text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------------------------
# text


WORDS = (
    "remote host server service application version vulnerable affected attacker unauthenticated authenticated "
    "request response header cookie session configuration module component library function parameter input "
    "validation overflow buffer memory corruption denial injection command script cross site forgery redirect "
    "traversal directory file upload download disclosure information sensitive credential password token "
    "certificate cipher protocol handshake downgrade weak encryption hash signature integrity privilege escalation "
    "execution arbitrary code crafted packet payload handler parser endpoint interface administrator console panel "
    "default account login access control bypass race condition use after free null pointer dereference integer "
    "underflow heap stack format string deserialization template expression path query database statement "
    "timeout resource exhaustion cache poisoning spoofing replay leak exposure misconfiguration patch update "
    "upgrade vendor advisory release branch fixed installed detected reported according self-reported banner"
).split()
PRODUCTS = {
    "http": [
        "Apache HTTP Server",
        "nginx",
        "Microsoft IIS",
        "Apache Tomcat",
        "PHP",
        "WordPress",
        "Drupal",
        "jQuery",
        "Spring Framework",
        "Jenkins",
        "GitLab",
        "Zabbix",
        "ThinkPHP",
        "Struts",
        "Joomla!",
        "phpMyAdmin",
        "Elasticsearch",
        "Confluence",
        "Jira",
        "Weblogic",
    ],
    "ssl": ["OpenSSL", "SSL/TLS", "TLS", "SSL Certificate", "SSL Cipher"],
    "ssh": ["OpenSSH", "Dropbear SSH", "libssh"],
    "smb": ["Microsoft Windows SMB", "Samba", "Microsoft Windows"],
    "rdp": ["Microsoft Windows Remote Desktop", "Terminal Services"],
    "mysql": ["MySQL", "MariaDB"],
    "mssql": ["Microsoft SQL Server"],
    "redis": ["Redis"],
    "ftp": ["vsftpd", "ProFTPD", "FileZilla Server"],
    "telnet": ["Telnet Server"],
    "snmp": ["SNMP Agent", "Net-SNMP"],
    "ntp": ["NTP Server", "ntpd"],
    "dns": ["ISC BIND", "dnsmasq"],
    "host": ["Linux Kernel", "Microsoft Windows", "Ubuntu", "CentOS", "Red Hat Enterprise Linux", "Cisco IOS"],
}
FAMILY = {
    "http": "Web Servers",
    "ssl": "General",
    "ssh": "Misc.",
    "smb": "Windows",
    "rdp": "Windows",
    "mysql": "Databases",
    "mssql": "Databases",
    "redis": "Databases",
    "ftp": "FTP",
    "telnet": "Misc.",
    "snmp": "SNMP",
    "ntp": "Misc.",
    "dns": "DNS",
    "host": "Misc.",
}


IMPACTS = ["Remote Code Execution", "Denial of Service", "Information Disclosure", "Privilege Escalation", "Bypass"]
WEAKNESSES = ["Configuration", "Credentials", "Cipher Suites", "Permissions"]


class Text:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def sentence(self, low=8, high=22) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def sized(self, chars: int) -> str:
        parts, size = [], 0
        while size < chars:
            s = self.sentence()
            parts.append(s)
            size += len(s) + 1
        return " ".join(parts)


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_attr(text: str) -> str:
    return esc(text).replace('"', "&quot;")


def cve_ids(rng: random.Random, n: int) -> list[str]:
    return [f"CVE-{rng.randint(2014, 2025)}-{rng.randint(1000, 49999)}" for _ in range(n)]


def cvss_for(rng: random.Random, sev: int) -> float:
    lo, hi = {0: (0.0, 0.0), 1: (1.0, 3.9), 2: (4.0, 6.9), 3: (7.0, 8.9), 4: (9.0, 10.0)}[sev]
    return round(rng.uniform(lo, hi), 1)


def pick_severity(rng: random.Random) -> int:
    return rng.choices([1, 2, 3, 4], weights=[15, 45, 28, 12])[0]


# ---------------------------------------------------------------------------------------------------------------------
# the world: units, assets, hosts

SERVICES = {  # name: (port, protocol, Nessus svc_name, keys of the plugins that apply)
    "ssh": (22, "tcp", "ssh", ("ssh",)),
    "ftp": (21, "tcp", "ftp", ("ftp",)),
    "telnet": (23, "tcp", "telnet", ("telnet",)),
    "dns": (53, "tcp", "dns", ("dns",)),  # also 53/udp, see host_items
    "http": (80, "tcp", "www", ("http",)),
    "msrpc": (135, "tcp", "epmap", ()),
    "netbios": (139, "tcp", "smb", ("smb",)),
    "https": (443, "tcp", "www", ("http", "ssl")),
    "smb": (445, "tcp", "cifs", ("smb",)),
    "mssql": (1433, "tcp", "mssql", ("mssql",)),
    "mysql": (3306, "tcp", "mysql", ("mysql",)),
    "rdp": (3389, "tcp", "msrdp", ("rdp", "ssl")),
    "redis": (6379, "tcp", "redis", ("redis",)),
    "http-alt": (8080, "tcp", "www", ("http",)),
    "https-alt": (8443, "tcp", "www", ("http", "ssl")),
    "ntp": (123, "udp", "ntp", ("ntp",)),
    "snmp": (161, "udp", "snmp", ("snmp",)),
}
OS_SERVICES = {
    "linux": {
        "ssh": 0.9,
        "http": 0.65,
        "https": 0.6,
        "http-alt": 0.2,
        "https-alt": 0.1,
        "mysql": 0.15,
        "redis": 0.05,
        "ftp": 0.1,
        "dns": 0.06,
        "ntp": 0.1,
        "snmp": 0.1,
    },
    "windows": {"rdp": 0.8, "smb": 0.9, "msrpc": 0.8, "netbios": 0.5, "http": 0.5, "https": 0.4, "mssql": 0.2},
    "device": {"ssh": 0.5, "telnet": 0.3, "http": 0.6, "https": 0.5, "snmp": 0.7},
}
WEB_PORTS = {"http": ("http", 80), "https": ("https", 443), "http-alt": ("http", 8080), "https-alt": ("https", 8443)}
BASE_PATHS = ["/oa/", "/portal/", "/jwxt/", "/admin/", "/app/", "/cms/", "/zentao/", "/mail/", "/lib/", "/api/"]


def build_world(rng: random.Random, scale: float) -> dict:
    n_hosts = max(100, round(5000 * scale))
    n_schools = max(4, round(n_hosts / 25))
    n_districts = max(2, min(99, round(n_schools / 20)))
    districts = [
        {"code": f"3299{d + 1:02d}", "name": f"基准{d + 1}区教育局", "cidr": f"10.{d + 1}.250.0/24"}
        for d in range(n_districts)
    ]
    schools = []
    for s in range(n_schools):
        d, k = s % n_districts, s // n_districts
        assert k < 249, "too many schools per district for the 10.d.k.0/24 plan"
        domain = f"s{k + 1:02d}.d{d + 1:02d}.bench.example"
        schools.append(
            {
                "code": f"21329{s + 1:05d}",
                "name": f"基准{d + 1}区第{k + 1}学校",
                "district": d,
                "domain": domain,
                "website": f"www.{domain}",
                "cidr": f"10.{d + 1}.{k + 1}.0/24",
                "cidr6": f"2001:db8:{(d + 1) * 256 + k + 1:x}::/48",
                "mlps": rng.choice([2, 2, 3]),
                "internet": rng.random() < 0.5,
            }
        )
    hosts = []
    school_next = [0] * n_schools
    district_next = [0] * n_districts
    unreg_next = 0
    for _ in range(n_hosts):
        r = rng.random()
        v6 = False
        if r < 0.08:  # nobody registered it: unattributed
            n = unreg_next
            unreg_next += 1
            ip = str(ipaddress.IPv4Address("198.18.0.10") + n)
            fqdn = f"h{n:05d}.lab{n % 9}.unreg.example" if rng.random() < 0.5 else ""
            unit = ROOT_CODE
        elif r < 0.12:  # a district data-centre server: its name is not registered, its range is
            d = rng.randrange(n_districts)
            district_next[d] += 1
            n = district_next[d]
            if n > 250:
                continue
            ip = f"10.{d + 1}.250.{n}"
            fqdn = f"srv{n:03d}.d{d + 1:02d}.bench.example" if rng.random() < 0.6 else ""
            unit = districts[d]["code"]
        else:
            s = rng.randrange(n_schools)
            while school_next[s] >= 250:
                s = rng.randrange(n_schools)
            n = school_next[s]
            school_next[s] += 1
            school = schools[s]
            if n > 0 and rng.random() < 0.03:
                v6 = True
                ip = str(ipaddress.ip_network(school["cidr6"]).network_address + n + 1)
            else:
                ip = str(ipaddress.ip_network(school["cidr"]).network_address + n + 1)
            if n == 0:
                fqdn = school["website"]
            else:
                fqdn = f"h{n:03d}.{school['domain']}" if rng.random() < 0.7 else ""
            unit = school["code"]
        os_name = rng.choices(["linux", "windows", "device"], weights=[60, 30, 10])[0]
        services = [name for name, p in OS_SERVICES[os_name].items() if rng.random() < p]
        if not any(s in WEB_PORTS for s in services) and rng.random() < 0.95:
            services.append(rng.choice(["http", "https"]))
        hostpart = fqdn or (f"[{ip}]" if v6 else ip)
        bases = []
        for name in services:
            if name in WEB_PORTS:
                scheme, port = WEB_PORTS[name]
                default = (scheme, port) in (("http", 80), ("https", 443))
                origin = f"{scheme}://{hostpart}" + ("" if default else f":{port}")
                paths = ["/"] + rng.sample(BASE_PATHS, rng.choice([0, 0, 1, 1, 2]))
                bases.extend((origin, port, path, scheme) for path in paths)
        hosts.append(
            {
                "ip": ip,
                "fqdn": fqdn,
                "where": fqdn or ip,
                "hostpart": hostpart,
                "unit": unit,
                "registered": unit != ROOT_CODE,
                "os": os_name,
                "services": services,
                "bases": bases,
            }
        )
    return {"root": ROOT_CODE, "districts": districts, "schools": schools, "hosts": hosts}


# ---------------------------------------------------------------------------------------------------------------------
# Nessus


class Plugin:
    __slots__ = ("pid", "name", "family", "sev", "key", "head", "tail", "outputs", "proto", "prob")

    def __init__(self, pid, name, family, sev, key, proto=None, prob=1.0):
        self.pid, self.name, self.family, self.sev, self.key, self.proto = pid, name, family, sev, key, proto
        self.prob = prob
        self.head = self.tail = ""
        self.outputs: list[str] = []


INFO_PLUGINS = [  # pid, name, family, key, probability, output size (chars), extra
    (19506, "Nessus Scan Information", "Settings", "host", 1.0, 900),
    (11936, "OS Identification", "General", "host", 0.6, 250),
    (45590, "Common Platform Enumeration (CPE)", "General", "host", 0.45, 400),
    (54615, "Device Type", "General", "host", 0.35, 80),
    (10287, "Traceroute Information", "General", "host", 0.35, 200),
    (12053, "Host Fully Qualified Domain Name (FQDN) Resolution", "General", "fqdn", 0.5, 90),
    (11219, "Nessus SYN scanner", "Port scanners", "tcp_port", 0.35, 40),
    (22964, "Service Detection", "Service detection", "svc", 0.25, 80),
    (10107, "HTTP Server Type and Version", "Web Servers", "http", 0.35, 120),
    (24260, "HyperText Transfer Protocol (HTTP) Information", "Web Servers", "http", 0.2, 900),
    (56984, "SSL / TLS Versions Supported", "General", "ssl", 0.4, 160),
    (21643, "SSL Cipher Suites Supported", "General", "ssl", 0.4, 3200),
    (10863, "SSL Certificate Information", "General", "ssl", 0.4, 1800),
    (10881, "SSH Protocol Versions Supported", "General", "ssh", 0.35, 140),
    (70657, "SSH Algorithms and Languages Supported", "Misc.", "ssh", 0.3, 2600),
    (10028, "DNS Server BIND version Directive Remote Version Detection", "DNS", "dns", 1.0, 80),
    (10785, "Microsoft Windows SMB NativeLanManager Remote System Information Disclosure", "Windows", "smb", 0.6, 160),
    (10940, "Remote Desktop Protocol Service Detection", "Service detection", "rdp", 0.7, 60),
    (10719, "MySQL Server Detection", "Databases", "mysql", 0.7, 90),
    (10674, "Microsoft SQL Server UDP Query Remote Version Disclosure", "Databases", "mssql", 0.6, 300),
    (22873, "Software Enumeration (SSH)", "General", "host_linux", 0.15, 6000),
]
VULN_COUNTS = ([0, 1, 2, 3], [62, 24, 9, 5])  # vulnerabilities per (service key of a port)


def nessus_catalog(rng: random.Random) -> tuple[dict[int, Plugin], dict[str, list[Plugin]]]:
    text = Text(rng)
    plugins: dict[int, Plugin] = {}
    by_key: dict[str, list[Plugin]] = {}
    for pid, name, family, key, prob, out_size in INFO_PLUGINS:
        p = Plugin(pid, name, family, 0, key, proto="udp" if pid == 10287 else None, prob=prob)
        p.head = _nessus_static(text, rng, p, cves=[], desc_chars=rng.randint(150, 700))
        p.outputs = [_nessus_output(text, rng, p.pid, out_size) for _ in range(6)]
        plugins[pid] = p
        by_key.setdefault("info:" + key, []).append(p)
    used = set(plugins)
    for key, products in PRODUCTS.items():
        for _ in range(60 if key in ("http", "host") else 25 if key in ("ssl", "smb", "ssh") else 12):
            pid = rng.randint(100000, 240000)
            while pid in used:
                pid = rng.randint(100000, 240000)
            used.add(pid)
            sev = pick_severity(rng)
            product = rng.choice(products)
            a, b, c = rng.randint(1, 9), rng.randint(0, 30), rng.randint(1, 60)
            impact = rng.choice(IMPACTS)
            weakness = f"{rng.choice(['Weak', 'Default', 'Insecure'])} {rng.choice(WEAKNESSES)}"
            name = rng.choice(
                [
                    f"{product} {a}.{b}.x < {a}.{b}.{c} Multiple Vulnerabilities",
                    f"{product} < {a}.{b}.{c} {impact}",
                    f"{product} Unsupported Version Detection",
                    f"{product} {weakness}",
                ]
            )
            p = Plugin(pid, name, FAMILY[key], sev, key)
            cves = cve_ids(rng, rng.choice([0, 1, 1, 2, 3, 5, 8]))
            p.head = _nessus_static(text, rng, p, cves=cves, desc_chars=rng.randint(400, 2400))
            p.outputs = [_nessus_output(text, rng, p.pid, rng.choice([150, 300, 600, 1200])) for _ in range(4)]
            plugins[pid] = p
            by_key.setdefault(key, []).append(p)
    return plugins, by_key


def _nessus_static(text: Text, rng: random.Random, p: Plugin, *, cves: list[str], desc_chars: int) -> str:
    """Escaped ReportItem children before ``risk_factor``; also sets ``p.tail`` (after it) for vulnerabilities."""
    score = cvss_for(rng, p.sev)
    head = []
    if p.sev:
        head.append("<agent>all</agent>\n")
        head.append(f"<cpe>cpe:/a:{p.name.split()[0].lower()}</cpe>\n")
        for cve in cves:
            head.append(f"<cve>{cve}</cve>\n")
        head.append(f"<cvss3_base_score>{score}</cvss3_base_score>\n")
        head.append("<cvss3_vector>CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N</cvss3_vector>\n")
        head.append(f"<cvss_base_score>{max(0.0, round(score - 0.7, 1))}</cvss_base_score>\n")
        head.append("<cvss_vector>CVSS2#AV:N/AC:L/Au:N/C:P/I:P/A:N</cvss_vector>\n")
    head.append(f"<description>{esc(text.sized(desc_chars))}</description>\n")
    if p.sev:
        head.append(
            f"<exploitability_ease>{rng.choice(['No known exploits are available', 'Exploits are available'])}"
            "</exploitability_ease>\n"
        )
    head.append(f"<fname>bench_{p.pid}.nasl</fname>\n")
    head.append(
        f"<plugin_modification_date>2025/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}</plugin_modification_date>\n"
    )
    head.append(f"<plugin_name>{esc(p.name)}</plugin_name>\n")
    head.append(
        f"<plugin_publication_date>20{rng.randint(10, 24)}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}"
        "</plugin_publication_date>\n"
    )
    head.append(f"<plugin_type>{rng.choice(['remote', 'combined', 'summary', 'local'])}</plugin_type>\n")
    if p.sev:
        solution = text.paragraph(rng.randint(1, 3))
        refs = "\n".join(f"https://advisories.example/{p.pid}/{n}" for n in range(rng.randint(1, 4)))
        cwe = rng.choice([20, 22, 79, 89, 119, 200, 287, 306, 352, 400, 502, 787])
        tail = [
            f"<script_version>1.{rng.randint(1, 40)}</script_version>\n",
            f"<see_also>{refs}</see_also>\n",
            f"<solution>{esc(solution)}</solution>\n",
            f"<synopsis>{esc(text.sentence())}</synopsis>\n",
            f"<vuln_publication_date>2024/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}</vuln_publication_date>\n",
            f"<xref>CWE:{cwe}</xref>\n",
            f"<xref>IAVA:2024-A-{rng.randint(1, 999):04d}</xref>\n",
        ]
        p.tail = "".join(tail)
    else:
        p.tail = ""
    return "".join(head)


def _nessus_info_tail(text: Text, rng: random.Random) -> str:
    return (
        f"<script_version>1.{rng.randint(1, 40)}</script_version>\n<solution>n/a</solution>\n"
        f"<synopsis>{esc(text.sentence())}</synopsis>\n"
    )


def _nessus_output(text: Text, rng: random.Random, pid: int, chars: int) -> str:
    """Escaped plugin output with @HOST@ / @PORT@ markers."""
    if pid == 11219:
        return "Port @PORT@/tcp was found to be open"
    if pid == 19506:
        lines = [
            "Information about this scan : ",
            "",
            "Nessus version : 10.7.1",
            "Scanner IP : 192.0.2.10",
            "Port scanner(s) : nessus_syn_scanner",
            "Port range : default",
            "Target : @HOST@",
        ]
    elif pid in (21643, 70657, 22873, 10863):
        lines = []
        while sum(len(x) + 1 for x in lines) < chars:
            lines.append(
                f"  {rng.choice(WORDS)}-{rng.choice(WORDS)}{rng.randint(1, 999)}  "
                f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 99)}  0x{rng.getrandbits(32):08X}"
            )
    else:
        lines = [
            "  URL               : https://@HOST@:@PORT@/" + rng.choice(WORDS),
            f"  Installed version : {rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 60)}",
            f"  Fixed version     : {rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 60)}",
            "",
        ]
        body = text.sized(max(0, chars - 120))
        lines.append(body.replace(". ", ".\n"))
        if rng.random() < 0.3:
            lines.append("<title>@HOST@ & index</title>")  # markup in output, escaped below
    return esc("\n".join(lines))


def nessus_host_items(rng: random.Random, host: dict, plugins, by_key) -> list[list]:
    """[pid, port, protocol, svc_name, output variant] per ReportItem of one host."""
    items = []

    def maybe(key: str, port: int, proto: str, svc: str):
        for p in by_key.get("info:" + key, ()):
            if rng.random() < p.prob:
                items.append([p.pid, port, p.proto or proto, svc, rng.randrange(len(p.outputs))])

    maybe("host", 0, "tcp", "general")
    if host["fqdn"]:
        maybe("fqdn", 0, "tcp", "general")
    if host["os"] == "linux":
        maybe("host_linux", 0, "tcp", "general")
    k = rng.choices(*VULN_COUNTS)[0]
    for p in rng.sample(by_key["host"], k):
        items.append([p.pid, 0, "tcp", "general", rng.randrange(len(p.outputs))])
    for name in host["services"]:
        port, proto, svc, keys = SERVICES[name]
        if proto == "tcp":
            maybe("tcp_port", port, proto, svc)
        maybe("svc", port, proto, svc)
        if name == "dns":  # BIND version on 53/tcp and 53/udp: two ReportItems, one finding
            items.append([10028, 53, "tcp", "dns", 0])
            items.append([10028, 53, "udp", "dns", 1])
        for key in keys:
            if key != "dns":
                maybe(key, port, proto, svc)
            k = rng.choices(*VULN_COUNTS)[0]
            for p in rng.sample(by_key[key], min(k, len(by_key[key]))):
                items.append([p.pid, port, proto, svc, rng.randrange(len(p.outputs))])
    return items


def nessus_key(host: dict, pid: int, port: int) -> str:
    return identity(f"nessus:{pid}", host["where"], port or "")


def render_nessus(path: Path, world: dict, plan: list[list[list]], plugins, severity: dict[str, int]) -> int:
    """Write the .nessus file; ``severity`` overrides a slot's plugin severity. Returns the number of ReportItems."""
    count = 0
    info_tail = {}
    text = Text(random.Random(1))
    with open(path, "w", encoding="utf-8", buffering=4 << 20) as out:
        out.write('<?xml version="1.0" ?>\n<NessusClientData_v2>\n<Policy><policyName>EduSec bench</policyName>\n')
        out.write("<Preferences><ServerPreferences><preference><name>plugin_set</name><value>")
        out.write(";".join(str(pid) for pid in list(plugins)[:400]))
        out.write("</value></preference></ServerPreferences></Preferences></Policy>\n")
        out.write('<Report name="Bench scan" xmlns:cm="http://www.nessus.org/cm">\n')
        for host, items in zip(world["hosts"], plan, strict=True):
            if not items:
                continue
            name = host["fqdn"] or host["ip"]
            out.write(f'<ReportHost name="{esc_attr(name)}"><HostProperties>\n')
            out.write('<tag name="HOST_END">Tue Mar 03 10:39:42 2026</tag>\n')
            out.write(f'<tag name="operating-system">{OS_LABEL[host["os"]]}</tag>\n')
            out.write(f'<tag name="host-ip">{host["ip"]}</tag>\n')
            if host["fqdn"]:
                out.write(f'<tag name="host-fqdn">{host["fqdn"]}</tag>\n')
            out.write('<tag name="HOST_START">Tue Mar 03 10:32:42 2026</tag>\n</HostProperties>\n')
            for pid, port, proto, svc, variant in items:
                p = plugins[pid]
                sev = severity.get(nessus_key(host, pid, port), p.sev)
                tail = p.tail if p.sev else info_tail.setdefault(pid, _nessus_info_tail(text, text.rng))
                output = p.outputs[variant].replace("@HOST@", host["hostpart"]).replace("@PORT@", str(port))
                out.write(
                    f'<ReportItem port="{port}" svc_name="{svc}" protocol="{proto}" severity="{sev}" '
                    f'pluginID="{pid}" pluginName="{esc_attr(p.name)}" pluginFamily="{p.family}">\n'
                )
                out.write(p.head)
                out.write(f"<risk_factor>{RISK_FACTOR[sev]}</risk_factor>\n")
                out.write(tail)
                out.write(f"<plugin_output>{output}</plugin_output>\n</ReportItem>\n")
                count += 1
            out.write("</ReportHost>\n")
        out.write("</Report>\n</NessusClientData_v2>\n")
    return count


def generate_nessus(rng: random.Random, world: dict, data: Path) -> dict:
    plugins, by_key = nessus_catalog(random.Random(rng.getrandbits(64)))
    hosts = world["hosts"]
    plan = [nessus_host_items(rng, host, plugins, by_key) for host in hosts]
    slots: dict[str, tuple[int, int]] = {}  # identity -> (host index, base severity)
    for h, items in enumerate(plan):
        for pid, port, *_ in items:
            slots.setdefault(nessus_key(hosts[h], pid, port), (h, plugins[pid].sev))
    first = {"severity": {}}
    first_count = render_nessus(data / "nessus.nessus", world, plan, plugins, first["severity"])

    # the re-scan: gone, new, re-rated
    keys = list(slots)
    n = len(keys)
    gone = set(rng.sample(keys, round(n * GONE)))
    kept = [k for k in keys if k not in gone]
    reserved = rng.sample(kept, round(n * RESEVERED))
    new_severity = {}
    for k in reserved:
        old = slots[k][1]
        new_severity[k] = rng.choice([s for s in range(5) if s != old])
    plan2 = [
        [item for item in items if nessus_key(hosts[h], item[0], item[1]) not in gone] for h, items in enumerate(plan)
    ]
    new_keys: dict[str, tuple[int, int]] = {}
    want = round(n * NEW)
    vulns = [p for key, ps in by_key.items() if not key.startswith("info:") for p in ps]
    while len(new_keys) < want:
        h = rng.randrange(len(hosts))
        host = hosts[h]
        p = rng.choice(vulns)
        if p.key == "host":
            port, proto, svc = 0, "tcp", "general"
        else:
            matching = [s for s in host["services"] if p.key in SERVICES[s][3]]
            if not matching:
                continue
            port, proto, svc, _keys = SERVICES[rng.choice(matching)]
        k = nessus_key(host, p.pid, port)
        if k in slots or k in new_keys:
            continue
        new_keys[k] = (h, p.sev)
        plan2[h].insert(rng.randint(0, len(plan2[h])), [p.pid, port, proto, svc, rng.randrange(len(p.outputs))])
    second_count = render_nessus(data / "nessus-rescan.nessus", world, plan2, plugins, new_severity)
    return _ground_truth(
        "nessus",
        world,
        slots,
        first_count,
        gone,
        new_keys,
        new_severity,
        second_count,
        files=("nessus.nessus", "nessus-rescan.nessus"),
    )


def _ground_truth(tool, world, slots, records, gone, new_keys, new_severity, records2, files) -> dict:
    """Expected counts and database state from the generator's slots (identity -> (host index, severity))."""
    hosts = world["hosts"]

    def histograms(items):
        sev, units, unattributed = {}, {}, 0
        for h, s in items:
            word = SEVERITY_WORD[s]
            sev[word] = sev.get(word, 0) + 1
            unit = hosts[h]["unit"]
            units[unit] = units.get(unit, 0) + 1
            unattributed += not hosts[h]["registered"]
        return sev, units, unattributed

    sev1, units1, unattributed1 = histograms(slots.values())
    after = {k: (h, new_severity.get(k, s)) for k, (h, s) in slots.items()}
    after.update(new_keys)
    sev2, units2, unattributed_all = histograms(after.values())
    seen2 = [v for k, v in after.items() if k not in gone]
    unattributed2 = sum(not hosts[h]["registered"] for h, _ in seen2)
    kept = len(slots) - len(gone)
    return {
        "tool": tool,
        "files": list(files),
        "import": {
            "records": records,
            "distinct": len(slots),
            "counts": {
                "new": len(slots),
                "updated": 0,
                "reopened": 0,
                "closed": 0,
                "unattributed": unattributed1,
                "rejected": 0,
            },
            "db": {
                "total": len(slots),
                "closed": 0,
                "seen_twice": 0,
                "unattributed": unattributed1,
                "severity": sev1,
                "units": units1,
            },
            "fingerprint_set": set_digest(sm3_hex(k) for k in slots),
        },
        "reimport": {
            "records": records2,
            "distinct": kept + len(new_keys),
            "counts": {
                "new": len(new_keys),
                "updated": kept,
                "reopened": 0,
                "closed": len(gone),
                "unattributed": unattributed2,
                "rejected": 0,
            },
            "db": {
                "total": len(after),
                "closed": len(gone),
                "seen_twice": kept,
                "unattributed": unattributed_all,
                "severity": sev2,
                "units": units2,
            },
            "fingerprint_set": set_digest(sm3_hex(k) for k in after if k not in gone),
            "changed": {"gone": sorted(gone), "new": sorted(new_keys), "severity": sorted(new_severity)},
        },
    }


# ---------------------------------------------------------------------------------------------------------------------
# Nuclei

TECH = [
    "nginx",
    "apache",
    "iis",
    "tomcat",
    "php",
    "jquery",
    "bootstrap",
    "font-awesome",
    "vue.js",
    "element-ui",
    "layui",
    "echarts",
    "wordpress",
    "thinkphp",
    "spring",
    "google-font-api",
    "animate.css",
    "moment.js",
]
HEADERS = [
    "x-frame-options",
    "content-security-policy",
    "strict-transport-security",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "clear-site-data",
]
PANEL_PATHS = [
    "login",
    "admin/login.jsp",
    "manager/html",
    "console/",
    "phpmyadmin/",
    "nacos/",
    "jenkins/login",
    "zabbix/index.php",
    "grafana/login",
    "kibana/app",
    "seeyon/main.do",
    "weaver/login",
    "druid/index.html",
    "actuator",
    "actuator/env",
    "swagger-ui.html",
    "v2/api-docs",
    "solr/",
    "webui/",
    "user/login",
]
EXPOSURE_PATHS = [
    ".git/config",
    ".env",
    ".DS_Store",
    "phpinfo.php",
    "backup.zip",
    "web.config.bak",
    "config.js",
    ".svn/entries",
    "server-status",
    "debug.log",
    "WEB-INF/web.xml",
    "crossdomain.xml",
    "robots.txt",
    "package.json",
    "composer.lock",
    "id_rsa",
    ".htaccess",
    "wp-config.php.bak",
    "elmah.axd",
    "trace.axd",
    "api/v1/users",
    "upload/",
    "uploads/",
    "files/",
    "static/js/app.js",
]
FUZZ = [
    ("sqli-error-based", "id", 3, [89]),
    ("reflected-xss", "q", 2, [79]),
    ("open-redirect", "url", 2, [601]),
    ("ssti-detect", "name", 3, [1336]),
    ("lfi-detect", "file", 3, [22]),
]
NETWORK = [
    ("openssh-detect", 22, 0, "ssh"),
    ("mysql-detect", 3306, 0, "mysql"),
    ("rdp-detect", 3389, 0, "rdp"),
    ("smb-v1-detect", 445, 2, "smb"),
    ("ftp-anonymous-login", 21, 2, "ftp"),
    ("redis-unauth", 6379, 3, "redis"),
    ("mssql-detect", 1433, 0, "mssql"),
    ("telnet-detect", 23, 1, "telnet"),
    ("msrpc-detect", 135, 0, "msrpc"),
    ("netbios-detect", 139, 0, "netbios"),
]
SSL = [
    ("ssl-dns-names", 0, []),
    ("weak-cipher-suites", 2, ["tls-1.0-cbc", "rc4", "3des", "export"]),
    ("expired-ssl", 2, []),
    ("self-signed-ssl", 1, []),
    ("tls-version", 0, ["tls10", "tls11", "tls12", "tls13"]),
    ("mismatched-ssl-certificate", 1, []),
    ("deprecated-tls", 1, ["tls10", "tls11"]),
]
DNS = [
    ("caa-fingerprint", 0),
    ("dns-saas-service-detection", 0),
    ("mx-fingerprint", 0),
    ("spf-record-detect", 0),
    ("dmarc-detect", 0),
    ("txt-fingerprint", 0),
]
FUZZ_VALUES = ["1'", "%27%22", "<svg/onload=alert(1)>", "../../etc/passwd", "{{7*7}}", "//evil.example", "x"]
SEV_WORD = ["info", "low", "medium", "high", "critical"]


class Template:
    __slots__ = ("tid", "kind", "info", "sev", "path", "port", "matchers", "fuzz", "rule", "twin", "tpath", "extract")

    def __init__(self, tid, kind, sev, info, *, path="", port=None, matchers=(), fuzz="", cves=()):
        self.tid, self.kind, self.sev, self.info = tid, kind, sev, info
        self.path, self.port, self.matchers, self.fuzz = path, port, list(matchers), fuzz
        self.rule = cves[0].upper() if cves else f"nuclei:{tid}"
        self.twin: Template | None = None
        self.tpath = f"{kind}/{tid}.yaml"
        self.extract = False


def _info(text: Text, rng: random.Random, name: str, sev: int, tags, cves=(), cwes=(), score=None) -> dict:
    info = {
        "name": name,
        "author": [rng.choice(["pdteam", "bench", "edusec", "dwisiswant0", "princechaddha"])],
        "tags": list(tags),
        "description": text.sized(rng.randint(40, 160)),
        "reference": [f"https://advisories.example/nuclei/{name.lower().replace(' ', '-')[:40]}"],
        "severity": SEV_WORD[sev],
        "metadata": {"max-request": rng.randint(1, 4), "verified": True},
    }
    if cves or cwes or score is not None:
        classification = {}
        if cves:
            classification["cve-id"] = [c.lower() for c in cves]
        classification["cwe-id"] = [f"cwe-{c}" for c in cwes] or ["cwe-200"]
        if score is not None:
            classification["cvss-metrics"] = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
            classification["cvss-score"] = score
        info["classification"] = classification
    if rng.random() < 0.3:
        info["remediation"] = text.sentence(4, 10)
    return info


def nuclei_catalog(rng: random.Random) -> dict[str, list[Template]]:
    text = Text(rng)
    http: list[Template] = []
    http.append(
        Template(
            "tech-detect", "http", 0, _info(text, rng, "Wappalyzer Technology Detection", 0, ["tech"]), matchers=TECH
        )
    )
    http.append(
        Template(
            "http-missing-security-headers",
            "http",
            0,
            _info(text, rng, "HTTP Missing Security Headers", 0, ["misconfig", "headers"]),
            matchers=HEADERS,
        )
    )
    for n, rel in enumerate(PANEL_PATHS):
        tid = f"{rel.split('/')[0].strip('.') or 'root'}-panel-{n}"
        http.append(Template(tid, "http", 0, _info(text, rng, f"{tid} login panel", 0, ["panel"]), path=rel))
    for n, rel in enumerate(EXPOSURE_PATHS):
        sev = rng.choice([1, 2, 2, 3])
        tid = f"exposed-{rel.strip('./').replace('/', '-').replace('.', '-')}-{n}"
        t = Template(tid, "http", sev, _info(text, rng, f"Exposed {rel}", sev, ["exposure"], cwes=[200]), path=rel)
        t.extract = rng.random() < 0.3
        http.append(t)
    for tid, param, sev, cwes in FUZZ:
        for rel in ("search.php", "index.php", "list.do", "view.jsp", "api/query"):
            http.append(
                Template(
                    f"{tid}-{rel.split('.')[0].replace('/', '-')}",
                    "http",
                    sev,
                    _info(text, rng, tid, sev, ["dast", "fuzz"], cwes=cwes),
                    path=rel,
                    fuzz=param,
                )
            )
    cve_templates = []
    for n in range(260):
        sev = pick_severity(rng)
        cves = cve_ids(rng, rng.choice([1, 1, 1, 2]))
        product = rng.choice(PRODUCTS["http"])
        rel = rng.choice(
            [
                f"{rng.choice(WORDS)}/{rng.choice(WORDS)}.{rng.choice(['php', 'jsp', 'do', 'action', 'aspx'])}",
                f"api/{rng.choice(WORDS)}",
                "",
                f"{rng.choice(WORDS)}/",
            ]
        )
        t = Template(
            cves[0],
            "http",
            sev,
            _info(
                text,
                rng,
                f"{product} - {cves[0]}",
                sev,
                ["cve", "bench"],
                cves=cves,
                cwes=[rng.choice([22, 78, 79, 89, 94, 502])],
                score=cvss_for(rng, sev),
            ),
            path=rel,
            cves=cves,
        )
        if n % 9 == 0:
            t.matchers = ["version", "body", "status"]
        cve_templates.append(t)
    http.extend(cve_templates)
    for t in cve_templates[::13]:  # a second template naming the same CVE (vendor-specific check): one finding
        twin = Template(
            f"{t.tid.lower()}-{rng.choice(['rce', 'poc', 'check'])}",
            "http",
            t.sev,
            dict(t.info, name=t.info["name"] + " (variant)"),
            path=t.path,
            cves=[c.upper() for c in t.info["classification"]["cve-id"]],
        )
        t.twin = twin
    network = [
        Template(tid, "tcp", sev, _info(text, rng, tid, sev, ["network", svc]), port=port)
        for tid, port, sev, svc in NETWORK
    ]
    ssl = [Template(tid, "ssl", sev, _info(text, rng, tid, sev, ["ssl", "tls"]), matchers=m) for tid, sev, m in SSL]
    dns = [Template(tid, "dns", sev, _info(text, rng, tid, sev, ["dns"])) for tid, sev in DNS]
    return {
        "http": http,
        "http_common": http[2 : len(http) - len(cve_templates)],
        "http_cve": cve_templates,
        "tcp": network,
        "ssl": ssl,
        "dns": dns,
        "by_port": {t.port: t for t in network},
    }


class NucleiSlot:
    """One distinct finding and the lines that report it."""

    __slots__ = ("host", "tpl", "loc", "key", "variants")

    def __init__(self, host, tpl, loc, key, variants):
        self.host, self.tpl, self.loc, self.key, self.variants = host, tpl, loc, key, variants


def _ssl_ports(host) -> list[int]:
    return sorted({port for _origin, port, _path, scheme in host["bases"] if scheme == "https"})


def nuclei_slot(rng: random.Random, h: int, host: dict, tpl: Template, loc) -> NucleiSlot:
    """``loc``: base index (http), port (tcp / ssl) or None (dns). The key follows from what the line will say."""
    variants: list[tuple] = []  # (template, matcher, query value, trailing slash)
    if tpl.kind == "http":
        origin, port, base, _scheme = host["bases"][loc]
        path = base + tpl.path
        if tpl.matchers:
            for m in rng.sample(tpl.matchers, min(len(tpl.matchers), rng.choice([1, 1, 2, 2, 3, 4]))):
                variants.append((tpl, m, "", rng.random() < 0.5))
        elif tpl.fuzz:
            for _ in range(rng.choice([1, 1, 2, 3])):
                variants.append((tpl, "", rng.choice(FUZZ_VALUES), False))
        else:
            variants.append((tpl, "", "", rng.random() < 0.5))
        if tpl.twin is not None and rng.random() < 0.5:
            variants.append((tpl.twin, "", "", rng.random() < 0.5))
        key = identity(tpl.rule, host["where"], port, path)
    elif tpl.kind == "dns":
        key = identity(tpl.rule, host["where"], "")
        variants.append((tpl, "", "", False))
    else:
        key = identity(tpl.rule, host["where"], loc)
        if tpl.matchers:
            for m in rng.sample(tpl.matchers, min(len(tpl.matchers), rng.choice([1, 2, 3]))):
                variants.append((tpl, m, "", False))
        else:
            variants.append((tpl, "", "", False))
    if rng.random() < 0.015:  # the same line twice (two runs merged)
        variants.append(variants[0])
    return NucleiSlot(h, tpl, loc, key, variants)


def nuclei_pick(rng: random.Random, h: int, host: dict, cat, taken: dict) -> NucleiSlot | None:
    """A random finding not yet on this host (None after a few collisions)."""
    for _ in range(8):
        r = rng.random()
        if r < 0.06 and any(SERVICES[s][0] in cat["by_port"] for s in host["services"]):
            ports = [SERVICES[s][0] for s in host["services"] if SERVICES[s][0] in cat["by_port"]]
            port = rng.choice(ports)
            slot = nuclei_slot(rng, h, host, cat["by_port"][port], port)
        elif r < 0.1 and _ssl_ports(host):
            slot = nuclei_slot(rng, h, host, rng.choice(cat["ssl"]), rng.choice(_ssl_ports(host)))
        elif r < 0.12 and host["fqdn"]:
            slot = nuclei_slot(rng, h, host, rng.choice(cat["dns"]), None)
        elif host["bases"]:  # half panels / exposures / fuzzing, half CVE checks
            tpl = rng.choice(cat["http_common"] if rng.random() < 0.5 else cat["http_cve"])
            slot = nuclei_slot(rng, h, host, tpl, rng.randrange(len(host["bases"])))
        else:
            continue
        if slot.key not in taken:
            return slot
    return None


def nuclei_line(host: dict, slot: NucleiSlot, variant: tuple, severity: int, ts: str, rng: random.Random) -> dict:
    tpl, matcher, query, slash = variant
    info = tpl.info if severity == tpl.sev else dict(tpl.info, severity=SEV_WORD[severity])
    line = {
        "template": tpl.tpath,
        "template-url": f"https://templates.example/public/{tpl.tid}",
        "template-id": tpl.tid,
        "template-path": f"/opt/nuclei-templates/{tpl.tpath}",
        "info": info,
    }
    if matcher:
        line["matcher-name"] = matcher
    if tpl.kind == "http":
        origin, port, base, scheme = host["bases"][slot.loc]
        path = base + tpl.path
        if path == "/" and not slash:
            path = ""  # nuclei reports the bare origin; the identity's path is still "/"
        matched = origin + path + (f"?{tpl.fuzz}={query}" if tpl.fuzz else "")
        line.update(type="http", host=host["fqdn"] or host["ip"], port=str(port), scheme=scheme, url=origin)
        line["matched-at"] = matched
        if tpl.extract:
            line["extracted-results"] = [f"{rng.choice(WORDS)}={rng.getrandbits(40):x}"]
        if rng.random() < 0.2:
            target = matched[len(origin) :] or "/"
            line["request"] = (
                f"GET {target} HTTP/1.1\r\nHost: {host['hostpart']}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\nConnection: close\r\n"
                "Accept: */*\r\nAccept-Language: en\r\nAccept-Encoding: gzip\r\n\r\n"
            )
            body = " ".join(rng.choices(WORDS, k=rng.randint(5, 40)))
            line["response"] = (
                f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {len(body) + 40}\r\n"
                f"Content-Type: text/html; charset=utf-8\r\nDate: {ts}\r\nServer: nginx\r\n\r\n"
                f"<html><head><title>{rng.choice(WORDS)}</title></head><body>{body}</body></html>"
            )
            line["curl-command"] = f"curl -X 'GET' -H 'User-Agent: Mozilla/5.0' '{matched}'"
    elif tpl.kind == "dns":
        line.update(type="dns", host=host["fqdn"])
        line["matched-at"] = host["fqdn"]
        line["extracted-results"] = [f"{rng.choice(WORDS)}.mail.example"]
    else:
        line.update(type=tpl.kind, host=host["fqdn"] or host["ip"], port=str(slot.loc))
        line["matched-at"] = f"{host['hostpart']}:{slot.loc}"
    line["ip"] = host["ip"]
    line["timestamp"] = ts
    line["matcher-status"] = True
    return line


def render_nuclei(path: Path, world: dict, order: list[tuple[NucleiSlot, int]], severity: dict, seed: int) -> int:
    import orjson

    rng = random.Random(seed)
    hosts = world["hosts"]
    start = 1_772_000_000.0
    with open(path, "wb", buffering=4 << 20) as out:
        for n, (slot, v) in enumerate(order):
            t = start + n * 0.013
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + 8 * 3600))
            ts = f"{stamp}.{int(t * 1e6) % 1_000_000:06d}+08:00"
            sev = severity.get(slot.key, slot.tpl.sev)
            out.write(orjson.dumps(nuclei_line(hosts[slot.host], slot, slot.variants[v], sev, ts, rng)))
            out.write(b"\n")
    return len(order)


def generate_nuclei(rng: random.Random, world: dict, data: Path, scale: float) -> dict:
    cat = nuclei_catalog(random.Random(rng.getrandbits(64)))
    hosts = world["hosts"]
    target = max(1000, round(500_000 * scale))
    per_host = target / len(hosts) / 1.12
    slots: dict[str, NucleiSlot] = {}
    lines = 0
    for h, host in enumerate(hosts):
        for base in range(len(host["bases"])):  # the two everyday multi-matcher templates
            for tpl in cat["http"][:2]:
                if rng.random() < 0.8:
                    slot = nuclei_slot(rng, h, host, tpl, base)
                    if slot.key not in slots:
                        slots[slot.key] = slot
                        lines += len(slot.variants)
        for _ in range(max(0, round(rng.uniform(0.5, 1.5) * per_host) - 2 * len(host["bases"]))):
            slot = nuclei_pick(rng, h, host, cat, slots)
            if slot is not None:
                slots[slot.key] = slot
                lines += len(slot.variants)
    while lines < target:  # top up to the promised number of lines
        h = rng.randrange(len(hosts))
        slot = nuclei_pick(rng, h, hosts[h], cat, slots)
        if slot is not None:
            slots[slot.key] = slot
            lines += len(slot.variants)
    order = [(slot, v) for slot in slots.values() for v in range(len(slot.variants))]
    rng.shuffle(order)  # nuclei reports as results arrive: lines of one finding are far apart
    first_count = render_nuclei(data / "nuclei.jsonl", world, order, {}, rng.getrandbits(32))

    keys = list(slots)
    n = len(keys)
    gone = set(rng.sample(keys, round(n * GONE)))
    kept = [k for k in keys if k not in gone]
    new_severity = {}
    for k in rng.sample(kept, round(n * RESEVERED)):
        old = slots[k].tpl.sev
        new_severity[k] = rng.choice([s for s in range(5) if s != old])
    new_slots: dict[str, NucleiSlot] = {}
    want = round(n * NEW)
    while len(new_slots) < want:
        h = rng.randrange(len(hosts))
        slot = nuclei_pick(rng, h, hosts[h], cat, _Union(slots, new_slots))
        if slot is not None:
            new_slots[slot.key] = slot
    order2 = [(slot, v) for slot in slots.values() if slot.key not in gone for v in range(len(slot.variants))]
    order2 += [(slot, v) for slot in new_slots.values() for v in range(len(slot.variants))]
    rng.shuffle(order2)
    second_count = render_nuclei(data / "nuclei-rescan.jsonl", world, order2, new_severity, rng.getrandbits(32))
    first = {k: (s.host, s.tpl.sev) for k, s in slots.items()}
    added = {k: (s.host, s.tpl.sev) for k, s in new_slots.items()}
    return _ground_truth(
        "nuclei",
        world,
        first,
        first_count,
        gone,
        added,
        new_severity,
        second_count,
        files=("nuclei.jsonl", "nuclei-rescan.jsonl"),
    )


class _Union:
    """``in`` over two dicts without copying them."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __contains__(self, key):
        return key in self.a or key in self.b


# ---------------------------------------------------------------------------------------------------------------------
# generation with reuse


def data_dir(out: Path, seed: int, scale: float) -> Path:
    return out / "data" / f"seed{seed}-scale{scale:g}"


def generate(out: Path, seed: int, scale: float) -> Path:
    data = data_dir(out, seed, scale)
    manifest = data / "manifest.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if info.get("version") == GENERATOR_VERSION and all(
            (data / name).exists() and (data / name).stat().st_size == size for name, size in info["sizes"].items()
        ):
            print(f"reusing generated files in {data}", flush=True)
            return data
    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"generating seed={seed} scale={scale:g} into {data} …", flush=True)
    rng = random.Random(seed)
    world = build_world(random.Random(rng.getrandbits(64)), scale)
    assets = {k: world[k] for k in ("root", "districts", "schools")}
    (data / "assets.json").write_text(json.dumps(assets, ensure_ascii=False, indent=1))
    nessus = generate_nessus(random.Random(rng.getrandbits(64)), world, data)
    (data / "nessus.truth.json").write_text(json.dumps(nessus, indent=1))
    nuclei = generate_nuclei(random.Random(rng.getrandbits(64)), world, data, scale)
    (data / "nuclei.truth.json").write_text(json.dumps(nuclei, indent=1))
    names = [
        "assets.json",
        "nessus.nessus",
        "nessus-rescan.nessus",
        "nessus.truth.json",
        "nuclei.jsonl",
        "nuclei-rescan.jsonl",
        "nuclei.truth.json",
    ]
    sizes = {name: (data / name).stat().st_size for name in names}
    manifest.write_text(
        json.dumps(
            {"version": GENERATOR_VERSION, "seed": seed, "scale": scale, "sizes": sizes, "hosts": len(world["hosts"])},
            indent=1,
        )
    )
    print(
        f"generated in {time.perf_counter() - started:.0f} s: {len(world['hosts'])} hosts; "
        f"nessus {sizes['nessus.nessus'] / 1e6:.1f} MB, {nessus['import']['records']} items, "
        f"{nessus['import']['distinct']} distinct; nuclei {sizes['nuclei.jsonl'] / 1e6:.1f} MB, "
        f"{nuclei['import']['records']} lines, {nuclei['import']['distinct']} distinct",
        flush=True,
    )
    return data


# ---------------------------------------------------------------------------------------------------------------------
# child processes (each measured step runs alone, so that its peak RSS is its own)


def backend_env(backend: str, out: Path) -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env["DJANGO_SETTINGS_MODULE"] = "edusec.settings"
    env["EDUSEC_TASKS_EAGER"] = "1"
    env["EDUSEC_DATA_DIR"] = str(out / f"db-{backend}")
    if backend == "postgres":
        env["DATABASE_URL"] = PG_URL
    return env


def run_child(mode: str, backend: str, out: Path, **params) -> dict:
    params.update(mode=mode, backend=backend)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", json.dumps(params)]
    proc = subprocess.run(cmd, cwd=REPO, env=backend_env(backend, out), capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
            if proc.returncode:
                result.setdefault("error", f"exit {proc.returncode}")
            return result
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
    return {"error": f"{mode} child failed (exit {proc.returncode}):\n{tail}"}


class QueryCounter:
    """``connection.execute_wrapper``: one per execute() / executemany() call, by first SQL word, with the time spent
    inside the call (for a SELECT that excludes fetching its rows, which the ORM does afterwards)."""

    def __init__(self):
        self.total = 0
        self.kinds: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def __call__(self, execute, sql, params, many, context):
        self.total += 1
        word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
        word += " (many)" if many else ""
        self.kinds[word] = self.kinds.get(word, 0) + 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[word] = self.seconds.get(word, 0.0) + time.perf_counter() - started


def maxrss_mb() -> float:
    """Peak RSS in MB of this process plus that of the largest child it waited for (the import's parser process,
    which runs at the same time as the writing process, so the two peaks are added).

    ``ru_maxrss`` survives ``execve`` on Linux, so a child forked from a large parent reports at least the parent's
    size. ``VmHWM`` (high-water mark of the current address space) starts afresh at exec; it is used where /proc exists.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 + children
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + children


def child_main(params: dict) -> None:
    if params["mode"] == "generate":  # in a child so that the parent stays small
        generate(Path(params["out"]), params["seed"], params["scale"])
        return
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    code = hashlib.sha256()
    for name in ("findings/writer.py", "findings/imports.py", "findings/fingerprints.py"):
        code.update((REPO / name).read_bytes())
    load = os.getloadavg()[0]
    result = {"parse": child_parse, "setup": child_setup, "import": child_import, "profile": child_profile}[
        params["mode"]
    ](params)
    result["code"] = code.hexdigest()[:12]  # the writer this step ran (the tree may change during a long run)
    result["load"] = round(max(load, os.getloadavg()[0]), 1)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of the children it waited for (the parser process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def child_parse(params: dict) -> dict:
    from findings.fingerprints import fingerprint
    from findings.importers.detect import parse_any

    path = Path(params["file"])
    with open(path, "rb") as f:
        started, cpu = time.perf_counter(), cpu_seconds()
        fmt, records = parse_any(f, path.name)
        n = sum(1 for _ in records)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    result = {"format": fmt, "records": n, "seconds": seconds, "cpu_seconds": cpu, "maxrss_mb": maxrss_mb()}
    checks = {}
    for name in params.get("crosscheck", []):  # untimed: the writer's fingerprint of every record vs the ground truth
        with open(path.parent / name, "rb") as f:
            _fmt, records = parse_any(f, name)
            fps, count = set(), 0
            for record in records:
                fps.add(fingerprint(record))
                count += 1
        checks[name] = {"records": count, "distinct": len(fps), "fingerprint_set": set_digest(fps)}
    result["crosscheck"] = checks
    return result


def child_setup(params: dict) -> dict:
    from django.core.management import call_command
    from django.db import transaction

    from assets.models import BusinessType, Domain, InformationSystem, IPRange, Website
    from orgs.models import Unit

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.perf_counter() - started
    world = json.loads(Path(params["assets"]).read_text())
    with transaction.atomic():
        root = Unit.objects.add_root(
            instance=Unit(name="基准市教育局", code=world["root"], unit_type="city", division_code=world["root"])
        )
        business = BusinessType.objects.filter(code="teaching").first() or BusinessType.objects.first()
        districts = []
        for d in world["districts"]:
            unit = Unit.objects.add_child(
                root, instance=Unit(name=d["name"], code=d["code"], unit_type="district", division_code=d["code"])
            )
            IPRange.objects.create(unit=unit, cidr=d["cidr"], purpose="数据中心")
            districts.append(unit)
        for s in world["schools"]:
            parent = Unit.objects.get(pk=districts[s["district"]].pk)  # fresh: treebeard counts children on it
            school = Unit.objects.add_child(
                parent,
                instance=Unit(
                    name=s["name"], code=s["code"], unit_type="school", school_code=s["code"], stages=["primary"]
                ),
            )
            system = InformationSystem.objects.create(
                unit=school,
                name=f"{s['name']}门户网站",
                business_type=business,
                status="running",
                internet_facing=s["internet"],
                mlps_level=s["mlps"],
            )
            Website.objects.create(unit=school, system=system, name=f"{s['name']}网站", url=f"https://{s['website']}")
            Domain.objects.create(unit=school, system=system, name=s["domain"])
            IPRange.objects.create(unit=school, cidr=s["cidr"], purpose="校园网")
            IPRange.objects.create(unit=school, cidr=s["cidr6"], purpose="校园网 IPv6")
    return {
        "units": Unit.objects.count(),
        "ranges": IPRange.objects.count(),
        "websites": Website.objects.count(),
        "domains": Domain.objects.count(),
        "migrate_seconds": migrated,
        "seconds": time.perf_counter() - started,
    }


def _new_scan_import(path: Path, close_missing: bool):
    from findings.models import ScanImport
    from orgs.models import Unit

    root = Unit.objects.get(code=ROOT_CODE)
    return ScanImport.objects.create(
        unit=root, file_name=path.name, size=path.stat().st_size, close_missing=close_missing
    )


def db_state(tool: str) -> dict:
    from django.db.models import Count

    from findings.models import Finding, FindingStatus

    rows = Finding.objects.filter(tool=tool)
    duplicates = (
        Finding.objects.values("unit_id", "fingerprint").annotate(n=Count("id")).filter(n__gt=1).order_by().count()
    )
    severity = dict(rows.values_list("severity").annotate(n=Count("id")).order_by())
    units = dict(rows.values_list("unit__code").annotate(n=Count("id")).order_by())
    return {
        "duplicates": duplicates,
        "total": rows.count(),
        "closed": rows.filter(status=FindingStatus.FIXED, closed_by_rescan=True).count(),
        "seen_twice": rows.filter(times_seen=2).count(),
        "unattributed": rows.filter(attributed=False).count(),
        "severity": severity,
        "units": units,
    }


def child_import(params: dict) -> dict:
    from django.db import connection

    import findings.importers.nessus  # noqa: F401  (modules a running server has loaded already)
    import findings.importers.nuclei  # noqa: F401
    import findings.writer  # noqa: F401
    from findings.imports import run_import
    from findings.models import ImportState

    path = Path(params["file"])
    scan_import = _new_scan_import(path, params["phase"] == "reimport")
    counter = QueryCounter()
    with open(path, "rb") as f, connection.execute_wrapper(counter):
        started, cpu = time.perf_counter(), cpu_seconds()
        run_import(scan_import, f)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    rss = maxrss_mb()
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "maxrss_mb": rss,
        "queries": counter.total,
        "query_kinds": counter.kinds,
        "query_seconds": counter.seconds,
    }
    if scan_import.state != ImportState.DONE:
        result["error"] = f"import {scan_import.state}: {scan_import.error_en}"
        return result
    result["format"] = scan_import.file_format
    result["counts"] = {
        name: getattr(scan_import, name)
        for name in ("records", "new", "updated", "reopened", "closed", "unattributed", "rejected")
    }
    result["db"] = db_state(params["tool"])
    return result


def child_profile(params: dict) -> dict:
    """cProfile of the write phase alone: the file is parsed into a list first (untimed)."""
    import cProfile
    import io
    import pstats

    from django.db import connection

    from findings.importers.detect import parse_any
    from findings.writer import write_records

    path = Path(params["file"])
    scan_import = _new_scan_import(path, params["phase"] == "reimport")
    with open(path, "rb") as f:
        fmt, records = parse_any(f, path.name)
        records = list(records)
    counter = QueryCounter()
    profiler = cProfile.Profile()
    tool = {"nessus_csv": "nessus", "openvas_csv": "openvas"}.get(fmt, fmt)
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        profiler.enable()
        counts = write_records(
            records, unit=scan_import.unit, scan_import=scan_import, close_missing=scan_import.close_missing, tool=tool
        )
        profiler.disable()
        seconds = time.perf_counter() - started
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(15)
    stats.sort_stats("tottime").print_stats(10)
    return {
        "records": len(records),
        "seconds": seconds,
        "queries": counter.total,
        "counts": {k: v for k, v in vars(counts).items() if k != "rejected_sample"},
        "profile": stream.getvalue(),
    }


# ---------------------------------------------------------------------------------------------------------------------
# the parent: databases, steps, table


def reset_database(backend: str, out: Path) -> None:
    data = out / f"db-{backend}"
    data.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (data / f"edusec.sqlite3{suffix}").unlink(missing_ok=True)
        return
    for sql in (f"DROP DATABASE IF EXISTS {PG_DB}", f"CREATE DATABASE {PG_DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True, capture_output=True)


def drop_database(backend: str, out: Path) -> None:
    if backend == "sqlite":
        shutil.rmtree(out / "db-sqlite", ignore_errors=True)
    else:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {PG_DB}"],
            capture_output=True,
        )


def compare(expected: dict, result: dict) -> list[str]:
    """Differences between the ground truth of one phase and what the import reported and left in the database."""
    problems = []
    counts, db = result.get("counts", {}), result.get("db", {})
    if counts.get("records") != expected["records"]:
        problems.append(f"records {counts.get('records')} != {expected['records']}")
    for name, want in expected["counts"].items():
        if counts.get(name) != want:
            problems.append(f"{name} {counts.get(name)} != {want}")
    for name, want in expected["db"].items():
        got = db.get(name)
        if got != want:
            if isinstance(want, dict):
                diff = {
                    k: (got.get(k, 0), want.get(k, 0))
                    for k in sorted(set(want) | set(got or {}))
                    if (got or {}).get(k, 0) != want.get(k, 0)
                }
                problems.append(f"db {name} (got, want): {dict(list(diff.items())[:6])}{' …' if len(diff) > 6 else ''}")
            else:
                problems.append(f"db {name} {got} != {want}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench", help="work directory (default var/bench)")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = full size; 0.05 for a smoke run")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--files", default="nessus,nuclei", help="comma-separated: nessus, nuclei")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument("--profile", choices=["nessus", "nuclei"], help="only cProfile the write phase of this file")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    kinds = [k.strip() for k in args.files.split(",") if k.strip()]
    for b in backends:
        if b not in TARGET_RATE:
            parser.error(f"unknown backend {b!r}")
    subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "_child",
            json.dumps({"mode": "generate", "out": str(out), "seed": args.seed, "scale": args.scale}),
        ],
        check=True,
    )
    data = data_dir(out, args.seed, args.scale)
    truths = {kind: json.loads((data / f"{kind}.truth.json").read_text()) for kind in ("nessus", "nuclei")}

    if args.profile:
        return profile_run(args, out, data, backends, truths[args.profile])

    rows, details = [], []
    for kind in kinds:
        truth = truths[kind]
        first, second = truth["files"]
        print(f"parse-only {first} …", flush=True)
        res = run_child("parse", "sqlite", out, file=str(data / first), crosscheck=[first, second])
        rows.append(_row("-", kind, "parse-only", res, None, truth["import"]["records"]))
        if "error" not in res:
            for name, phase in ((first, "import"), (second, "reimport")):
                got, want = res["crosscheck"].get(name, {}), truth[phase]
                ok = got.get("distinct") == want["distinct"] and got.get("fingerprint_set") == want["fingerprint_set"]
                rows[-1].setdefault("crosscheck", {})[name] = (
                    "ok"
                    if ok
                    else (
                        f"MISMATCH: parsed {got.get('records')} records, {got.get('distinct')} distinct fingerprints; "
                        f"ground truth {want['records']} / {want['distinct']}"
                        + ("" if got.get("distinct") != want["distinct"] else " (same count, different set)")
                    )
                )
    for backend in backends:
        print(f"[{backend}] fresh database + setup …", flush=True)
        reset_database(backend, out)
        setup = run_child("setup", backend, out, assets=str(data / "assets.json"))
        if "error" in setup:
            details.append(f"[{backend}] setup failed: {setup['error']}")
            continue
        print(f"[{backend}] setup: {setup['units']} units, {setup['ranges']} ranges in {setup['seconds']:.0f} s")
        for kind in kinds:
            truth = truths[kind]
            for name, phase in zip(truth["files"], ("import", "reimport"), strict=True):
                print(f"[{backend}] {phase} {name} …", flush=True)
                res = run_child("import", backend, out, file=str(data / name), phase=phase, tool=truth["tool"])
                row = _row(
                    backend,
                    kind,
                    "import" if phase == "import" else "re-import",
                    res,
                    TARGET_RATE[backend],
                    truth[phase]["records"],
                )
                if "error" not in res:
                    problems = compare(truth[phase], res)
                    row["dedup_ok"] = not problems
                    row["problems"] = problems
                    row["duplicates"] = res["db"]["duplicates"]
                    row["query_kinds"] = res["query_kinds"]
                    row["query_seconds"] = res.get("query_seconds", {})
                    row["counts"], row["db"] = res["counts"], res["db"]
                rows.append(row)
                print(f"    {_brief(row)}", flush=True)
        if not args.keep:
            drop_database(backend, out)
    report(rows, details, args, data, out)
    return 0


def _row(backend, kind, phase, res, target, expected_records) -> dict:
    row = {"backend": backend, "file": kind, "phase": phase, "target": target}
    if "error" in res:
        row["error"] = res["error"]
        return row
    records = res.get("counts", {}).get("records", res.get("records")) or expected_records
    row.update(
        cpu_seconds=res.get("cpu_seconds"),
        load=res.get("load"),
        code=res.get("code"),
        records=records,
        seconds=res["seconds"],
        rate=records / res["seconds"] if res["seconds"] else 0.0,
        maxrss_mb=res["maxrss_mb"],
    )
    if "queries" in res:
        row["queries"] = res["queries"]
        row["per_1000"] = res["queries"] * 1000 / records if records else 0.0
    if target:
        row["missed"] = [
            m
            for m, bad in (
                (f"< {target:,}/s", row["rate"] < target),
                (f"RSS ≥ {RSS_LIMIT_MB} MB", row["maxrss_mb"] >= RSS_LIMIT_MB),
                (f"> {QUERY_LIMIT:g} queries/1000", row["per_1000"] > QUERY_LIMIT),
            )
            if bad
        ]
    return row


def _brief(row: dict) -> str:
    if "error" in row:
        return "ERROR " + row["error"].splitlines()[0]
    return (
        f"{row['records']:,} records in {row['seconds']:.2f} s = {row['rate']:,.0f}/s, RSS {row['maxrss_mb']:.0f} MB,"
        f" {row.get('per_1000', 0):.2f} q/1000, dedup {'ok' if row.get('dedup_ok') else 'WRONG'}"
    )


def report(rows: list[dict], details: list[str], args, data: Path, out: Path) -> None:
    head = [
        "backend",
        "file",
        "phase",
        "records",
        "seconds",
        "findings/s",
        "target",
        "pass",
        "peak RSS MB",
        "queries/1000",
        "duplicates",
        "dedup correct",
        "cpu s",
        "load",
    ]
    table = []
    for r in rows:
        if "error" in r:
            table.append([r["backend"], r["file"], r["phase"], "ERROR"] + [""] * (len(head) - 4))
            continue
        target = r.get("target")
        table.append(
            [
                r["backend"],
                r["file"],
                r["phase"],
                f"{r['records']:,}",
                f"{r['seconds']:.2f}",
                f"{r['rate']:,.0f}",
                f"≥{target:,}" if target else "-",
                ("pass" if not r["missed"] else "FAIL") if target else "-",
                f"{r['maxrss_mb']:.0f}",
                f"{r['per_1000']:.2f}" if "per_1000" in r else "-",
                str(r.get("duplicates", "-")),
                ("yes" if r["dedup_ok"] else "NO") if "dedup_ok" in r else "-",
                f"{r['cpu_seconds']:.2f}" if r.get("cpu_seconds") is not None else "-",
                f"{r['load']:.1f}" if r.get("load") is not None else "-",
            ]
        )
    widths = [max(len(h), *(len(line[i]) for line in table)) if table else len(h) for i, h in enumerate(head)]
    right = {3, 4, 5, 6, 8, 9, 10, 12, 13}

    def fmt(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    sizes = json.loads((data / "manifest.json").read_text())["sizes"]
    print()
    print(
        f"import_bench seed={args.seed} scale={args.scale:g}: nessus {sizes['nessus.nessus'] / 1e6:.1f} MB, "
        f"nuclei {sizes['nuclei.jsonl'] / 1e6:.1f} MB ({data})"
    )
    print(fmt(head))
    print("  ".join("-" * w for w in widths))
    for line in table:
        print(fmt(line))
    print()
    print(
        f"Targets: ≥ {TARGET_RATE['sqlite']:,}/s SQLite, ≥ {TARGET_RATE['postgres']:,}/s PostgreSQL, "
        f"peak RSS < {RSS_LIMIT_MB} MB, ≤ {QUERY_LIMIT:g} queries per 1,000 findings; duplicates must be 0.\n"
        "findings/s = records in the file / seconds of run_import (detect, parse, write, commit); "
        "parse-only = parse_any alone."
    )
    print(
        f"cpu s = CPU seconds of the importing process and its parser process (user + system; a PostgreSQL "
        f"server's own CPU is not in it); peak RSS = the importing process's plus its parser process's; "
        f"load = 1-minute load average around the step on {os.cpu_count()} CPUs (above that, other work competed)."
    )
    codes = sorted({r["code"] for r in rows if r.get("code")})
    if len(codes) > 1:
        print(f"NOTE    findings/writer.py, imports.py or fingerprints.py changed during the run: versions {codes}")
    missed = [r for r in rows if r.get("missed")]
    for r in missed:
        print(f"MISSED  {r['backend']} {r['file']} {r['phase']}: {', '.join(r['missed'])}")
    for r in rows:
        if "error" in r:
            print(f"ERROR   {r['backend']} {r['file']} {r['phase']}: {r['error']}")
        for problem in r.get("problems", []):
            print(f"DEDUP   {r['backend']} {r['file']} {r['phase']}: {problem}")
        for name, verdict in r.get("crosscheck", {}).items():
            print(f"CROSS   {name}: fingerprint() of the parsed records vs ground truth: {verdict}")
        if r.get("query_kinds"):
            secs = r.get("query_seconds", {})
            kinds = ", ".join(
                f"{k} {v} ({secs.get(k, 0):.1f} s)" for k, v in sorted(r["query_kinds"].items(), key=lambda kv: -kv[1])
            )
            total = sum(secs.values())
            print(
                f"SQL     {r['backend']} {r['file']} {r['phase']}: {kinds}; {total:.1f} s of {r['seconds']:.1f} s "
                "inside execute calls"
            )
    for line in details:
        print(line)
    if not missed and not any("error" in r or r.get("problems") for r in rows):
        print("All targets met.")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(
            {
                "seed": args.seed,
                "scale": args.scale,
                "data": str(data),
                "sizes": sizes,
                "rows": rows,
                "details": details,
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            indent=1,
            ensure_ascii=False,
        )
    )
    print(f"\nwritten to {out / 'results.json'}")


def profile_run(args, out: Path, data: Path, backends: list[str], truth: dict) -> int:
    for backend in backends:
        reset_database(backend, out)
        setup = run_child("setup", backend, out, assets=str(data / "assets.json"))
        if "error" in setup:
            print(f"[{backend}] setup failed: {setup['error']}")
            continue
        for name, phase in zip(truth["files"], ("import", "reimport"), strict=True):
            res = run_child("profile", backend, out, file=str(data / name), phase=phase)
            print(f"\n=== [{backend}] {phase} {name}: write phase only ===")
            if "error" in res:
                print(res["error"])
                continue
            rate = res["records"] / res["seconds"]
            print(
                f"{res['records']:,} records written in {res['seconds']:.2f} s under cProfile ({rate:,.0f}/s), "
                f"{res['queries']} queries, counts {res['counts']}"
            )
            print(res["profile"])
        if not args.keep:
            drop_database(backend, out)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        child_main(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
