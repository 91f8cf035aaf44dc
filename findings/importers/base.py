"""What every scanner importer yields: a normalised, tool-independent record.

Each importer module (one per format) is a streaming generator ``parse(stream) -> Iterator[Record]`` that reads the
file incrementally (lxml ``iterparse``, orjson per line, csv, openpyxl read-only) so memory stays flat on large files.
A malformed file raises ``ImportFormatError`` naming the line or element where parsing failed. Writing (fingerprint,
dedup, asset matching, upsert) is the shared writer's job, not the importers'.
"""

from __future__ import annotations

import codecs
import csv
import io
import ipaddress
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from lxml import etree

from core.idn import ascii_host

SEVERITIES = ("critical", "high", "medium", "low", "info")
HEAD_BYTES = 64 * 1024  # what importers peek at to sniff encoding, delimiter, format and entity declarations

# Nessus / OpenVAS / testssl CSVs can carry multi-megabyte cells (plugin output, responses); csv's default limit is
# 128 KB. Raised once, here, for the whole process (every importer imports this module).
CSV_FIELD_LIMIT = 256 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, CSV_FIELD_LIMIT)))


class Location:
    """Where in a file a problem is: rendered in the active language when shown ("第 3 行" / "line 3")."""

    def __init__(self, template, **params):
        self.template = template  # a gettext_lazy string with %(name)s placeholders
        self.params = params

    def __str__(self) -> str:
        return str(self.template) % self.params

    def __eq__(self, other):
        if isinstance(other, Location):
            return (str(self.template), self.params) == (str(other.template), other.params)
        return NotImplemented

    __hash__ = None


def at_line(number: int) -> Location:
    """Line ``number`` of a text file (1-based)."""
    return Location(_("line %(line)s"), line=number)


def at_row(number: int, sheet: str = "") -> Location:
    """Row ``number`` (1-based, as Excel shows it) of a worksheet."""
    if sheet:
        return Location(_("sheet %(sheet)s, row %(row)s"), sheet=sheet, row=number)
    return Location(_("row %(row)s"), row=number)


def at_cell(number: int, column: str, sheet: str = "") -> Location:
    """Row ``number``, column ``column`` (its header as the user sees it) of a worksheet or CSV."""
    if sheet:
        return Location(_("sheet %(sheet)s, row %(row)s, column %(column)s"), sheet=sheet, row=number, column=column)
    return Location(_("row %(row)s, column %(column)s"), row=number, column=column)


def at_element(tag: str, line: int | None) -> Location:
    """Element ``<tag>`` of an XML file, starting at line ``line``."""
    return Location(_("<%(element)s> at line %(line)s"), element=tag, line=line)


def at_record(number: int, line: int) -> Location:
    """Row ``number`` of a CSV as a spreadsheet shows it, which starts at text line ``line``.

    The two differ when earlier cells span several lines (Nessus plugin output): a user who opens the file in Excel or
    WPS looks for the row, one who opens it in an editor for the line, so both are named then; else "line N".
    """
    if number == line:
        return at_line(line)
    return Location(_("row %(row)s (line %(line)s)"), row=number, line=line)


class ImportFormatError(ValueError):
    """The file cannot be read as the format it claims; says what is wrong and where, in the user's language.

    ``message`` is a ``gettext_lazy`` template with ``%(name)s`` placeholders filled from ``params``; ``where`` is a
    ``Location`` (``at_line(3)``) or a literal such as ``"DOCTYPE"`` or ``"<ReportItem>"``. ``str(error)`` renders in
    the active language; ``render(language)`` in a given one; ``.message`` and ``.where`` are the English texts (stable,
    for logs and tests).
    """

    def __init__(self, message, where: Location | str = "", **params):
        self.template = message
        self.location = where
        self.params = params
        super().__init__(message)

    def render(self, language: str | None = None) -> str:
        if language is None:
            return self._render()
        with translation.override(language):
            return self._render()

    def _render(self) -> str:
        text = str(self.template) % self.params if self.params else str(self.template)
        where = str(self.location)
        return _("%(where)s: %(message)s") % {"where": where, "message": text} if where else text

    @property
    def message(self) -> str:
        with translation.override("en"):
            return str(self.template) % self.params if self.params else str(self.template)

    @property
    def where(self) -> str:
        with translation.override("en"):
            return str(self.location)

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, where={self.where!r})"


@dataclass
class Record:
    """One finding as a scanner reported it, normalised.

    ``rule_id`` is the tool-independent identity of the problem (``CVE-2021-44228``, or ``<tool>:<plugin/template/
    alert id>`` when there is no CVE); with the location it makes the fingerprint.
    """

    tool: str  # nmap, nuclei, openvas, zap, nessus, testssl, generic
    rule_id: str
    title: str
    severity: str  # one of SEVERITIES
    description: str = ""
    solution: str = ""
    host: str = ""  # host name as scanned
    ip: str = ""
    port: int | None = None
    protocol: str = ""  # tcp / udp / http …
    url: str = ""
    parameter: str = ""
    cve: list[str] = field(default_factory=list)
    cwe: list[int] = field(default_factory=list)
    cvss_score: float | None = None
    cvss_vector: str = ""
    evidence: str = ""  # text, request/response excerpt (truncated by the importer to EVIDENCE_LIMIT)
    references: list[str] = field(default_factory=list)
    raw_id: str = ""  # the tool's own id of this result, if any
    # Set by the templates that name the responsible unit (generic template, 上级通报): the unit's code or exact name
    # (resolved by the writer within the importing unit's subtree), and a deadline.
    unit_ref: str = ""
    due_date: date | None = None
    source: str = "scanner"  # a FindingSource value: scanner, upstream_notice, manual …
    # Where the record came from (``at_row(5)``), so the writer can name it when it refuses the record's unit.
    where: Location | str = ""
    # ``fingerprints.fingerprint(record)`` when a child parser process already computed it (``child.py``), else "".
    fingerprint: str = ""

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        # A NUL character (JSON's \u0000 in a response excerpt, a NUL byte in a CSV cell) cannot be stored in a
        # PostgreSQL text column; it carries nothing a reader could see, so it is dropped. One test for all fields.
        if "\x00" in (
            f"{self.title}{self.description}{self.solution}{self.evidence}{self.host}{self.ip}{self.url}"
            f"{self.parameter}{self.rule_id}{self.tool}{self.protocol}{self.cvss_vector}{self.unit_ref}{self.raw_id}"
        ):
            for name in TEXT_FIELDS:
                setattr(self, name, getattr(self, name).replace("\x00", ""))
        # An internationalised host name (第一中学.公益) in the form the ledger stores; other text a spreadsheet puts
        # in the host column (a system's name, 教务系统) stays as it was written.
        if not self.host.isascii() and "." in self.host and not any(char.isspace() for char in self.host.strip()):
            self.host = ascii_host(self.host)


TEXT_FIELDS = (
    "title", "description", "solution", "evidence", "host", "ip", "url", "parameter", "rule_id", "tool", "protocol",
    "cvss_vector", "unit_ref", "raw_id",
)  # fmt: skip


EVIDENCE_LIMIT = 8000


def clip(text: str | None, limit: int = EVIDENCE_LIMIT) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def severity_from_cvss(score: float | None) -> str:
    """CVSS v3 qualitative rating: 9.0+ critical, 7.0+ high, 4.0+ medium, 0.1+ low, 0 info."""
    if score is None:
        return "info"
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0:
        return "low"
    return "info"


def safe_xml_parser_kwargs() -> dict:
    """lxml settings that refuse XXE and entity expansion and never touch the network."""
    return {"resolve_entities": False, "no_network": True, "huge_tree": False, "load_dtd": False}


# --------------------------------------------------------------------------------------------------------------
# entity refusal (XXE / billion laughs)

ENTITY_MESSAGE = _(
    "refused: the file declares XML entities (<!ENTITY …> in a DOCTYPE), which scanner reports never do; this is "
    "how external-entity (XXE) and entity-expansion (billion laughs) attacks work"
)
EXTERNAL_DTD_MESSAGE = _(
    "refused: the file points to an external DTD (<!DOCTYPE … SYSTEM/PUBLIC …>); scanner reports never need one and "
    "nothing is fetched from the network or from disk"
)


def refuse_entities(source, *, external_dtd: bool = False) -> None:
    """Raise ``ImportFormatError(where="DOCTYPE")`` if an XML document declares entities.

    ``source`` is either the first bytes of the document (``HEAD_BYTES``; ``<!ENTITY`` is looked for, NULs ignored so
    UTF-16 is caught too) or a parsed element, whose docinfo is asked (it sees the DOCTYPE even with
    ``load_dtd=False``, so a DOCTYPE after the first 64 KB is caught too). With ``external_dtd=True`` a DOCTYPE that
    points to an external DTD (SYSTEM / PUBLIC id) is refused as well.
    """
    if isinstance(source, bytes | bytearray):
        if b"<!ENTITY" in source.replace(b"\x00", b""):
            raise ImportFormatError(ENTITY_MESSAGE, "DOCTYPE")
        return
    docinfo = source.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _entity in dtd.iterentities()):
        raise ImportFormatError(ENTITY_MESSAGE, "DOCTYPE")
    if external_dtd and (docinfo.system_url or docinfo.public_id):
        raise ImportFormatError(EXTERNAL_DTD_MESSAGE, "DOCTYPE")


# --------------------------------------------------------------------------------------------------------------
# peeking and encoding


class _Rejoined(io.RawIOBase):
    """A raw stream that first returns the bytes already peeked, then the rest of the original stream."""

    def __init__(self, head: bytes, rest):
        self._head = head
        self._pos = 0
        self._rest = rest
        self._tail = head[-16:]
        self.saw_entity = b"<!ENTITY" in head  # watched so a parse error caused by a late DOCTYPE is named as such

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pos < len(self._head):
            chunk = self._head[self._pos : self._pos + len(buffer)]
            buffer[: len(chunk)] = chunk
            self._pos += len(chunk)
            return len(chunk)
        data = self._rest.read(len(buffer))
        if not data:
            return 0
        if b"<!ENTITY" in self._tail + data[:4096] or b"<!ENTITY" in data:
            self.saw_entity = True
        self._tail = data[-16:]
        buffer[: len(data)] = data
        return len(data)


def peek(stream) -> tuple[bytes, io.BufferedReader]:
    """Read the first ``HEAD_BYTES`` of a (possibly unseekable) stream; return them and a stream that re-reads them."""
    head = stream.read(HEAD_BYTES) or b""
    return head, io.BufferedReader(_Rejoined(head, stream), buffer_size=1 << 20)


def detect_encoding(head: bytes) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030' (superset of GBK / GB2312) for the first bytes of a text file.

    A multibyte character cut at the end of ``head`` (the 64 KB boundary) is tolerated.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


class _TextDecoder(codecs.IncrementalDecoder):
    """Incremental decoder for scanner CSVs, behind ``TextIOWrapper`` (see ``_TEXT_CODECS``).

    * It counts lines, so that a ``UnicodeDecodeError`` carries the 1-based ``line`` of the bad byte
      (``TextIOWrapper`` decodes 8 KB ahead of what csv has read, so csv's ``line_num`` would be too early).
    * With a ``fallback`` (the file's first 64 KB were valid UTF-8): if a byte that is not UTF-8 comes while all the
      text so far was ASCII, it switches to the fallback (GB18030). A GBK file whose first 64 KB are ASCII — a Nessus
      export of English plugin text with a Chinese host name further down, re-saved by Excel — is then read right.
    """

    first = "utf-8"
    fallback: str | None = None

    def __init__(self, errors="strict"):
        super().__init__(errors)
        self.reset()

    def reset(self):
        self._decoder = codecs.getincrementaldecoder(self.first)(self.errors)
        self._switchable = self.fallback is not None
        self._lines = 0
        self._cr_end = False

    def _count(self, data: bytes) -> int:
        lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
        return lines - 1 if self._cr_end and data.startswith(b"\n") else lines

    def decode(self, input, final=False):
        data = bytes(input)
        pending = self._decoder.getstate()[0]
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            if self._switchable and (pending + data)[: exc.start].isascii():
                self._switchable = False
                self._decoder = codecs.getincrementaldecoder(self.fallback)(self.errors)
                return self.decode(pending + data, final)
            exc.line = self._lines + self._count((pending + data)[: exc.start]) + 1
            raise
        self._lines += self._count(data)
        self._cr_end = data.endswith(b"\r") or (self._cr_end and not data)
        if self._switchable and not text.isascii():
            self._switchable = False
        return text

    def getstate(self):
        return self._decoder.getstate()

    def setstate(self, state):
        self._decoder.setstate(state)


def _text_codec(name: str, first: str, fallback: str | None) -> codecs.CodecInfo:
    decoder = type(f"_{name}", (_TextDecoder,), {"first": first, "fallback": fallback})
    return codecs.CodecInfo(
        name=name,
        encode=codecs.lookup(first).encode,
        decode=lambda data, errors="strict": (decoder(errors).decode(data, True), len(data)),
        incrementalencoder=codecs.lookup(first).incrementalencoder,
        incrementaldecoder=decoder,
    )


# detect_encoding's answer → the codec a CSV is read with (registered once, under names nothing else uses)
_TEXT_CODECS = {
    "utf-8": _text_codec("edusec_utf_8_or_gb18030", "utf-8", "gb18030"),
    "utf-8-sig": _text_codec("edusec_utf_8_sig", "utf-8-sig", None),
    "gb18030": _text_codec("edusec_gb18030", "gb18030", None),
}
_TEXT_CODECS_BY_NAME = {info.name: info for info in _TEXT_CODECS.values()}
codecs.register(_TEXT_CODECS_BY_NAME.get)


# --------------------------------------------------------------------------------------------------------------
# streaming XML


def iter_xml(
    stream, tags: Iterable[str], root: str | Iterable[str], kind: str, events=("end",), *, external_dtd: bool = False
):
    """Yield ``(event, element)`` for ``tags`` from a binary XML stream, safely.

    Entity declarations are refused twice (``refuse_entities``): by looking for ``<!ENTITY`` in the first 64 KB, and
    by asking the parser's docinfo at the first event (``external_dtd=True`` refuses an external DTD as well). Entities
    are never resolved nor loaded (``safe_xml_parser_kwargs``). An empty / whitespace-only file yields nothing. A wrong
    root element or a syntax error raises ``ImportFormatError`` at ``at_line(N)``. Callers must free what they
    consumed (``free(elem)``) so memory stays flat.
    """
    roots = {root} if isinstance(root, str) else set(root)
    head, buffered = peek(stream)
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n"):
        return
    refuse_entities(head)
    # Whitespace between elements is not kept (every importer strips what it reads): fewer nodes to build.
    context = etree.iterparse(
        buffered, events=events, tag=tuple(tags), remove_blank_text=True, **safe_xml_parser_kwargs()
    )
    checked = False
    try:
        for event, elem in context:
            if not checked:
                refuse_entities(elem, external_dtd=external_dtd)
                _check_root(elem.getroottree().getroot(), roots, kind)
                checked = True
            yield event, elem
        if not checked and context.root is not None:
            refuse_entities(context.root, external_dtd=external_dtd)
            _check_root(context.root, roots, kind)
    except etree.XMLSyntaxError as exc:
        if buffered.raw.saw_entity:  # e.g. an entity used in an attribute fails before the first event
            raise ImportFormatError(ENTITY_MESSAGE, "DOCTYPE") from None
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        if "Text node too long" in (exc.msg or ""):
            raise ImportFormatError(
                _(
                    "a text value in the %(kind)s file is longer than 10 MB, the limit of the safe XML parser; "
                    "export the report again with less output per finding (or as CSV/JSON if the scanner offers it)"
                ),
                at_line(line),
                kind=kind,
            ) from None
        raise ImportFormatError(
            _("malformed XML (%(detail)s); the file may be cut short or edited by hand, export it again"),
            at_line(line),
            detail=exc.msg,
        ) from None


def _check_root(root_elem, roots: set[str], kind: str) -> None:
    if root_elem.tag not in roots:
        raise ImportFormatError(
            _("not a %(kind)s file: the root element is <%(root)s>, expected %(expected)s"),
            at_line(root_elem.sourceline),
            kind=kind,
            root=root_elem.tag,
            expected=" / ".join(f"<{r}>" for r in sorted(roots)),
        )


def free(elem) -> None:
    """Release a consumed element and the already-consumed siblings before it."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


# --------------------------------------------------------------------------------------------------------------
# CSV and value helpers


def _sniff_delimiter(head_text: str) -> str:
    first = head_text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(stream, kind: str, delimiter: str | None = None) -> Iterator[tuple[int, int, list[str]]]:
    """Yield ``(row number, first line, cells)`` for every CSV record, blank ones included.

    The row number is what a spreadsheet shows (1 = the first record), the line the text line the record starts on;
    they differ after cells that span lines (``at_record``). Encoding UTF-8 / UTF-8-BOM / GBK (``detect_encoding``,
    ``_TextDecoder``); the delimiter (``,`` ``;`` tab) is sniffed from the first line unless given. Any stream works
    (``peek``). Syntax and decoding errors raise ``ImportFormatError`` naming the line.
    """
    head, buffered = peek(stream)
    if not head.strip():
        return
    encoding = detect_encoding(head)
    if delimiter is None:
        delimiter = _sniff_delimiter(head.decode(encoding, errors="replace").lstrip("\ufeff"))
    text = io.TextIOWrapper(buffered, encoding=_TEXT_CODECS[encoding].name, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    number = end = 0
    try:
        for cells in reader:
            number += 1
            start, end = end + 1, reader.line_num
            yield number, start, cells
    except csv.Error as exc:
        raise ImportFormatError(
            _("malformed %(kind)s CSV (%(detail)s)"), at_line(reader.line_num), kind=kind, detail=str(exc)
        ) from None
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            _("the %(kind)s CSV is not valid %(encoding)s text (%(detail)s); save it as UTF-8 or GBK"),
            at_line(getattr(exc, "line", reader.line_num + 1)),
            kind=kind,
            encoding=exc.encoding.upper(),
            detail=exc.reason,
        ) from None


class CsvRow(dict):
    """A CSV data row, ``{lower-cased header: stripped value}``, that knows where it is.

    ``number`` and ``line`` as in ``read_csv``; ``headers`` maps each lower-cased header to the header as written in
    the file (for messages); ``header_line`` is the line of the header row.
    """

    number: int = 0
    line: int = 0
    header_line: int = 1
    headers: dict[str, str] = {}  # replaced per file, never mutated

    @property
    def where(self) -> Location:
        return at_record(self.number, self.line)

    def column(self, name: str) -> str:
        """The header of column ``name`` (lower-cased) as written in the file."""
        return self.headers.get(name, name)


def iter_csv_rows(stream, kind: str) -> Iterator[tuple[int, CsvRow]]:
    """Yield ``(line number, CsvRow)`` for each non-empty data row (the line is the one the row starts on).

    Encoding UTF-8 / UTF-8-BOM / GBK, delimiter sniffed (``read_csv``). Leading blank rows are skipped; the first
    non-blank row is the header. Empty or header-only files yield nothing.
    """
    header: list[str] | None = None
    headers: dict[str, str] = {}
    header_line = 1
    for number, line, cells in read_csv(stream, kind):
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            written = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
            header = [name.lower() for name in written]
            headers = dict(zip(header, written, strict=True))
            header_line = line
            continue
        row = CsvRow({h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)})
        row.number, row.line, row.header_line, row.headers = number, line, header_line, headers
        yield line, row


def pick(row: dict[str, str], *names: str) -> str:
    """The first non-empty value among the column ``names`` (aliases), else ""."""
    for name in names:
        value = row.get(name)
        if value:
            return value
    return ""


def pick_column(row: dict[str, str], *names: str) -> tuple[str, str]:
    """``(column header as written, value)`` of the first non-empty column among ``names``, else ``("", "")``."""
    for name in names:
        value = row.get(name)
        if value:
            return (row.column(name) if isinstance(row, CsvRow) else name), value
    return "", ""


def to_float(value: str | None, where: Location | str = "", field: str = "") -> float | None:
    """``value`` as a number; "", "N/A", "none" and "-" are None. ``field`` names it in the error message."""
    value = (value or "").strip()
    if not value or value.lower() in ("n/a", "none", "-"):
        return None
    try:
        return float(value)
    except ValueError:
        if field:
            raise ImportFormatError(
                _("%(field)s is not a number: “%(value)s”"), where, field=field, value=value[:40]
            ) from None
        raise ImportFormatError(_("expected a number, found “%(value)s”"), where, value=value[:40]) from None


def to_port(value: str | None, where: Location | str = "") -> int | None:
    """``value`` as a port number; "", "general" and "N/A" are None, and so is 0 (Nessus' host-level results)."""
    value = (value or "").strip()
    if not value or value.lower() in ("general", "n/a"):
        return None
    try:
        port = int(value)
    except ValueError:
        raise ImportFormatError(_("the port number is not a number: “%(value)s”"), where, value=value[:40]) from None
    if not 0 <= port <= 65535:
        raise ImportFormatError(_("the port number %(port)s is out of range (0–65535)"), where, port=port)
    return port or None  # Nessus uses port 0 for host-level results


CVE_RE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)


def split_cves(text: str | None) -> list[str]:
    """Upper-cased CVE ids found in ``text``, in order, without duplicates."""
    return list(dict.fromkeys(m.upper() for m in CVE_RE.findall(text or "")))


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False
