"""nmap, Nessus and OpenVAS/GVM importers: DefectDojo's sample files and the edge cases of issue 4.

The sample files live beside the repository in ../shared/data/scans; a missing directory is a failure, not a skip.
Where our counts differ from DefectDojo's, the importer module docstrings explain why (asserted here too).
"""

import io
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.utils.translation import gettext_lazy

from findings.importers import nessus, nmap, openvas
from findings.importers.base import EVIDENCE_LIMIT, ImportFormatError

SCANS = Path(__file__).resolve().parents[3] / "shared" / "data" / "scans"
REPO = Path(__file__).resolve().parents[2]


def sample(kind: str, name: str) -> list:
    path = SCANS / kind / "defectdojo" / name
    assert path.is_file(), f"sample file missing: {path}"
    with open(path, "rb") as handle:
        return list(PARSERS[kind].parse(handle))


PARSERS = {"nmap": nmap, "nessus": nessus, "openvas": openvas}


def parse_bytes(module, data: bytes) -> list:
    return list(module.parse(io.BytesIO(data)))


def test_sample_directory_is_there():
    assert SCANS.is_dir(), f"{SCANS} is missing (it is ../shared/data/scans relative to the repository)"
    for kind in PARSERS:
        assert list((SCANS / kind / "defectdojo").iterdir()), kind


# ---------------------------------------------------------------------------------------------------------- nmap


def test_nmap_no_open_port():
    assert sample("nmap", "nmap_0port.xml") == []


def test_nmap_multiple_ports_only_risky_services():
    # DefectDojo: 13 (every open port). EduSec: only the risky services of RISKY_SERVICES -> FTP and MySQL.
    records = sample("nmap", "nmap_multiple_port.xml")
    assert [(r.rule_id, r.severity, r.port, r.protocol) for r in records] == [
        ("nmap:exposed:ftp", "medium", 21, "tcp"),
        ("nmap:exposed:mysql", "high", 3306, "tcp"),
    ]
    assert {(r.ip, r.host, r.tool) for r in records} == {("198.38.82.159", "joaquinlp.me", "nmap")}


def test_nmap_vulners_one_record_per_cve():
    # DefectDojo: 3 (the open SSH port + 2 CVEs). EduSec: the 2 CVEs (SSH is not a risky service).
    records = sample("nmap", "nmap_script_vulners.xml")
    assert [(r.rule_id, r.cve, r.cvss_score, r.severity) for r in records] == [
        ("CVE-2018-15919", ["CVE-2018-15919"], 5.0, "medium"),
        ("CVE-2017-15906", ["CVE-2017-15906"], 5.0, "medium"),
    ]
    assert {(r.ip, r.port, r.protocol) for r in records} == {("192.168.0.1", 5022, "tcp")}
    assert "OpenSSH 7.4" in records[0].title


NMAP_GENERATED = b"""<?xml version="1.0"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap">
<host><status state="up"/><address addr="2001:db8::5" addrtype="ipv6"/><address addr="00:11" addrtype="mac"/>
<hostnames><hostname name="ptr.example.cn" type="PTR"/><hostname name="oa.example.edu.cn" type="user"/></hostnames>
<ports>
<port protocol="tcp" portid="13389"><state state="open"/><service name="ms-wbt-server" method="probed"/></port>
<port protocol="tcp" portid="6379"><state state="filtered"/><service name="redis"/></port>
<port protocol="tcp" portid="8080"><state state="open"/><service name="http"/>
  <script id="http-title" output="&#x7BA1;&#x7406;&#x540E;&#x53F0; - Tomcat Manager"/></port>
<port protocol="tcp" portid="80"><state state="open"/><service name="http"/>
  <script id="http-title" output="Login"/></port>
<port protocol="tcp" portid="8443"><state state="open"/><service name="http" tunnel="ssl"/>
  <script id="http-title" output="Please log in"/></port>
<port protocol="tcp" portid="445"><state state="open"/><service name="microsoft-ds"/>
  <script id="smb-vuln-ms17-010" output="&#xa;  VULNERABLE:&#xa;  Remote Code Execution vulnerability in Microsoft SMBv1
    State: VULNERABLE&#xa;    IDs:  CVE:CVE-2017-0143&#xa;"/></port>
<port protocol="tcp" portid="22"><state state="open"/><service name="ssh"/>
  <script id="vulners" output="&#xa;  cpe:/a:openbsd:openssh:7.4: &#xa;    CVE-2023-38408&#x9;9.8&#x9;https://x"/></port>
</ports></host>
<host><status state="down"/><address addr="10.0.0.9" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="23"><state state="open"/><service name="telnet"/></port></ports></host>
</nmaprun>"""


def test_nmap_risky_services_admin_panels_and_nse():
    records = parse_bytes(nmap, NMAP_GENERATED)
    got = [(r.rule_id, r.severity, r.port) for r in records]
    assert got == [
        ("nmap:exposed:rdp", "high", 13389),  # by service name on a non-standard port
        ("nmap:exposed:admin-panel", "medium", 8080),  # Chinese admin title
        ("nmap:exposed:admin-panel", "medium", 8443),  # login page on a non-standard port
        ("nmap:exposed:smb", "high", 445),
        ("CVE-2017-0143", "high", 445),  # vuln-category script in State: VULNERABLE
        ("CVE-2023-38408", "critical", 22),  # vulners text output (no tables)
    ]
    # filtered port, login page on port 80 and the down host give nothing
    assert {(r.ip, r.host) for r in records} == {("2001:db8::5", "oa.example.edu.cn")}


# -------------------------------------------------------------------------------------------------------- Nessus


def test_nessus_xml_many_vuln():
    # DefectDojo: 6 (merges the two "Nessus SYN scanner" ports into one finding). EduSec: 7, one per port.
    records = sample("nessus", "nessus_many_vuln.xml")
    assert len(records) == 7
    assert {r.severity for r in records} == {"info"}  # severity 0 items are kept as info
    assert {(r.ip, r.host) for r in records} == {("12.233.108.201", "preprod.boardvantage.net")}
    assert [r.rule_id for r in records][:2] == ["nessus:19506", "nessus:54615"]
    syn = [r for r in records if r.rule_id == "nessus:11219"]
    assert [(r.port, r.protocol) for r in syn] == [(443, "tcp"), (264, "tcp")]
    assert records[0].port is None  # port 0 = host level
    assert "Nessus version : 5.2.1" in records[0].evidence


def test_nessus_csv_many_vuln():
    # Tenable.sc export: 533 rows of which 529 are empty padding -> 4, as in DefectDojo.
    records = sample("nessus", "nessus_many_vuln.csv")
    assert [(r.rule_id, r.severity, r.ip, r.port, r.protocol) for r in records] == [
        ("nessus:35291", "medium", "10.1.1.1", 443, "tcp"),
        ("nessus:51192", "medium", "10.1.1.1", 443, "tcp"),
        ("nessus:57582", "medium", "10.2.1.1", 443, "tcp"),
        ("nessus:65821", "medium", "10.2.1.1", 443, "tcp"),
    ]
    assert records[0].cve == ["CVE-2004-2761"] and records[0].cwe == [310] and records[0].cvss_score == 7.5
    assert records[3].cve == ["CVE-2013-2566", "CVE-2015-2808"]  # several CVEs on one record
    assert records[2].cvss_score == 6.4  # no CVSS v3 -> v2
    assert not records[0].evidence.startswith("Plugin Output")


@pytest.mark.parametrize("name", ["nessus_was_no_vuln.xml", "nessus_was_no_vuln.csv"])
def test_nessus_no_vuln(name):
    assert sample("nessus", name) == []


NESSUS_CSV_HEADER = (
    "Plugin ID,CVE,CVSS v2.0 Base Score,Risk,Host,Protocol,Port,Name,Synopsis,Description,Solution,Plugin Output\n"
)


def test_nessus_pro_csv_merges_cve_rows_and_maps_risk():
    data = NESSUS_CSV_HEADER + (
        "97833,CVE-2017-0143,10.0,Critical,10.1.2.3,tcp,445,MS17-010,syn,desc,Patch,out\n"
        "97833,CVE-2017-0144,10.0,Critical,10.1.2.3,tcp,445,MS17-010,syn,desc,Patch,out\n"
        "97833,CVE-2017-0143,10.0,Critical,10.1.2.4,tcp,445,MS17-010,syn,desc,Patch,out\n"
        "10114,,0,None,www.example.edu.cn,icmp,0,ICMP Timestamp,syn,desc,n/a,\n"
    )
    records = parse_bytes(nessus, data.encode())
    assert [(r.rule_id, r.severity, r.ip, r.host, r.port, r.cve) for r in records] == [
        ("nessus:97833", "critical", "10.1.2.3", "", 445, ["CVE-2017-0143", "CVE-2017-0144"]),
        ("nessus:97833", "critical", "10.1.2.4", "", 445, ["CVE-2017-0143"]),
        ("nessus:10114", "info", "", "www.example.edu.cn", None, []),
    ]
    assert records[2].solution == ""


def test_nessus_semicolon_tenable_csv():
    data = (
        '"Plugin";"Plugin Name";"Severity";"IP Address";"Protocol";"Port";"DNS Name";"Plugin Text";"CVE";'
        '"CVSS V3 Base Score"\n'
        '"42873";"SSL Medium Strength Cipher Suites";"High";"192.0.2.7";"TCP";"443";"vpn.example.cn";"a;b";'
        '"CVE-2016-2183";"7.5"\n'
    )
    (record,) = parse_bytes(nessus, data.encode())
    assert (record.rule_id, record.severity, record.ip, record.host, record.port, record.cve, record.cvss_score) == (
        "nessus:42873",
        "high",
        "192.0.2.7",
        "vpn.example.cn",
        443,
        ["CVE-2016-2183"],
        7.5,
    )
    assert record.evidence == "a;b"


def test_nessus_gbk_and_bom_csv():
    row = "19506,,,Medium,10.9.8.7,tcp,80,弱口令登录,存在弱口令,管理后台使用默认口令,修改口令,账号 admin\n"
    for raw in ((NESSUS_CSV_HEADER + row).encode("gbk"), b"\xef\xbb\xbf" + (NESSUS_CSV_HEADER + row).encode()):
        (record,) = parse_bytes(nessus, raw)
        assert record.title == "弱口令登录"
        assert record.description == "存在弱口令\n\n管理后台使用默认口令"
        assert record.evidence == "账号 admin" and record.severity == "medium"


def test_nessus_huge_single_line():
    big = "A" * (5 * 1024 * 1024)
    csv_data = (NESSUS_CSV_HEADER + f'1,,,Low,10.0.0.1,tcp,22,Huge,s,d,x,"{big}"\n').encode()
    (record,) = parse_bytes(nessus, csv_data)
    assert len(record.evidence) == EVIDENCE_LIMIT and record.severity == "low"
    xml_data = (
        '<NessusClientData_v2><Report name="r"><ReportHost name="10.0.0.1"><HostProperties/>'
        f'<ReportItem port="22" protocol="tcp" severity="2" pluginID="1" pluginName="Huge">'
        f"<plugin_output>{big}</plugin_output></ReportItem></ReportHost></Report></NessusClientData_v2>"
    ).encode()
    (record,) = parse_bytes(nessus, xml_data)
    assert len(record.evidence) == EVIDENCE_LIMIT and record.ip == "10.0.0.1" and record.severity == "medium"


def test_nessus_xml_cves_cvss3_and_host_from_name():
    data = b"""<?xml version="1.0"?><NessusClientData_v2><Report name="r">
    <ReportHost name="10.0.0.5"><HostProperties><tag name="HOST_END">x</tag></HostProperties>
    <ReportItem port="443" svc_name="www" protocol="tcp" severity="4" pluginID="156032" pluginName="Log4Shell">
      <cve>CVE-2021-44228</cve><cve>CVE-2021-45046</cve><cvss3_base_score>10.0</cvss3_base_score>
      <cvss_base_score>9.3</cvss_base_score><cvss3_vector>CVSS:3.0/AV:N</cvss3_vector><cwe>502</cwe>
      <synopsis>s</synopsis><description>d</description><solution>upgrade</solution>
      <see_also>https://a
https://b</see_also></ReportItem></ReportHost></Report></NessusClientData_v2>"""
    (record,) = parse_bytes(nessus, data)
    assert record.rule_id == "nessus:156032" and record.severity == "critical"
    assert record.cve == ["CVE-2021-44228", "CVE-2021-45046"] and record.cwe == [502]
    assert (record.cvss_score, record.cvss_vector) == (10.0, "CVSS:3.0/AV:N")
    assert (record.ip, record.host, record.port) == ("10.0.0.5", "", 443)
    assert record.references == ["https://a", "https://b"] and record.description == "s\n\nd"


# ------------------------------------------------------------------------------------------------------- OpenVAS


@pytest.mark.parametrize("name", ["report_detail_v2.xml", "report_detail_v2.csv"])
def test_openvas_report_detail(name):
    (record,) = sample("openvas", name)
    assert record.rule_id == "openvas:1.3.6.1.4.1.25623.1.0.836484"
    assert record.title == "Microsoft Windows Multiple Vulnerabilities (KB5062557)"
    assert record.severity == "critical"  # 9.8 (GVM calls it High: its band is 7.0-10.0)
    assert (record.ip, record.host, record.port, record.protocol) == ("10.99.99.99", "server99", 42, "tcp")
    assert record.cvss_score == 9.8 and len(record.cve) == 93 and record.cve[0] == "CVE-2025-49659"
    assert record.raw_id == "ec5f93ff-3447-4171-8485-3b3b3af2edc0"
    assert record.evidence.startswith("Vulnerable range:")
    assert record.description.startswith("This host is missing an important security")
    assert record.solution.startswith("The vendor has released updates")


@pytest.mark.parametrize("name", ["no_vuln.xml", "no_vuln.csv"])
def test_openvas_no_vuln(name):
    assert sample("openvas", name) == []


def test_openvas_xml_ignores_nested_results_and_maps_threat():
    data = b"""<report id="a"><report id="b"><results>
    <result id="r1"><name>TLS weak</name><host>web.example.cn</host><port>general/tcp</port>
      <nvt oid="1.2.3"><name>TLS weak</name><cve>CVE-2011-3389, CVE-2015-0204</cve></nvt>
      <threat>Medium</threat><description>found</description>
      <detection><result id="nested"><details/></result></detection></result>
    <result id="r2"><name>OS detection</name><host>10.0.0.1</host><port>general/CPE-T</port>
      <nvt oid="1.2.4"/><threat>Log</threat><severity>0.0</severity></result>
    </results></report></report>"""
    first, second = parse_bytes(openvas, data)
    assert (first.raw_id, first.severity, first.host, first.ip, first.port, first.protocol) == (
        "r1",
        "medium",
        "web.example.cn",
        "",
        None,
        "tcp",
    )
    assert first.cve == ["CVE-2011-3389", "CVE-2015-0204"]
    assert (second.raw_id, second.severity, second.ip, second.cvss_score) == ("r2", "info", "10.0.0.1", 0.0)


def test_openvas_gbk_csv():
    header = (
        "IP,Hostname,Port,Port Protocol,CVSS,Severity,Solution Type,NVT Name,Summary,Specific Result,NVT OID,CVEs\n"
    )
    row = '10.1.1.1,教务系统,3306,tcp,7.5,High,Mitigation,MySQL 弱口令,数据库使用弱口令,"root:123456",1.3.6.1.9,\n'
    (record,) = parse_bytes(openvas, (header + row).encode("gbk"))
    assert (record.title, record.host, record.ip, record.port, record.severity) == (
        "MySQL 弱口令",
        "教务系统",
        "10.1.1.1",
        3306,
        "high",
    )
    assert record.evidence == "root:123456" and record.cve == []


# ------------------------------------------------------------------------------------------- common edge cases

ALL = [nmap, nessus, openvas]


@pytest.mark.parametrize("module", ALL)
@pytest.mark.parametrize("data", [b"", b"  \n\r\n", b"\xef\xbb\xbf"])
def test_empty_file_yields_nothing(module, data):
    assert parse_bytes(module, data) == []


@pytest.mark.parametrize("module", [nessus, openvas])
def test_header_only_csv(module):
    header = NESSUS_CSV_HEADER if module is nessus else "IP,Hostname,Port,NVT Name,NVT OID\r\n"
    assert parse_bytes(module, header.encode()) == []
    assert parse_bytes(module, b"\xef\xbb\xbf" + header.encode() + b",,,,\n,,,,\n") == []


TRUNCATED = {
    nmap: b'<?xml version="1.0"?>\n<nmaprun>\n<host><status state="up"/>\n<address addr="1.2.3.4" addrtype="ipv4"/>\n'
    b'<ports><port protocol="tcp" portid="23"><state state="open"/>',
    nessus: b'<NessusClientData_v2>\n<Report name="x">\n<ReportHost name="1.2.3.4">\n<ReportItem pluginID="1"\n',
    openvas: b"<report>\n<report>\n<results>\n<result id='x'><name>a</name></nam",
}


@pytest.mark.parametrize("module", ALL)
def test_malformed_xml_names_the_line(module):
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(module, TRUNCATED[module])
    assert info.value.where.startswith("line ") and int(info.value.where.split()[1]) >= 3
    assert "malformed XML" in info.value.message


@pytest.mark.parametrize("module", ALL)
def test_wrong_root_is_refused(module):
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(module, b"<html><body><host/><ReportItem/><result/></body></html>")
    assert "root element is <html>" in info.value.message and info.value.where == "line 1"


def test_malformed_csv_values_name_the_line():
    data = NESSUS_CSV_HEADER + "1,,,Low,10.0.0.1,tcp,22,ok,,,,\n2,,abc,Low,10.0.0.1,tcp,22,bad,,,,\n"
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nessus, data.encode())
    assert info.value.where == "line 3"
    assert info.value.message == "CVSS v2.0 Base Score is not a number: “abc”"  # the column as written in the file
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nessus, b"a,b\n1,2\n")
    assert "“Plugin ID”" in info.value.message and info.value.where == "line 1"


ROOTS = {nmap: "nmaprun", nessus: "NessusClientData_v2", openvas: "report"}


def xxe(module, secret: Path, pad: int = 0) -> bytes:
    root = ROOTS[module]
    return (
        f'<?xml version="1.0"?>\n<!-- {"x" * pad} -->\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        f"<{root}><host><address addr='&xxe;' addrtype='ipv4'/></host>"
        f'<ReportHost name="&xxe;"><HostProperties/><ReportItem pluginID="1" severity="3">'
        f"<plugin_output>&xxe;</plugin_output></ReportItem></ReportHost>"
        f"<results><result><name>&xxe;</name><nvt oid='1'/></result></results></{root}>"
    ).encode()


def billion_laughs(module, pad: int = 0) -> bytes:
    root = ROOTS[module]
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?>\n<!-- {"x" * pad} -->\n<!DOCTYPE {root} [{entities}]>\n'
        f"<{root}><ReportHost name='h'><HostProperties/><ReportItem pluginID='1' severity='3'>"
        f"<plugin_output>&lol9;</plugin_output></ReportItem></ReportHost>"
        f"<results><result><name>&lol9;</name><nvt oid='1'/></result></results></{root}>"
    ).encode()


@pytest.mark.parametrize("module", ALL)
@pytest.mark.parametrize("pad", [0, 70_000], ids=["entity-in-first-64k", "doctype-after-64k"])
def test_xxe_and_billion_laughs_are_refused(module, pad, tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(str(a[0])) or real_open(*a, **k))
    for payload in (xxe(module, secret, pad), billion_laughs(module, pad)):
        started = time.perf_counter()
        with pytest.raises(ImportFormatError) as info:
            parse_bytes(module, payload)
        assert "XXE" in info.value.message and info.value.where == "DOCTYPE"
        assert "TOP-SECRET" not in str(info.value)
        assert time.perf_counter() - started < 1.0  # nothing was expanded (lol9 = 10**9 "lol")
    # rendering the error may load translation catalogues (.mo); nothing else is opened, least of all the secret
    assert [path for path in opened if not path.endswith(".mo")] == []


def test_refusal_happens_before_any_record():
    # Even with the entity declared after 64 KB, no record is produced before the refusal.
    gen = nessus.parse(io.BytesIO(billion_laughs(nessus, pad=70_000)))
    with pytest.raises(ImportFormatError):
        next(gen)


def test_plain_doctype_without_entities_is_accepted():
    assert parse_bytes(nmap, b'<?xml version="1.0"?><!DOCTYPE nmaprun><nmaprun></nmaprun>') == []


STREAMING_SCRIPT = textwrap.dedent(
    """
    import re, sys
    from lxml import etree
    from findings.importers import nessus
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "stream":
        count = sum(1 for _ in nessus.parse(open(path, "rb")))
    else:  # control: the whole tree in memory
        count = len(etree.parse(path).findall(".//ReportItem"))
    # VmHWM (peak RSS of this process image); unlike ru_maxrss it is not inherited from pytest across exec.
    peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
    print(count, peak_kb // 1024)
    """
)


def test_nessus_xml_streams_with_flat_memory(tmp_path):
    """A ~25 MB .nessus parses in a fresh process whose peak RSS stays far below what the tree would take."""
    path = tmp_path / "big.nessus"
    item = (
        '<ReportItem port="{port}" svc_name="www" protocol="tcp" severity="2" pluginID="{plugin}" '
        'pluginName="P{plugin}">'
        "<cve>CVE-2020-{plugin}</cve><cvss3_base_score>5.3</cvss3_base_score><synopsis>s</synopsis>"
        "<description>" + "d" * 600 + "</description><plugin_output>" + "o" * 600 + "</plugin_output></ReportItem>\n"
    )
    hosts, per_host = 1000, 15
    with open(path, "w") as out:
        out.write('<?xml version="1.0"?>\n<NessusClientData_v2><Report name="big">\n')
        for h in range(hosts):
            out.write(f'<ReportHost name="10.{h // 250}.{h % 250}.1"><HostProperties>')
            out.write(f'<tag name="host-ip">10.{h // 250}.{h % 250}.1</tag></HostProperties>\n')
            out.write("".join(item.format(port=1000 + i, plugin=10000 + i) for i in range(per_host)))
            out.write("</ReportHost>\n")
        out.write("</Report></NessusClientData_v2>\n")
    size_mb = path.stat().st_size / 2**20
    assert size_mb > 20
    peaks = {}
    for mode in ("stream", "tree"):
        result = subprocess.run(
            [sys.executable, "-c", STREAMING_SCRIPT, str(path), mode],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        count, peaks[mode] = map(int, result.stdout.split())
        assert count == hosts * per_host
    # Python + lxml start at ~20 MB; the whole tree of this file takes ~60 MB more, the streaming parser ~nothing.
    assert peaks["stream"] < 45, f"peak RSS {peaks} MB for a {size_mb:.0f} MB file"
    assert peaks["tree"] > peaks["stream"] + 30, peaks


# --------------------------------------------------------------------------------------------- edge cases per format

ROOT_ONLY = [
    (nmap, b'<?xml version="1.0"?>\n<nmaprun scanner="nmap"/>\n'),
    (nmap, b'<nmaprun scanner="nmap"><scaninfo type="syn"/><runstats><finished/></runstats></nmaprun>'),
    (nessus, b'<?xml version="1.0" ?>\n<NessusClientData_v2/>'),
    (
        nessus,
        b'<NessusClientData_v2><Policy><policyName>p</policyName></Policy><Report name="r"/></NessusClientData_v2>',
    ),
    (openvas, b'<report id="x"/>'),
    (
        openvas,
        b'<get_reports_response status="200"><report id="x"><report id="x"><results/></report></report>'
        b"</get_reports_response>",
    ),
]


@pytest.mark.parametrize(("module", "data"), ROOT_ONLY)
def test_root_only_xml_yields_nothing(module, data):
    assert parse_bytes(module, data) == []


@pytest.mark.parametrize("module", [nessus, openvas])
@pytest.mark.parametrize("data", [b"", b"\r\n \r\n", b"\xef\xbb\xbf"])
def test_empty_csv_through_parse_csv(module, data):
    # detect.parse_any calls parse_csv directly for nessus_csv / openvas_csv
    assert list(module.parse_csv(io.BytesIO(data))) == []


OPENVAS_CSV_HEADER = "IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT Name,Summary,Specific Result,NVT OID\n"


@pytest.mark.parametrize(
    ("row", "where", "message"),
    [
        ("10.0.0.1,h,80,tcp,high,High,x,s,r,1.2\n", "line 2", "CVSS is not a number: “high”"),
        ("10.0.0.1,h,70000,tcp,5.0,Medium,x,s,r,1.2\n", "line 2", "the port number 70000 is out of range (0–65535)"),
        ("10.0.0.1,h,80,tcp,5.0,Medium,,s,r,\n", "line 2", "both the “NVT OID” and the “NVT Name” cells are empty"),
    ],
)
def test_openvas_csv_bad_values_name_the_line(row, where, message):
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(openvas, (OPENVAS_CSV_HEADER + row).encode())
    assert (info.value.where, info.value.message) == (where, message)


def test_openvas_csv_without_nvt_columns_is_refused():
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(openvas, b"\n\nIP,Port\n10.0.0.1,80\n")
    assert info.value.where == "line 3"  # the header row, after two blank lines
    assert "“NVT OID”" in info.value.message


def test_csv_error_after_multiline_cells_names_row_and_line():
    # Nessus plugin output spans lines: Excel shows the bad record as row 3, an editor as line 5.
    data = NESSUS_CSV_HEADER + '1,,,Low,10.0.0.1,tcp,22,x,,"a\nb\nc",,\n2,,zz,Low,10.0.0.1,tcp,22,x,,,,\n'
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nessus, data.encode())
    assert info.value.where == "row 3 (line 5)"
    assert info.value.message == "CVSS v2.0 Base Score is not a number: “zz”"


def test_nessus_csv_row_without_plugin_id():
    data = NESSUS_CSV_HEADER + ",,,Low,10.0.0.1,tcp,22,x,,,,\n"
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nessus, data.encode())
    assert info.value.where == "line 2" and "“Plugin ID” cell is empty" in info.value.message


def test_nessus_xml_bad_values_name_the_report_item():
    item = (
        '<ReportItem port="{port}" protocol="tcp" severity="2" pluginID="{plugin}" pluginName="P">{extra}</ReportItem>'
    )
    doc = (
        '<NessusClientData_v2><Report name="r"><ReportHost name="10.0.0.1">\n{}\n'
        "</ReportHost></Report></NessusClientData_v2>"
    )
    cases = [
        (item.format(port="ssh", plugin="1", extra=""), "the port number is not a number: “ssh”"),
        (item.format(port="22", plugin="", extra=""), "the pluginID attribute (the Nessus plugin number) is missing"),
        (
            item.format(port="22", plugin="1", extra="<cvss3_base_score>high</cvss3_base_score>"),
            "<cvss3_base_score> is not a number: “high”",
        ),
    ]
    for xml_item, message in cases:
        with pytest.raises(ImportFormatError) as info:
            parse_bytes(nessus, doc.format(xml_item).encode())
        assert info.value.where == "<ReportItem> at line 2"
        assert info.value.message.startswith(message)


def test_nmap_non_numeric_port_names_the_element():
    data = b'<nmaprun>\n<host><status state="up"/><ports>\n<port protocol="tcp" portid="http">\n<state state="open"/>'
    data += b"</port></ports></host></nmaprun>"
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nmap, data)
    assert (info.value.where, info.value.message) == ("<port> at line 3", "the port number is not a number: “http”")


# GBK text that starts only after 64 KB of ASCII: the head looks like UTF-8 (Excel re-saved an English export)
ASCII_FILLER = "".join(f"{i},,,Low,10.0.0.1,tcp,22,Plugin {i},s,{'d' * 200},x,o\n" for i in range(400))


def test_nessus_gbk_after_64k_of_ascii():
    data = (NESSUS_CSV_HEADER + ASCII_FILLER).encode() + "9,,,High,10.0.0.2,tcp,80,弱口令,s,教务系统,改,口令\n".encode(
        "gbk"
    )
    assert data[:65536].isascii()
    records = parse_bytes(nessus, data)
    assert len(records) == 401
    assert (records[-1].title, records[-1].description) == ("弱口令", "s\n\n教务系统")


def test_openvas_gbk_after_64k_of_ascii():
    filler = "".join(f"10.0.0.1,h,22,tcp,5.0,Medium,Plugin {i},{'s' * 200},r,1.2.{i}\n" for i in range(400))
    data = (OPENVAS_CSV_HEADER + filler).encode() + "10.0.0.2,教务系统,80,tcp,7.5,High,弱口令,摘要,root,1.3\n".encode(
        "gbk"
    )
    assert data[:65536].isascii()
    records = parse_bytes(openvas, data)
    assert (records[-1].title, records[-1].host, records[-1].port) == ("弱口令", "教务系统", 80)


def test_csv_mixing_utf8_and_gbk_names_the_bad_line():
    data = (NESSUS_CSV_HEADER + ASCII_FILLER).encode()
    data += "9,,,High,10.0.0.2,tcp,80,弱口令,s,d,x,o\n".encode()  # line 402, UTF-8
    data += "9,,,High,10.0.0.3,tcp,80,弱口令,s,d,x,o\n".encode("gbk")  # line 403, GBK
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nessus, data)
    assert info.value.where == "line 403"
    assert info.value.message.startswith("the Nessus CSV is not valid UTF-8 text")


@pytest.mark.parametrize("module", [nessus, openvas])
def test_csv_ten_megabyte_cell_is_clipped(module):
    big = "证据" * (5 * 1024 * 1024)  # 10 M characters, 30 MB in UTF-8
    if module is nessus:
        data = NESSUS_CSV_HEADER + f'1,,,Low,10.0.0.1,tcp,22,Huge,s,d,x,"{big}"\n2,,,Low,10.0.0.1,tcp,23,Next,,,,\n'
    else:
        data = (
            OPENVAS_CSV_HEADER + f'10.0.0.1,h,22,tcp,5.0,Medium,Huge,s,"{big}",1.2\n10.0.0.1,h,23,tcp,5,M,Next,,,1.3\n'
        )
    first, second = parse_bytes(module, data.encode())
    assert len(first.evidence) == EVIDENCE_LIMIT and first.evidence.endswith("…")
    assert second.title == "Next"


def test_xml_nine_megabyte_text_is_clipped():
    big = "A" * (9 * 1024 * 1024)
    nmap_data = (
        '<nmaprun><host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/><ports>'
        '<port protocol="tcp" portid="445"><state state="open"/><service name="microsoft-ds"/>'
        f'<script id="smb-vuln-x" output="State: VULNERABLE {big}"/></port></ports></host></nmaprun>'
    ).encode()
    records = parse_bytes(nmap, nmap_data)
    assert [r.rule_id for r in records] == ["nmap:exposed:smb", "nmap:smb-vuln-x"]
    assert len(records[1].evidence) == EVIDENCE_LIMIT
    openvas_data = (
        f'<report id="a"><results><result id="r"><name>n</name><host>10.0.0.1</host><port>80/tcp</port>'
        f'<nvt oid="1.2"/><severity>5.0</severity><description>{big}</description></result></results></report>'
    ).encode()
    (record,) = parse_bytes(openvas, openvas_data)
    assert len(record.evidence) == EVIDENCE_LIMIT and record.port == 80


def test_xml_text_over_ten_megabytes_is_refused_clearly():
    # libxml2 refuses text nodes over 10 MB without XML_PARSE_HUGE, which stays off (bounded memory); say so.
    big = "A" * (11 * 1024 * 1024)
    data = (
        '<NessusClientData_v2><Report name="r"><ReportHost name="10.0.0.1"><HostProperties/>\n'
        f'<ReportItem port="22" protocol="tcp" severity="2" pluginID="1"><plugin_output>{big}</plugin_output>'
        "</ReportItem></ReportHost></Report></NessusClientData_v2>"
    ).encode()
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nessus, data)
    assert info.value.where == "line 2"
    assert info.value.message.startswith("a text value in the Nessus file is longer than 10 MB")


@pytest.mark.parametrize("module", ALL)
def test_entity_in_root_attribute_is_refused_not_malformed(module):
    root = ROOTS[module]
    payload = f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]><{root} a="&x;"></{root}>'.encode()
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(module, payload)
    assert info.value.where == "DOCTYPE" and "XXE" in info.value.message


def test_import_format_error_repr_is_readable():
    error = ImportFormatError(gettext_lazy("the “%(column)s” cell is empty"), "line 4", column="Plugin")
    assert repr(error) == "ImportFormatError('the “Plugin” cell is empty', where='line 4')"
