"""Evidence files: checked by content and size, visible exactly when their object is, downloads audited."""

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.attachments import EvidenceFileField, attach, attachments_of, detect_type
from core.models import AuditEntry
from core.testing import BACKEND, build_test_tree, make_user
from orgs.models import Person

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer<<>>\n%%EOF\n"


class EvidenceForm(forms.Form):
    file = EvidenceFileField()


def test_type_is_decided_by_content_not_by_name():
    assert detect_type(PDF).code == "pdf"
    assert detect_type(b"PK\x03\x04rest").code == "ooxml"
    assert detect_type(b"MZ\x90\x00") is None  # a Windows executable renamed to .pdf
    form = EvidenceForm(files={"file": SimpleUploadedFile("report.pdf", b"MZ\x90\x00" * 10)})
    assert not form.is_valid()
    form = EvidenceForm(files={"file": SimpleUploadedFile("scan.bin", PDF)})
    assert form.is_valid()


def test_size_limit(settings):
    settings.EDUSEC_MAX_UPLOAD_MB = 1
    form = EvidenceForm(files={"file": SimpleUploadedFile("big.pdf", PDF + b"0" * (1024 * 1024))})
    assert not form.is_valid()


def test_download_follows_the_visibility_of_the_object(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, unit_b, school_a = build_test_tree()
    person = Person.objects.create(unit=school_a, name="有附件的人")
    form = EvidenceForm(files={"file": SimpleUploadedFile("证书.pdf", PDF)})
    assert form.is_valid()
    attachment = attach(person, form.cleaned_data["file"], kind="certificate")
    assert attachments_of(person).get() == attachment
    assert attachment.unit == school_a and attachment.file_type == "pdf" and len(attachment.sm3) == 64
    assert "证书" not in attachment.file.name  # stored under a random name

    mine, sibling = Client(), Client()
    mine.force_login(make_user("a", unit_a, ["district_admin"]), backend=BACKEND)
    sibling.force_login(make_user("b", unit_b, ["district_admin"]), backend=BACKEND)
    response = mine.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert AuditEntry.objects.filter(action="export", object_type="core.attachment", username="a").exists()
    assert sibling.get(f"/attachments/{attachment.pk}/").status_code == 404
