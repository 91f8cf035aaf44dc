"""The grading report (定级报告) as a Word document, in Chinese whatever the interface language.

The report is a Chinese administrative document handed to experts, the supervising bureau and public security, so
its fixed wording (GB/T 22240-2020 terms, level names) is written here in Chinese rather than translated through the
interface catalogue. The reasoning lines are stored with the grading in the language of the grader's session.
"""

import io
import re

from django.utils import timezone

from . import mlps

TITLE = "信息系统安全等级保护定级报告"
LEVEL_NUMERALS = {1: "第一级", 2: "第二级", 3: "第三级", 4: "第四级", 5: "第五级"}
LEVEL_NAMES_ZH = {1: "自主保护级", 2: "指导保护级", 3: "监督保护级", 4: "强制保护级", 5: "专控保护级"}
OBJECTS_ZH = {
    mlps.OBJECT_CITIZEN: "公民、法人和其他组织的合法权益",
    mlps.OBJECT_SOCIETY: "社会秩序、公共利益",
    mlps.OBJECT_STATE: "国家安全",
}
DEGREES_ZH = {mlps.DEGREE_GENERAL: "一般损害", mlps.DEGREE_SERIOUS: "严重损害", mlps.DEGREE_SPECIAL: "特别严重损害"}
ASPECTS_ZH = {mlps.ASPECT_BUSINESS: "业务信息安全", mlps.ASPECT_SERVICE: "系统服务安全"}
DATA_LEVELS_ZH = {
    mlps.DATA_CORE: "核心数据",
    mlps.DATA_IMPORTANT: "重要数据",
    mlps.DATA_GENERAL_4: "一般数据（4级）",
    mlps.DATA_GENERAL_3: "一般数据（3级）",
    mlps.DATA_GENERAL_2: "一般数据（2级）",
    mlps.DATA_GENERAL_1: "一般数据（1级）",
}
STATES_ZH = {
    mlps.STATE_DRAFT: "定级中",
    mlps.STATE_EXPERT_REVIEW: "专家评审",
    mlps.STATE_REGULATOR_APPROVAL: "主管部门审核",
    mlps.STATE_FILED: "已备案",
    mlps.STATE_ASSESSED: "已测评",
    mlps.STATE_RECTIFYING: "整改中",
    mlps.STATE_COMPLIANT: "符合",
    mlps.STATE_GRADED_FINAL: "已定级（第一级，无备案义务）",
}
REASONS_ZH = {"initial": "首次定级", "material_change": "系统发生重大变化", "regrade": "重新定级"}


def level_text(level) -> str:
    if not level:
        return "—"
    return f"{LEVEL_NUMERALS[level]}（{LEVEL_NAMES_ZH[level]}）"


def report_filename(grading) -> str:
    """定级报告-<system>-v<n>.docx, without characters that file systems refuse."""
    name = re.sub(r'[\\/:*?"<>|\r\n\t]+', "_", str(grading.system.name)).strip() or "system"
    return f"定级报告-{name}-v{grading.version}.docx"


def _set_east_asian_font(document, style_name="Normal", name="宋体"):
    """Chinese text in a CJK font (Word otherwise falls back to the theme's Latin font for the style)."""
    from docx.oxml.ns import qn

    style = document.styles[style_name]
    style.font.name = name
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme"):  # a theme font would win over ours
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(attribute), name)


def _table(document, rows):
    table = document.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = str(text)
    return table


def grading_report(grading) -> bytes:
    """The DOCX bytes of ``grading``'s report."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    system = grading.system
    document = Document()
    _set_east_asian_font(document)
    for style_name in ("Title", "Heading 1", "Heading 2"):
        _set_east_asian_font(document, style_name, "黑体")
    document.core_properties.title = f"{TITLE} - {system.name}"
    document.core_properties.language = "zh-CN"

    heading = document.add_heading(TITLE, level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = document.add_paragraph(f"{system.name}（第 {grading.version} 版）")
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER

    document.add_heading("一、基本信息", level=1)
    _table(
        document,
        [
            ["运营使用单位", grading.unit.name],
            ["信息系统名称", system.name],
            ["定级原因", REASONS_ZH.get(grading.reason, grading.reason)],
            ["数据最高级别", DATA_LEVELS_ZH.get(grading.data_level, "未分类")],
            ["流程状态", STATES_ZH.get(grading.state, grading.state)],
            ["定级日期", timezone.localtime(grading.created_at).strftime("%Y-%m-%d")],
        ],
    )

    document.add_heading("二、定级对象描述", level=1)
    document.add_paragraph(grading.object_description)
    document.add_heading("三、业务信息描述", level=1)
    document.add_paragraph(grading.business_description)
    document.add_heading("四、系统服务描述", level=1)
    document.add_paragraph(grading.service_description)

    document.add_heading("五、安全保护等级确定", level=1)
    for index, aspect in enumerate((mlps.ASPECT_BUSINESS, mlps.ASPECT_SERVICE), start=1):
        level = getattr(grading, f"{aspect}_level")
        document.add_heading(f"（{'一二'[index - 1]}）{ASPECTS_ZH[aspect]}", level=2)
        rows = [["受侵害的客体", "侵害程度", "对应等级"]]
        for obj, degree in getattr(grading, f"{aspect}_pairs"):
            rows.append(
                [
                    OBJECTS_ZH.get(obj, obj),
                    DEGREES_ZH.get(degree, degree),
                    LEVEL_NUMERALS.get(mlps.MATRIX.get((obj, degree)), ""),
                ]
            )
        _table(document, rows)
        document.add_paragraph(f"{ASPECTS_ZH[aspect]}保护等级：{level_text(level)}")

    document.add_heading("（三）定级结果", level=2)
    floor = DATA_LEVELS_ZH.get(grading.floor_applied, "") if grading.floor_applied else "无"
    _table(
        document,
        [
            ["业务信息安全保护等级", level_text(grading.business_level)],
            ["系统服务安全保护等级", level_text(grading.service_level)],
            ["按矩阵确定的等级（两者取高）", level_text(grading.computed_level)],
            ["数据级别下限", floor],
            ["信息系统安全保护等级", level_text(grading.level)],
        ],
    )

    document.add_heading("六、定级理由", level=1)
    for line in grading.reasoning or []:
        document.add_paragraph(str(line), style="List Bullet")

    document.add_heading("七、定级结论", level=1)
    conclusion = document.add_paragraph()
    conclusion.add_run(f"{system.name}的安全保护等级确定为")
    run = conclusion.add_run(level_text(grading.level))
    run.bold = True
    conclusion.add_run("。")
    if grading.level and grading.level >= 2:
        document.add_paragraph(
            "本系统为第二级及以上信息系统，须经专家评审和主管部门审核，并于等级确定后30日内到公安机关办理备案。"
        )
    else:
        document.add_paragraph("本系统为第一级信息系统，由运营使用单位自主保护，无需向公安机关备案。")

    document.add_paragraph("")
    document.add_paragraph(f"运营使用单位（盖章）：{grading.unit.name}")
    document.add_paragraph("日期：        年    月    日")

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
