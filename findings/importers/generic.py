"""Our own generic findings template (format ``generic_csv`` / ``generic_xlsx``), and the sheet-reading helpers that the
上级通报 template (``upstream.py``) shares.

One finding per row under a header row of Chinese column names (English aliases accepted; case, spaces, ``_``, ``-``
and a trailing ``*`` — the template's "required" marker — are ignored; unknown columns are ignored)::

    标题* | 级别* | 单位 | 主机 | IP | 端口 | 协议 | URL | 参数 | CVE | CWE | CVSS
    描述 | 修复建议 | 证据 | 规则编号 | 工具 | 截止日期

* CSV: UTF-8, UTF-8 with BOM or GBK (``iter_csv_rows``). XLSX: the first worksheet, read with openpyxl in read-only
  mode after a zip-bomb check (``open_workbook``); the header is the first row among the first 20 that holds at
  least two of the template's column names (so a title row above the header is tolerated).
* 标题 and 级别 are required, and each row names at least one of 主机 / IP / URL. 级别 accepts 紧急/严重 (critical),
  高危, 中危, 低危, 信息/提示 (info) or the English names. 单位 (code or exact name of the responsible unit) goes to
  ``Record.unit_ref``, which the writer resolves inside the importing unit's subtree.
* ``rule_id``: 规则编号 if given, else the first CVE, else ``generic:<normalised title>`` — so the same problem at the
  same place imported again is the same finding.
* Any bad value raises ``ImportFormatError`` naming the row and the column as the user wrote it (``at_cell``); empty
  rows are skipped; an empty or header-only file yields nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import BinaryIO
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from .base import (
    EVIDENCE_LIMIT,
    HEAD_BYTES,
    ImportFormatError,
    Location,
    Record,
    _sniff_delimiter,
    at_cell,
    at_row,
    clip,
    detect_encoding,
    iter_csv_rows,
    peek,
    split_cves,
)

TOOL = "generic"
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # an XLSX whose members would decompress to more is refused (zip bomb)
MAX_MEMBERS = 10_000
HEADER_SEARCH_ROWS = 20
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --------------------------------------------------------------------------------------------------------------
# columns


def norm_header(text) -> str:
    """A header cell as compared: NFKC, lower case, without spaces, ``_``, ``-``, ``.`` and a trailing ``*``."""
    value = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    value = value.rstrip("*").strip()
    return re.sub(r"[\s_\-.]+", "", value)


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the header in our template (Chinese)
    english: str  # the English header accepted (and shown in messages next to the Chinese one)
    aliases: tuple[str, ...] = ()
    required: bool = False

    @property
    def names(self) -> frozenset[str]:
        return frozenset(norm_header(n) for n in (self.label, self.english, *self.aliases))

    @property
    def header(self) -> str:
        """The template's header cell: ``标题*`` for a required column."""
        return f"{self.label}*" if self.required else self.label

    @property
    def display(self) -> str:
        """``级别/severity`` (``IP`` when both are the same), for messages."""
        return self.label if self.label.lower() == self.english.lower() else f"{self.label}/{self.english}"


SEVERITY = Column("severity", "级别", "severity", ("等级", "风险等级", "危险等级", "漏洞等级", "risk", "level"), True)
UNIT = Column("unit", "单位", "unit", ("单位代码", "单位名称", "责任单位", "unit code", "unit name"))
DESCRIPTION = Column("description", "描述", "description", ("详情", "问题描述", "漏洞描述", "details"))

GENERIC_COLUMNS: tuple[Column, ...] = (
    Column("title", "标题", "title", ("漏洞名称", "问题名称", "名称", "name"), True),
    SEVERITY,
    UNIT,
    Column("host", "主机", "host", ("主机名", "域名", "hostname", "domain")),
    Column("ip", "IP", "IP", ("ip地址", "ip address")),
    Column("port", "端口", "port", ("端口号",)),
    Column("protocol", "协议", "protocol"),
    Column("url", "URL", "URL", ("网址", "链接", "link")),
    Column("parameter", "参数", "parameter", ("param",)),
    Column("cve", "CVE", "CVE", ("cve编号", "cves")),
    Column("cwe", "CWE", "CWE", ("cwe编号",)),
    Column("cvss", "CVSS", "CVSS", ("cvss评分", "cvss分值", "cvss score")),
    DESCRIPTION,
    Column("solution", "修复建议", "solution", ("整改建议", "解决方案", "修复方案", "remediation")),
    Column("evidence", "证据", "evidence", ("验证信息", "proof")),
    Column("rule_id", "规则编号", "rule id", ("规则id", "插件编号", "rule", "plugin id")),
    Column("tool", "工具", "tool", ("扫描工具", "来源工具", "scanner")),
    Column("deadline", "截止日期", "deadline", ("整改期限", "整改截止日期", "期限", "due date")),
)
GENERIC_TARGETS = ("host", "ip", "url")

SEVERITY_WORDS = {
    "紧急": "critical",
    "严重": "critical",
    "超危": "critical",
    "critical": "critical",
    "高危": "high",
    "高": "high",
    "高风险": "high",
    "high": "high",
    "中危": "medium",
    "中": "medium",
    "中风险": "medium",
    "medium": "medium",
    "moderate": "medium",
    "低危": "low",
    "低": "low",
    "低风险": "low",
    "low": "low",
    "信息": "info",
    "提示": "info",
    "info": "info",
    "informational": "info",
}
SEVERITY_CHOICES = "紧急, 严重, 高危, 中危, 低危, 信息, 提示, critical, high, medium, low, info"
# What a user writes in an optional cell to mean "nothing".
EMPTY_MARKERS = {"-", "--", "—", "/", "无", "n/a", "na", "none", "null"}

# --------------------------------------------------------------------------------------------------------------
# messages (lazy: rendered in the user's language; ``.message`` is the English text)

MSG_REQUIRED = _("a value is required")
MSG_MISSING_COLUMNS = _("required column(s) missing from the header row: %(columns)s")
MSG_NO_TARGET_COLUMN = _("the header row has none of the columns %(columns)s; at least one is required")
MSG_NO_TARGET = _("no target: fill in at least one of %(columns)s")
MSG_SEVERITY = _("unknown severity “%(value)s”; use one of %(choices)s")
MSG_IP = _("“%(value)s” is not a valid IP address")
MSG_HOST = _("“%(value)s” is not a host name (letters, digits, hyphens and dots; put a port or path in its own column)")
MSG_PORT = _("port “%(value)s” is not a whole number between 1 and 65535")
MSG_CVSS = _("CVSS score “%(value)s” is not a number between 0 and 10")
MSG_URL = _("“%(value)s” is not a URL starting with http:// or https://")
MSG_CVE = _("“%(value)s” holds no CVE id (CVE-YYYY-NNNN)")
MSG_CWE = _("“%(value)s” holds no CWE number (CWE-79 or 79)")
MSG_DATE = _("“%(value)s” is not a date; use a date cell or write it as YYYY-MM-DD or YYYY/MM/DD")
MSG_DATE_RANGE = _("date %(value)s is out of range; give a date from %(earliest)s to %(latest)s")
MSG_NOT_WORKBOOK = _("not a valid Excel workbook (.xlsx) (%(error)s); save the file as .xlsx and import it again")
MSG_ZIP_BOMB = _(
    "the workbook would decompress to %(size)s MB, more than the %(limit)s MB allowed; refused (possible zip bomb)"
)
MSG_ZIP_MEMBERS = _("the workbook holds %(count)s parts, more than the %(limit)s allowed; refused")
MSG_XML_DOCTYPE = _("the workbook part %(part)s declares a DOCTYPE; refused to protect against XML entity attacks")
MSG_DAMAGED = _("the workbook is damaged and cannot be read (%(error)s)")

# --------------------------------------------------------------------------------------------------------------
# XLSX


def check_workbook_archive(stream: BinaryIO) -> None:
    """Refuse a file that is not a zip with a workbook inside, a zip bomb, or XML parts with a DOCTYPE. Rewinds."""
    pos = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ImportFormatError(MSG_ZIP_MEMBERS, count=len(infos), limit=MAX_MEMBERS)
            total = sum(info.file_size for info in infos)
            if total > MAX_UNZIPPED_BYTES:
                raise ImportFormatError(
                    MSG_ZIP_BOMB, size=-(-total // (1024 * 1024)), limit=MAX_UNZIPPED_BYTES // (1024 * 1024)
                )
            names = {info.filename for info in infos}
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/workbook") for n in names):
                raise ImportFormatError(MSG_NOT_WORKBOOK, error=_("no workbook inside the zip archive"))
            for info in infos:  # OOXML never declares a DOCTYPE: one is an attack (XXE, entity expansion)
                if info.filename.endswith((".xml", ".rels", ".vml")) and not info.is_dir():
                    with archive.open(info) as member:
                        head = member.read(HEAD_BYTES)
                    if b"<!DOCTYPE" in head.replace(b"\x00", b"").upper():
                        raise ImportFormatError(MSG_XML_DOCTYPE, part=info.filename)
    except ImportFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise ImportFormatError(MSG_NOT_WORKBOOK, error=str(exc) or type(exc).__name__) from None
    finally:
        stream.seek(pos)


def open_workbook(stream: BinaryIO):
    """The workbook (openpyxl, read-only, cached values) after ``check_workbook_archive``; the caller closes it."""
    from openpyxl import load_workbook

    check_workbook_archive(stream)
    try:
        return load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types (KeyError, ParseError, InvalidFileException …) on bad files
        raise ImportFormatError(MSG_NOT_WORKBOOK, error=str(exc) or type(exc).__name__) from None


def iter_sheet_rows(sheet) -> Iterator[tuple[int, tuple]]:
    """(Excel row number, cell values) of a read-only worksheet; a damaged sheet raises ``ImportFormatError``."""
    sheet.reset_dimensions()  # some generators write a wrong <dimension>; read what is there
    rows = sheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # damaged XML inside the sheet
            raise ImportFormatError(MSG_DAMAGED, at_row(number + 1, sheet.title), error=str(exc)) from None
        number += 1
        yield number, values


def first_sheet_header(stream: BinaryIO, matches: Callable[[set[str]], bool]) -> tuple[str, set[str]] | None:
    """(sheet title, normalised header names) of the first row among the first rows of the first sheet for which
    ``matches(names)`` is true, or None. Rewinds ``stream``."""
    pos = stream.tell()
    workbook = open_workbook(stream)
    try:
        if not workbook.worksheets:
            return None
        sheet = workbook.worksheets[0]
        for number, values in iter_sheet_rows(sheet):
            if number > HEADER_SEARCH_ROWS:
                break
            names = {norm_header(v) for v in values if v not in (None, "")}
            if names and matches(names):
                return sheet.title, names
        return None
    finally:
        workbook.close()
        stream.seek(pos)


# --------------------------------------------------------------------------------------------------------------
# a table: header + rows, from CSV or XLSX


class Table:
    """The columns found in a header row, whatever the file type; ``row()`` reads one data row under it.

    ``header(key)`` is the header as the user wrote it (for messages). Several headers may name one column (单位代码
    and 单位名称): the first non-empty of them is used.
    """

    def __init__(self, columns: Iterable[Column], sheet: str = ""):
        self.columns = {c.key: c for c in columns}
        self.sheet = sheet
        self.header_row = 1
        self.positions: dict[str, list[tuple[object, str]]] = {}  # key → [(index or CSV key, header as written)]

    def set_header(self, number: int, cells: Iterable[tuple[object, str]]) -> None:
        """``cells``: (index or CSV key, header as written) of the header row."""
        self.header_row = number
        lookup = {name: c.key for c in self.columns.values() for name in c.names}
        for position, written in cells:
            key = lookup.get(norm_header(written))
            if key is not None:
                self.positions.setdefault(key, []).append((position, str(written).strip()))

    def has(self, key: str) -> bool:
        return key in self.positions

    def header(self, key: str) -> str:
        return self.positions[key][0][1] if key in self.positions else self.columns[key].label

    def require(self, any_of: Iterable[str] = ()) -> None:
        """Raise if a required column, or every column of ``any_of``, is missing from the header row."""
        missing = [c.display for c in self.columns.values() if c.required and c.key not in self.positions]
        where = at_row(self.header_row, self.sheet)
        if missing:
            raise ImportFormatError(MSG_MISSING_COLUMNS, where, columns=", ".join(missing))
        any_of = tuple(any_of)
        if any_of and not any(k in self.positions for k in any_of):
            names = ", ".join(self.columns[k].display for k in any_of)
            raise ImportFormatError(MSG_NO_TARGET_COLUMN, where, columns=names)

    def row(self, number: int, values) -> Row:
        cells: dict[str, tuple[object, str]] = {}
        for key, positions in self.positions.items():
            first = None
            for position, written in positions:
                try:
                    value = values[position]
                except (IndexError, KeyError):
                    value = None
                if first is None:
                    first = (value, written)
                if cell_text(value):
                    cells[key] = (value, written)
                    break
            else:
                if first is not None:
                    cells[key] = first
        return Row(number, cells, self)


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u00a0", " ").strip()


def iter_xlsx_table(stream: BinaryIO, columns: tuple[Column, ...]) -> Iterator[Table | Row]:
    """First the ``Table`` (once a header row is found), then a ``Row`` per non-empty data row of the first sheet."""
    workbook = open_workbook(stream)
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        table = Table(columns, sheet.title)
        known = {name for c in columns for name in c.names}
        pending: list[tuple[int, tuple]] = []  # rows read while looking for the header
        found = False
        for number, values in iter_sheet_rows(sheet):
            if not found:
                if not any(cell_text(v) for v in values):
                    continue
                pending.append((number, values))
                hits = {norm_header(v) for v in values if cell_text(v)} & known
                if len(hits) >= 2 or len(pending) >= HEADER_SEARCH_ROWS:
                    header_number, header = (number, values) if len(hits) >= 2 else pending[0]
                    table.set_header(header_number, ((i, cell_text(v)) for i, v in enumerate(header) if cell_text(v)))
                    found = True
                    yield table
                    for later_number, later in pending:
                        if later_number > header_number and any(cell_text(v) for v in later):
                            yield table.row(later_number, later)
                continue
            if any(cell_text(v) for v in values):
                yield table.row(number, values)
        if not found and pending:  # fewer than 20 non-empty rows and none looks like a header: the first one is
            header_number, header = pending[0]
            table.set_header(header_number, ((i, cell_text(v)) for i, v in enumerate(header) if cell_text(v)))
            yield table
            for later_number, later in pending[1:]:
                yield table.row(later_number, later)
    finally:
        workbook.close()


def iter_csv_table(stream: BinaryIO, columns: tuple[Column, ...], kind: str) -> Iterator[Table | Row]:
    """Like ``iter_xlsx_table`` for a CSV (UTF-8, UTF-8-BOM or GBK), through ``iter_csv_rows``."""
    head, buffered = peek(stream)
    header_line, written = _csv_written_headers(head)
    table = Table(columns)
    started = False
    for number, row in iter_csv_rows(buffered, kind):
        if not started:
            table.set_header(header_line, ((key, written.get(key, key)) for key in row))
            started = True
            yield table
        yield table.row(number, row)


def _csv_written_headers(head: bytes) -> tuple[int, dict[str, str]]:
    """(line number, {lower-cased header: header as written}) of the first non-empty row of a CSV's first bytes."""
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                cells = [cell.strip().lstrip("\ufeff") for cell in row]
                return reader.line_num, {cell.lower(): cell for cell in cells}
    except csv.Error:
        pass
    return 1, {}


# --------------------------------------------------------------------------------------------------------------
# one row: typed values, each error naming the row and the column


class Row:
    def __init__(self, number: int, cells: dict[str, tuple[object, str]], table: Table):
        self.number = number
        self.cells = cells
        self.table = table

    @property
    def where(self) -> Location:
        return at_row(self.number, self.table.sheet)

    def at(self, key: str) -> Location:
        return at_cell(self.number, self.table.header(key), self.table.sheet)

    def error(self, key: str, message, **params) -> ImportFormatError:
        return ImportFormatError(message, self.at(key), **params)

    def raw(self, key: str):
        return self.cells.get(key, (None, ""))[0]

    def text(self, key: str, limit: int | None = None) -> str:
        value = cell_text(self.raw(key))
        if value.lower() in EMPTY_MARKERS:
            return ""
        return clip(value, limit) if limit else value

    def required(self, key: str, limit: int | None = None) -> str:
        value = cell_text(self.raw(key))
        if not value:
            raise self.error(key, MSG_REQUIRED)
        return clip(value, limit) if limit else value

    def severity(self, key: str = "severity") -> str:
        value = self.required(key)
        severity = SEVERITY_WORDS.get(norm_header(value))
        if severity is None:
            raise self.error(key, MSG_SEVERITY, value=value[:40], choices=SEVERITY_CHOICES)
        return severity

    def ip(self, key: str = "ip") -> str:
        value = self.text(key)
        if not value:
            return ""
        try:
            return str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            raise self.error(key, MSG_IP, value=value[:60]) from None

    def host(self, key: str = "host") -> str:
        value = self.text(key)
        if _is_ip(value.strip("[]")):
            return str(ipaddress.ip_address(value.strip("[]")))
        if value and not is_hostname(value):
            raise self.error(key, MSG_HOST, value=value[:80])
        return value.lower().rstrip(".")

    def port(self, key: str = "port") -> int | None:
        value = self.text(key)
        if not value:
            return None
        if not re.fullmatch(r"\d{1,5}", value) or not 1 <= int(value) <= 65535:
            raise self.error(key, MSG_PORT, value=value[:40])
        return int(value)

    def cvss(self, key: str = "cvss") -> float | None:
        value = self.text(key)
        if not value:
            return None
        try:
            score = float(value)
        except ValueError:
            score = -1.0
        if not 0.0 <= score <= 10.0:  # also refuses NaN
            raise self.error(key, MSG_CVSS, value=value[:40])
        return round(score, 1)

    def url(self, key: str = "url") -> str:
        value = self.text(key)
        if not value:
            return ""
        if not valid_url(value):
            raise self.error(key, MSG_URL, value=value[:120])
        return value

    def cves(self, key: str = "cve") -> list[str]:
        value = self.text(key)
        found = split_cves(value)
        if value and not found:
            raise self.error(key, MSG_CVE, value=value[:60])
        return found

    def cwes(self, key: str = "cwe") -> list[int]:
        value = self.text(key)
        if not value:
            return []
        numbers = [int(n) for n in re.findall(r"(?<![\w-])(?:CWE-?)?(\d{1,6})(?!\w)", value, re.IGNORECASE)]
        if not numbers and not re.fullmatch(r"(?:\s*NVD-CWE-\w+\s*[,;，；、]?)+", value, re.IGNORECASE):
            raise self.error(key, MSG_CWE, value=value[:60])
        return list(dict.fromkeys(numbers))

    def date(self, key: str, required: bool = False) -> date | None:
        raw = self.raw(key)
        text = cell_text(raw)
        if not text or (not required and text.lower() in EMPTY_MARKERS):
            if required:
                raise self.error(key, MSG_REQUIRED)
            return None
        value = to_date(raw)
        if value is None:
            raise self.error(key, MSG_DATE, value=text[:40])
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            raise self.error(
                key,
                MSG_DATE_RANGE,
                value=value.isoformat(),
                earliest=EARLIEST_DATE.isoformat(),
                latest=LATEST_DATE.isoformat(),
            )
        return value


_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)


def to_date(value) -> date | None:
    """A date from a date cell, an Excel serial number, or YYYY-MM-DD / YYYY/MM/DD / YYYY.MM.DD / YYYY年M月D日 /
    YYYYMMDD text; None if it is none of these."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 10_000_000 <= value <= 99_991_231 and float(value).is_integer():
            return to_date(str(int(value)))
        if 1 <= value < 2_958_466:  # an Excel serial date whose cell lost its date format
            return date(1899, 12, 30) + timedelta(days=int(value))
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE.fullmatch(text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


def is_hostname(value: str) -> bool:
    """A DNS name (internationalised names allowed), without port, path or spaces."""
    name = value.strip().lower().rstrip(".")
    if not name or len(name) > 253:
        return False
    for label in name.split("."):
        if not label.isascii():
            try:
                label = label.encode("idna").decode("ascii")
            except UnicodeError:
                return False
        if not _LABEL.fullmatch(label):
            return False
    return True


def valid_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError for a bad port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        return False
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return is_hostname(host)


def normalise_text(text: str) -> str:
    """For rule ids made of free text: NFKC, lower case, no whitespace, no trailing punctuation."""
    value = unicodedata.normalize("NFKC", text).lower()
    value = re.sub(r"\s+", "", value)
    return value.rstrip("。.!！;；,，:：")


def text_rule_id(prefix: str, text: str, limit: int = 200) -> str:
    """``prefix:<normalised text>``, shortened with a hash when longer than the model's 200 characters."""
    rule = f"{prefix}:{normalise_text(text)}"
    if len(rule) <= limit:
        return rule
    digest = hashlib.sha256(rule.encode("utf-8")).hexdigest()[:16]
    return f"{rule[: limit - 17]}~{digest}"


# --------------------------------------------------------------------------------------------------------------
# the generic template


def parse(stream: BinaryIO) -> Iterator[Record]:
    """Either kind, decided by the content (a zip is a workbook)."""
    stream = seekable(stream)
    pos = stream.tell()
    head = stream.read(4)
    stream.seek(pos)
    return parse_xlsx(stream) if head.startswith(b"PK\x03\x04") else parse_csv(stream)


def seekable(stream: BinaryIO) -> BinaryIO:
    """``stream`` itself if it can seek, else a spooled copy (memory up to 16 MB, then a temporary file)."""
    if getattr(stream, "seekable", lambda: False)():
        return stream
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    shutil.copyfileobj(stream, spool)
    spool.seek(0)
    return spool


def parse_csv(stream: BinaryIO) -> Iterator[Record]:
    return _records(iter_csv_table(stream, GENERIC_COLUMNS, "generic template"))


def parse_xlsx(stream: BinaryIO) -> Iterator[Record]:
    return _records(iter_xlsx_table(seekable(stream), GENERIC_COLUMNS))


def _records(items: Iterator[Table | Row]) -> Iterator[Record]:
    for item in items:
        if isinstance(item, Table):
            item.require(any_of=GENERIC_TARGETS)
            continue
        yield generic_record(item)


def generic_record(row: Row) -> Record:
    title = row.required("title", 300)
    severity = row.severity()
    host, ip, url = row.host(), row.ip(), row.url()
    if host and not ip and _is_ip(host):  # an address written in the host column
        host, ip = "", str(ipaddress.ip_address(host))
    if not (host or ip or url):
        present = [row.table.header(k) for k in GENERIC_TARGETS if row.table.has(k)]
        raise ImportFormatError(
            MSG_NO_TARGET, at_cell(row.number, " / ".join(present), row.table.sheet), columns=", ".join(present)
        )
    if url and not (host or ip):
        url_host = (urlsplit(url).hostname or "").lower()
        if _is_ip(url_host):
            ip = url_host
        else:
            host = url_host
    cves = row.cves()
    rule_id = row.text("rule_id", 200) or (cves[0] if cves else text_rule_id(TOOL, title))
    return Record(
        tool=row.text("tool")[:30] or TOOL,
        rule_id=rule_id,
        title=title,
        severity=severity,
        description=row.text("description"),
        solution=row.text("solution"),
        host=host[:255],
        ip=ip,
        port=row.port(),
        protocol=row.text("protocol").lower()[:20],
        url=url,
        parameter=row.text("parameter")[:200],
        cve=cves,
        cwe=row.cwes(),
        cvss_score=row.cvss(),
        evidence=clip(row.text("evidence"), EVIDENCE_LIMIT),
        unit_ref=row.text("unit", 200),
        due_date=row.date("deadline"),
        where=row.where,
    )


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False
