"""上级通报 template (format ``upstream_xlsx``): problems notified by a higher authority (上级主管部门、网信、公安通报).

One problem per row of the first worksheet, under a header row (English aliases accepted, as in ``generic.py``)::

    通报文号 | 单位* | URL/IP* | 问题* | 级别* | 整改期限* | 描述 | 处置要求

* 单位: code or exact name of the unit that must act (``Record.unit_ref``; the writer resolves it inside the importing
  unit's subtree and refuses the whole import, naming the row, if it is unknown or outside).
* URL/IP: a URL (``https://www.school.example/login``), a host name (``www.school.example``, with ``:port`` or a
  path), or an IP address (``192.0.2.10``, ``192.0.2.10:8080``, ``[2001:db8::1]:443``); split into host, ip, port
  and url.
* 整改期限: a date cell or YYYY-MM-DD / YYYY/MM/DD text, not before 2000 → ``Record.due_date``.
* Records carry ``source="upstream_notice"``, ``tool="upstream"``, ``rule_id="upstream:<normalised problem>"`` (the
  same problem at the same place imported again is the same finding), the notice number in ``evidence`` and
  ``raw_id``, and 处置要求 as ``solution``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from .base import Record, clip
from .generic import (
    DESCRIPTION,
    SEVERITY,
    UNIT,
    Column,
    Row,
    Table,
    is_hostname,
    iter_xlsx_table,
    seekable,
    text_rule_id,
    valid_url,
)

TOOL = "upstream"
SOURCE = "upstream_notice"  # FindingSource.UPSTREAM
DEFAULT_PORTS = {"http": 80, "https": 443}

UPSTREAM_COLUMNS: tuple[Column, ...] = (
    Column("notice_no", "通报文号", "notice no.", ("文号", "通报编号", "notice number", "notice")),
    Column(UNIT.key, UNIT.label, UNIT.english, UNIT.aliases, required=True),
    Column(
        "target",
        "URL/IP",
        "target",
        ("网址/IP", "地址", "目标", "网址", "URL", "IP", "域名", "主机", "url or ip", "host", "address"),
        required=True,
    ),
    Column("problem", "问题", "problem", ("存在问题", "问题名称", "漏洞名称", "通报问题", "issue"), required=True),
    SEVERITY,
    Column("deadline", "整改期限", "deadline", ("截止日期", "整改截止日期", "期限", "due date"), required=True),
    DESCRIPTION,
    Column("requirement", "处置要求", "requirement", ("整改要求", "处置建议", "修复建议", "solution")),
)
COLUMNS_BY_KEY = {c.key: c for c in UPSTREAM_COLUMNS}

MSG_TARGET = _("“%(value)s” is not a URL, host name or IP address")


def looks_like_upstream(names: set[str]) -> bool:
    """True for a header row (normalised names) with the 问题, 整改期限 and 单位 columns."""
    return all(names & COLUMNS_BY_KEY[key].names for key in ("problem", "deadline", "unit"))


def parse(stream: BinaryIO) -> Iterator[Record]:
    for item in iter_xlsx_table(seekable(stream), UPSTREAM_COLUMNS):
        if isinstance(item, Table):
            item.require()
            continue
        yield upstream_record(item)


parse_xlsx = parse


def upstream_record(row: Row) -> Record:
    notice_no = row.text("notice_no", 200)
    unit_ref = row.required("unit", 200)
    target = row.required("target")
    host, ip, port, url = split_target(row, target)
    problem = row.required("problem")
    severity = row.severity()
    due_date = row.date("deadline", required=True)
    evidence = [f"通报文号：{notice_no}" if notice_no else "", f"通报对象：{target}"]
    return Record(
        tool=TOOL,
        rule_id=text_rule_id(TOOL, problem),
        title=clip(problem, 300),
        severity=severity,
        description=row.text("description"),
        solution=row.text("requirement"),
        host=host,
        ip=ip,
        port=port,
        url=url,
        evidence=clip("\n".join(e for e in evidence if e)),
        raw_id=notice_no,
        unit_ref=unit_ref,
        due_date=due_date,
        source=SOURCE,
        where=row.where,
    )


def split_target(row: Row, value: str) -> tuple[str, str, int | None, str]:
    """(host, ip, port, url) of what a notice names: a URL, host[:port][/path] or IP[:port]."""
    error = row.error("target", MSG_TARGET, value=value[:120])
    if "://" in value:
        if not valid_url(value):
            raise error
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        return *_host_or_ip(host), port, value
    if _ip(value.strip("[]")):
        return "", _ip(value.strip("[]")), None, ""
    authority, slash, path = value.partition("/")
    parts = urlsplit(f"//{authority}")
    try:
        port = parts.port
    except ValueError:
        raise error from None
    host = (parts.hostname or "").lower()
    if not host or (not _ip(host) and not is_hostname(host)):
        raise error
    if port == 0:
        raise error
    url = f"http://{value}" if slash else ""
    if url and not valid_url(url):
        raise error
    return *_host_or_ip(host), port, url


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return ""


def _host_or_ip(host: str) -> tuple[str, str]:
    address = _ip(host)
    return ("", address) if address else (host.rstrip("."), "")
