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
    with pytest.raises(ImportFormatError, match="root element is <html>"):
        parse_bytes(module, b"<html><body><host/><ReportItem/><result/></body></html>")


def test_malformed_csv_values_name_the_line():
    data = NESSUS_CSV_HEADER + "1,,,Low,10.0.0.1,tcp,22,ok,,,,\n2,,abc,Low,10.0.0.1,tcp,22,bad,,,,\n"
    with pytest.raises(ImportFormatError) as info:
        parse_bytes(nessus, data.encode())
    assert info.value.where == "line 3"
    with pytest.raises(ImportFormatError, match="no 'Plugin ID'"):
        parse_bytes(nessus, b"a,b\n1,2\n")


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
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    for payload in (xxe(module, secret, pad), billion_laughs(module, pad)):
        started = time.perf_counter()
        with pytest.raises(ImportFormatError) as info:
            parse_bytes(module, payload)
        assert "XXE" in info.value.message and info.value.where == "DOCTYPE"
        assert "TOP-SECRET" not in str(info.value)
        assert time.perf_counter() - started < 1.0  # nothing was expanded (lol9 = 10**9 "lol")
    assert opened == []


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
