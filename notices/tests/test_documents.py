"""The notice's official documents (notices/documents.py): DOCX and PDF of a notice, DOCX of a rectification report.

No database: the documents are built from plain dataclasses. PDF text and fonts are read with pypdf when it is
installed, else with poppler-utils (pdftotext, pdffonts); with neither the tests fail, they never skip.
"""

import datetime as dt
import io
import re
import shutil
import subprocess
import tempfile
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm
from lxml import etree

from notices import documents as d

W_FONTS = qn("w:rFonts")
W_EAST_ASIA = qn("w:eastAsia")

BODY = """近期，市教育局对全市教育系统网站开展了网络安全监测，发现部分单位存在安全隐患。现将有关事项通知如下：
一、立即开展整改。各单位要对照附件所列问题逐项整改。
（一）落实资产台账。对“双非”网站一律关停。
1.管理后台不得暴露于互联网。

二、加强值班值守"""


def make_rows(count):
    levels = ["严重", "高危", "中危", "低危"]
    return [
        d.AnnexRow(
            unit=f"测试第{i}中学",
            asset=f"https://www{i}.school.example/admin/",
            problem=f"问题{i}：后台管理页面暴露于互联网",
            level=levels[i % 4],
            deadline=dt.date(2026, 11, 25) if i % 2 else "立即整改",
        )
        for i in range(1, count + 1)
    ]


def make_notice(**overrides):
    values = {
        "issuer_name": "某某市教育局",
        "number": "某市教信通[2026]12号",
        "title": "关于开展网络安全隐患整改的通知",
        "recipients": ["某某市第一中学", "某某市第二中学", "某某区教育局"],
        "body": BODY,
        "deadline_text": "请于2026年11月27日前完成整改。",
        "evidence_text": "整改完成后报送整改报告、整改前后截图等佐证材料。",
        "annexes": ["网络安全问题整改清单", "整改报告模板"],
        "date": dt.date(2026, 11, 24),
        "findings": make_rows(3),
    }
    values.update(overrides)
    return d.NoticeDocument(**values)


def open_docx(data):
    return Document(io.BytesIO(data))


def docx_texts(document):
    return [p.text for p in document.paragraphs]


def docx_xml(data, part="word/document.xml"):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return etree.fromstring(z.read(part))


def part_names(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.namelist()


def east_asia_fonts_of(paragraph):
    return {f.get(W_EAST_ASIA) for f in paragraph._p.iter(W_FONTS)}


def pdf_text(data):
    """All text of a PDF, whitespace removed (line breaks fall anywhere in justified Chinese text)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        PdfReader = None
    if PdfReader is not None:
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    elif shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    else:
        pytest.fail("reading PDF text needs pypdf (test extra) or poppler-utils (apt-get install poppler-utils)")
    return re.sub(r"\s+", "", text)


def pdf_fonts(data):
    """(font name, embedded?) for every font of the PDF."""
    try:
        from pypdf import PdfReader
    except ImportError:
        PdfReader = None
    if PdfReader is not None:
        fonts = {}
        for page in PdfReader(io.BytesIO(data)).pages:
            for font in page["/Resources"].get("/Font", {}).values():
                font = font.get_object()
                descriptor_owner = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
                descriptor = descriptor_owner.get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor is not None else {}
                embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
                fonts[str(font["/BaseFont"])] = embedded
        return sorted(fonts.items())
    if shutil.which("pdffonts"):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(data)
            f.flush()
            out = subprocess.run(["pdffonts", f.name], capture_output=True, check=True).stdout.decode()
        # name, type (several words), encoding, then emb sub uni object-number generation
        return sorted((row.split()[0], row.split()[-5] == "yes") for row in out.splitlines()[2:] if row.strip())
    pytest.fail("reading PDF fonts needs pypdf (test extra) or poppler-utils (apt-get install poppler-utils)")


@pytest.fixture(scope="module")
def notice():
    return make_notice()


@pytest.fixture(scope="module")
def notice_docx_bytes(notice):
    return d.notice_docx(notice)


@pytest.fixture(scope="module")
def notice_pdf_bytes(notice):
    return d.notice_pdf(notice)


# ---- pure helpers -------------------------------------------------------------------------------------------


def test_chinese_date_has_full_year_and_no_leading_zeros():
    assert d.chinese_date(dt.date(2026, 1, 5)) == "2026年1月5日"
    assert d.chinese_date("立即整改") == "立即整改"


@pytest.mark.parametrize(
    "raw",
    [
        "某市教信通[2026]12号",
        "某市教信通［2026］12号",
        "某市教信通【2026】12号",
        "某市教信通(2026)12号",
        "某市教信通〔2026〕12号",
    ],
)
def test_document_number_year_in_hexagonal_brackets(raw):
    assert d.normalize_document_number(raw) == "某市教信通〔2026〕12号"


def test_signature_stands_two_characters_in_and_date_shifted_right():
    # Date longer than the signature minus two: the date stands two characters in, the signature moves left.
    assert d._signature_indents("某某市教育局", "2026年11月24日") == (5.0, 2.0)
    # A long signature: it stands two characters in, the date starts two characters right of it.
    assert d._signature_indents("某某省某某市某某区教育局", "2026年1月5日") == (2.0, 6.0)


def test_heading_levels_pick_fonts():
    assert d._segments("一、立即开展整改。各单位要整改。") == [("ht", "一、立即开展整改。"), ("fs", "各单位要整改。")]
    assert d._segments("（二）加强口令管理") == [("kt", "（二）加强口令管理")]
    assert d._segments("1.管理后台不得暴露。") == [("fs", "1.管理后台不得暴露。")]


def test_layout_numbers_follow_the_standard():
    assert (d.MARGIN_TOP_MM, d.MARGIN_BOTTOM_MM, d.MARGIN_LEFT_MM, d.MARGIN_RIGHT_MM) == (37, 35, 28, 26)
    assert d.LINE_PITCH_TWIPS == 579  # 22 lines in 225 mm
    assert 28 * (d.BODY_PT + d.BODY_SPACING_TWIPS / 20) <= d.TEXT_WIDTH_MM * d.PT_PER_MM  # 28 characters fit


# ---- notice DOCX --------------------------------------------------------------------------------------------


def test_notice_docx_has_the_elements_in_order(notice_docx_bytes):
    texts = docx_texts(open_docx(notice_docx_bytes))
    wanted = [
        "某某市教育局文件",
        "某市教信通〔2026〕12号",
        "关于开展网络安全隐患整改的通知",
        "某某市第一中学、某某市第二中学、某某区教育局：",
        "近期，市教育局对全市教育系统网站开展了网络安全监测，发现部分单位存在安全隐患。现将有关事项通知如下：",
        "一、立即开展整改。各单位要对照附件所列问题逐项整改。",
        "二、加强值班值守",
        "请于2026年11月27日前完成整改。",
        "整改完成后报送整改报告、整改前后截图等佐证材料。",
        "附件：1.\t网络安全问题整改清单",
        "\u3000\u3000\u30002.\t整改报告模板",
        "某某市教育局",
        "2026年11月24日",
        "附件1",
        "网络安全问题整改清单",
    ]
    positions = [texts.index(text) for text in wanted]
    assert positions == sorted(positions)
    assert "1.管理后台不得暴露于互联网。" in texts
    assert "" not in texts[texts.index(wanted[4]) : texts.index(wanted[6])]  # the blank body line is dropped


def test_notice_docx_page_setup_is_gbt_9704(notice_docx_bytes):
    document = open_docx(notice_docx_bytes)
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (section.top_margin, section.bottom_margin)] == [37, 35]
    assert [round(x.mm) for x in (section.left_margin, section.right_margin)] == [28, 26]
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:linePitch")) == "579"
    body = next(p for p in document.paragraphs if p.text.startswith("近期"))
    assert body.paragraph_format.first_line_indent > Mm(10)  # two characters in
    assert body.runs[0].font.size.pt == 16


def test_notice_docx_red_mark_and_separator(notice_docx_bytes):
    document = open_docx(notice_docx_bytes)
    mark = document.paragraphs[0]
    assert mark.text == "某某市教育局文件"
    assert str(mark.runs[0].font.color.rgb) == "FF0000"
    assert mark.alignment == 1  # centred
    number = next(p for p in document.paragraphs if p.text == "某市教信通〔2026〕12号")
    assert number.alignment == 1
    bottom = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert bottom.get(qn("w:color")) == "FF0000"


def test_notice_docx_east_asian_font_names(notice_docx_bytes):
    document = open_docx(notice_docx_bytes)
    by_text = {p.text: p for p in document.paragraphs}
    assert east_asia_fonts_of(by_text["某某市教育局文件"]) == {"方正小标宋简体"}
    assert east_asia_fonts_of(by_text["关于开展网络安全隐患整改的通知"]) == {"方正小标宋简体"}
    assert east_asia_fonts_of(by_text["某市教信通〔2026〕12号"]) == {"仿宋_GB2312"}
    heading = by_text["一、立即开展整改。各单位要对照附件所列问题逐项整改。"]
    assert [east_asia_fonts_of(p) for p in [heading]] == [{"黑体", "仿宋_GB2312"}]
    assert heading.runs[0].text == "一、立即开展整改。"
    assert "楷体_GB2312" in east_asia_fonts_of(by_text["（一）落实资产台账。对“双非”网站一律关停。"])
    assert east_asia_fonts_of(by_text["附件1"]) == {"黑体"}
    # Defaults: 3号仿宋, Chinese as the East Asian language.
    styles = docx_xml(notice_docx_bytes, "word/styles.xml")
    default = styles.find(f".//{qn('w:rPrDefault')}")
    assert default.find(f".//{W_FONTS}").get(W_EAST_ASIA) == "仿宋_GB2312"
    assert default.find(f".//{qn('w:lang')}").get(qn("w:eastAsia")) == "zh-CN"
    # The font table tells Word which Windows font to use when the standard's font is missing.
    fonts = docx_xml(notice_docx_bytes, "word/fontTable.xml")
    alt = {
        f.get(qn("w:name")): f.find(qn("w:altName")).get(qn("w:val"))
        for f in fonts.iter(qn("w:font"))
        if f.find(qn("w:altName")) is not None
    }
    assert alt["仿宋_GB2312"] == "仿宋" and alt["方正小标宋简体"] == "宋体" and alt["楷体_GB2312"] == "楷体"


def test_notice_docx_page_numbers_in_footers(notice_docx_bytes):
    document = open_docx(notice_docx_bytes)
    assert document.settings.odd_and_even_pages_header_footer
    section = document.sections[0]
    for footer, alignment in ((section.footer, 2), (section.even_page_footer, 0)):  # odd right, even left
        paragraph = footer.paragraphs[0]
        instructions = [n.text.strip() for n in paragraph._p.iter(qn("w:instrText"))]
        assert instructions == ["PAGE"]
        assert [n.get(qn("w:fldCharType")) for n in paragraph._p.iter(qn("w:fldChar"))] == ["begin", "separate", "end"]
        assert paragraph.text == "— 1 —"
        assert paragraph.alignment == alignment


def test_notice_docx_annex_table(notice_docx_bytes, notice):
    document = open_docx(notice_docx_bytes)
    (table,) = document.tables
    assert [c.text for c in table.rows[0].cells] == list(d.CAPTIONS.findings_table)
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeated on every page
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert [r[1] for r in rows] == [f.unit for f in notice.findings]
    assert rows[0][2:] == [
        "https://www1.school.example/admin/",
        "问题1：后台管理页面暴露于互联网",
        "高危",
        "2026年\n11月25日",
    ]
    assert rows[1][5] == "立即整改"
    widths = [round(Mm(w).mm) for w in d.FINDINGS_WIDTHS_MM]
    assert sum(widths) == d.TEXT_WIDTH_MM


def test_notice_docx_elements_in_schema_order(notice_docx_bytes):
    """Word refuses a file whose pPr/rPr/tblPr children are out of the schema's order."""
    with zipfile.ZipFile(io.BytesIO(notice_docx_bytes)) as z:
        for name in z.namelist():
            if not name.endswith(".xml"):
                continue
            root = etree.fromstring(z.read(name))
            for parent, order in d._CHILD_ORDER.items():
                for element in root.iter(parent):
                    tags = [child.tag for child in element]
                    assert all(tag in order for tag in tags), (name, tags)
                    indexes = [order.index(tag) for tag in tags]
                    assert indexes == sorted(indexes), (name, tags)


def test_single_annex_has_no_number_and_findings_default_title():
    document = open_docx(d.notice_docx(make_notice(annexes=[])))
    texts = docx_texts(document)
    assert "附件：" + d.CAPTIONS.findings_annex_title in texts
    assert "附件" in texts and "附件1" not in texts


def test_notice_without_findings_has_no_annex_page():
    data = d.notice_docx(make_notice(findings=[], annexes=[], issuer_mark="某某市教育局\u000b文件"))
    document = open_docx(data)
    assert document.tables == []
    assert not any(t.startswith("附件") for t in docx_texts(document))
    assert document.paragraphs[0].text == "某某市教育局文件"  # control characters dropped


def test_special_characters_in_title_docx():
    title = "关于<script>alert(1)</script> & 〔2026〕“重保”的通知"
    document = open_docx(d.notice_docx(make_notice(title=title)))
    assert title in docx_texts(document)
    xml = etree.tostring(docx_xml(d.notice_docx(make_notice(title=title)))).decode()
    assert "&lt;script&gt;" in xml and "&amp;" in xml


# ---- notice PDF ---------------------------------------------------------------------------------------------


def test_notice_pdf_text(notice_pdf_bytes, notice):
    assert notice_pdf_bytes.startswith(b"%PDF")
    text = pdf_text(notice_pdf_bytes)
    for expected in [
        "某某市教育局文件",
        "某市教信通〔2026〕12号",
        "关于开展网络安全隐患整改的通知",
        "某某市第一中学、某某市第二中学、某某区教育局：",
        "一、立即开展整改。",
        "请于2026年11月27日前完成整改。",
        "附件：1.网络安全问题整改清单",
        "2026年11月24日",
        "附件1",
        "序号单位资产/地址问题等级整改期限",
        "—1—",
    ]:
        assert expected in text, expected
    positions = [text.index(f"测试第{i}中学") for i in (1, 2, 3)]
    assert positions == sorted(positions)


def test_notice_pdf_embeds_cjk_fonts(notice_pdf_bytes):
    fonts = pdf_fonts(notice_pdf_bytes)
    assert fonts, "no fonts in the PDF"
    assert all(embedded for _, embedded in fonts), fonts
    cjk = [name for name, _ in fonts if re.search(r"CJK|SourceHan|Source-Han", name)]
    assert cjk, f"no CJK font embedded: {fonts}; install fonts-noto-cjk"


def test_notice_html_escapes_special_characters():
    title = "关于<b>加粗</b> & 〔2026〕的通知"
    html = d.notice_html(make_notice(title=title, recipients=["A&B学校"]))
    assert "<b>加粗</b>" not in html
    assert "关于&lt;b&gt;加粗&lt;/b&gt; &amp; 〔2026〕的通知" in html
    assert "A&amp;B学校：" in html
    text = pdf_text(d.notice_pdf(make_notice(title=title, findings=[])))
    assert "关于<b>加粗</b>&〔2026〕的通知" in text


def test_long_annex_renders_with_every_row():
    notice = make_notice(findings=make_rows(200))
    document = open_docx(d.notice_docx(notice))
    (table,) = document.tables
    assert len(table.rows) == 201
    assert [row.cells[0].text for row in table.rows[1:]] == [str(i) for i in range(1, 201)]
    assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in table.rows)

    pdf = d.notice_pdf(notice)
    text = pdf_text(pdf)
    assert "测试第200中学" in text
    # The header row repeats on every page of the annex.
    assert text.count("序号单位资产/地址问题等级整改期限") > 5


# ---- rectification report DOCX ------------------------------------------------------------------------------


def make_report():
    return d.RectificationReportDocument(
        unit_name="某某市第一中学",
        issuer_name="某某市教育局",
        notice_number="某市教信通【2026】12号",
        notice_title="关于开展网络安全隐患整改的通知",
        items=[
            d.RectificationItem(
                problem="后台管理页面暴露于互联网",
                asset="https://www1.school.example/admin/",
                level="高危",
                actions="已限制为仅校内访问。\n已修改管理员口令。",
                evidence=["整改前截图.png", "整改后截图.png"],
                completed_on=dt.date(2026, 11, 25),
                status="已整改",
            ),
            d.RectificationItem(problem="存在SQL注入漏洞", actions="已修复并复测。", evidence=["复测报告.pdf"]),
            d.RectificationItem(problem="弱口令 <admin> & 123456", actions="已整改。"),
        ],
        date=dt.date(2026, 11, 26),
        summary="我校立即成立整改工作小组。",
        responsible_person="李四（副校长）",
        contact_person="王五",
        contact_phone="0000-87654321",
    )


def test_rectification_docx_contains_each_finding_and_its_evidence():
    data = d.rectification_docx(make_report())
    document = open_docx(data)
    texts = docx_texts(document)
    assert "关于《关于开展网络安全隐患整改的通知》整改情况的报告" in texts
    assert "某某市教育局：" in texts
    intro = next(t for t in texts if t.startswith("根据"))
    assert "某市教信通〔2026〕12号" in intro and "3项问题" in intro
    assert "我校立即成立整改工作小组。" in texts
    for line in ("责任人：李四（副校长）", "联系人：王五", "联系电话：0000-87654321", "2026年11月26日"):
        assert line in texts
    assert "某某市第一中学（盖章）" in texts

    (table,) = document.tables
    assert [c.text for c in table.rows[0].cells] == list(d.CAPTIONS.receipt_table)
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert rows[0][1].split("\n") == ["后台管理页面暴露于互联网", "https://www1.school.example/admin/", "等级：高危"]
    assert rows[0][2].split("\n") == [
        "已限制为仅校内访问。",
        "已修改管理员口令。",
        "状态：已整改",
        "完成时间：2026年11月25日",
    ]
    assert rows[0][3].split("\n") == ["1. 整改前截图.png", "2. 整改后截图.png"]
    assert rows[1][1] == "存在SQL注入漏洞" and rows[1][3] == "1. 复测报告.pdf"
    assert rows[2][1] == "弱口令 <admin> & 123456" and rows[2][3] == d.CAPTIONS.receipt_no_evidence
    east_asia = {f.get(W_EAST_ASIA) for f in docx_xml(data).iter(W_FONTS)}
    assert {"方正小标宋简体", "仿宋_GB2312", "黑体"} <= east_asia
    footers = [docx_xml(data, name) for name in part_names(data) if name.startswith("word/footer")]
    assert len(footers) == 2  # odd and even pages
    for footer in footers:
        assert [n.text.strip() for n in footer.iter(qn("w:instrText"))] == ["PAGE"]
