"""The generic findings template (CSV/XLSX) and the 上级通报 template (XLSX): parsing, every validation error with its
row and column, detection, the downloadable template workbooks, and imports end to end through the writer."""

from __future__ import annotations

import io
import ipaddress
import re
import zipfile
from datetime import date, datetime
from urllib.parse import quote

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from core.testing import BACKEND, build_test_tree, make_user
from findings import sheets
from findings.importers import detect, generic, upstream
from findings.importers.base import ImportFormatError, Record, at_row
from findings.imports import run_import
from findings.models import Finding, ScanImport
from findings.writer import write_records

GENERIC_HEADER = ["标题*", "级别*", "单位", "主机", "IP", "端口", "URL", "CVE", "CWE", "CVSS", "规则编号", "截止日期"]
UPSTREAM_HEADER = ["通报文号", "单位*", "URL/IP*", "问题*", "级别*", "整改期限*", "描述", "处置要求"]
DOC_NETWORKS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(row) for row in rows).encode(encoding) + b"\n"


def xlsx_bytes(rows: list[list[object]], title: str = "Sheet1", extra_sheet: bool = False) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    if extra_sheet:
        wb.create_sheet("说明").append(["不是数据"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def generic_csv(*rows: list[str], header=None, encoding="utf-8") -> list[Record]:
    return list(generic.parse_csv(io.BytesIO(csv_bytes([header or GENERIC_HEADER, *rows], encoding))))


def generic_row(**values) -> list[str]:
    base = {"标题*": "弱口令", "级别*": "高危", "IP": "192.0.2.10"}
    base.update(values)
    return [str(base.get(h, "")) for h in GENERIC_HEADER]


def upstream_rows(*rows: list[object], header=None, title="上级通报") -> list[Record]:
    return list(upstream.parse(io.BytesIO(xlsx_bytes([header or UPSTREAM_HEADER, *rows], title))))


def upstream_row(**values) -> list[object]:
    base = {
        "通报文号": "示例〔2026〕3号",
        "单位*": "2132990001",
        "URL/IP*": "https://www.school.example/admin",
        "问题*": "网站后台存在弱口令",
        "级别*": "高危",
        "整改期限*": date(2026, 3, 31),
    }
    base.update(values)
    return [base.get(h) for h in UPSTREAM_HEADER]


def error_of(callable_) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as info:
        callable_()
    return info.value


# --- generic template: parsing ----------------------------------------------------------------------------------------


def test_generic_csv_utf8_full_row():
    (record,) = generic_csv(
        [
            "Log4j2 远程代码执行",
            "严重",
            "2132990001",
            "OA.School.example",
            "192.0.2.10",
            "8080",
            "http://oa.school.example:8080/login",
            "CVE-2021-44228 cve-2021-45046",
            "CWE-917、CWE-502",
            "10",
            "",
            "2026/3/31",
        ]
    )
    assert record.tool == "generic" and record.source == "scanner"
    assert (record.title, record.severity, record.unit_ref) == ("Log4j2 远程代码执行", "critical", "2132990001")
    assert (record.host, record.ip, record.port) == ("oa.school.example", "192.0.2.10", 8080)
    assert record.url == "http://oa.school.example:8080/login"
    assert record.cve == ["CVE-2021-44228", "CVE-2021-45046"] and record.rule_id == "CVE-2021-44228"
    assert record.cwe == [917, 502] and record.cvss_score == 10.0
    assert record.due_date == date(2026, 3, 31)
    assert record.where == at_row(2)


def test_generic_csv_utf8_bom_and_gbk_read_the_same():
    row = generic_row(**{"标题*": "目录遍历", "主机": "www.school.example", "截止日期": "2026-04-01"})
    plain = generic_csv(row)
    bom = list(generic.parse_csv(io.BytesIO(b"\xef\xbb\xbf" + csv_bytes([GENERIC_HEADER, row]))))
    gbk = generic_csv(row, encoding="gbk")
    assert plain == bom == gbk
    assert plain[0].title == "目录遍历" and plain[0].due_date == date(2026, 4, 1)


def test_generic_headers_english_case_spaces_and_star_and_extra_columns():
    header = [" Title * ", "SEVERITY", "Unit", "host", "Rule ID", "Deadline", "Tool", "备注"]
    (record,) = generic_csv(
        ["XSS", "medium", "甲区第一小学", "www.school.example", "zap:40012", "2026-05-01", "ZAP", "随便写"],
        header=header,
    )
    assert (record.severity, record.unit_ref, record.rule_id, record.tool) == (
        "medium",
        "甲区第一小学",
        "zap:40012",
        "ZAP",
    )
    assert record.due_date == date(2026, 5, 1)


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("紧急", "critical"),
        ("严重", "critical"),
        ("高危", "high"),
        ("中危", "medium"),
        ("低危", "low"),
        ("信息", "info"),
        ("提示", "info"),
        ("Critical", "critical"),
        ("HIGH", "high"),
        ("medium", "medium"),
        ("low", "low"),
        ("info", "info"),
    ],
)
def test_generic_severity_vocabulary(word, severity):
    (record,) = generic_csv(generic_row(**{"级别*": word}))
    assert record.severity == severity


def test_generic_rule_id_fallbacks():
    given, by_cve, by_title, same_title = generic_csv(
        generic_row(**{"规则编号": "nessus:19506", "CVE": "CVE-2020-1234"}),
        generic_row(**{"CVE": "CVE-2020-0001"}),
        generic_row(**{"标题*": "后台 弱口令。"}),
        generic_row(**{"标题*": "后台弱口令"}),
    )
    assert given.rule_id == "nessus:19506"
    assert by_cve.rule_id == "CVE-2020-0001"
    assert by_title.rule_id == same_title.rule_id == "generic:后台弱口令"


def test_generic_host_ip_url_handling():
    ip_in_host, from_url_host, from_url_ip = generic_csv(
        generic_row(**{"IP": "", "主机": "198.51.100.7"}),
        generic_row(**{"IP": "", "URL": "https://Portal.school.example/a?b=1"}),
        generic_row(**{"IP": "", "URL": "http://203.0.113.5:8080/"}),
    )
    assert (ip_in_host.host, ip_in_host.ip) == ("", "198.51.100.7")
    assert (from_url_host.host, from_url_host.ip) == ("portal.school.example", "")
    assert (from_url_ip.host, from_url_ip.ip, from_url_ip.port) == ("", "203.0.113.5", None)


def test_generic_empty_rows_empty_and_header_only_files():
    assert list(generic.parse_csv(io.BytesIO(b""))) == []
    assert list(generic.parse_csv(io.BytesIO(csv_bytes([GENERIC_HEADER])))) == []
    records = list(generic.parse_csv(io.BytesIO(csv_bytes([GENERIC_HEADER, [""] * 12, generic_row(), [",,,"]]))))
    assert len(records) == 1 and records[0].where == at_row(3)
    assert list(generic.parse_xlsx(io.BytesIO(xlsx_bytes([])))) == []
    assert list(generic.parse_xlsx(io.BytesIO(xlsx_bytes([GENERIC_HEADER])))) == []


def test_generic_xlsx_cells_dates_numbers_and_a_title_row():
    rows = [
        ["2026 年第一季度漏洞汇总"],  # a title row above the header is tolerated
        [],
        GENERIC_HEADER,
        ["SQL 注入", "高危", 2132990001, "", "192.0.2.20", 443, "", "", 89, 8.8, "", datetime(2026, 6, 30)],
        [None] * 12,
        ["弱口令", "中危", "", "", "192.0.2.21", 22.0, "", "", "", "", "", 46112],  # an Excel serial date
        ["信息泄露", "低危", "", "mail.school.example", "", "", "", "", "", "", "", "2026-07-01 00:00:00"],
    ]
    first, second, third = generic.parse_xlsx(io.BytesIO(xlsx_bytes(rows, "漏洞清单")))
    assert first.unit_ref == "2132990001" and first.port == 443 and first.cwe == [89] and first.cvss_score == 8.8
    assert first.due_date == date(2026, 6, 30) and first.where == at_row(4, "漏洞清单")
    assert second.port == 22 and second.due_date == date(2026, 3, 31) and second.where == at_row(6, "漏洞清单")
    assert third.host == "mail.school.example" and third.due_date == date(2026, 7, 1)


def test_generic_parse_picks_csv_or_xlsx_from_the_content():
    data = xlsx_bytes([GENERIC_HEADER, generic_row()])
    assert [r.title for r in generic.parse(io.BytesIO(data))] == ["弱口令"]
    assert [r.title for r in generic.parse(io.BytesIO(csv_bytes([GENERIC_HEADER, generic_row()])))] == ["弱口令"]


# --- generic template: every validation error names its row and column ---------------------------------------------


@pytest.mark.parametrize(
    ("values", "message", "column"),
    [
        ({"标题*": ""}, "a value is required", "标题*"),
        ({"级别*": ""}, "a value is required", "级别*"),
        ({"级别*": "urgent"}, "unknown severity “urgent”; use one of 紧急, 严重", "级别*"),
        ({"IP": "300.1.1.1"}, "“300.1.1.1” is not a valid IP address", "IP"),
        ({"IP": "192.0.2.010"}, "“192.0.2.010” is not a valid IP address", "IP"),
        ({"主机": "www school.example"}, "“www school.example” is not a host name", "主机"),
        ({"主机": "www.school.example:8080"}, "“www.school.example:8080” is not a host name", "主机"),
        ({"端口": "0"}, "port “0” is not a whole number between 1 and 65535", "端口"),
        ({"端口": "65536"}, "port “65536” is not a whole number between 1 and 65535", "端口"),
        ({"端口": "https"}, "port “https” is not a whole number between 1 and 65535", "端口"),
        ({"CVSS": "10.5"}, "CVSS score “10.5” is not a number between 0 and 10", "CVSS"),
        ({"CVSS": "high"}, "CVSS score “high” is not a number between 0 and 10", "CVSS"),
        ({"URL": "www.school.example/login"}, "“www.school.example/login” is not a URL starting with", "URL"),
        ({"URL": "ftp://files.school.example/"}, "“ftp://files.school.example/” is not a URL starting with", "URL"),
        ({"CVE": "Log4Shell"}, "“Log4Shell” holds no CVE id (CVE-YYYY-NNNN)", "CVE"),
        ({"CWE": "XSS"}, "“XSS” holds no CWE number", "CWE"),
        ({"截止日期": "下周五"}, "“下周五” is not a date; use a date cell or write it as YYYY-MM-DD", "截止日期"),
        ({"截止日期": "2026-02-30"}, "“2026-02-30” is not a date", "截止日期"),
        ({"截止日期": "03/31/2026"}, "“03/31/2026” is not a date", "截止日期"),
        ({"截止日期": "1999-12-31"}, "date 1999-12-31 is out of range; give a date from 2000-01-01", "截止日期"),
    ],
)
def test_generic_csv_errors_name_row_and_column(values, message, column):
    rows = [generic_row(), generic_row(**values)]
    err = error_of(lambda: generic_csv(*rows))
    assert err.message.startswith(message)
    assert err.where == f"row 3, column {column}"


def test_generic_error_names_the_header_as_written():
    header = ["Title *", "Severity", "ip"]
    err = error_of(lambda: generic_csv(["x", "high", "1.2.3"], header=header))
    assert err.where == "row 2, column ip"
    err = error_of(lambda: generic_csv(["x", "bad", "192.0.2.1"], header=header))
    assert err.where == "row 2, column Severity"


def test_generic_row_without_any_target():
    err = error_of(lambda: generic_csv(generic_row(IP="")))
    assert err.message == "no target: fill in at least one of 主机, IP, URL"
    assert err.where == "row 2, column 主机 / IP / URL"


def test_generic_missing_columns():
    err = error_of(lambda: generic_csv(["x", "192.0.2.1"], header=["标题", "IP"]))
    assert err.message == "required column(s) missing from the header row: 级别/severity"
    assert err.where == "row 1"
    data = b"\n" + csv_bytes([["Title", "IP"], ["x", "192.0.2.1"]])  # a blank line first: the header is row 2
    err = error_of(lambda: list(generic.parse_csv(io.BytesIO(data))))
    assert err.message == "required column(s) missing from the header row: 级别/severity" and err.where == "row 2"
    err = error_of(lambda: generic_csv(["x", "高危"], header=["标题", "级别"]))
    assert err.message == ("the header row has none of the columns 主机/host, IP, URL; at least one is required")


def test_generic_xlsx_errors_name_sheet_row_and_column():
    data = xlsx_bytes([GENERIC_HEADER, generic_row(), generic_row(**{"级别*": "很高"})], "漏洞清单")
    err = error_of(lambda: list(generic.parse_xlsx(io.BytesIO(data))))
    assert err.message.startswith("unknown severity “很高”")
    assert err.where == "sheet 漏洞清单, row 3, column 级别*"
    assert "漏洞清单" in str(err) and "很高" in str(err)
    row = generic_row()
    row[GENERIC_HEADER.index("截止日期")] = 1.5  # a number that is no plausible Excel date
    err = error_of(lambda: list(generic.parse_xlsx(io.BytesIO(xlsx_bytes([GENERIC_HEADER, row], "S")))))
    assert err.message.startswith("date 1899-12-31 is out of range") and err.where == "sheet S, row 2, column 截止日期"


# --- 上级通报 template ------------------------------------------------------------------------------------------------


def test_upstream_record():
    (record,) = upstream_rows(upstream_row(描述="后台 admin/admin 可登录", 处置要求="立即整改"))
    assert record.source == "upstream_notice" and record.tool == "upstream"
    assert record.rule_id == "upstream:网站后台存在弱口令"
    assert (record.title, record.severity, record.unit_ref) == ("网站后台存在弱口令", "high", "2132990001")
    assert record.due_date == date(2026, 3, 31)
    assert (record.host, record.ip, record.port, record.url) == (
        "www.school.example",
        "",
        443,
        "https://www.school.example/admin",
    )
    assert (record.description, record.solution) == ("后台 admin/admin 可登录", "立即整改")
    assert "示例〔2026〕3号" in record.evidence and record.raw_id == "示例〔2026〕3号"
    assert record.where == at_row(2, "上级通报")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://www.school.example/admin", ("www.school.example", "", 443, "https://www.school.example/admin")),
        ("http://198.51.100.8:8080/x", ("", "198.51.100.8", 8080, "http://198.51.100.8:8080/x")),
        ("www.school.example", ("www.school.example", "", None, "")),
        ("WWW.School.example:8443", ("www.school.example", "", 8443, "")),
        ("www.school.example/login.php", ("www.school.example", "", None, "http://www.school.example/login.php")),
        ("192.0.2.30", ("", "192.0.2.30", None, "")),
        ("192.0.2.30:3389", ("", "192.0.2.30", 3389, "")),
        ("2001:db8::1", ("", "2001:db8::1", None, "")),
        ("[2001:db8::1]:443", ("", "2001:db8::1", 443, "")),
    ],
)
def test_upstream_target_split(target, expected):
    (record,) = upstream_rows(upstream_row(**{"URL/IP*": target}))
    assert (record.host, record.ip, record.port, record.url) == expected


def test_upstream_same_problem_normalises_to_the_same_rule():
    first, second = upstream_rows(
        upstream_row(**{"问题*": "网站后台存在弱口令"}), upstream_row(**{"问题*": " 网站后台 存在弱口令。"})
    )
    assert first.rule_id == second.rule_id


def test_upstream_english_headers_and_text_dates():
    header = ["Notice No.", "Unit *", "Target", "Problem", "Severity", "Deadline", "Requirement"]
    (record,) = upstream_rows(
        ["N-1", "329901", "192.0.2.40", "Weak password", "critical", "2026/04/15", "fix"], header=header
    )
    assert (record.unit_ref, record.ip, record.severity, record.solution) == ("329901", "192.0.2.40", "critical", "fix")
    assert record.due_date == date(2026, 4, 15) and record.rule_id == "upstream:weakpassword"


@pytest.mark.parametrize(
    ("values", "message", "column"),
    [
        ({"单位*": None}, "a value is required", "单位*"),
        ({"URL/IP*": ""}, "a value is required", "URL/IP*"),
        ({"URL/IP*": "学校 官网"}, "“学校 官网” is not a URL, host name or IP address", "URL/IP*"),
        ({"URL/IP*": "ftp://files.school.example"}, "“ftp://files.school.example” is not a URL, host name", "URL/IP*"),
        ({"URL/IP*": "www.school.example:99999"}, "“www.school.example:99999” is not a URL, host name", "URL/IP*"),
        ({"问题*": None}, "a value is required", "问题*"),
        ({"级别*": "一般"}, "unknown severity “一般”", "级别*"),
        ({"整改期限*": None}, "a value is required", "整改期限*"),
        ({"整改期限*": "尽快"}, "“尽快” is not a date", "整改期限*"),
        ({"整改期限*": date(1999, 1, 1)}, "date 1999-01-01 is out of range; give a date from 2000-01-01", "整改期限*"),
    ],
)
def test_upstream_errors_name_sheet_row_and_column(values, message, column):
    err = error_of(lambda: upstream_rows(upstream_row(), upstream_row(**values)))
    assert err.message.startswith(message)
    assert err.where == f"sheet 上级通报, row 3, column {column}"


def test_upstream_missing_columns():
    header = ["单位", "URL/IP", "问题", "整改期限"]
    err = error_of(lambda: upstream_rows(["329901", "192.0.2.1", "x", "2026-01-01"], header=header))
    assert err.message == "required column(s) missing from the header row: 级别/severity"
    assert err.where == "sheet 上级通报, row 1"


# --- detection --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_detect_generic_csv(encoding):
    data = csv_bytes([GENERIC_HEADER, generic_row()], encoding)
    assert detect.detect_format(data, "x.txt") == "generic_csv"
    fmt, records = detect.parse_any(io.BytesIO(data))
    assert fmt == "generic_csv" and [r.title for r in records] == ["弱口令"]


def test_detect_generic_csv_with_english_headers_and_the_other_csvs_still_win():
    assert detect.detect_format(b"Title,Severity,URL\nx,high,https://a.example/\n") == "generic_csv"
    assert detect.detect_format(b"Plugin ID,CVE,CVSS,Risk,Host,Name\n") == "nessus_csv"
    assert detect.detect_format(b'"id","fqdn/ip","port","severity","finding","cve","cwe"\n') == "testssl"


def test_detect_workbooks():
    generic_data = xlsx_bytes([GENERIC_HEADER, generic_row()], extra_sheet=True)
    upstream_data = xlsx_bytes([["某某通报"], UPSTREAM_HEADER, upstream_row()])
    assert detect.detect_format(generic_data) == detect.detect_format(upstream_data) == "xlsx"
    assert detect.detect_workbook(io.BytesIO(generic_data)) == "generic_xlsx"
    assert detect.detect_workbook(io.BytesIO(upstream_data)) == "upstream_xlsx"
    fmt, records = detect.parse_any(io.BytesIO(generic_data))
    assert fmt == "generic_xlsx" and len(list(records)) == 1
    fmt, records = detect.parse_any(io.BytesIO(upstream_data))
    records = list(records)
    assert fmt == "upstream_xlsx" and records[0].source == "upstream_notice" and records[0].where == at_row(3, "Sheet1")


def test_detect_workbook_that_is_neither_template():
    data = xlsx_bytes([["姓名", "电话"], ["张三", "123"]])
    err = error_of(lambda: detect.parse_any(io.BytesIO(data), "people.xlsx"))
    assert err.message.startswith("this workbook is neither the generic findings template")
    assert err.where == "people.xlsx"


def test_detect_refuses_a_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    err = error_of(lambda: detect.parse_any(io.BytesIO(buffer.getvalue())))
    assert err.message.startswith("not a valid Excel workbook (.xlsx) (no workbook inside the zip archive)")
    err = error_of(lambda: detect.parse_any(io.BytesIO(b"PK\x03\x04 broken")))
    assert err.message.startswith("not a valid Excel workbook (.xlsx)")


def test_detect_refuses_a_zip_bomb():
    buffer = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(201):
                member.write(chunk)
    assert len(buffer.getvalue()) < 1024 * 1024  # 201 MB of zeros packed in a few hundred KB
    err = error_of(lambda: detect.parse_any(io.BytesIO(buffer.getvalue())))
    assert re.fullmatch(
        r"the workbook would decompress to 20\d MB, more than the 200 MB allowed; refused \(possible zip bomb\)",
        err.message,
    )
    # the importers check on their own too
    err = error_of(lambda: list(upstream.parse(io.BytesIO(buffer.getvalue()))))
    assert "zip bomb" in err.message


def test_detect_refuses_a_doctype_inside_a_workbook():
    data = xlsx_bytes([GENERIC_HEADER, generic_row()])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + content.split(b"?>", 1)[-1]
            archive.writestr(info, content)
    err = error_of(lambda: detect.parse_any(io.BytesIO(buffer.getvalue())))
    assert err.message.startswith("the workbook part xl/worksheets/sheet1.xml declares a DOCTYPE")


def test_detect_old_excel_and_unknown_format_messages():
    err = error_of(lambda: detect.detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "a.xls"))
    assert err.message.startswith("an Excel 97-2003 (.xls) file or a password-protected workbook")
    assert err.where == "a.xls"
    err = error_of(lambda: detect.parse_any(io.BytesIO(b"hello world\n"), "notes.txt"))
    assert err.message.startswith("unknown format; accepted formats: nmap XML")
    assert "the generic findings template (XLSX or CSV)" in err.message and err.where == "notes.txt"


def test_parsers_table_and_dispatch():
    assert detect.load_parser("generic_csv") is generic.parse_csv
    assert detect.load_parser("generic_xlsx") is generic.parse_xlsx
    assert detect.load_parser("upstream_xlsx") is upstream.parse_xlsx
    assert "xlsx" not in detect.PARSERS
    err = error_of(lambda: detect.load_parser("docx"))
    assert err.message == "no importer for format docx"


# --- template workbooks -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "columns", "fmt"),
    [
        (sheets.generic_template, generic.GENERIC_COLUMNS, "generic_xlsx"),
        (sheets.upstream_template, upstream.UPSTREAM_COLUMNS, "upstream_xlsx"),
    ],
)
def test_template_workbooks(build, columns, fmt):
    data = build("2132990001", today=date(2026, 1, 1))
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert wb.sheetnames[1] == "说明"
    headers = [c.value for c in ws[1]]
    assert headers == [c.header for c in columns]
    assert all(h.endswith("*") == c.required for h, c in zip(headers, columns, strict=True))
    severity_letter = ws.cell(row=1, column=headers.index("级别*") + 1).column_letter
    deadline = next(i for i, c in enumerate(columns, start=1) if c.key == "deadline")
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1 and "高危" in lists[0].formula1 and f"{severity_letter}2" in str(lists[0].sqref)
    assert ws.cell(row=2, column=deadline).number_format == "yyyy-mm-dd"
    assert ws.cell(row=500, column=deadline).number_format == "yyyy-mm-dd"
    help_text = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    for column in columns:
        assert column.header in help_text
    # the example row: fictitious names under .example, documentation addresses only
    example = " ".join(str(c.value) for c in ws[2] if c.value is not None)
    for name in re.findall(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", example.lower()):
        assert name.endswith(".example"), name
    for address in re.findall(r"\d+\.\d+\.\d+\.\d+", example):
        assert any(ipaddress.ip_address(address) in net for net in DOC_NETWORKS), address
    # and the template as downloaded imports
    assert detect.detect_workbook(io.BytesIO(data)) == fmt
    fmt_found, records = detect.parse_any(io.BytesIO(data))
    (record,) = list(records)
    assert fmt_found == fmt and record.unit_ref == "2132990001"
    assert record.due_date > date(2026, 1, 1)


def test_upstream_template_without_a_unit_has_a_placeholder_unit():
    (record,) = upstream.parse(io.BytesIO(sheets.upstream_template()))
    assert record.unit_ref == "示例单位"
    (record,) = generic.parse_xlsx(io.BytesIO(sheets.generic_template()))
    assert record.unit_ref == ""


# --- downloads and the upload page ---------------------------------------------------------------------------------


@pytest.fixture
def tree(settings, tmp_path):
    settings.EDUSEC_REQUIRE_2FA = False
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_test_tree()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "filename"),
    [
        ("/findings/imports/template/generic.xlsx", "漏洞导入模板（通用）.xlsx"),
        ("/findings/imports/template/upstream.xlsx", "上级通报导入模板.xlsx"),
    ],
)
def test_template_download(tree, url, filename):
    root, unit_a, unit_b, school_a = tree
    officer = client_for(make_user("sec", school_a, ["security_officer"]))
    response = officer.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and f"filename*=UTF-8''{quote(filename)}" in disposition
    fmt, records = detect.parse_any(io.BytesIO(response.content))
    (record,) = list(records)
    assert record.unit_ref == school_a.code  # the example row names the downloader's unit
    auditor = client_for(make_user("aud", unit_a, ["auditor"]))
    assert auditor.get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


@pytest.mark.django_db
def test_template_urls_by_name_and_upload_page_links(tree):
    from django.urls import reverse

    assert reverse("findings:generic_template") == "/findings/imports/template/generic.xlsx"
    assert reverse("findings:upstream_template") == "/findings/imports/template/upstream.xlsx"
    root, unit_a, *_ = tree
    page = client_for(make_user("sec", unit_a, ["security_officer"])).get("/findings/imports/upload/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/findings/imports/template/generic.xlsx" in html and "/findings/imports/template/upstream.xlsx" in html
    assert "testssl.sh CSV" in html


# --- end to end through the writer ----------------------------------------------------------------------------------


def _import(unit, data: bytes, name="notice.xlsx") -> ScanImport:
    scan_import = ScanImport.objects.create(unit=unit, file_name=name, size=len(data))
    return run_import(scan_import, io.BytesIO(data))


@pytest.mark.django_db
def test_upstream_rows_land_on_the_named_units(tree):
    root, unit_a, unit_b, school_a = tree
    data = xlsx_bytes(
        [
            UPSTREAM_HEADER,
            upstream_row(**{"单位*": school_a.code}),
            upstream_row(**{"单位*": "甲区第一小学", "URL/IP*": "192.0.2.50", "整改期限*": "2026-04-30"}),
            upstream_row(**{"单位*": unit_a.code, "URL/IP*": "jia.school.example", "问题*": "未备案"}),
        ],
        "上级通报",
    )
    scan_import = _import(unit_a, data)
    assert scan_import.state == "done", scan_import.error
    assert scan_import.file_format == "upstream_xlsx" and scan_import.new == 3
    findings = {f.ip or f.host: f for f in Finding.objects.all()}
    assert findings["www.school.example"].unit == school_a
    assert findings["www.school.example"].due_date == date(2026, 3, 31)
    assert findings["192.0.2.50"].unit == school_a and findings["192.0.2.50"].due_date == date(2026, 4, 30)
    assert findings["jia.school.example"].unit == unit_a
    assert {f.source for f in findings.values()} == {"upstream_notice"}
    assert {f.tool for f in findings.values()} == {"upstream"}
    again = _import(unit_a, data)  # the same notice imported twice: no duplicates
    assert again.state == "done" and again.new == 0 and Finding.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("unit_ref", ["不存在的学校", "329902"])  # unknown; a sibling district outside the scope
def test_an_unknown_or_foreign_unit_fails_the_whole_import_naming_the_row(tree, unit_ref):
    root, unit_a, unit_b, school_a = tree
    data = xlsx_bytes([UPSTREAM_HEADER, upstream_row(), upstream_row(**{"单位*": unit_ref})], "上级通报")
    scan_import = _import(unit_a, data)
    assert scan_import.state == "failed"
    assert "sheet 上级通报, row 3" in scan_import.error_en and unit_ref in scan_import.error_en
    assert Finding.objects.count() == 0
    records = list(upstream.parse(io.BytesIO(data)))
    with pytest.raises(ImportFormatError) as info:
        write_records(records, unit=unit_a)
    assert info.value.where == "sheet 上级通报, row 3"
    assert Finding.objects.count() == 0


@pytest.mark.django_db
def test_generic_csv_end_to_end(tree):
    root, unit_a, unit_b, school_a = tree
    data = csv_bytes(
        [
            GENERIC_HEADER,
            generic_row(**{"单位": school_a.code, "截止日期": "2026-05-20"}),
            generic_row(**{"IP": "192.0.2.11"}),
        ]
    )
    scan_import = _import(unit_a, data, "findings.csv")
    assert scan_import.state == "done", scan_import.error
    assert scan_import.file_format == "generic_csv" and scan_import.new == 2
    named = Finding.objects.get(ip="192.0.2.10")
    assert named.unit == school_a and named.due_date == date(2026, 5, 20) and named.tool == "generic"
    assert named.source == "scanner" and named.rule_id == "generic:弱口令"
    assert Finding.objects.get(ip="192.0.2.11").unit == unit_a  # no unit named: the importing unit
