"""Turns notices and rectifications into the plain data of ``notices.documents`` and renders them.

A notice's document is always written in Chinese (it is a 公文), whatever the reader's interface language. The issuer
gets the whole annex; a recipient's copy carries only its own rows, so no school reads another school's findings.
"""

from django.utils import timezone, translation

from . import documents
from .models import Notice, Rectification

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
DRAFT_NUMBER = "（草稿）"


def _date(moment):
    return timezone.localtime(moment).date() if moment else timezone.localdate()


def notice_document(notice: Notice, only: Rectification | None = None) -> documents.NoticeDocument:
    """The notice as document data; ``only``: a recipient's copy with only its own annex rows."""
    rectifications = list(notice.rectifications.select_related("unit").order_by("unit__path"))
    shown = [only] if only is not None else rectifications
    with translation.override("zh-hans"):
        rows = [
            documents.AnnexRow(
                unit=r.unit.name,
                asset=item.location,
                problem=item.title,
                level=str(item.get_severity_display()),
                deadline=_date(r.deadline) if r.deadline else "—",
            )
            for r in shown
            for item in r.items.all()
        ]
    deadline = notice.deadline or (only.deadline if only is not None else None)
    deadline_text = ""
    if deadline is not None:
        deadline_text = (
            f"请于{documents.chinese_date(_date(deadline))}前完成整改，并将整改报告及佐证材料报送{notice.unit.name}。"
        )
    return documents.NoticeDocument(
        issuer_name=notice.unit.name,
        number=notice.number or DRAFT_NUMBER,
        title=notice.title,
        recipients=[r.unit.name for r in rectifications],
        body=notice.body,
        date=_date(notice.issued_at),
        deadline_text=deadline_text,
        evidence_text=f"整改佐证材料：{notice.required_evidence}" if notice.required_evidence.strip() else "",
        annexes=[documents.Captions.findings_annex_title] if rows else [],
        signer=notice.signer or notice.unit.name,
        findings=rows,
    )


def receipt_document(rectification: Rectification) -> documents.RectificationReportDocument:
    from .workflow import evidence_by_item

    evidence = evidence_by_item(rectification)
    with translation.override("zh-hans"):
        items = [
            documents.RectificationItem(
                problem=item.title,
                actions=item.action_taken,
                asset=item.location,
                level=str(item.get_severity_display()),
                evidence=[a.name for a in evidence.get(item.pk, [])],
                completed_on=_date(rectification.submitted_at) if rectification.submitted_at else None,
                status=str(item.get_review_display()) if item.review != item.Review.PENDING else "",
            )
            for item in rectification.items.all()
        ]
    general = [a.name for a in evidence.get(None, [])]
    summary = rectification.report
    if general:
        summary = f"{summary}\n佐证材料：{'、'.join(general)}" if summary else f"佐证材料：{'、'.join(general)}"
    return documents.RectificationReportDocument(
        unit_name=rectification.unit.name,
        issuer_name=rectification.notice.unit.name,
        notice_number=rectification.notice.number or DRAFT_NUMBER,
        notice_title=rectification.notice.title,
        items=items,
        date=_date(rectification.submitted_at),
        summary=summary,
        responsible_person=rectification.responsible,
        contact_person=rectification.responsible,
        contact_phone=rectification.contact,
    )


def _name(notice: Notice, suffix: str) -> str:
    base = notice.number or f"{DRAFT_NUMBER}{notice.title}"
    return f"{base}{suffix}".replace("/", "-")


def render(obj, user, fmt: str) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of the document ``fmt`` of ``obj``; LookupError for an unknown pair."""
    if isinstance(obj, Notice):
        if fmt == "docx":
            return _name(obj, ".docx"), DOCX, documents.notice_docx(notice_document(obj))
        if fmt == "pdf":
            return _name(obj, ".pdf"), PDF, documents.notice_pdf(notice_document(obj))
    if isinstance(obj, Rectification):
        notice = obj.notice
        if fmt == "notice-docx":
            return _name(notice, ".docx"), DOCX, documents.notice_docx(notice_document(notice, only=obj))
        if fmt == "notice-pdf":
            return _name(notice, ".pdf"), PDF, documents.notice_pdf(notice_document(notice, only=obj))
        if fmt == "receipt":
            return (
                _name(notice, f"-{obj.unit.name}-回执.docx"),
                DOCX,
                documents.rectification_docx(receipt_document(obj)),
            )
    raise LookupError(fmt)
