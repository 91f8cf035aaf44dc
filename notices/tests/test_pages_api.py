"""The notices through their pages and the API: drafting from the findings list, issuing, the recipient's steps,
review, documents, and that nobody reaches another unit's rectification."""

import io

import pytest
from django.urls import reverse
from docx import Document

from notices import workflow
from notices.models import Notice, NoticeState, Rectification, RectificationState

from .conftest import api_for, client_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def issued(people, region, findings):
    data = workflow.DraftInput(title="关于网络安全隐患整改的通知", body="经检测，发现以下问题。\n请立即整改。")
    notices = workflow.draft_from_findings(
        people["city_sec"], region["city"], [findings["a1"], findings["a2"], findings["b1"]], data, one_per_unit=False
    )
    notice = workflow.issue(notices[0], people["city_sec"])
    return notice


def rect_of(notice, unit):
    return Rectification.objects.get(notice=notice, unit=unit)


# ---- pages -----------------------------------------------------------------------------------------------------------


def test_draft_from_the_findings_list_then_issue(people, findings):
    client = client_for(people["city_sec"])
    pks = [findings["a1"].pk, findings["a2"].pk, findings["b1"].pk]
    page = client.get(reverse("notices:notice_draft"), {"pk": pks})
    assert page.status_code == 200
    assert "甲区第一小学" in page.content.decode() and "乙区实验小学" in page.content.decode()
    answer = client.post(
        reverse("notices:notice_draft"),
        {"pk": pks, "issuer": people["city_sec"].unit_id, "mode": "per_unit", "kind": "rectification",
         "title": "关于{unit}隐患整改的通知", "body": "请整改。", "_draft": "1"},
    )  # fmt: skip
    assert answer.status_code == 302
    drafts = Notice.objects.filter(state=NoticeState.DRAFT).order_by("pk")
    assert [n.title for n in drafts] == ["关于甲区第一小学隐患整改的通知", "关于乙区实验小学隐患整改的通知"]
    detail = client.get(drafts[0].get_absolute_url())
    assert "working days" in detail.content.decode()  # the projected deadline
    issued = client.post(reverse("notices:notice_issue", args=[drafts[0].pk]), follow=True)
    assert "测试市教信通〔" in issued.content.decode()
    assert Notice.objects.get(pk=drafts[0].pk).state == NoticeState.ISSUED


def test_draft_form_errors_are_shown_not_raised(people, findings):
    client = client_for(people["city_sec"])
    answer = client.post(
        reverse("notices:notice_draft"), {"pk": [findings["a1"].pk], "mode": "per_unit", "_draft": "1"}
    )
    assert answer.status_code == 200
    assert "This field is required" in answer.content.decode()
    assert not Notice.objects.exists()


def test_issuer_sees_progress_with_overdue_highlighted(people, region, issued):
    late = rect_of(issued, region["school_b"])
    Rectification.objects.filter(pk=late.pk).update(deadline=issued.issued_at)  # already past
    page = client_for(people["city_sec"]).get(issued.get_absolute_url()).content.decode()
    assert page.count('data-testid="progress-row"') == 2
    assert 'class="table-danger"' in page
    assert 'data-testid="overdue-count"' in page


def test_recipient_works_through_the_page_and_the_reviewer_closes(people, region, issued, findings):
    r = rect_of(issued, region["school_a"])
    school = client_for(people["netadmin_a"])
    page = school.get(r.get_absolute_url())
    assert page.status_code == 200 and "请立即整改" in page.content.decode()
    school.post(reverse("notices:rectification_acknowledge", args=[r.pk]))
    upload = io.BytesIO(PNG)
    upload.name = "整改截图.png"
    school.post(reverse("notices:rectification_evidence", args=[r.pk]), {"file": upload})
    items = list(r.items.all())
    form = {"report": "已整改。", "responsible": "王老师", "contact": "13800000000", "_submit": "1"}
    form.update({f"action_{i.pk}": "已修复" for i in items})
    done = school.post(reverse("notices:rectification_report", args=[r.pk]), form, follow=True)
    assert "Submitted for review" in done.content.decode()
    r.refresh_from_db()
    assert r.state == RectificationState.SUBMITTED
    city = client_for(people["city_sec"])
    decisions = {f"decision_{i.pk}": "evidence" for i in items}
    city.post(reverse("notices:rectification_close", args=[r.pk]), {**decisions, "note": "同意销号"})
    r.refresh_from_db()
    assert r.state == RectificationState.CLOSED
    findings["a1"].refresh_from_db()
    assert findings["a1"].status == "fixed"


def test_a_refused_step_is_a_message_not_an_error(people, region, issued):
    r = rect_of(issued, region["school_a"])
    answer = client_for(people["netadmin_a"]).post(reverse("notices:rectification_submit", args=[r.pk]), follow=True)
    assert answer.status_code == 200
    assert "Write the rectification report first" in answer.content.decode()
    answer = client_for(people["city_sec"]).post(reverse("notices:rectification_close", args=[r.pk]), follow=True)
    assert answer.status_code == 200
    assert Rectification.objects.get(pk=r.pk).state == RectificationState.RECEIVED


def test_siblings_and_strangers_get_404(people, region, issued):
    mine = rect_of(issued, region["school_a"])
    for name in ("netadmin_a2", "netadmin_b", "b_sec"):
        client = client_for(people[name])
        assert client.get(mine.get_absolute_url()).status_code == 404, name
        assert client.post(reverse("notices:rectification_acknowledge", args=[mine.pk])).status_code == 404, name
        assert client.get(reverse("notices:rectification_receipt", args=[mine.pk])).status_code == 404, name
        assert api_for(people[name]).get(f"/api/notices/rectifications/{mine.pk}/").status_code == 404, name
    # A school sees its own rectification, never the other one of the same notice, nor the notice's page.
    school = client_for(people["netadmin_a"])
    other = rect_of(issued, region["school_b"])
    assert school.get(other.get_absolute_url()).status_code == 404
    assert school.get(issued.get_absolute_url()).status_code in (403, 404)
    listing = school.get(reverse("notices:rectification_mine")).content.decode()
    assert "甲区第一小学" in listing and "乙区实验小学" not in listing
    # District B's officer sees B's school but not A's in the notice's progress.
    assert api_for(people["b_sec"]).get(f"/api/notices/rectifications/{other.pk}/").status_code == 200


def test_documents(people, region, issued):
    city = client_for(people["city_sec"])
    docx = city.get(reverse("notices:notice_docx", args=[issued.pk]))
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert issued.number in text
    pdf = city.get(reverse("notices:notice_pdf", args=[issued.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    r = rect_of(issued, region["school_a"])
    school = client_for(people["netadmin_a"])
    own = Document(io.BytesIO(school.get(reverse("notices:rectification_notice_docx", args=[r.pk])).content))
    cells = " ".join(c.text for t in own.tables for row in t.rows for c in row.cells)
    assert "甲区第一小学" in cells and "乙区实验小学" not in cells
    receipt = school.get(reverse("notices:rectification_receipt", args=[r.pk]))
    assert receipt.status_code == 200 and receipt.content[:2] == b"PK"


def test_rates_page(people, issued):
    page = client_for(people["city_sec"]).get(reverse("notices:rectification_rates"))
    assert page.status_code == 200
    assert page.content.decode().count("<tr>") >= 3  # header + two units


# ---- API -------------------------------------------------------------------------------------------------------------


def test_api_loop(people, region, findings):
    city = api_for(people["city_sec"])
    answer = city.post(
        "/api/notices/notices/draft/",
        {"issuer": region["city"].pk, "findings": [findings["a1"].pk], "title": "API 通知", "body": "请整改"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    notice_id = answer.json()[0]["id"]
    issued = city.post(f"/api/notices/notices/{notice_id}/issue/")
    assert issued.status_code == 200 and issued.json()["number"].startswith("测试市教信通〔")
    assert city.post(f"/api/notices/notices/{notice_id}/issue/").status_code == 400
    assert city.delete(f"/api/notices/notices/{notice_id}/").status_code == 400  # not a draft
    rect_id = issued.json()["recipients"][0]["rectification"]
    school = api_for(people["netadmin_a"])
    assert city.post(f"/api/notices/rectifications/{rect_id}/acknowledge/").status_code == 403  # the issuer's side
    assert school.post(f"/api/notices/rectifications/{rect_id}/acknowledge/").json()["state"] == "in_progress"
    item_id = school.get(f"/api/notices/rectifications/{rect_id}/").json()["items"][0]["id"]
    report = school.post(
        f"/api/notices/rectifications/{rect_id}/report/",
        {"report": "已整改", "actions": {str(item_id): "已修复"}},
        format="json",
    )
    assert report.status_code == 200
    upload = io.BytesIO(b"not a picture")
    upload.name = "x.exe"
    bad = school.post(f"/api/notices/rectifications/{rect_id}/evidence/", {"file": upload}, format="multipart")
    assert bad.status_code == 400 and "file" in bad.json()
    assert school.post(f"/api/notices/rectifications/{rect_id}/submit/").json()["state"] == "submitted"
    assert school.post(f"/api/notices/rectifications/{rect_id}/close/", {}, format="json").status_code == 403
    returned = city.post(f"/api/notices/rectifications/{rect_id}/return/", {"reason": "证据不足"}, format="json")
    assert returned.json()["state"] == "returned"
    assert school.post(f"/api/notices/rectifications/{rect_id}/submit/").json()["rounds"] == 2
    closed = city.post(
        f"/api/notices/rectifications/{rect_id}/close/", {"decisions": {str(item_id): "evidence"}}, format="json"
    )
    assert closed.json()["state"] == "closed"
    assert city.get(f"/api/notices/notices/{notice_id}/").json()["state"] == "closed"
    doc = city.get(f"/api/notices/notices/{notice_id}/document/?kind=docx")
    assert doc.status_code == 200 and doc.content[:2] == b"PK"
    assert school.post("/api/notices/rectifications/", {}, format="json").status_code == 403  # created by issuing only


def test_api_draft_rejects_a_foreign_finding(people, region, findings):
    answer = api_for(people["a_sec"]).post(
        "/api/notices/notices/draft/",
        {"issuer": region["a"].pk, "findings": [findings["b1"].pk], "title": "t", "body": "b"},
        format="json",
    )
    assert answer.status_code == 400
    assert "findings" in answer.json()


def test_findings_pages_offer_drafting_to_issuers_only(people, findings):
    city = client_for(people["city_sec"])
    listing = city.get(reverse("findings:finding_list")).content.decode()
    assert f'formaction="{reverse("notices:notice_draft")}"' in listing
    detail = city.get(findings["a1"].get_absolute_url()).content.decode()
    assert f"{reverse('notices:notice_draft')}?pk={findings['a1'].pk}" in detail
    school = client_for(people["netadmin_a"])
    assert reverse("notices:notice_draft") not in school.get(reverse("findings:finding_list")).content.decode()
    # The list posts its selection: the drafting form opens with those findings.
    page = city.post(reverse("notices:notice_draft"), {"pk": [findings["a1"].pk, findings["b1"].pk]})
    assert page.status_code == 200 and page.content.decode().count('name="pk"') == 2
    assert not Notice.objects.exists()


def test_a_draft_cannot_be_deleted_once_issued(people, issued):
    city = client_for(people["city_sec"])
    answer = city.post(reverse("notices:notice_delete", args=[issued.pk]), follow=True)
    assert "Only a draft can be deleted" in answer.content.decode()
    assert Notice.objects.filter(pk=issued.pk).exists()


def test_a_drafts_recipients_see_nothing_until_it_is_issued(people, region, findings):
    (notice,) = workflow.draft_from_findings(
        people["city_sec"],
        region["city"],
        [findings["a1"]],
        workflow.DraftInput(title="t", body="b"),
        one_per_unit=True,
    )
    r = notice.rectifications.get()
    assert r.state == RectificationState.DRAFT
    school = client_for(people["netadmin_a"])
    assert school.get(r.get_absolute_url()).status_code == 404
    assert api_for(people["netadmin_a"]).get("/api/notices/rectifications/").json()["count"] == 0
    assert client_for(people["a_sec"]).get(r.get_absolute_url()).status_code == 404  # the district is not the issuer
    assert client_for(people["city_sec"]).get(r.get_absolute_url()).status_code == 200
    workflow.issue(notice, people["city_sec"])
    assert school.get(r.get_absolute_url()).status_code == 200


def test_the_loop_shows_on_the_findings_and_the_units_pages(people, region, issued, findings):
    r = rect_of(issued, region["school_a"])
    workflow.acknowledge(r, people["netadmin_a"])
    finding_page = client_for(people["netadmin_a"]).get(findings["a1"].get_absolute_url()).content.decode()
    assert 'data-testid="notices-timeline"' in finding_page and issued.number in finding_page
    unit_page = client_for(people["city_sec"]).get(region["school_a"].get_absolute_url()).content.decode()
    assert 'data-testid="notices-timeline"' in unit_page and "Acknowledged" in unit_page
    # School B (a recipient of the same notice) sees its own step only, never school A's acknowledgement.
    other = client_for(people["netadmin_b"]).get(region["school_b"].get_absolute_url()).content.decode()
    assert "Notice received" in other and "Acknowledged" not in other
    assert client_for(people["netadmin_b"]).get(findings["a1"].get_absolute_url()).status_code == 404


def test_a_higher_authoritys_notice_is_forwarded_down_with_one_action(people, region):
    from datetime import date

    from findings.imports import run_import
    from findings.models import ScanImport
    from findings.tests.test_generic_upstream import UPSTREAM_HEADER, upstream_row, xlsx_bytes

    data = xlsx_bytes(
        [
            UPSTREAM_HEADER,
            upstream_row(
                **{
                    "单位*": "2132990001",
                    "URL/IP*": "https://www.a.school.example/admin",
                    "整改期限*": date(2027, 3, 31),
                }
            ),
            upstream_row(
                **{"单位*": "2132990003", "URL/IP*": "https://www.b.school.example/", "问题*": "网站存在暗链"}
            ),
        ],
        title="上级通报",
    )
    scan_import = ScanImport.objects.create(
        unit=region["city"], file_name="省厅通报.xlsx", created_by=people["city_sec"]
    )
    run_import(scan_import, io.BytesIO(data))
    scan_import.refresh_from_db()
    assert scan_import.state == "done", scan_import.error_en
    city = client_for(people["city_sec"])
    page = city.get(scan_import.get_absolute_url()).content.decode()
    assert f"{reverse('notices:notice_draft')}?import={scan_import.pk}" in page
    form = city.get(reverse("notices:notice_draft"), {"import": scan_import.pk})
    assert "甲区第一小学" in form.content.decode() and "乙区实验小学" in form.content.decode()
    answer = city.post(
        reverse("notices:notice_draft"),
        {"import": scan_import.pk, "issuer": region["city"].pk, "mode": "per_unit", "kind": "bulletin",
         "title": "转发：{unit}", "body": "转发省厅通报，请整改。", "_draft": "1"},
    )  # fmt: skip
    assert answer.status_code == 302
    drafts = Notice.objects.filter(origin="upstream")
    assert drafts.count() == 2
    assert {r.unit.code for n in drafts for r in n.rectifications.all()} == {"2132990001", "2132990003"}


def test_a_notice_written_by_hand_with_recipients(people, region):
    city = client_for(people["city_sec"])
    assert city.get(reverse("notices:notice_add")).status_code == 200
    answer = city.post(
        reverse("notices:notice_add"),
        {"unit": region["city"].pk, "kind": "bulletin", "title": "重保期间资产清查", "body": "请开展资产清查。",
         "severity": "medium", "recipients": [region["a"].pk, region["b"].pk]},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:2000]
    notice = Notice.objects.get(title="重保期间资产清查")
    assert sorted(r.unit_id for r in notice.rectifications.all()) == sorted([region["a"].pk, region["b"].pk])
    bad = city.post(
        reverse("notices:notice_edit", args=[notice.pk]),
        {"unit": region["a"].pk, "kind": "bulletin", "title": "x", "body": "y", "severity": "medium",
         "recipients": [region["b"].pk]},
    )  # fmt: skip
    assert bad.status_code == 200 and "is not below" in bad.content.decode()
    workflow.issue(notice, people["city_sec"])
    refused = city.post(
        reverse("notices:notice_edit", args=[notice.pk]),
        {"unit": region["city"].pk, "kind": "bulletin", "title": "改标题", "body": "y", "severity": "medium"},
    )
    assert refused.status_code == 200 and "Only a draft can be changed" in refused.content.decode()
    assert Notice.objects.get(pk=notice.pk).title == "重保期间资产清查"


def test_deadline_policy_pattern_is_checked(people, region):
    city = client_for(people["city_sec"])
    bad = city.post(
        reverse("notices:deadlinepolicy_add"),
        {"unit": region["city"].pk, "number_pattern": "{issuer}〔{year}〕号", "critical_days": 1, "high_days": 3,
         "medium_days": 7, "low_days": 15, "info_days": 15, "reminder_days": 1},
    )  # fmt: skip
    assert bad.status_code == 200 and "must contain {n}" in bad.content.decode()
    good = city.post(
        reverse("notices:deadlinepolicy_add"),
        {"unit": region["city"].pk, "number_pattern": "测教信〔{year}〕{n}号", "critical_days": 1, "high_days": 2,
         "medium_days": 5, "low_days": 10, "info_days": 10, "reminder_days": 1},
    )  # fmt: skip
    assert good.status_code == 302
    assert workflow.policy_for(region["school_a"]).high_days == 2  # inherited down the tree


def test_rectifications_have_no_generic_edit(people, region, issued):
    r = rect_of(issued, region["school_a"])
    school = client_for(people["netadmin_a"])
    assert school.get(reverse("notices:rectification_edit", args=[r.pk])).status_code == 404
    assert school.get(reverse("notices:rectification_add")).status_code in (403, 404)
    listing = school.get(reverse("notices:rectification_list")).content.decode()
    assert reverse("notices:rectification_bulk_edit") not in listing


def test_progress_and_rates_through_the_api(people, region, issued):
    late = rect_of(issued, region["school_b"])
    Rectification.objects.filter(pk=late.pk).update(deadline=issued.issued_at)
    city = api_for(people["city_sec"])
    recipients = city.get(f"/api/notices/notices/{issued.pk}/").json()["recipients"]
    assert {r["unit"]: r["overdue"] for r in recipients} == {region["school_a"].pk: False, region["school_b"].pk: True}
    rates = city.get("/api/notices/rectifications/rates/").json()
    by_unit = {row["unit"]: row for row in rates}
    assert by_unit[region["school_b"].pk]["overdue"] == 1 and by_unit[region["school_b"].pk]["on_time_rate"] == 0.0
    assert by_unit[region["school_a"].pk]["on_time_rate"] is None  # not due, not closed: not measured yet
    assert city.get("/api/notices/rectifications/rates/?year=abc").status_code == 400
    # District B sees only its own school's row.
    assert [row["unit"] for row in api_for(people["b_sec"]).get("/api/notices/rectifications/rates/").json()] == [
        region["school_b"].pk
    ]
    listing = client_for(people["city_sec"]).get(reverse("notices:notice_list")).content.decode()
    assert "0/2" in listing


def test_an_overdue_rectification_appears_on_the_parent_units_page(people, region, issued):
    late = rect_of(issued, region["school_b"])
    Rectification.objects.filter(pk=late.pk).update(deadline=issued.issued_at)
    district_page = client_for(people["b_sec"]).get(region["b"].get_absolute_url()).content.decode()
    assert 'data-testid="notices-overdue"' in district_page and "乙区实验小学" in district_page
    other_district = client_for(people["a_sec"]).get(region["a"].get_absolute_url()).content.decode()
    assert 'data-testid="notices-overdue"' not in other_district
