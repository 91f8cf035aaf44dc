"""Evidence files: type decided by content (magic bytes), not by the name the uploader gave, and a size limit.

Used by every app that keeps evidence (expert opinions, filing certificates, assessment reports, rectification proof).
"""

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class FileType:
    code: str
    label: str
    content_type: str
    extension: str


PDF = FileType("pdf", "PDF", "application/pdf", "pdf")
OOXML = FileType("ooxml", "Office (DOCX/XLSX)/OFD", "application/zip", "zip")
PNG = FileType("png", "PNG", "image/png", "png")
JPEG = FileType("jpeg", "JPEG", "image/jpeg", "jpg")

SIGNATURES = [
    (b"%PDF-", PDF),
    (b"PK\x03\x04", OOXML),  # DOCX, XLSX and OFD are ZIP containers
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
]


def detect_type(head: bytes) -> FileType | None:
    for signature, file_type in SIGNATURES:
        if head.startswith(signature):
            return file_type
    return None


def max_upload_bytes() -> int:
    return getattr(settings, "EDUSEC_MAX_UPLOAD_MB", 20) * 1024 * 1024


class EvidenceFileField(forms.FileField):
    """A form field that accepts PDF, Office/OFD, PNG and JPEG files up to EDUSEC_MAX_UPLOAD_MB, checked by content."""

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload is None or upload is False or not hasattr(upload, "read"):
            return upload
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB.") % {"mb": max_upload_bytes() // (1024 * 1024)}
            )
        head = upload.read(16)
        upload.seek(0)
        file_type = detect_type(head)
        if file_type is None:
            raise forms.ValidationError(_("Only PDF, Word/Excel/OFD, PNG and JPEG files are accepted."))
        upload.edusec_type = file_type
        return upload


def attach(obj, upload, *, kind: str = "", user=None):
    """Store ``upload`` (cleaned by EvidenceFileField) as evidence of ``obj``, in ``obj``'s unit. Audited on save."""
    from django.contrib.contenttypes.models import ContentType

    from .crypto import sm3_hex
    from .models import Attachment

    data = upload.read()
    upload.seek(0)
    file_type = getattr(upload, "edusec_type", None) or detect_type(data[:16])
    return Attachment.objects.create(
        unit=obj.unit if hasattr(obj, "unit_id") else obj,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        kind=kind,
        name=upload.name[:200],
        file=upload,
        file_type=file_type.code if file_type else "",
        size=len(data),
        sm3=sm3_hex(data),
        created_by=user,
        updated_by=user,
    )


def attachments_of(obj):
    from django.contrib.contenttypes.models import ContentType

    from .models import Attachment

    return Attachment.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)


def visible_attachment(user, pk):
    """The attachment if the user may see the object it belongs to, else None (→ 404)."""
    from .models import Attachment

    attachment = Attachment.objects.select_related("content_type").filter(pk=pk).first()
    if attachment is None:
        return None
    parent_model = attachment.content_type.model_class()
    manager = parent_model._default_manager
    if not hasattr(manager, "restrict") or not manager.restrict(user, "view").filter(pk=attachment.object_id).exists():
        return None
    return attachment
