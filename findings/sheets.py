"""The two import templates users download from the upload page, as XLSX bytes.

* ``generic_template()`` — our generic findings template (``findings/importers/generic.py``);
* ``upstream_template()`` — the 上级通报 template (``findings/importers/upstream.py``).

Each has the template's Chinese headers on the first sheet (required ones marked ``*`` and in red), a drop-down for
级别, a date format (and a date check) for the deadline column, one example row — fictitious names under
``.example`` and addresses from the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 only — and a
second sheet 说明 that explains every column and the accepted values. The headers come from the importers' column
definitions, so a template as downloaded, example row included, imports as it is.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from core.xlsx import HEADER_FILL

from .importers.generic import EARLIEST_DATE, GENERIC_COLUMNS, Column
from .importers.upstream import UPSTREAM_COLUMNS

TEMPLATE_ROWS = 1000  # rows prepared with formats and drop-downs below the header
SEVERITY_LIST = ("严重", "高危", "中危", "低危", "信息")
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
EXCEL_EPOCH = date(1899, 12, 30)

SEVERITY_HELP = "严重（也可写 紧急、critical）、高危（high）、中危（medium）、低危（low）、信息（也可写 提示、info）"
DATE_HELP = "日期单元格，或写成 2026-03-31 / 2026/03/31；不早于 2000-01-01"
UNIT_HELP = "单位代码（推荐）或单位全称，须是导入单位本身或其下级单位"

# column key → (说明, 可填写的值 / 示例) — generic template
GENERIC_HELP = {
    "title": ("问题名称，一行一个问题", "Apache Log4j2 远程代码执行漏洞"),
    "severity": ("问题的危害级别", SEVERITY_HELP),
    "unit": ("负责整改的单位；留空则记在导入时选择的单位（按资产台账匹配到下级单位）", UNIT_HELP),
    "host": ("主机名或域名（不含端口和路径）", "oa.school.example"),
    "ip": ("IP 地址（IPv4 或 IPv6）", "192.0.2.10"),
    "port": ("端口号", "1–65535"),
    "protocol": ("协议", "tcp、udp、http、https"),
    "url": ("完整网址，以 http:// 或 https:// 开头", "http://oa.school.example:8080/login"),
    "parameter": ("存在问题的参数名", "username"),
    "cve": ("CVE 编号，可填多个，用逗号、空格或顿号分隔", "CVE-2021-44228"),
    "cwe": ("CWE 编号，可填多个", "CWE-917 或 917"),
    "cvss": ("CVSS 评分", "0–10 之间的数字，如 7.5"),
    "description": ("问题描述", "任意文字"),
    "solution": ("修复建议", "任意文字"),
    "evidence": ("验证过程、请求/响应片段等证据", "任意文字"),
    "rule_id": (
        "问题的唯一编号（如扫描器插件编号）；留空时依次使用第一个 CVE 编号、问题名称。"
        "同一问题在同一位置重复导入不会产生重复记录",
        "nessus:19506",
    ),
    "tool": ("发现问题的工具；留空为 generic", "人工检查、某扫描器名称"),
    "deadline": ("整改截止日期", DATE_HELP),
}
GENERIC_NOTES = (
    "通用漏洞导入模板：每行一个问题，第一行是表头，请勿修改表头文字（列的顺序可以调整，多余的列会被忽略）。",
    "带 * 的列必须填写；主机、IP、URL 三列至少填写一列。",
    "第 2 行是示例，可直接覆盖或删除。",
    "文件可保存为 .xlsx，或另存为 CSV（UTF-8 或 GBK 编码）后导入；格式按文件内容自动识别。",
    "导入是整体性的：任何一行有错误，整个文件都不会写入，并提示出错的行和列。",
)

# column key → (说明, 可填写的值 / 示例) — 上级通报 template
UPSTREAM_HELP = {
    "notice_no": ("上级通报的文号，会记录在问题的证据中", "某网信办〔2026〕1号"),
    "unit": ("被通报、负责整改的单位", UNIT_HELP),
    "target": (
        "被通报的网址、域名或 IP 地址，可带端口和路径",
        "https://www.school.example/admin/login、www.school.example、192.0.2.20:8080",
    ),
    "problem": (
        "通报的问题。同一单位、同一地址的同一问题重复导入只记录一次",
        "网站后台存在弱口令",
    ),
    "severity": ("问题的危害级别", SEVERITY_HELP),
    "deadline": ("通报要求的整改期限", DATE_HELP),
    "description": ("问题描述", "任意文字"),
    "requirement": ("通报的处置要求，记为修复建议", "任意文字"),
}
UPSTREAM_NOTES = (
    "上级通报导入模板：每行一个被通报的问题，第一行是表头，请勿修改表头文字（多余的列会被忽略）。",
    "带 * 的列必须填写。导入的问题来源记为“上级通报”，并记录整改期限。",
    "第 2 行是示例，可直接覆盖或删除。",
    "导入是整体性的：任何一行有错误（如单位不存在或不在本单位管辖范围内），整个文件都不会写入，并提示出错的行和列。",
)


def generic_example(unit: str = "", today: date | None = None) -> dict[str, object]:
    today = today or date.today()
    return {
        "title": "Apache Log4j2 远程代码执行漏洞",
        "severity": "严重",
        "unit": unit,
        "host": "oa.school.example",
        "ip": "192.0.2.10",
        "port": 8080,
        "protocol": "tcp",
        "url": "http://oa.school.example:8080/login",
        "parameter": "username",
        "cve": "CVE-2021-44228",
        "cwe": "CWE-917",
        "cvss": 10.0,
        "description": "OA 系统使用的 Log4j2 组件存在 JNDI 注入漏洞，攻击者可远程执行任意代码。",
        "solution": "将 Log4j2 升级到 2.17.1 或更高版本。",
        "evidence": "在 username 参数中提交测试载荷后，检测平台收到目标主机 192.0.2.10 的回连请求。",
        "rule_id": "",
        "tool": "",
        "deadline": today + timedelta(days=30),
    }


def upstream_example(unit: str = "", today: date | None = None) -> dict[str, object]:
    today = today or date.today()
    return {
        "notice_no": "示例通报〔2026〕1号",
        "unit": unit or "示例单位",
        "target": "https://www.school.example/admin/login",
        "problem": "网站后台存在弱口令",
        "severity": "高危",
        "deadline": today + timedelta(days=7),
        "description": "网站后台管理员账号使用弱口令，可被猜解登录。",
        "requirement": "立即修改为强口令并启用登录失败锁定，3 个工作日内反馈整改情况。",
    }


def generic_template(unit: str = "", today: date | None = None) -> bytes:
    """The generic findings template; ``unit`` (the downloader's unit code) fills the example row's 单位."""
    return _template(
        "漏洞清单", GENERIC_COLUMNS, GENERIC_HELP, GENERIC_NOTES, generic_example(unit, today), text=("unit", "cve")
    )


def upstream_template(unit: str = "", today: date | None = None) -> bytes:
    """The 上级通报 template; ``unit`` (the downloader's unit code) fills the example row's 单位."""
    return _template(
        "上级通报", UPSTREAM_COLUMNS, UPSTREAM_HELP, UPSTREAM_NOTES, upstream_example(unit, today), text=("unit",)
    )


def _template(title, columns: tuple[Column, ...], help_texts, notes, example, text=()) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    last = TEMPLATE_ROWS + 1
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True, color="9C0006" if column.required else "000000")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        explanation, values = help_texts[column.key]
        cell.comment = Comment(f"{explanation}\n{values}", "EduSec")
        ws.column_dimensions[letter].width = 14 if column.key not in ("title", "problem", "url", "target") else 32
        value = example.get(column.key, "")
        example_cell = ws.cell(row=2, column=index, value=value if value != "" else None)
        if column.key == "deadline":
            for row in range(2, last + 1):
                ws.cell(row=row, column=index).number_format = DATE_FORMAT
            dv = DataValidation(
                type="date",
                operator="greaterThanOrEqual",
                formula1=str((EARLIEST_DATE - EXCEL_EPOCH).days),
                allow_blank=not column.required,
                errorStyle="warning",
                errorTitle="日期",
                error="请填写 2000-01-01 之后的日期，如 2026-03-31。",
                promptTitle=column.label,
                prompt="日期，如 2026-03-31",
            )
            dv.showInputMessage = True
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{last}")
        elif column.key == "severity":
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(SEVERITY_LIST) + '"',
                allow_blank=False,
                errorStyle="warning",  # the importer also accepts 紧急, 提示 and the English names
                errorTitle="级别",
                error="请从列表中选择：" + "、".join(SEVERITY_LIST),
                promptTitle=column.label,
                prompt="从列表中选择",
            )
            dv.showInputMessage = True
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{last}")
        elif column.key in text:
            for row in range(2, last + 1):  # codes stay text: no lost leading zeros
                ws.cell(row=row, column=index).number_format = TEXT_FORMAT
        if column.key in ("description", "solution", "evidence", "requirement"):
            example_cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 30
    _help_sheet(wb.create_sheet("说明"), columns, help_texts, notes)
    wb.active = 0
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _help_sheet(ws, columns, help_texts, notes) -> None:
    for number, note in enumerate(notes, start=1):
        ws.cell(row=number, column=1, value=note)
    start = len(notes) + 2
    for index, heading in enumerate(("列名", "也接受的列名", "是否必填", "说明", "可填写的值 / 示例"), start=1):
        cell = ws.cell(row=start, column=index, value=heading)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for offset, column in enumerate(columns, start=1):
        explanation, values = help_texts[column.key]
        aliases = ", ".join([column.english, *column.aliases])
        row = (column.header, aliases, "必填" if column.required else "选填", explanation, values)
        for index, value in enumerate(row, start=1):
            cell = ws.cell(row=start + offset, column=index, value=value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDE", (14, 28, 10, 48, 48), strict=True):
        ws.column_dimensions[letter].width = width
