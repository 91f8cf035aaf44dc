"""Nuclei, ZAP and testssl.sh importers and format detection, on DefectDojo's sample files and edge cases.

Sample files live in ../shared/data/scans (beside the repository; BSD-3-Clause, see its README). They are required:
a missing directory fails the tests rather than skipping them. No database is needed.
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from findings.importers import detect, nuclei, testssl, zap
from findings.importers.base import EVIDENCE_LIMIT, ImportFormatError, Record

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "scans"


def sample(kind: str, name: str) -> Path:
    path = DATA / kind / "defectdojo" / name
    assert path.is_file(), f"missing sample {path} (../shared/data/scans must exist beside the repository)"
    return path


def parse_file(module, kind: str, name: str) -> list[Record]:
    with sample(kind, name).open("rb") as fh:
        return list(module.parse(fh))


def parse_bytes(module, data: bytes, **kwargs) -> list[Record]:
    return list(module.parse(io.BytesIO(data), **kwargs))


def test_data_directory_exists():
    assert DATA.is_dir(), f"{DATA} is missing"


# --- Nuclei -------------------------------------------------------------------------------------------------------


def test_nuclei_empty_file():
    assert parse_file(nuclei, "nuclei", "empty.jsonl") == []
    assert parse_bytes(nuclei, b"\n  \n") == []


def test_nuclei_invalid_cwe_is_ignored():
    (record,) = parse_file(nuclei, "nuclei", "invalid_cwe.json")
    assert record.tool == "nuclei"
    assert record.rule_id == "nuclei:mysql-native-password-bruteforce"
    assert record.cwe == []  # "nvd-cve-other" is not a CWE number
    assert record.severity == "info"
    assert (record.host, record.ip, record.port, record.protocol) == ("nuclei-example.com", "178.21.15.56", 3306, "tcp")


def test_nuclei_old_schema_many_findings():
    """18 records, one per JSONL line (the file has 18 lines).

    DefectDojo's test asserts 16 findings because its parser merges some lines under its own dedup key; our importer
    emits one record per line and leaves merging to the shared writer's fingerprint (rule + location). The lines that
    differ only by matcher (``tech-detect`` × nginx, bootstrap, …) keep the matcher in ``raw_id``.
    """
    records = parse_file(nuclei, "nuclei", "many_findings.json")
    assert len(records) == 18
    first = records[0]
    assert first.rule_id == "nuclei:openssh5.3-detect"
    assert first.severity == "low"
    assert first.title == "OpenSSH 5.3 Detection"
    assert (first.host, first.ip, first.port, first.url) == ("nuclei-example.com", "178.21.15.56", 22, "")
    assert "https://security-tracker.debian.org/tracker/CVE-2016-6210" in first.references
    setup = records[2]
    assert setup.rule_id == "nuclei:phpmyadmin-setup" and setup.severity == "medium"
    assert setup.url == "https://nuclei-example.com/phpmyadmin/setup/index.php"
    assert setup.port == 443 and setup.protocol == "http"
    assert Counter(r.severity for r in records) == {"info": 16, "low": 1, "medium": 1}
    tech = [r for r in records if r.rule_id == "nuclei:tech-detect"]
    assert len(tech) == 11
    assert "tech-detect:animate.css" in {r.raw_id for r in tech}
    assert "extracted: nginx/1.14.2" in records[1].evidence


def test_nuclei_v3_json_array_export():
    """``multiple_v3.json`` is a JSON array (nuclei -json-export), 6 results."""
    records = parse_file(nuclei, "nuclei", "multiple_v3.json")
    assert [r.rule_id for r in records] == [
        "nuclei:dns-saas-service-detection",
        "nuclei:caa-fingerprint",
        "nuclei:ssl-issuer",
        "nuclei:ssl-dns-names",
        "nuclei:tls-version",
        "nuclei:tls-version",
    ]
    assert all(r.severity == "info" for r in records)
    dns = records[0]
    assert (dns.host, dns.ip, dns.port, dns.protocol) == ("www.asdf.de", "", None, "dns")
    assert "pointing.wixdns.net" in dns.evidence and "--- request ---" in dns.evidence
    assert records[1].cwe == [200]  # "cwe-200"
    assert records[1].cve == []  # cve-id: null
    tls = records[4]
    assert (tls.host, tls.ip, tls.port) == ("www.asdf.de", "8.8.8.8", 443)


V3_LINE = {
    "template-id": "CVE-2021-44228",
    "info": {
        "name": "Apache Log4j2 RCE",
        "severity": "critical",
        "description": "JNDI lookup",
        "remediation": "Upgrade",
        "reference": ["https://logging.apache.org/log4j/2.x/security.html"],
        "classification": {
            "cve-id": ["cve-2021-44228"],
            "cwe-id": ["cwe-502", "cwe-20", "nvd-cve-other"],
            "cvss-score": 10.0,
            "cvss-metrics": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        },
    },
    "type": "http",
    "host": "https://app.example.edu.cn",
    "matched-at": "https://app.example.edu.cn:8443/login",
    "ip": "10.0.0.5",
    "port": "8443",
    "request": "GET /login HTTP/1.1",
    "response": "HTTP/1.1 200 OK",
}


def test_nuclei_v3_jsonl_with_cve_cwe_cvss():
    data = orjson.dumps(V3_LINE) + b"\n" + orjson.dumps({**V3_LINE, "info": {"severity": "unknown"}}) + b"\n"
    first, second = parse_bytes(nuclei, data)
    assert first.rule_id == "CVE-2021-44228"
    assert first.cve == ["CVE-2021-44228"]
    assert first.cwe == [502, 20]
    assert first.cvss_score == 10.0 and first.cvss_vector.startswith("CVSS:3.1/")
    assert first.severity == "critical"
    assert (first.host, first.ip, first.port, first.url) == (
        "app.example.edu.cn",
        "10.0.0.5",
        8443,
        "https://app.example.edu.cn:8443/login",
    )
    assert first.solution == "Upgrade"
    assert "GET /login" in first.evidence and "HTTP/1.1 200 OK" in first.evidence
    assert second.rule_id == "nuclei:CVE-2021-44228" and second.severity == "info"


def test_nuclei_malformed_line_reports_line_number():
    good = orjson.dumps(V3_LINE)
    data = good + b"\n" + good + b"\n" + b'{"template-id": "x", "info": {' + b"\n" + good + b"\n"
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(nuclei, data)
    assert exc.value.where == "line 3"


@pytest.mark.parametrize(
    "line",
    [b"[1, 2]", b'"text"', b'{"info": {"severity": "high"}}', b"not json at all"],
)
def test_nuclei_lines_that_are_not_results(line):
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(nuclei, orjson.dumps(V3_LINE) + b"\n\n" + line + b"\n")
    assert exc.value.where == "line 3"


def test_nuclei_malformed_json_array():
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(nuclei, b'[\n  {"template-id": "a", "info": {}},\n  {"template-id": \n')
    assert exc.value.where.startswith("line ")


def test_nuclei_huge_single_line_is_clipped():
    big = {**V3_LINE, "response": "HTTP/1.1 200 OK\r\n\r\n" + "A" * (5 * 1024 * 1024)}
    data = orjson.dumps(big) + b"\n" + orjson.dumps(V3_LINE) + b"\n"
    assert len(data) > 5 * 1024 * 1024
    records = parse_bytes(nuclei, data)
    assert len(records) == 2
    assert len(records[0].evidence) <= EVIDENCE_LIMIT
    assert records[0].evidence.endswith("…")


# --- ZAP ----------------------------------------------------------------------------------------------------------


def test_zap_empty_report():
    assert parse_file(zap, "zap", "empty_2.9.0.xml") == []
    assert parse_bytes(zap, b"") == []


def test_zap_216_one_record_per_instance():
    """13 records: one per alert *instance* (URL + parameter).

    DefectDojo expects 4 findings because it makes one finding per alert (pluginid) with the instances as endpoints.
    The 4 alerts have 1 + 5 + 3 + 4 instances; we keep each location separately so that it can be closed or reopened
    by a re-scan on its own, and the 4 distinct ``rule_id`` values are DefectDojo's 4 findings.
    """
    records = parse_file(zap, "zap", "zap_2.16.1_with_req_resp.xml")
    assert len(records) == 13
    assert Counter(r.rule_id for r in records) == {"zap:10111": 1, "zap:10029": 5, "zap:10024": 3, "zap:10015": 4}
    assert all(r.tool == "zap" and r.severity == "info" for r in records)  # riskcode 0
    assert all((r.host, r.port, r.protocol) == ("example-domain.com", 443, "http") for r in records)
    auth = records[0]
    assert auth.title == "Authentication Request Identified"
    assert auth.url == "https://example-domain.com/cpapi/api/account/verifypasswordless"
    assert auth.parameter == "user_identifier"
    assert auth.cwe == []  # cweid -1
    assert "evidence: passwordless_code" in auth.evidence
    assert "--- request ---\nPOST https://example-domain.com/cpapi/api/account/verifypasswordless" in auth.evidence
    assert "--- response ---\nHTTP/1.1 400 Bad Request" in auth.evidence
    assert auth.references == ["https://www.zaproxy.org/docs/desktop/addons/authentication-helper/auth-req-id/"]
    cookie = records[1]
    assert cookie.rule_id == "zap:10029" and cookie.cwe == [565]
    assert (
        cookie.url
        == "https://example-domain.com/cpapi/api/redirect/getPrefillOtuTokenData?otuToken=otuToken&clearCache=true"
    )
    assert cookie.parameter == "clearCache"
    assert "<p>" not in cookie.description and cookie.description
    assert {r.cwe[0] for r in records if r.cwe} == {565, 598, 525}
    assert all(len(r.evidence) <= EVIDENCE_LIMIT for r in records)


ZAP_ALERT_XML = b"""<?xml version="1.0"?>
<OWASPZAPReport programName="ZAP" version="2.15.0" generated="now">
<site name="http://www.example.edu.cn:8080" host="www.example.edu.cn" port="8080" ssl="false"><alerts>
<alertitem><pluginid>40012</pluginid><alertRef>40012</alertRef><alert>Cross Site Scripting (Reflected)</alert>
<name>Cross Site Scripting (Reflected)</name><riskcode>3</riskcode><confidence>2</confidence>
<confidencedesc>Medium</confidencedesc><desc>&lt;p&gt;XSS &amp;amp; more&lt;/p&gt;</desc>
<instances><instance><uri>http://www.example.edu.cn:8080/s?q=1</uri><method>GET</method><param>q</param>
<attack>&lt;script&gt;alert(1)&lt;/script&gt;</attack><evidence>&lt;script&gt;alert(1)&lt;/script&gt;</evidence>
</instance></instances><count>1</count><solution>&lt;p&gt;Encode output.&lt;/p&gt;</solution>
<reference>&lt;p&gt;https://owasp.org/xss&lt;/p&gt;</reference><cweid>79</cweid><wascid>8</wascid></alertitem>
</alerts></site></OWASPZAPReport>
"""


def test_zap_xml_alert_fields():
    (record,) = parse_bytes(zap, ZAP_ALERT_XML)
    assert record.rule_id == "zap:40012" and record.severity == "high"
    assert record.description == "XSS & more" and record.solution == "Encode output."
    assert record.cwe == [79] and record.references == ["https://owasp.org/xss"]
    assert (record.host, record.port, record.url, record.parameter) == (
        "www.example.edu.cn",
        8080,
        "http://www.example.edu.cn:8080/s?q=1",
        "q",
    )
    assert "attack: <script>alert(1)</script>" in record.evidence


def test_zap_truncated_xml():
    data = sample("zap", "zap_2.16.1_with_req_resp.xml").read_bytes()[:20000]
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, data)
    assert exc.value.where.startswith("line ")


def test_zap_bad_riskcode_names_the_alertitem():
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, ZAP_ALERT_XML.replace(b"<riskcode>3</riskcode>", b"<riskcode>9</riskcode>"))
    assert exc.value.where == "<alertitem> at line 4"
    assert "“9”" in exc.value.message and "3 (high)" in exc.value.message


def test_zap_wrong_root_is_refused():
    with pytest.raises(ImportFormatError):
        parse_bytes(zap, b"<nmaprun></nmaprun>")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE OWASPZAPReport [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OWASPZAPReport><site host="a" port="80"><alerts><alertitem><pluginid>1</pluginid><alert>&xxe;</alert>
<riskcode>3</riskcode></alertitem></alerts></site></OWASPZAPReport>
"""

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE OWASPZAPReport [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode() for i in range(1, 10)
    )
    + b"]>\n<OWASPZAPReport><site host='a' port='80'><alerts><alertitem><pluginid>1</pluginid>"
    + b"<alert>&lol9;</alert><riskcode>1</riskcode></alertitem></alerts></site></OWASPZAPReport>\n"
)


@pytest.mark.parametrize("payload", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_zap_entity_declarations_refused(payload):
    started = time.monotonic()
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, payload)
    assert exc.value.where == "DOCTYPE"
    assert time.monotonic() - started < 1


def test_zap_external_dtd_refused():
    payload = b'<!DOCTYPE OWASPZAPReport SYSTEM "http://203.0.113.1/x.dtd"><OWASPZAPReport/>'
    with pytest.raises(ImportFormatError):
        parse_bytes(zap, payload)


ZAP_JSON = {
    "@programName": "ZAP",
    "@version": "2.14.0",
    "@generated": "Mon, 1 Jan 2024 00:00:00",
    "site": [
        {
            "@name": "https://portal.example.edu.cn",
            "@host": "portal.example.edu.cn",
            "@port": "443",
            "@ssl": "true",
            "alerts": [
                {
                    "pluginid": "10038",
                    "alertRef": "10038-1",
                    "alert": "Content Security Policy (CSP) Header Not Set",
                    "name": "Content Security Policy (CSP) Header Not Set",
                    "riskcode": "2",
                    "confidence": "3",
                    "riskdesc": "Medium (High)",
                    "desc": "<p>CSP is missing.</p>",
                    "instances": [
                        {"uri": "https://portal.example.edu.cn/", "method": "GET", "param": "", "evidence": ""},
                        {"uri": "https://portal.example.edu.cn/login", "method": "GET", "param": "", "evidence": ""},
                    ],
                    "count": "2",
                    "solution": "<p>Set the header.</p>",
                    "reference": "<p>https://developer.mozilla.org/csp</p><p>https://owasp.org/csp</p>",
                    "cweid": "693",
                    "wascid": "15",
                }
            ],
        },
        {"@name": "http://empty.example.edu.cn", "@host": "empty.example.edu.cn", "@port": "80", "alerts": []},
    ],
}


def test_zap_json_report():
    records = parse_bytes(zap, orjson.dumps(ZAP_JSON, option=orjson.OPT_INDENT_2))
    assert len(records) == 2
    assert {r.url for r in records} == {"https://portal.example.edu.cn/", "https://portal.example.edu.cn/login"}
    record = records[0]
    assert record.rule_id == "zap:10038" and record.severity == "medium" and record.cwe == [693]
    assert (record.host, record.port) == ("portal.example.edu.cn", 443)
    assert record.description == "CSP is missing." and record.raw_id == "10038-1"
    assert record.references == ["https://developer.mozilla.org/csp", "https://owasp.org/csp"]


def test_zap_json_malformed():
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, b'{"@programName": "ZAP",\n "site": [\n {"alerts": [ }')
    assert exc.value.where == "line 3"


# --- testssl.sh ---------------------------------------------------------------------------------------------------


def test_testssl_header_only_sample():
    assert parse_file(testssl, "testssl", "defectdojo_no_vuln.csv") == []


def test_testssl_demo_has_only_ok_and_info_rows():
    """``demo.csv`` has 33 rows, 21 OK and 12 INFO: passed checks, so no record by default (LOW and above only)."""
    assert parse_file(testssl, "testssl", "demo.csv") == []
    with sample("testssl", "demo.csv").open("rb") as fh:
        infos = list(testssl.parse(fh, include_info=True))
    assert len(infos) == 12
    first = infos[0]
    assert (first.rule_id, first.severity, first.host, first.ip, first.port) == (
        "testssl:service",
        "info",
        "demo.defectdojo.org",
        "104.131.110.75",
        443,
    )
    assert [r.cwe for r in infos if r.raw_id == "cipherlist_3DES_IDEA"] == [[310]]


TESTSSL_CSV = """"id","fqdn/ip","port","severity","finding","cve","cwe"
"service","www.example.edu.cn/10.1.2.3","443","INFO","HTTP","",""
"SSLv3","www.example.edu.cn/10.1.2.3","443","HIGH","offered","","CWE-327"
"SWEET32","www.example.edu.cn/10.1.2.3","443","LOW","uses 64 bit block ciphers","CVE-2016-2183 CVE-2016-6329","CWE-327"
"cert_chain_of_trust","10.1.2.4/10.1.2.4","8443","CRITICAL","{finding}","",""
"scanProblem","www.example.edu.cn/10.1.2.3","443","WARN","Can't connect","",""
"DEBUG1","www.example.edu.cn/10.1.2.3","443","DEBUG","x","",""
"""


def test_testssl_findings_low_and_above():
    records = parse_bytes(testssl, TESTSSL_CSV.format(finding="证书不受信任 (self signed)").encode())
    assert [(r.rule_id, r.severity) for r in records] == [
        ("testssl:SSLv3", "high"),
        ("CVE-2016-2183", "low"),
        ("testssl:cert_chain_of_trust", "critical"),
    ]
    sslv3, sweet32, chain = records
    assert (sslv3.host, sslv3.ip, sslv3.port, sslv3.cwe) == ("www.example.edu.cn", "10.1.2.3", 443, [327])
    assert sweet32.cve == ["CVE-2016-2183", "CVE-2016-6329"]
    assert (chain.host, chain.ip, chain.port) == ("", "10.1.2.4", 8443)
    assert chain.title == "cert_chain_of_trust: 证书不受信任 (self signed)"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_testssl_encodings(encoding):
    records = parse_bytes(testssl, TESTSSL_CSV.format(finding="证书不受信任").encode(encoding))
    assert records[-1].description == "证书不受信任"


def test_testssl_gbk_cut_at_head_boundary():
    """Chinese text long enough that the 64 KB head ends inside a GBK character still decodes."""
    filler = '"x","h/10.0.0.1","443","LOW","' + "中" * 40000 + '","",""\n'
    data = TESTSSL_CSV.format(finding="证书").encode("gbk") + filler.encode("gbk")
    records = parse_bytes(testssl, data)
    assert records[-1].description.startswith("中中")


def test_testssl_empty_file():
    assert parse_bytes(testssl, b"") == []


def test_testssl_short_row_reports_line():
    data = TESTSSL_CSV.format(finding="x") + '"broken","h/1.2.3.4","443"\n'
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(testssl, data.encode())
    assert exc.value.where == "line 8"


def test_testssl_unknown_severity_reports_line():
    data = TESTSSL_CSV.format(finding="x").replace('"HIGH"', '"SEVERE"')
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(testssl, data.encode())
    assert exc.value.where == "line 3"


def test_testssl_wrong_header():
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(testssl, b"Plugin ID,Risk\n1,High\n")
    assert exc.value.where == "line 1"


def test_testssl_huge_single_field():
    big = "B" * (5 * 1024 * 1024)
    records = parse_bytes(testssl, TESTSSL_CSV.format(finding=big).encode())
    assert len(records) == 3
    assert len(records[-1].description) <= EVIDENCE_LIMIT


# --- format detection ---------------------------------------------------------------------------------------------

EXPECTED_FORMATS = {
    "nessus/defectdojo/nessus_many_vuln.csv": "nessus_csv",
    "nessus/defectdojo/nessus_many_vuln.xml": "nessus",
    "nessus/defectdojo/nessus_was_no_vuln.csv": "nessus_csv",
    "nessus/defectdojo/nessus_was_no_vuln.xml": "nessus",
    "nmap/defectdojo/nmap_0port.xml": "nmap",
    "nmap/defectdojo/nmap_multiple_port.xml": "nmap",
    "nmap/defectdojo/nmap_script_vulners.xml": "nmap",
    "nuclei/defectdojo/empty.jsonl": "empty",
    "nuclei/defectdojo/invalid_cwe.json": "nuclei",
    "nuclei/defectdojo/many_findings.json": "nuclei",
    "nuclei/defectdojo/multiple_v3.json": "nuclei",
    "openvas/defectdojo/no_vuln.csv": "openvas_csv",
    "openvas/defectdojo/no_vuln.xml": "openvas",
    "openvas/defectdojo/report_detail_v2.csv": "openvas_csv",
    "openvas/defectdojo/report_detail_v2.xml": "openvas",
    "testssl/defectdojo/defectdojo_no_vuln.csv": "testssl",
    "testssl/defectdojo/demo.csv": "testssl",
    "zap/defectdojo/empty_2.9.0.xml": "zap",
    "zap/defectdojo/zap_2.16.1_with_req_resp.xml": "zap",
}


def test_every_sample_file_is_listed():
    found = {str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file()}
    assert found == set(EXPECTED_FORMATS)


@pytest.mark.parametrize("relative", sorted(EXPECTED_FORMATS))
def test_detect_format_of_every_sample(relative):
    path = DATA / relative
    head = path.read_bytes()[: detect.HEAD_BYTES]
    assert detect.detect_format(head, path.name) == EXPECTED_FORMATS[relative]
    # the decision does not depend on the file name
    assert detect.detect_format(head) == EXPECTED_FORMATS[relative]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"", "empty"),
        (b"  \r\n\t", "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "xlsx"),
        (orjson.dumps(ZAP_JSON), "zap"),
        (orjson.dumps(V3_LINE) + b"\n", "nuclei"),
        ('\ufeff"id","fqdn/ip","port","severity","finding","cve","cwe"\n'.encode(), "testssl"),
        ('"id","fqdn/ip","port","severity","finding","cve","cwe"\n"a","主机/1.2.3.4"'.encode("gbk"), "testssl"),
        ("插件,Plugin ID,Risk,Host\n1,High,中文\n".encode("gbk"), "nessus_csv"),
        ('"Plugin ID";"CVE";"CVSS";"Risk";"Host"\n'.encode("utf-8-sig"), "nessus_csv"),
        ("IP,主机名,NVT Name,NVT OID\n".encode("gbk"), "openvas_csv"),
        (b'<?xml version="1.0"?><get_reports_response status="200"><report id="x"><report id="x">', "openvas"),
        (b"<!-- c --><?xml-stylesheet href='x'?><!DOCTYPE nmaprun><nmaprun scanner='nmap'>", "nmap"),
    ],
)
def test_detect_format_from_content(head, expected):
    assert detect.detect_format(head, "misleading.txt") == expected


@pytest.mark.parametrize(
    "head",
    [b"hello world\n", b"<html><body></body></html>", b'{"a": 1}\n', b"<report><foo/></report>", b"a,b,c\n1,2,3\n"],
)
def test_detect_format_unknown(head):
    with pytest.raises(ImportFormatError) as exc:
        detect.detect_format(head, "x.bin")
    assert exc.value.message == "unknown format"


def test_parsers_table_covers_every_format():
    assert set(EXPECTED_FORMATS.values()) - {"empty"} <= set(detect.PARSERS)
    assert detect.PARSERS["nessus_csv"] == detect.PARSERS["nessus"] == "findings.importers.nessus"
    assert detect.PARSERS["openvas_csv"] == detect.PARSERS["openvas"] == "findings.importers.openvas"


def test_parse_any_dispatches_and_rewinds():
    with sample("zap", "zap_2.16.1_with_req_resp.xml").open("rb") as fh:
        fmt, records = detect.parse_any(fh)
        assert fmt == "zap" and len(list(records)) == 13
    with sample("nuclei", "many_findings.json").open("rb") as fh:
        fmt, records = detect.parse_any(fh)
        assert fmt == "nuclei" and len(list(records)) == 18
    fmt, records = detect.parse_any(io.BytesIO(b""))
    assert fmt == "empty" and list(records) == []


def test_parse_any_non_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._buffer = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            chunk = self._buffer.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    fmt, records = detect.parse_any(Pipe(TESTSSL_CSV.format(finding="x").encode()))
    assert fmt == "testssl" and len(list(records)) == 3


def test_parse_any_missing_importer_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(detect.PARSERS, "nmap", "findings.importers.not_written_yet")
    with sample("nmap", "nmap_0port.xml").open("rb") as fh, pytest.raises(ImportFormatError) as exc:
        detect.parse_any(fh)
    assert "nmap" in exc.value.message and "not available" in exc.value.message


# --- edge cases per format ----------------------------------------------------------------------------------------


class Pipe(io.RawIOBase):
    """A non-seekable stream (an upload read from a socket or a pipe)."""

    def __init__(self, data: bytes):
        self._buffer = io.BytesIO(data)

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, b):
        chunk = self._buffer.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("data", [b"[]", b"\xef\xbb\xbf[\n]\n", b"  \n[ ]  "])
def test_nuclei_empty_json_array(data):
    assert parse_bytes(nuclei, data) == []


def test_nuclei_json_array_item_that_is_not_a_result():
    data = b"[" + orjson.dumps(V3_LINE) + b", 42]"
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(nuclei, data)
    assert exc.value.where == "result 2 of the JSON array"
    assert exc.value.message == "not a Nuclei result: expected a JSON object {…}"


def test_nuclei_jsonl_error_names_the_column_within_the_line():
    data = orjson.dumps(V3_LINE) + b"\n" + b'{"template-id": "x", "info": {}, }\n'
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(nuclei, data)
    assert exc.value.where == "line 2"
    assert re.fullmatch(r"not valid JSON: .+ \(column \d+\)", exc.value.message)


def test_nuclei_many_blank_lines_before_the_first_result():
    # more blank bytes than any peek: the first result still counts, and line numbers still count the blank lines
    data = b"\xef\xbb\xbf" + b"\r\n" * 70_000 + orjson.dumps(V3_LINE) + b"\n" + b"oops\n"
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(nuclei, data)
    assert exc.value.where == "line 70002"
    records = parse_bytes(nuclei, data[: -len(b"oops\n")])
    assert [r.rule_id for r in records] == ["CVE-2021-44228"]
    array = b"\n" * 70_000 + b"[\n" + orjson.dumps(V3_LINE) + b",\n}"
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(nuclei, array)
    assert exc.value.where == "line 70003"


def test_nuclei_non_seekable_stream():
    data = orjson.dumps(V3_LINE) + b"\n" + orjson.dumps(V3_LINE) + b"\n"
    assert len(list(nuclei.parse(io.BufferedReader(Pipe(data))))) == 2
    assert len(list(nuclei.parse(Pipe(b"[" + orjson.dumps(V3_LINE) + b"]")))) == 1


def test_nuclei_twenty_megabyte_line_and_array_item_are_clipped():
    big = {
        **V3_LINE,
        "request": "GET / HTTP/1.1",
        "response": "HTTP/1.1 200 OK\r\n\r\n" + "A" * (20 * 1024 * 1024),
        "extracted-results": ["x" * 1024 * 1024],
    }
    line = orjson.dumps(big)
    assert len(line) > 20 * 1024 * 1024
    for data in (line + b"\n" + orjson.dumps(V3_LINE) + b"\n", b"[" + line + b"," + orjson.dumps(V3_LINE) + b"]"):
        first, second = parse_bytes(nuclei, data)
        assert len(first.evidence) <= EVIDENCE_LIMIT and "--- response ---\nHTTP/1.1 200 OK" in first.evidence
        assert "GET / HTTP/1.1" in first.evidence
        assert second.evidence == parse_bytes(nuclei, orjson.dumps(V3_LINE))[0].evidence


@pytest.mark.parametrize(
    "data",
    [
        b"<OWASPZAPReport/>",
        b'<?xml version="1.0"?>\n<OWASPZAPReport programName="ZAP" version="2.16.1" generated="now"></OWASPZAPReport>',
        b'<OWASPZAPReport><site name="http://a" host="a" port="80" ssl="false"><alerts/></site></OWASPZAPReport>',
    ],
)
def test_zap_root_only_xml(data):
    assert parse_bytes(zap, data) == []


@pytest.mark.parametrize(
    "data",
    [
        b'{"site": []}',
        b'{"@programName": "ZAP", "@version": "2.14.0", "site": [{"@host": "a", "@port": "80", "alerts": []}]}',
        b'{"@version": "2.14.0", "site": {"@host": "a", "alerts": []}}',
    ],
)
def test_zap_json_without_alerts(data):
    assert parse_bytes(zap, data) == []


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (b'{"@version": "2.14.0"}', "line 1", "not a ZAP JSON report: there is no “site” field"),
        (b'{"site": ["x"]}', "site[0]", "the site is not a JSON object"),
        (b'{"site": [{"alerts": [1]}]}', "site[0].alerts[0]", "the alert is not a JSON object"),
        (
            b'{"site": [{"alerts": [{"pluginid": "1", "riskcode": 2, "instances": [{}, "x"]}]}]}',
            "site[0].alerts[0].instances[1]",
            "the alert instance is not a JSON object",
        ),
        (
            b'{"site": [{"alerts": [{"riskcode": "2"}]}]}',
            "site[0].alerts[0]",
            "the alert has no “pluginid” (the ZAP rule number)",
        ),
    ],
)
def test_zap_json_structure_errors(data, where, message):
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, data)
    assert (exc.value.where, exc.value.message) == (where, message)


@pytest.mark.parametrize(
    "payload",
    [
        # an entity used in an attribute makes libxml2 fail before the first event: still a refusal, not "malformed"
        b'<!DOCTYPE OWASPZAPReport [<!ENTITY x SYSTEM "file:///etc/passwd">]><OWASPZAPReport a="&x;"/>',
        b'<!DOCTYPE OWASPZAPReport [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<OWASPZAPReport v="&b;"/>',
        # the DOCTYPE after the first 64 KB
        b"<!--" + b"x" * 70_000 + b"-->" + XXE.split(b"?>", 1)[1],
        b"<!--" + b"x" * 70_000 + b"-->" + BILLION_LAUGHS.split(b"?>", 1)[1],
    ],
    ids=["xxe-in-attribute", "expansion-in-attribute", "xxe-after-64k", "billion-laughs-after-64k"],
)
def test_zap_entity_declarations_refused_anywhere(payload):
    started = time.monotonic()
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, payload)
    assert exc.value.where == "DOCTYPE" and "XXE" in exc.value.message
    assert time.monotonic() - started < 1


def test_zap_external_dtd_refused_with_a_message():
    payload = b'<!DOCTYPE OWASPZAPReport SYSTEM "http://203.0.113.1/x.dtd"><OWASPZAPReport/>'
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, payload)
    assert exc.value.where == "DOCTYPE" and "external DTD" in exc.value.message


def test_zap_wrong_root_names_it():
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(zap, b"\n<nmaprun></nmaprun>")
    assert exc.value.where == "line 2"
    assert exc.value.message == "not a ZAP XML file: the root element is <nmaprun>, expected <OWASPZAPReport>"


def test_zap_non_seekable_stream():
    assert len(list(zap.parse(Pipe(ZAP_ALERT_XML)))) == 1
    assert len(list(zap.parse(Pipe(orjson.dumps(ZAP_JSON))))) == 2


def test_zap_huge_evidence_is_clipped():
    big = "E" * (9 * 1024 * 1024)  # under libxml2's 10 MB text-node limit
    xml = ZAP_ALERT_XML.replace(
        b"<evidence>&lt;script&gt;alert(1)&lt;/script&gt;</evidence>",
        b"<evidence>" + big.encode() + b"</evidence><responseheader>" + big.encode() + b"</responseheader>",
    )
    (record,) = parse_bytes(zap, xml)
    assert len(record.evidence) <= EVIDENCE_LIMIT and "--- response ---" in record.evidence
    alert = {**ZAP_JSON["site"][0]["alerts"][0], "instances": [{"uri": "https://a/", "evidence": big * 2}]}
    report = {"site": [{**ZAP_JSON["site"][0], "alerts": [alert]}]}
    (record,) = parse_bytes(zap, orjson.dumps(report))
    assert len(record.evidence) <= EVIDENCE_LIMIT and record.url == "https://a/"


TESTSSL_HEADER = '"id","fqdn/ip","port","severity","finding","cve","cwe"\n'


@pytest.mark.parametrize("data", [b"\n\n", b"  \r\n\r\n", b"\xef\xbb\xbf", TESTSSL_HEADER.encode() + b"\n\n"])
def test_testssl_blank_or_header_only(data):
    assert parse_bytes(testssl, data) == []


def test_testssl_blank_lines_before_header():
    data = "\r\n\r\n" + TESTSSL_CSV.format(finding="x")
    records = parse_bytes(testssl, data.encode())
    assert [r.rule_id for r in records] == ["testssl:SSLv3", "CVE-2016-2183", "testssl:cert_chain_of_trust"]


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("https", "the port number is not a number: “https”"),
        ("99999", "the port number 99999 is out of range (0–65535)"),
    ],
)
def test_testssl_bad_port(port, message):
    data = TESTSSL_HEADER + f'"SSLv3","h/10.0.0.1","{port}","HIGH","offered","",""\n'
    with pytest.raises(ImportFormatError) as exc:
        parse_bytes(testssl, data.encode())
    assert (exc.value.where, exc.value.message) == ("line 2", message)


def test_testssl_gbk_after_64k_of_ascii():
    filler = "".join(f'"check{i}","h/10.0.0.1","443","OK","{"x" * 200}","",""\n' for i in range(400))
    data = (TESTSSL_HEADER + filler).encode() + '"cert","教务系统/10.0.0.2","443","HIGH","证书过期","",""\n'.encode(
        "gbk"
    )
    assert data[:65536].isascii()
    (record,) = parse_bytes(testssl, data)
    assert (record.host, record.description) == ("教务系统", "证书过期")


def test_testssl_ten_megabyte_cell_and_pipe():
    big = "证书链" * (4 * 1024 * 1024)  # 12 M characters
    data = TESTSSL_CSV.format(finding=big).encode("gbk")
    records = list(testssl.parse(Pipe(data)))
    assert len(records) == 3 and len(records[-1].description) == EVIDENCE_LIMIT
    assert records[-1].description.startswith("证书链证书链")
