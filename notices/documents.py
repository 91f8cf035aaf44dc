"""Official documents (公文) of the notices app: the notice as DOCX and PDF, the rectification report as DOCX.

The layout follows GB/T 9704-2012 (党政机关公文格式): A4 paper, 37 mm top and 28 mm binding margins around a
156 mm x 225 mm type area holding 22 lines of 28 characters of 3号 (16 pt) 仿宋; the red issuing-authority mark 35 mm
below the top of the type area, the document number two lines below it, the red separator 4 mm under the number, the
2号 (22 pt) 小标宋 title two lines below that, main recipients, body, annex list, the issuer's name and date (the
arrangement for documents without a seal), page numbers "— N —" in 4号 outside the type area (odd pages right, even
pages left, one character in) and the annex on its own page.

Input is plain data (the dataclasses below), never ORM objects: the views build them from the models, and the module
is tested without a database. The document text is Chinese; every fixed caption lives in ``CAPTIONS``.

Fonts. The DOCX names the standard's fonts (方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312) on the East Asian font
attribute and declares, in the font table, the Windows fonts Word substitutes when one is missing (宋体, 仿宋, 黑体,
楷体). The PDF is set in the free Noto Serif/Sans CJK SC (SIL OFL, Debian's ``fonts-noto-cjk``) and embeds them:
the same rendering on every server, with no licence question about embedding commercial fonts in a PDF that is sent
around. See docs/documents.md.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

__all__ = [
    "CAPTIONS",
    "AnnexRow",
    "Captions",
    "NoticeDocument",
    "RectificationItem",
    "RectificationReportDocument",
    "chinese_date",
    "normalize_document_number",
    "notice_docx",
    "notice_html",
    "notice_pdf",
    "rectification_docx",
]


# --------------------------------------------------------------------------------------------------------------------
# Fixed captions: the one place for the documents' fixed Chinese text.


@dataclass(frozen=True)
class Captions:
    """Fixed Chinese text of the documents (templates receive this object as ``captions``)."""

    mark_suffix: str = "文件"
    annex: str = "附件"
    annex_list_label: str = "附件："
    findings_annex_title: str = "网络安全问题整改清单"
    findings_table: tuple[str, ...] = ("序号", "单位", "资产/地址", "问题", "等级", "整改期限")
    page_number: str = "— {} —"
    recipients_separator: str = "、"
    recipients_end: str = "："
    receipt_title: str = "关于《{title}》整改情况的报告"
    receipt_intro: str = (
        "根据《{title}》（{number}）要求，我单位对通报的{count}项问题逐项进行了整改。现将整改情况报告如下："
    )
    receipt_table: tuple[str, ...] = ("序号", "问题", "整改措施", "佐证材料")
    receipt_level: str = "等级："
    receipt_status: str = "状态："
    receipt_done_on: str = "完成时间："
    receipt_no_evidence: str = "（无）"
    receipt_responsible: str = "责任人："
    receipt_contact: str = "联系人："
    receipt_phone: str = "联系电话："
    receipt_seal: str = "（盖章）"


CAPTIONS = Captions()


# --------------------------------------------------------------------------------------------------------------------
# Input dataclasses.


@dataclass
class AnnexRow:
    """One finding in the notice's annex table.

    unit: name of the recipient unit that must fix it (单位).
    asset: the asset's name and/or address — system name, URL, host, IP (资产/地址).
    problem: what is wrong, in a sentence (问题).
    level: severity as shown to people, e.g. "高危" (等级).
    deadline: the rectification deadline (整改期限): a date (printed as 2026年11月27日) or text used as is.
    """

    unit: str
    asset: str
    problem: str
    level: str
    deadline: dt.date | str


@dataclass
class NoticeDocument:
    """A notice (通报 / 整改通知书) as a GB/T 9704 official document.

    issuer_name: full name of the issuing unit, e.g. "某某市教育局"; it signs the document unless ``signer`` is set.
    issuer_mark: the issuing-authority mark (发文机关标志) printed in red; empty means ``issuer_name + "文件"``.
    number: the document number (发文字号), e.g. "某市教信通〔2026〕12号"; [2026], ［2026］, 【2026】 and (2026)
        are turned into the standard's 〔2026〕.
    title: the title (标题), e.g. "关于开展网络安全隐患整改的通知"; wrapped and centred.
    recipients: names of the main recipient units (主送机关), printed joined by 、 and ending with ：.
    body: the text (正文). Each line is one paragraph, indented two characters; blank lines are ignored. A paragraph
        starting with "一、" sets its first sentence in 黑体, one starting with "（一）" in 楷体 (the standard's
        first and second heading levels); "1." and "（1）" stay in 仿宋.
    deadline_text: paragraph stating the deadline, e.g. "请于2026年11月27日前完成整改。" (optional).
    evidence_text: paragraph stating the required evidence and how to report it (optional).
    annexes: names of the annexes for the annex list (附件说明), in order, without numbers or final punctuation.
        When ``findings`` is not empty the first annex is the findings table and its name is the table's title;
        if ``annexes`` is empty it defaults to ``CAPTIONS.findings_annex_title``. Further annexes are only listed.
    signer: the issuing authority's name as signed (发文机关署名); empty means ``issuer_name``.
    date: the date of the document (成文日期), printed as 2026年11月24日.
    findings: rows of the annex table, printed in the given order.
    """

    issuer_name: str
    number: str
    title: str
    recipients: list[str]
    body: str
    date: dt.date
    issuer_mark: str = ""
    deadline_text: str = ""
    evidence_text: str = ""
    annexes: list[str] = field(default_factory=list)
    signer: str = ""
    findings: list[AnnexRow] = field(default_factory=list)


@dataclass
class RectificationItem:
    """One finding of a rectification report, as the unit answers it.

    problem: the finding as notified (问题), e.g. "存在SQL注入漏洞".
    asset: the asset's name and/or address (资产/地址), optional.
    level: severity as shown to people, e.g. "高危", optional.
    actions: what was done (整改措施); several lines become several paragraphs in the cell.
    evidence: names of the evidence files or documents submitted with the report (佐证材料), in order.
    completed_on: when the rectification was completed (完成时间), optional.
    status: the unit's own statement of the state, e.g. "已整改" or "整改中（已采取临时措施）", optional.
    """

    problem: str
    actions: str
    asset: str = ""
    level: str = ""
    evidence: list[str] = field(default_factory=list)
    completed_on: dt.date | None = None
    status: str = ""


@dataclass
class RectificationReportDocument:
    """A rectification report (整改报告 / 回执) that a recipient unit returns to the issuer of a notice.

    unit_name: the reporting unit (the notice's recipient); it signs the report.
    issuer_name: the unit the report is addressed to (主送), normally the notice's issuer.
    notice_number: the notice's document number (发文字号), normalised like ``NoticeDocument.number``.
    notice_title: the notice's title.
    items: one entry per finding, in order.
    date: the date of the report, printed as 2026年11月26日.
    summary: optional overall text after the introduction; each line is a paragraph.
    responsible_person: the person accountable for the rectification (责任人), e.g. "张三（副校长）".
    contact_person: the person to contact about the report (联系人).
    contact_phone: their telephone number (联系电话).
    """

    unit_name: str
    issuer_name: str
    notice_number: str
    notice_title: str
    items: list[RectificationItem]
    date: dt.date
    summary: str = ""
    responsible_person: str = ""
    contact_person: str = ""
    contact_phone: str = ""


# --------------------------------------------------------------------------------------------------------------------
# Layout of GB/T 9704-2012, in one place for the DOCX writer and the HTML template.

PT_PER_MM = 72 / 25.4
PAGE_WIDTH_MM = 210
PAGE_HEIGHT_MM = 297
MARGIN_TOP_MM = 37  # 天头
MARGIN_LEFT_MM = 28  # 订口
TEXT_WIDTH_MM = 156  # 版心
TEXT_HEIGHT_MM = 225
MARGIN_RIGHT_MM = PAGE_WIDTH_MM - MARGIN_LEFT_MM - TEXT_WIDTH_MM  # 26
MARGIN_BOTTOM_MM = PAGE_HEIGHT_MM - MARGIN_TOP_MM - TEXT_HEIGHT_MM  # 35
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28

BODY_PT = 16  # 3号
TITLE_PT = 22  # 2号
PAGE_NUMBER_PT = 14  # 4号
TABLE_PT = 12  # 小4号: annex tables hold URLs and sentences in narrow columns
TABLE_LINE_PT = 18
TABLE_PADDING_V_MM = 1  # cell padding, top and bottom
TABLE_PADDING_H_MM = 1.5  # cell padding, left and right
MARK_MAX_PT = 52  # the mark's size when it is short; long marks shrink to fit the type area
MARK_TOP_MM = 35  # mark's top edge below the type area's top edge
SEPARATOR_BELOW_NUMBER_MM = 4  # below the characters of the number
SEPARATOR_PT = 1.5  # thickness: not fixed by the standard
PAGE_NUMBER_GAP_MM = 7  # the dashes of the page number lie 7 mm below the type area

# Word stores the line pitch in twentieths of a point; 579 (28.95 pt) is the largest pitch that fits 22 lines.
LINE_PITCH_TWIPS = int(TEXT_HEIGHT_MM * PT_PER_MM * 20 / LINES_PER_PAGE)
LINE_PITCH_PT = LINE_PITCH_TWIPS / 20
CHAR_PITCH_PT = TEXT_WIDTH_MM * PT_PER_MM / CHARS_PER_LINE  # 15.79 pt: 16 pt characters set slightly tight
# Character spacing of body text (twentieths of a point), rounded down so that 28 characters always fit; justified
# paragraphs then fill the line: -5, i.e. 15.75 pt a character.
BODY_SPACING_TWIPS = math.floor((CHAR_PITCH_PT - BODY_PT) * 20)

# The separator is a border under the number's line, which is LINE_PITCH_PT high for BODY_PT characters: measure
# its 4 mm from the characters, not from the bottom of the line.
SEPARATOR_SPACE_PT = round(SEPARATOR_BELOW_NUMBER_MM * PT_PER_MM - (LINE_PITCH_PT - BODY_PT) / 2, 1)

RED = "FF0000"


@dataclass(frozen=True)
class FontRole:
    """A typeface of the standard: what the DOCX names, what Word substitutes, what the PDF embeds."""

    east_asia: str  # the standard's font, on the East Asian font attribute
    latin: str  # digits and Latin letters
    word_fallback: str  # Windows font Word uses when east_asia is not installed (font table altName)
    pdf_family: str  # CSS font-family list for the PDF (free fonts only)
    pdf_weight: int = 400


_SERIF = '"Noto Serif CJK SC", "Source Han Serif SC", "Source Han Serif CN", serif'
_SANS = '"Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", sans-serif'

FONTS = {
    "xbs": FontRole("方正小标宋简体", "方正小标宋简体", "宋体", _SERIF, 700),  # mark, titles
    "fs": FontRole("仿宋_GB2312", "Times New Roman", "仿宋", _SERIF),  # body
    "ht": FontRole("黑体", "黑体", "黑体", _SANS),  # first-level headings, table headers, annex label
    "kt": FontRole("楷体_GB2312", "Times New Roman", "楷体", '"LXGW WenKai", ' + _SERIF),  # second level
    "song": FontRole("宋体", "宋体", "宋体", _SERIF),  # page numbers
}

# Font-table entries for the Chinese fonts: GB2312 character set and the family class, so Word can substitute.
_FONT_TABLE_FAMILY = {"方正小标宋简体": "roman", "仿宋_GB2312": "modern", "黑体": "modern", "楷体_GB2312": "modern"}


# --------------------------------------------------------------------------------------------------------------------
# Text helpers shared by both outputs.

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_YEAR_BRACKETS = re.compile(r"[\[［【(（〔]\s*(\d{4})\s*[\]］】)）〕]")
_LEVEL1 = re.compile(r"^[一二三四五六七八九十]+、")
_LEVEL2 = re.compile(r"^（[一二三四五六七八九十]+）")


def _clean(text: str | None) -> str:
    """Text without the control characters XML cannot hold (they would make python-docx raise)."""
    return _XML_ILLEGAL.sub("", text or "")


def chinese_date(value: dt.date | str) -> str:
    """A date as the standard writes it (成文日期): 2026年11月24日, full year, no leading zeros."""
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    return _clean(value)


def normalize_document_number(number: str) -> str:
    """The year of a document number in 六角括号: 某市教信通[2026]12号 -> 某市教信通〔2026〕12号."""
    return _YEAR_BRACKETS.sub(r"〔\1〕", _clean(number).strip())


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in _clean(text).splitlines() if line.strip()]


def _text_width(text: str) -> float:
    """Width in characters of the body font: ASCII is half-width."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def _segments(paragraph: str) -> list[tuple[str, str]]:
    """A body paragraph as (font role, text) runs: a heading's first sentence in 黑体 (一、) or 楷体 (（一）)."""
    for pattern, role in ((_LEVEL1, "ht"), (_LEVEL2, "kt")):
        if pattern.match(paragraph):
            end = paragraph.find("。")
            if end == -1 or end == len(paragraph) - 1:
                return [(role, paragraph)]
            return [(role, paragraph[: end + 1]), ("fs", paragraph[end + 1 :])]
    return [("fs", paragraph)]


def _signature_indents(signer: str, date_text: str) -> tuple[float, float]:
    """Right indents (in characters) of the signature and the date for a document without a seal (GB/T 9704 7.3.5.2).

    The signature stands two characters in from the right; the date on the next line starts two characters right of
    the signature's first character; a date longer than that stands two characters in, and the signature moves left.
    """
    signature, date = _text_width(signer), _text_width(date_text)
    date_indent = signature - date
    if date_indent >= 2:
        return 2.0, date_indent
    return 4 + date - signature, 2.0


def _mark_size_pt(mark: str) -> float:
    """The mark's font size: up to MARK_MAX_PT, smaller when needed to keep it within 90% of the type area."""
    width = max(_text_width(mark), 1)
    return round(min(MARK_MAX_PT, TEXT_WIDTH_MM * PT_PER_MM * 0.9 / width), 1)


def _annex_names(doc: NoticeDocument) -> list[str]:
    names = [_clean(n).strip() for n in doc.annexes if _clean(n).strip()]
    if doc.findings and not names:
        names = [CAPTIONS.findings_annex_title]
    return names


def _annex_label(index: int, count: int) -> str:
    """附件 when there is one annex, 附件1, 附件2 … when there are several."""
    return CAPTIONS.annex if count == 1 else f"{CAPTIONS.annex}{index}"


def _annex_list_indents(count: int) -> tuple[float, float]:
    """Left and hanging indents (characters) of the annex list: the list starts two characters in, and the names
    of all annexes (and their continuation lines) start at the same place after "附件：" and "1. "."""
    number = 1.5 if count > 1 else 0
    label = _text_width(CAPTIONS.annex_list_label)
    return 2 + label + number, label + number


def _recipients_line(recipients: Iterable[str]) -> str:
    names = [_clean(r).strip() for r in recipients if _clean(r).strip()]
    if not names:
        return ""
    return CAPTIONS.recipients_separator.join(names) + CAPTIONS.recipients_end


def _table_date(value: dt.date | str) -> list[str]:
    """A deadline in a narrow table column: a date as two lines, year and month-day (2026年 / 11月25日)."""
    if isinstance(value, dt.date):
        return [f"{value.year}年", f"{value.month}月{value.day}日"]
    return [_clean(value)]


def _findings_rows(rows: Sequence[AnnexRow]) -> list[tuple]:
    return [
        (str(i), _clean(r.unit), _clean(r.asset), _clean(r.problem), _clean(r.level), _table_date(r.deadline))
        for i, r in enumerate(rows, start=1)
    ]


# --------------------------------------------------------------------------------------------------------------------
# DOCX building blocks (python-docx plus the WordprocessingML it does not wrap: fonts per script, grid, fields).


# Child order of the WordprocessingML elements this module adds children to (Word refuses files out of order).
_CHILD_ORDER = {
    "w:pPr": "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd tabs "
    "suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd "
    "snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc textDirection textAlignment "
    "textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange",
    "w:rPr": "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint noProof snapToGrid "
    "vanish webHidden color spacing w kern position sz szCs highlight u effect bdr shd fitText vertAlign rtl cs em "
    "lang eastAsianLayout specVanish oMath",
    "w:tblPr": "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc tblCellSpacing "
    "tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption tblDescription tblPrChange",
    "w:tblCellMar": "top start left bottom end right",
    "w:pBdr": "top left bottom right between bar",
}
_CHILD_ORDER = {qn(parent): [qn(f"w:{name}") for name in names.split()] for parent, names in _CHILD_ORDER.items()}


def _set(parent, tag: str, **attrs: str):
    """Get or create child ``w:tag`` of ``parent`` (in schema order) and set its ``w:`` attributes."""
    child = parent.find(qn(tag))
    if child is None:
        child = OxmlElement(tag)
        order = _CHILD_ORDER.get(parent.tag, [])
        later = order[order.index(qn(tag)) + 1 :] if qn(tag) in order else []
        successor = next((c for c in parent if c.tag in later), None)
        if successor is not None:
            successor.addprevious(child)
        else:
            parent.append(child)
    for key, value in attrs.items():
        child.set(qn(f"w:{key}"), str(value))
    return child


def _font_rpr(rpr, role: str) -> None:
    font = FONTS[role]
    fonts = _set(rpr, "w:rFonts")
    fonts.attrib.clear()
    for attr, value in (
        ("ascii", font.latin),
        ("hAnsi", font.latin),
        ("eastAsia", font.east_asia),
        ("cs", font.latin),
        ("hint", "eastAsia"),
    ):
        fonts.set(qn(f"w:{attr}"), value)


def _run(paragraph: Paragraph, text: str, role: str = "fs", size: float = BODY_PT, color: str | None = None):
    run = paragraph.add_run(_clean(text))
    rpr = run._r.get_or_add_rPr()
    _font_rpr(rpr, role)
    run.font.size = Pt(size)
    if size == BODY_PT:
        _set(rpr, "w:spacing", val=str(BODY_SPACING_TWIPS))
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    return run


def _no_grid(paragraph: Paragraph) -> None:
    """Take a paragraph off the document grid (the character grid would space small text at the body's pitch)."""
    _set(paragraph._p.get_or_add_pPr(), "w:snapToGrid", val="0")


def _para(
    container,
    *,
    align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    first_line_chars: float = 0,
    left_chars: float = 0,
    right_chars: float = 0,
    line_pt: float | None = None,
    before_pt: float = 0,
    page_break_before: bool = False,
    keep_with_next: bool = False,
) -> Paragraph:
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.space_before = Pt(before_pt)
    fmt.space_after = Pt(0)
    if line_pt is not None:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line_pt)
    if page_break_before:
        fmt.page_break_before = True
    if keep_with_next:
        fmt.keep_with_next = True
    if first_line_chars or left_chars or right_chars:
        fmt.first_line_indent = Pt(first_line_chars * CHAR_PITCH_PT)
        fmt.left_indent = Pt(left_chars * CHAR_PITCH_PT)
        fmt.right_indent = Pt(right_chars * CHAR_PITCH_PT)
        # Word measures in characters when these are present (exact on the character grid).
        ind = _set(paragraph._p.get_or_add_pPr(), "w:ind")
        if first_line_chars:
            key = "firstLineChars" if first_line_chars > 0 else "hangingChars"
            ind.set(qn(f"w:{key}"), str(int(round(abs(first_line_chars) * 100))))
        if left_chars:
            ind.set(qn("w:leftChars"), str(int(round(left_chars * 100))))
        if right_chars:
            ind.set(qn("w:rightChars"), str(int(round(right_chars * 100))))
    return paragraph


def _blank_lines(container, count: int) -> None:
    for _ in range(count):
        _para(container, line_pt=LINE_PITCH_PT)


def _field(paragraph: Paragraph, instruction: str, cached: str, role: str, size: float) -> None:
    """A complex field (e.g. PAGE) whose cached result is ``cached`` until Word or LibreOffice updates it."""
    for kind, text in (("begin", None), ("instr", instruction), ("separate", None), ("text", cached), ("end", None)):
        run = paragraph.add_run()
        rpr = run._r.get_or_add_rPr()
        _font_rpr(rpr, role)
        run.font.size = Pt(size)
        if kind == "instr":
            node = OxmlElement("w:instrText")
            node.set(qn("xml:space"), "preserve")
            node.text = f" {instruction} "
            run._r.append(node)
        elif kind == "text":
            run.text = text
        else:
            _set(run._r, "w:fldChar", fldCharType=kind)


def _page_number_footer(footer, align, indent_side: str) -> None:
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    for run in list(paragraph.runs):
        run._r.getparent().remove(run._r)
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(PAGE_NUMBER_PT)
    # One character in from the outer edge (the body's character width).
    if indent_side == "right":
        fmt.right_indent = Pt(CHAR_PITCH_PT)
    else:
        fmt.left_indent = Pt(CHAR_PITCH_PT)
    _no_grid(paragraph)
    before, after = CAPTIONS.page_number.split("{}")
    _run(paragraph, before, "song", PAGE_NUMBER_PT)
    _field(paragraph, "PAGE", "1", "song", PAGE_NUMBER_PT)
    _run(paragraph, after, "song", PAGE_NUMBER_PT)


def _declare_fonts(document) -> None:
    """Font-table entries with the Windows font Word substitutes (w:altName) and the GB2312 character set."""
    font_table = None
    for rel in document.part.rels.values():
        if rel.reltype.endswith("/fontTable"):
            font_table = rel.target_part
    if font_table is None:  # python-docx's template always has one; nothing to declare otherwise
        return
    from lxml import etree

    root = etree.fromstring(font_table.blob)
    for role in FONTS.values():
        name = role.east_asia
        if root.find(f"{qn('w:font')}[@{qn('w:name')}='{name}']") is not None:
            continue
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        if role.word_fallback != name:
            etree.SubElement(font, qn("w:altName")).set(qn("w:val"), role.word_fallback)
        etree.SubElement(font, qn("w:charset")).set(qn("w:val"), "86")
        etree.SubElement(font, qn("w:family")).set(qn("w:val"), _FONT_TABLE_FAMILY.get(name, "auto"))
        etree.SubElement(font, qn("w:pitch")).set(qn("w:val"), "variable")
    font_table._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _new_document():
    """An empty A4 document on the GB/T 9704 grid, with the standard's default font and page-number footers."""
    document = Document()
    core = document.core_properties
    core.author = core.last_modified_by = ""
    core.comments = ""

    # Defaults for every paragraph: 3号仿宋, exact line pitch, no extra spacing, no widow control (it would break the
    # 22-line page), Chinese as the East Asian language.
    styles_root = document.styles.element
    defaults = styles_root.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _font_rpr(rpr, "fs")
    _set(rpr, "w:sz", val=str(BODY_PT * 2))
    _set(rpr, "w:szCs", val=str(BODY_PT * 2))
    _set(rpr, "w:lang", val="en-US", eastAsia="zh-CN", bidi="ar-SA")
    ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    _set(ppr, "w:spacing", after="0", line=str(LINE_PITCH_TWIPS), lineRule="exact")
    # No extra space between Chinese and Latin letters or digits (as in the PDF, and as 公文 are typeset).
    _set(ppr, "w:autoSpaceDE", val="0")
    _set(ppr, "w:autoSpaceDN", val="0")
    normal = document.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    _font_rpr(normal.element.get_or_add_rPr(), "fs")
    nfmt = normal.paragraph_format
    nfmt.space_after = Pt(0)
    nfmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    nfmt.line_spacing = Pt(LINE_PITCH_PT)
    nfmt.widow_control = False
    normal_ppr = normal.element.get_or_add_pPr()
    _set(normal_ppr, "w:jc", val="both")
    _set(normal_ppr, "w:autoSpaceDE", val="0")  # LibreOffice reads these from the style, not from the defaults
    _set(normal_ppr, "w:autoSpaceDN", val="0")

    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP_MM), Mm(MARGIN_BOTTOM_MM)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT_MM), Mm(MARGIN_RIGHT_MM)
    section.header_distance = Mm(15)
    # The footer's line is PAGE_NUMBER_PT high; its middle (the dashes) lies PAGE_NUMBER_GAP_MM below the type area.
    section.footer_distance = Mm(MARGIN_BOTTOM_MM - PAGE_NUMBER_GAP_MM - PAGE_NUMBER_PT / 2 / PT_PER_MM)
    # 22 lines: Word's line grid (pitch in twips). The 28 characters a line come from condensed body runs
    # (BODY_SPACING_TWIPS), not from a character grid: LibreOffice puts a character wider than a grid cell on two cells.
    _set(section._sectPr, "w:docGrid", type="lines", linePitch=str(LINE_PITCH_TWIPS))

    document.settings.odd_and_even_pages_header_footer = True
    _page_number_footer(section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right")
    _page_number_footer(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left")
    _declare_fonts(document)
    return document


def _to_bytes(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _body_paragraph(container, text: str) -> None:
    paragraph = _para(container, first_line_chars=2)
    for role, part in _segments(text):
        _run(paragraph, part, role)


def _title(container, text: str, *, page_break_before: bool = False) -> None:
    paragraph = _para(
        container,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        line_pt=TITLE_PT * 1.5,
        page_break_before=page_break_before,
        keep_with_next=True,
    )
    _no_grid(paragraph)
    _run(paragraph, text, "xbs", TITLE_PT)


def _signature(container, signer: str, date_text: str) -> None:
    signer_indent, date_indent = _signature_indents(signer, date_text)
    # The signature never stands alone on a page: it keeps the last paragraph before it.
    if container.paragraphs:
        container.paragraphs[-1].paragraph_format.keep_with_next = True
    _para(container, line_pt=LINE_PITCH_PT, keep_with_next=True)
    paragraph = _para(container, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=signer_indent, keep_with_next=True)
    _run(paragraph, signer)
    paragraph = _para(container, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=date_indent)
    _run(paragraph, date_text)


def _table(document, header: Sequence[str], widths_mm: Sequence[float], rows: Iterable[Sequence], center_cols=()):
    """A bordered table across the type area: fixed column widths, header row repeated on every page, rows kept
    whole. A cell value may be a string or a list of strings (one paragraph each)."""
    rows = list(rows)
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    _set(tbl_pr, "w:tblLayout", type="fixed")
    _set(tbl_pr, "w:tblW", w=str(int(sum(widths_mm) * 56.6929)), type="dxa")
    _set(tbl_pr, "w:tblCellMar")
    margins = tbl_pr.find(qn("w:tblCellMar"))
    for side, mm in (
        ("top", TABLE_PADDING_V_MM),
        ("left", TABLE_PADDING_H_MM),
        ("bottom", TABLE_PADDING_V_MM),
        ("right", TABLE_PADDING_H_MM),
    ):
        _set(margins, f"w:{side}", w=str(round(mm * 56.6929)), type="dxa")
    for col, width in zip(table.columns, widths_mm, strict=True):
        col.width = Mm(width)

    def fill(cell, width_mm, value, role, align):
        cell.width = Mm(width_mm)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        values = value if isinstance(value, list) else [value]
        first = cell.paragraphs[0]
        for i, text in enumerate(values or [""]):
            paragraph = first if i == 0 else cell.add_paragraph()
            fmt = paragraph.paragraph_format
            fmt.alignment = align
            fmt.first_line_indent = Pt(0)
            fmt.space_before = fmt.space_after = Pt(0)
            fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            fmt.line_spacing = Pt(TABLE_LINE_PT)
            _no_grid(paragraph)
            _run(paragraph, text, role, TABLE_PT)

    for row_index, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        _set(tr_pr, "w:cantSplit")
        if row_index == 0:
            _set(tr_pr, "w:tblHeader")
            values, role = list(header), "ht"
        else:
            values, role = list(rows[row_index - 1]), "fs"
        for cell_index, cell in enumerate(row.cells):
            if row_index == 0 or cell_index in center_cols:
                align = WD_ALIGN_PARAGRAPH.CENTER
            else:
                align = WD_ALIGN_PARAGRAPH.LEFT
            fill(cell, widths_mm[cell_index], values[cell_index], role, align)
    return table


# Annex table columns (mm); they add up to the type area's 156 mm.
FINDINGS_WIDTHS_MM = (12, 30, 38, 40, 12, 24)
RECEIPT_WIDTHS_MM = (12, 44, 54, 46)


# --------------------------------------------------------------------------------------------------------------------
# The notice.


def notice_docx(doc: NoticeDocument) -> bytes:
    """The notice as a Word document (.docx) in the GB/T 9704 layout, annex table included."""
    document = _new_document()
    mark = _clean(doc.issuer_mark).strip() or f"{_clean(doc.issuer_name).strip()}{CAPTIONS.mark_suffix}"
    mark_pt = _mark_size_pt(mark)
    document.core_properties.title = _clean(doc.title)

    # 版头: the mark's top edge 35 mm below the type area's (its line is set exactly as high as the characters).
    paragraph = _para(document, align=WD_ALIGN_PARAGRAPH.CENTER, line_pt=mark_pt, before_pt=MARK_TOP_MM * PT_PER_MM)
    _no_grid(paragraph)
    _run(paragraph, mark, "xbs", mark_pt, color=RED)
    _blank_lines(document, 2)
    # The number, with the red separator as its bottom border: 4 mm below, as wide as the type area.
    paragraph = _para(document, align=WD_ALIGN_PARAGRAPH.CENTER)
    _run(paragraph, normalize_document_number(doc.number))
    borders = _set(paragraph._p.get_or_add_pPr(), "w:pBdr")
    _set(
        borders,
        "w:bottom",
        val="single",
        sz=str(int(SEPARATOR_PT * 8)),
        space=str(round(SEPARATOR_SPACE_PT)),
        color=RED,
    )
    # 主体: title two lines below the separator, recipients one line below the title, then the text.
    _blank_lines(document, 2)
    _title(document, doc.title)
    _blank_lines(document, 1)
    recipients = _recipients_line(doc.recipients)
    if recipients:
        _run(_para(document, align=WD_ALIGN_PARAGRAPH.JUSTIFY), recipients)
    for text in _paragraphs(doc.body) + _paragraphs(doc.deadline_text) + _paragraphs(doc.evidence_text):
        _body_paragraph(document, text)

    # 附件说明: one line below the text, two characters in; names aligned under the first name.
    annexes = _annex_names(doc)
    if annexes:
        _blank_lines(document, 1)
        left, hang = _annex_list_indents(len(annexes))
        for i, name in enumerate(annexes, start=1):
            paragraph = _para(document, left_chars=left, first_line_chars=-hang)
            label = CAPTIONS.annex_list_label if i == 1 else "\u3000" * round(_text_width(CAPTIONS.annex_list_label))
            # The tab jumps to the hanging indent, where the names (and their continuation lines) start.
            _run(paragraph, label + (f"{i}.\t" if len(annexes) > 1 else "") + name)
    _signature(document, _clean(doc.signer).strip() or _clean(doc.issuer_name).strip(), chinese_date(doc.date))

    # 附件: on a new page; label in 黑体 on the first line, title centred on the third, then the table.
    if doc.findings:
        paragraph = _para(document, align=WD_ALIGN_PARAGRAPH.LEFT, page_break_before=True, keep_with_next=True)
        _run(paragraph, _annex_label(1, len(annexes)), "ht")
        _blank_lines(document, 1)
        _title(document, annexes[0])
        _blank_lines(document, 1)
        _table(
            document,
            CAPTIONS.findings_table,
            FINDINGS_WIDTHS_MM,
            _findings_rows(doc.findings),
            center_cols=(0, 4, 5),
        )
    return _to_bytes(document)


def _css_context() -> dict:
    """Layout numbers for the HTML template (all in pt or mm, formatted for CSS)."""
    return {
        "page_width_mm": PAGE_WIDTH_MM,
        "page_height_mm": PAGE_HEIGHT_MM,
        "margin_top_mm": MARGIN_TOP_MM,
        "margin_right_mm": MARGIN_RIGHT_MM,
        "margin_bottom_mm": MARGIN_BOTTOM_MM,
        "margin_left_mm": MARGIN_LEFT_MM,
        "body_pt": BODY_PT,
        "title_pt": TITLE_PT,
        "table_pt": TABLE_PT,
        "table_line_pt": TABLE_LINE_PT,
        "table_padding_v_mm": TABLE_PADDING_V_MM,
        "table_padding_h_mm": TABLE_PADDING_H_MM,
        "page_number_pt": PAGE_NUMBER_PT,
        "line_pt": f"{LINE_PITCH_PT:.2f}",
        "char_pt": f"{CHAR_PITCH_PT:.3f}",
        "letter_spacing_pt": f"{BODY_SPACING_TWIPS / 20:.2f}",
        "mark_top_mm": MARK_TOP_MM,
        "separator_pt": SEPARATOR_PT,
        "separator_gap_pt": SEPARATOR_SPACE_PT,
        "page_number_top_mm": f"{PAGE_NUMBER_GAP_MM - PAGE_NUMBER_PT / 2 / PT_PER_MM:.2f}",
        "red": f"#{RED}",
        "fonts": {key: role.pdf_family for key, role in FONTS.items()},
        "weights": {key: role.pdf_weight for key, role in FONTS.items()},
        "page_number_before": CAPTIONS.page_number.split("{}")[0],
        "page_number_after": CAPTIONS.page_number.split("{}")[1],
    }


def notice_html(doc: NoticeDocument) -> str:
    """The notice as the HTML that ``notice_pdf`` prints (template notices/documents/notice.html)."""
    from django.template.loader import render_to_string

    mark = _clean(doc.issuer_mark).strip() or f"{_clean(doc.issuer_name).strip()}{CAPTIONS.mark_suffix}"
    signer = _clean(doc.signer).strip() or _clean(doc.issuer_name).strip()
    date_text = chinese_date(doc.date)
    signer_indent, date_indent = _signature_indents(signer, date_text)
    annexes = _annex_names(doc)
    annex_left, annex_hang = _annex_list_indents(len(annexes))
    context = {
        "captions": CAPTIONS,
        "css": _css_context(),
        "mark": mark,
        "mark_pt": _mark_size_pt(mark),
        "number": normalize_document_number(doc.number),
        "title": _clean(doc.title),
        "issuer": _clean(doc.issuer_name),
        "recipients": _recipients_line(doc.recipients),
        "paragraphs": [
            _segments(p)
            for p in _paragraphs(doc.body) + _paragraphs(doc.deadline_text) + _paragraphs(doc.evidence_text)
        ],
        "annexes": [(f"{i}. " if len(annexes) > 1 else "", name) for i, name in enumerate(annexes, start=1)],
        "annex_label_chars": _text_width(CAPTIONS.annex_list_label),
        "annex_indent_chars": annex_left,
        "annex_hang_chars": annex_hang,
        "signer": signer,
        "date": date_text,
        "signer_indent_pt": f"{signer_indent * CHAR_PITCH_PT:.2f}",
        "date_indent_pt": f"{date_indent * CHAR_PITCH_PT:.2f}",
        "findings": _findings_rows(doc.findings),
        "findings_label": _annex_label(1, len(annexes)),
        "findings_title": annexes[0] if annexes else "",
        "findings_widths": FINDINGS_WIDTHS_MM,
    }
    return render_to_string("notices/documents/notice.html", context)


def notice_pdf(doc: NoticeDocument) -> bytes:
    """The notice as PDF (WeasyPrint), same content and layout as the DOCX, CJK fonts embedded (subset)."""
    from weasyprint import HTML

    return HTML(string=notice_html(doc)).write_pdf()


# --------------------------------------------------------------------------------------------------------------------
# The rectification report.


def _receipt_rows(items: Sequence[RectificationItem]) -> list[tuple]:
    rows = []
    for i, item in enumerate(items, start=1):
        problem = [_clean(item.problem)]
        if item.asset:
            problem.append(_clean(item.asset))
        if item.level:
            problem.append(CAPTIONS.receipt_level + _clean(item.level))
        actions = _paragraphs(item.actions) or [""]
        if item.status:
            actions.append(CAPTIONS.receipt_status + _clean(item.status))
        if item.completed_on:
            actions.append(CAPTIONS.receipt_done_on + chinese_date(item.completed_on))
        evidence = [f"{n}. {_clean(name)}" for n, name in enumerate(item.evidence, start=1)] or [
            CAPTIONS.receipt_no_evidence
        ]
        rows.append((str(i), problem, actions, evidence))
    return rows


def rectification_docx(report: RectificationReportDocument) -> bytes:
    """The rectification report (整改报告/回执) as a Word document in the same layout as the notice."""
    document = _new_document()
    notice_title = _clean(report.notice_title).strip()
    number = normalize_document_number(report.notice_number)
    title = CAPTIONS.receipt_title.format(title=notice_title)
    document.core_properties.title = title

    _blank_lines(document, 1)
    _title(document, title)
    _blank_lines(document, 1)
    _run(_para(document), _clean(report.issuer_name).strip() + CAPTIONS.recipients_end)
    _body_paragraph(document, CAPTIONS.receipt_intro.format(title=notice_title, number=number, count=len(report.items)))
    for text in _paragraphs(report.summary):
        _body_paragraph(document, text)
    _table(document, CAPTIONS.receipt_table, RECEIPT_WIDTHS_MM, _receipt_rows(report.items), center_cols=(0,))

    contacts = [
        caption + _clean(value).strip()
        for caption, value in (
            (CAPTIONS.receipt_responsible, report.responsible_person),
            (CAPTIONS.receipt_contact, report.contact_person),
            (CAPTIONS.receipt_phone, report.contact_phone),
        )
        if _clean(value).strip()
    ]
    if contacts:
        _blank_lines(document, 1)
    for line in contacts:
        _run(_para(document, first_line_chars=2), line)
    signer = _clean(report.unit_name).strip() + CAPTIONS.receipt_seal
    _signature(document, signer, chinese_date(report.date))
    return _to_bytes(document)
