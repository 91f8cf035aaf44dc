"""The MLPS lifecycle through its pages: grading wizard (with live preview), procedure actions with evidence, filing,
assessment, re-grading with history, scoping, the DOCX grading report and the read-only generic pages."""

import io
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from assets import mlps
from assets.models import (
    Assessment,
    BusinessType,
    Filing,
    Grading,
    GradingStep,
    InformationSystem,
    StepAction,
)
from core.attachments import attachments_of
from core.models import Attachment, AuditEntry
from core.testing import BACKEND, build_test_tree, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform")]

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer<<>>\n%%EOF\n"
TEXTS = {
    "object_description": "甲区第一小学门户网站，部署于学校机房，由学校信息中心运维。",
    "business_description": "发布学校新闻、通知和招生信息，含教师联系方式。",
    "service_description": "面向社会公众提供信息服务，中断会影响招生信息发布。",
}


@pytest.fixture
def platform(settings, tmp_path):
    settings.EDUSEC_REQUIRE_2FA = False
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast accounts; not under test


@pytest.fixture
def tree():
    root, unit_a, unit_b, school_a = build_test_tree()
    return {"root": root, "a": unit_a, "b": unit_b, "school": school_a}


@pytest.fixture
def system(tree):
    return InformationSystem.objects.create(
        unit=tree["school"],
        name="甲区一小门户网站",
        business_type=BusinessType.objects.get(code="portal"),
        status="running",
        internet_facing=True,
    )


@pytest.fixture
def users(tree):
    return {
        "cio": make_user("school_cio", tree["school"], ["school_cio"]),
        "school_sec": make_user("school_sec", tree["school"], ["security_officer"]),
        "district": make_user("district_admin", tree["a"], ["district_admin"]),
        "sibling": make_user("sibling_admin", tree["b"], ["district_admin"]),
        "auditor": make_user("auditor_a", tree["a"], ["auditor"]),
    }


def client_for(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user, backend=BACKEND)
    return client


def wizard_data(business, service, data_level="", **extra):
    return {"business": business, "service": service, "data_level": data_level, **TEXTS, **extra}


def grade(client, system, business=("society:serious",), service=("citizen:serious",), **extra):
    response = client.post(
        reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}),
        wizard_data(list(business), list(service), **extra),
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    return Grading.objects.get(system=system, is_current=True)


def act(client, grading, action, data=None, status=302):
    response = client.post(reverse("assets:grading_action", kwargs={"pk": grading.pk, "action": action}), data or {})
    assert response.status_code == status, (
        getattr(response, "context", None) and response.context.get("form") and response.context["form"].errors
    )
    grading.refresh_from_db()
    return response


def pdf(name="意见.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def step_actions(grading):
    return list(grading.steps.order_by("at", "pk").values_list("action", flat=True))


# ---- the wizard ------------------------------------------------------------------------------------------------------


def test_wizard_creates_a_level_3_grading_with_its_reasoning(system, users):
    client = client_for(users["cio"])
    page = client.get(reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('type="checkbox" name="business"') == 9 and body.count('type="checkbox" name="service"') == 9
    assert f'hx-post="{reverse("assets:grading_preview", kwargs={"system_pk": system.pk})}"' in body

    grading = grade(client, system)
    assert (grading.business_level, grading.service_level, grading.computed_level, grading.level) == (3, 2, 3, 3)
    assert grading.business_pairs == [["society", "serious"]] and grading.service_pairs == [["citizen", "serious"]]
    assert grading.floor_applied == "" and grading.state == mlps.STATE_DRAFT and grading.version == 1
    assert grading.reason == "initial" and grading.is_current and grading.unit == system.unit
    with translation.override("en"):
        expected = mlps.grade([("society", "serious")], [("citizen", "serious")]).reasoning()
    assert grading.reasoning == [str(line) for line in expected]
    assert len(grading.reasoning) == 4  # business, service, which aspect decided, final level (no floor)
    assert "level 3" in grading.reasoning[0] and "level 2" in grading.reasoning[1]
    assert grading.object_description == TEXTS["object_description"]

    system.refresh_from_db()
    assert (system.mlps_level, system.mlps_state) == (3, mlps.STATE_DRAFT)
    assert AuditEntry.objects.filter(action="create", object_type="assets.grading", object_id=str(grading.pk)).exists()
    mirror = AuditEntry.objects.filter(
        action="update", object_type="assets.informationsystem", object_id=str(system.pk)
    )
    assert any("mlps_level" in e.changes for e in mirror)
    assert step_actions(grading) == [StepAction.GRADE]

    detail = client.get(grading.get_absolute_url())
    assert detail.status_code == 200
    for line in grading.reasoning:
        assert line in detail.content.decode()


def test_preview_shows_the_result_and_what_is_missing(system, users):
    client = client_for(users["cio"])
    url = reverse("assets:grading_preview", kwargs={"system_pk": system.pk})
    response = client.post(url, {"business": ["society:serious", "citizen:general"], "service": ["state:general"]})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="grading-reasoning"' in body
    with translation.override("en"):
        lines = mlps.grade([("society", "serious"), ("citizen", "general")], [("state", "general")]).reasoning()
    for line in lines:
        assert str(line).replace("“", "&ldquo;")[:20] in body or str(line)[:20] in body
    response = client.post(url, {"business": ["society:serious"], "data_level": "important"})
    body = response.content.decode()
    assert 'data-testid="grading-reasoning"' not in body
    assert "System service security" in body  # the hint names the aspect without ticks


def test_wizard_reports_errors_per_field(system, users):
    client = client_for(users["cio"])
    response = client.post(
        reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}),
        {"business": ["society:serious"], "service": [], "object_description": ""},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "service" in errors and "System service security" in errors["service"][0]
    assert "business" not in errors
    assert {"object_description", "business_description", "service_description"} <= set(errors)
    assert 'id="id_service_error"' in response.content.decode()
    response = client.post(
        reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}),
        wizard_data(["society:serious", "nowhere:serious"], ["citizen:serious"]),
    )
    assert "business" in response.context["form"].errors
    assert not Grading.objects.exists()


def test_level_1_ends_at_graded(system, users):
    client = client_for(users["cio"])
    grading = grade(client, system, business=["citizen:general"], service=["citizen:general"])
    assert grading.level == 1 and grading.state == mlps.STATE_GRADED_FINAL
    assert grading.level_fixed_on == timezone.localdate()
    assert step_actions(grading) == [StepAction.GRADE, StepAction.FINALISE]
    system.refresh_from_db()
    assert (system.mlps_level, system.mlps_state) == (1, mlps.STATE_GRADED_FINAL)
    page = client.get(grading.get_absolute_url()).content.decode()
    assert 'data-testid="grading-actions"' not in page
    act(client, grading, "submit", status=302)  # not possible in this state: refused with a message
    assert grading.state == mlps.STATE_GRADED_FINAL


def test_data_level_floor_raises_the_level_and_updates_the_ledger(system, users):
    client = client_for(users["cio"])
    grading = grade(client, system, business=["citizen:serious"], service=["society:general"], data_level="important")
    assert (grading.computed_level, grading.level, grading.floor_applied) == (2, 3, "important")
    assert any("3" in line and "2" in line for line in grading.reasoning[3:4])
    system.refresh_from_db()
    assert system.data_level == "important" and system.mlps_level == 3


def test_a_draft_is_continued_not_duplicated(system, users):
    client = client_for(users["cio"])
    grading = grade(client, system)
    response = client.get(reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}))
    assert response.status_code == 302 and response["Location"] == reverse(
        "assets:grading_edit", kwargs={"pk": grading.pk}
    )
    response = client.post(
        reverse("assets:grading_edit", kwargs={"pk": grading.pk}), wizard_data(["state:serious"], ["citizen:serious"])
    )
    assert response.status_code == 302
    grading.refresh_from_db()
    assert grading.level == 4 and grading.version == 1 and Grading.objects.count() == 1
    assert step_actions(grading) == [StepAction.GRADE, StepAction.REVISE]


# ---- the procedure ---------------------------------------------------------------------------------------------------


def test_full_happy_path_with_steps_actors_and_audit(system, users):
    cio, district = client_for(users["cio"]), client_for(users["district"])
    grading = grade(cio, system)

    act(cio, grading, "submit", {"comment": "请专家评审"})
    assert grading.state == mlps.STATE_EXPERT_REVIEW
    act(cio, grading, "expert_review", {"expert_opinion": pdf(), "comment": "专家同意定为第三级"})
    assert grading.state == mlps.STATE_REGULATOR_APPROVAL
    review_step = grading.steps.get(action=StepAction.EXPERT_REVIEW)
    opinion = attachments_of(review_step).get()
    assert opinion.kind == "expert_opinion" and opinion.file_type == "pdf" and opinion.unit == system.unit

    # The school cannot approve its own grading: no button, and the page and the POST are refused.
    page = cio.get(grading.get_absolute_url()).content.decode()
    assert 'data-action="approve"' not in page
    assert cio.get(reverse("assets:grading_action", kwargs={"pk": grading.pk, "action": "approve"})).status_code == 403
    act(cio, grading, "approve", status=403)
    assert grading.approved_at is None

    page = district.get(grading.get_absolute_url()).content.decode()
    assert 'data-action="approve"' in page and 'data-action="return"' in page
    act(district, grading, "approve", {"comment": "同意", "approval": pdf("批复.pdf")})
    assert grading.state == mlps.STATE_REGULATOR_APPROVAL  # approval fixes the level; filing moves the state
    assert grading.approved_by == users["district"] and grading.level_fixed_on == timezone.localdate()

    filed_on = timezone.localdate() - timedelta(days=5)
    act(
        cio,
        grading,
        "file",
        {
            "public_security_organ": "测试市公安局网络安全保卫支队",
            "certificate_number": "32990099001-26001",
            "filed_on": filed_on.isoformat(),
            "valid_until": "",
            "certificate": pdf("备案证明.pdf"),
        },
    )
    assert grading.state == mlps.STATE_FILED
    filing = Filing.objects.get(grading=grading)
    assert filing.valid_until == mlps.add_months(filed_on, 36) and filing.unit == system.unit

    act(
        cio,
        grading,
        "assess",
        {
            "kind": "assessment",
            "agency": "某等级测评机构",
            "assessed_on": timezone.localdate().isoformat(),
            "score": "92.5",
            "compliance_rate": "95",
            "high_risk_count": "0",
            "report": pdf("测评报告.pdf"),
        },
    )
    assert grading.state == mlps.STATE_COMPLIANT
    assessment = Assessment.objects.get(grading=grading)
    assert (
        assessment.conclusion == mlps.CONCLUSION_COMPLIANT
        and attachments_of(assessment).get().kind == "assessment_report"
    )

    steps = list(grading.steps.order_by("at", "pk"))
    assert [s.action for s in steps] == ["grade", "submit", "expert_review", "approve", "file", "assess", "conclude"]
    assert [s.to_state for s in steps] == [
        "draft",
        "expert_review",
        "regulator_approval",
        "regulator_approval",
        "filed",
        "assessed",
        "compliant",
    ]
    assert [s.actor.username for s in steps] == ["school_cio"] * 3 + ["district_admin"] + ["school_cio"] * 3
    for step in steps:
        entry = AuditEntry.objects.get(action="create", object_type="assets.gradingstep", object_id=str(step.pk))
        assert entry.username == step.actor.username
    state_changes = AuditEntry.objects.filter(action="update", object_type="assets.grading", object_id=str(grading.pk))
    assert {tuple(e.changes["state"]) for e in state_changes if "state" in e.changes} >= {
        ("draft", "expert_review"),
        ("regulator_approval", "filed"),
        ("assessed", "compliant"),
    }
    system.refresh_from_db()
    assert (system.mlps_level, system.mlps_state) == (3, mlps.STATE_COMPLIANT)

    page = cio.get(grading.get_absolute_url()).content.decode()
    for attachment in Attachment.objects.all():
        assert reverse("core:attachment", kwargs={"pk": attachment.pk}) in page
    assert "32990099001-26001" in page
    download = cio.get(reverse("core:attachment", kwargs={"pk": opinion.pk}))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_assessment_conclusions_move_the_grading(system, users):
    cio, district = client_for(users["cio"]), client_for(users["district"])
    grading = grade(cio, system)
    act(cio, grading, "submit")
    act(cio, grading, "expert_review", {"expert_opinion": pdf()})
    act(district, grading, "approve")
    act(
        cio,
        grading,
        "file",
        {"public_security_organ": "公安局", "certificate_number": "X-1", "filed_on": timezone.localdate().isoformat()},
    )
    today = timezone.localdate().isoformat()
    base = {"kind": "assessment", "agency": "测评机构", "assessed_on": today, "report": pdf("r.pdf")}
    # basically compliant without high-risk items: stays assessed
    act(cio, grading, "assess", {**base, "compliance_rate": "85", "high_risk_count": "0"})
    assert grading.state == mlps.STATE_ASSESSED
    # a self-inspection changes nothing
    act(
        cio,
        grading,
        "assess",
        {"kind": "self_inspection", "assessed_on": today, "compliance_rate": "70", "high_risk_count": "0"},
    )
    assert grading.state == mlps.STATE_ASSESSED and grading.steps.filter(action="self_inspect").exists()
    # high-risk items: rectification, accepted by the district only
    act(cio, grading, "assess", {**base, "report": pdf("r2.pdf"), "compliance_rate": "93", "high_risk_count": "2"})
    assert grading.state == mlps.STATE_RECTIFYING
    assert (
        Assessment.objects.filter(grading=grading, kind="assessment").latest("pk").conclusion == "basically_compliant"
    )
    act(cio, grading, "accept_rectification", status=403)
    act(district, grading, "accept_rectification", {"comment": "整改完成"})
    assert grading.state == mlps.STATE_COMPLIANT
    # an assessment without its report is refused, per field
    response = act(
        cio, grading, "assess", {**base, "report": "", "compliance_rate": "50", "high_risk_count": "0"}, status=200
    )
    assert "report" in response.context["form"].errors
    response = act(
        cio,
        grading,
        "assess",
        {**base, "report": pdf("r3.pdf"), "agency": "", "compliance_rate": "101", "high_risk_count": "0"},
        status=200,
    )
    assert {"agency", "compliance_rate"} <= set(response.context["form"].errors)


def test_a_school_security_officer_cannot_approve_either(system, users):
    officer = client_for(users["school_sec"])
    grading = grade(officer, system)
    act(officer, grading, "submit")
    act(officer, grading, "expert_review", {"expert_opinion": pdf()})
    act(officer, grading, "approve", status=403)
    act(officer, grading, "return", {"comment": "撤回"}, status=403)
    assert grading.approved_at is None and grading.state == mlps.STATE_REGULATOR_APPROVAL


def test_return_needs_a_comment_and_sends_the_grading_back(system, users):
    cio, district = client_for(users["cio"]), client_for(users["district"])
    grading = grade(cio, system)
    act(cio, grading, "submit")
    response = act(district, grading, "return", {"comment": ""}, status=200)
    assert "comment" in response.context["form"].errors
    act(district, grading, "return", {"comment": "业务信息描述不完整"})
    assert grading.state == mlps.STATE_DRAFT
    assert grading.steps.get(action="return").comment == "业务信息描述不完整"
    system.refresh_from_db()
    assert system.mlps_state == mlps.STATE_DRAFT


def test_district_submitting_for_a_school_is_refused(system, users):
    district = client_for(users["district"])
    grading = grade(district, system)  # a district may grade its school's system …
    act(district, grading, "submit", status=403)  # … but the school submits it


def test_evidence_upload_rejects_a_file_that_is_not_pdf_or_office(system, users):
    cio = client_for(users["cio"])
    grading = grade(cio, system)
    act(cio, grading, "submit")
    fake = SimpleUploadedFile("意见.pdf", b"MZ\x90\x00" + b"\x00" * 100, content_type="application/pdf")
    response = act(cio, grading, "expert_review", {"expert_opinion": fake}, status=200)
    assert "expert_opinion" in response.context["form"].errors
    assert grading.state == mlps.STATE_EXPERT_REVIEW
    assert not Attachment.objects.exists() and not grading.steps.filter(action="expert_review").exists()


# ---- re-grading ------------------------------------------------------------------------------------------------------


def test_regrade_keeps_history_and_makes_the_new_grading_current(system, users):
    cio, district = client_for(users["cio"]), client_for(users["district"])
    first = grade(cio, system)
    act(cio, first, "submit")
    act(cio, first, "expert_review", {"expert_opinion": pdf()})
    act(district, first, "approve")
    act(
        cio,
        first,
        "file",
        {"public_security_organ": "公安局", "certificate_number": "C-1", "filed_on": timezone.localdate().isoformat()},
    )
    system.refresh_from_db()
    assert (system.mlps_level, system.mlps_state) == (3, mlps.STATE_FILED)

    page = cio.get(reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}))
    assert page.status_code == 200 and "reason" in page.context["form"].fields
    assert page.context["result"].level == 3  # the current ticks are shown with their result
    response = cio.post(
        reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}),
        wizard_data(["society:special"], ["society:serious"], reason="material_change"),
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second = Grading.objects.get(system=system, is_current=True)
    assert second.pk != first.pk and second.version == 2 and second.reason == "material_change"
    assert not first.is_current and first.state == mlps.STATE_FILED  # history keeps its state
    assert first.steps.filter(action=StepAction.SUPERSEDE).exists()
    assert second.level == 4 and second.state == mlps.STATE_DRAFT
    system.refresh_from_db()
    assert (system.mlps_level, system.mlps_state) == (4, mlps.STATE_DRAFT)

    # the old record takes no more actions; the system page lists both versions
    page = district.get(first.get_absolute_url()).content.decode()
    assert 'data-testid="grading-actions"' not in page and second.get_absolute_url() in page
    act(
        cio,
        first,
        "assess",
        {
            "kind": "self_inspection",
            "assessed_on": timezone.localdate().isoformat(),
            "compliance_rate": "90",
            "high_risk_count": "0",
        },
    )
    assert not Assessment.objects.exists()
    page = cio.get(reverse("assets:system_mlps", kwargs={"system_pk": system.pk})).content.decode()
    assert first.get_absolute_url() in page and second.get_absolute_url() in page
    assert cio.get(reverse("assets:grading_edit", kwargs={"pk": first.pk})).status_code == 302  # history is read-only


# ---- scoping ---------------------------------------------------------------------------------------------------------


def test_a_sibling_district_gets_404_on_every_grading_url(system, users):
    cio = client_for(users["cio"])
    grading = grade(cio, system)
    act(cio, grading, "submit")
    act(cio, grading, "expert_review", {"expert_opinion": pdf()})
    attachment = Attachment.objects.get()
    step = grading.steps.get(action=StepAction.EXPERT_REVIEW)
    sibling = client_for(users["sibling"])
    get_urls = [
        grading.get_absolute_url(),
        reverse("assets:grading_edit", kwargs={"pk": grading.pk}),
        reverse("assets:grading_report_docx", kwargs={"pk": grading.pk}),
        reverse("assets:system_mlps", kwargs={"system_pk": system.pk}),
        reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}),
        reverse("assets:gradingstep", kwargs={"pk": step.pk}),
        reverse("core:attachment", kwargs={"pk": attachment.pk}),
        *[
            reverse("assets:grading_action", kwargs={"pk": grading.pk, "action": a})
            for a in ("submit", "approve", "return", "file", "assess")
        ],
    ]
    for url in get_urls:
        assert sibling.get(url).status_code == 404, url
    post_urls = [
        reverse("assets:grading_preview", kwargs={"system_pk": system.pk}),
        reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}),
        reverse("assets:grading_edit", kwargs={"pk": grading.pk}),
        *[reverse("assets:grading_action", kwargs={"pk": grading.pk, "action": a}) for a in ("approve", "return")],
    ]
    for url in post_urls:
        assert sibling.post(url, {"comment": "x", "business": ["state:special"]}).status_code == 404, url
    grading.refresh_from_db()
    assert grading.state == mlps.STATE_REGULATOR_APPROVAL and grading.approved_at is None
    listing = sibling.get(reverse("assets:grading_list")).content.decode()
    assert grading.get_absolute_url() not in listing


def test_generic_pages_and_api_are_read_only(system, users):
    cio = client_for(users["cio"])
    grading = grade(cio, system)
    listing = cio.get(reverse("assets:grading_list"))
    assert listing.status_code == 200 and grading.get_absolute_url() in listing.content.decode()
    assert cio.get(reverse("assets:grading_add")).status_code == 403
    for name in ("gradingstep_list", "filing_list", "assessment_list"):
        assert cio.get(reverse(f"assets:{name}")).status_code == 200
    assert cio.get(reverse("assets:grading_list") + "?export=xlsx").status_code == 200
    api = cio.get("/api/assets/gradings/")
    assert api.status_code == 200 and api.json()["results"][0]["level"] == 3
    assert cio.post("/api/assets/gradings/", {"system": system.pk}, content_type="application/json").status_code == 403
    auditor = client_for(users["auditor"])
    assert auditor.get(grading.get_absolute_url()).status_code == 200
    assert 'data-testid="grading-actions"' not in auditor.get(grading.get_absolute_url()).content.decode()
    assert auditor.get(reverse("assets:grading_wizard", kwargs={"system_pk": system.pk})).status_code == 403


# ---- DOCX ------------------------------------------------------------------------------------------------------------


def test_docx_grading_report(system, users):
    from docx import Document

    cio = client_for(users["cio"])
    grading = grade(cio, system, data_level="general2")
    response = cio.get(reverse("assets:grading_report_docx", kwargs={"pk": grading.pk}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    match = re.search(r"filename\*=utf-8''(\S+)", response["Content-Disposition"], re.IGNORECASE)
    assert unquote(match.group(1)) == f"定级报告-{system.name}-v1.docx"

    document = Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    everything = text + "\n" + cells
    assert "定级报告" in text and system.name in everything and system.unit.name in cells
    assert "第三级（监督保护级）" in text  # the conclusion names the final level
    assert "社会秩序、公共利益" in cells and "严重损害" in cells and "公民、法人和其他组织的合法权益" in cells
    assert TEXTS["business_description"] in text
    for line in grading.reasoning:
        assert line in text
    entry = AuditEntry.objects.get(action="export", object_type="assets.grading", object_id=str(grading.pk))
    assert entry.username == "school_cio" and entry.changes["format"] == "docx"


def test_mlps_records_follow_the_system_to_another_unit(system, users, tree):
    grading = grade(client_for(users["cio"]), system)
    system.unit = tree["a"]
    system.save()
    grading.refresh_from_db()
    assert grading.unit == tree["a"] and GradingStep.objects.filter(grading=grading, unit=tree["a"]).exists()


def test_the_top_bureau_approves_its_own_platforms(tree, users):
    """The city bureau has no supervising bureau on the platform: it records the outside approval itself."""
    platform = InformationSystem.objects.create(
        unit=tree["root"],
        name="测试市智慧教育云平台",
        business_type=BusinessType.objects.get(code="data_platform"),
        status="running",
    )
    city = client_for(make_user("city_admin", tree["root"], ["bureau_admin"]))
    grading = grade(city, platform)
    act(city, grading, "submit", {"comment": "提交专家评审"})
    act(city, grading, "expert_review", {"comment": "专家同意", "expert_opinion": pdf()})
    act(city, grading, "approve", {"comment": "省教育厅同意"})
    assert grading.level_fixed_on is not None and grading.approved_by.username == "city_admin"
    # a district is still never "above" the city's own systems
    assert client_for(users["district"]).get(reverse("assets:grading", kwargs={"pk": grading.pk})).status_code == 404
