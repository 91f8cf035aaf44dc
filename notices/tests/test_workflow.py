"""The loop through ``notices.workflow``: drafting from findings, numbering, deadlines in working days, every step and
who may take it, closing findings, reminders and escalation, rates."""

from datetime import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import AuditEntry, WorkdayOverride
from findings.models import FindingStatus
from notices import workflow
from notices.models import Notice, NoticeState, Rectification, RectificationEvent, RectificationState
from notices.views import rates_by_unit

from .conftest import make_finding

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def draft(people, region, findings, *, one_per_unit=True, **extra):
    data = workflow.DraftInput(title="关于{unit}网络安全隐患整改的通知", body="经检测，发现以下问题。", **extra)
    return workflow.draft_from_findings(people["city_sec"], region["city"], findings, data, one_per_unit=one_per_unit)


def at(*args):
    return timezone.make_aware(datetime(*args))


def finish_report(rectification, user, *, evidence=True):
    actions = {item.pk: "已修改口令并启用双因素认证" for item in rectification.items.all()}
    workflow.save_report(
        rectification, user, report="已全部整改。", responsible="王老师", contact="0571-00000000", actions=actions
    )
    if evidence:
        workflow.add_evidence(
            rectification, user, SimpleUploadedFile("截图.png", PNG), item=rectification.items.first()
        )


# ---- drafting --------------------------------------------------------------------------------------------------------


def test_one_notice_per_school_groups_the_findings(people, region, findings):
    notices = draft(people, region, [findings["a1"], findings["a2"], findings["b1"]])
    assert len(notices) == 2
    by_unit = {n.rectifications.get().unit_id: n for n in notices}
    school_a = by_unit[region["school_a"].pk]
    assert school_a.title == "关于甲区第一小学网络安全隐患整改的通知"
    assert school_a.severity == "critical"  # the worst of its findings
    assert sorted(i.finding_id for i in school_a.rectifications.get().items.all()) == sorted(
        [findings["a1"].pk, findings["a2"].pk]
    )
    assert all(n.state == NoticeState.DRAFT and n.number == "" for n in notices)


def test_one_notice_to_many_units_has_a_rectification_each(people, region, findings):
    (notice,) = draft(people, region, list(findings.values()), one_per_unit=False)
    assert sorted(r.unit.code for r in notice.rectifications.all()) == ["2132990001", "2132990002", "2132990003"]
    assert notice.title == "关于网络安全隐患整改的通知"


def test_drafting_refuses_findings_outside_the_issuer_or_closed(people, region, findings):
    data = workflow.DraftInput(title="t", body="b")
    with pytest.raises(PermissionDenied):  # district A cannot even see district B's finding
        workflow.draft_from_findings(
            people["a_sec"], region["a"], [findings["a1"], findings["b1"]], data, one_per_unit=True
        )
    with pytest.raises(ValidationError):  # the city sees it, but district A cannot notify district B's school
        workflow.draft_from_findings(
            people["city_sec"], region["a"], [findings["a1"], findings["b1"]], data, one_per_unit=True
        )
    findings["a1"].status = FindingStatus.FIXED
    findings["a1"].save()
    with pytest.raises(ValidationError):
        workflow.draft_from_findings(people["a_sec"], region["a"], [findings["a1"]], data, one_per_unit=True)
    with pytest.raises(PermissionDenied):  # a school has no right to issue
        workflow.draft_from_findings(
            people["netadmin_a"], region["school_a"], [findings["a2"]], data, one_per_unit=True
        )


# ---- issuing: numbers and deadlines ----------------------------------------------------------------------------------


def test_numbers_run_per_issuer_per_year(people, region, findings):
    first, second = draft(people, region, [findings["a1"], findings["b1"]])
    workflow.issue(first, people["city_sec"], now=at(2026, 11, 24, 9))
    workflow.issue(second, people["city_sec"], now=at(2026, 11, 24, 9))
    first.refresh_from_db(), second.refresh_from_db()
    assert {first.number, second.number} == {"测试市教信通〔2026〕1号", "测试市教信通〔2026〕2号"}
    data = workflow.DraftInput(title="区通知", body="正文")
    (district,) = workflow.draft_from_findings(people["a_sec"], region["a"], [findings["a2"]], data, one_per_unit=True)
    district = workflow.issue(district, people["a_sec"], now=at(2026, 11, 24, 9))
    assert district.number == "甲区教育局教信通〔2026〕1号"  # no short name: the full name
    (next_year,) = draft(people, region, [findings["a2_1"]])
    next_year = workflow.issue(next_year, people["city_sec"], now=at(2027, 1, 4, 9))
    assert next_year.number == "测试市教信通〔2027〕1号"


def test_deadline_from_severity_skips_the_national_day_holiday(people, region, findings):
    (notice,) = draft(people, region, [findings["a1"]])  # high: 3 working days
    notice = workflow.issue(notice, people["city_sec"], now=at(2026, 9, 30, 10))
    local = timezone.localtime(notice.deadline)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-10-10", 23, 59)  # 8, 9 and Saturday 10 (调休)
    assert notice.rectifications.get().deadline == notice.deadline


def test_deadline_honours_the_override_table_and_the_issuers_policy(people, region, findings):
    from notices.models import DeadlinePolicy

    DeadlinePolicy.objects.create(unit=region["city"], high_days=2)
    WorkdayOverride.objects.create(date=datetime(2026, 11, 25).date(), is_workday=False, name="local day off")
    (notice,) = draft(people, region, [findings["a1"]])
    notice = workflow.issue(notice, people["city_sec"], now=at(2026, 11, 23, 10))  # Monday
    assert timezone.localtime(notice.deadline).date().isoformat() == "2026-11-26"  # Tue 24, (Wed 25 off), Thu 26


def test_issue_refuses_twice_and_withdraw_refuses_a_draft(people, region, findings):
    (notice,) = draft(people, region, [findings["a1"]])
    with pytest.raises(ValidationError):
        workflow.withdraw(notice, people["city_sec"], "错误")
    workflow.issue(notice, people["city_sec"])
    with pytest.raises(ValidationError):
        workflow.issue(Notice.objects.get(pk=notice.pk), people["city_sec"])
    with pytest.raises(PermissionDenied):  # a district may not issue in the city's name
        workflow.withdraw(Notice.objects.get(pk=notice.pk), people["a_sec"], "x")


def test_a_hand_written_notice_needs_recipients(people, region):
    notice = Notice.objects.create(unit=region["city"], title="重保期间资产清查通知", body="请各单位开展资产清查。")
    with pytest.raises(ValidationError):
        workflow.issue(notice, people["city_sec"])
    workflow.set_recipients(notice, people["city_sec"], [region["a"], region["b"]])
    notice = workflow.issue(notice, people["city_sec"])
    assert notice.rectifications.count() == 2
    with pytest.raises(ValidationError):
        workflow.set_recipients(notice, people["city_sec"], [region["a"]])  # no longer a draft


# ---- the recipient and the reviewer ----------------------------------------------------------------------------------


@pytest.fixture
def issued(people, region, findings):
    (notice,) = draft(people, region, [findings["a1"], findings["a2"]], required_evidence="整改前后截图")
    workflow.issue(notice, people["city_sec"])
    return Rectification.objects.get(notice=notice)


def test_the_whole_loop_closes_the_findings_and_the_notice(people, issued, findings):
    r = issued
    workflow.acknowledge(r, people["netadmin_a"])
    assert r.state == RectificationState.IN_PROGRESS
    workflow.assign(r, people["netadmin_a"], assignee=people["cio_a"])
    finish_report(r, people["netadmin_a"])
    workflow.submit(r, people["netadmin_a"])
    assert (r.state, r.rounds) == (RectificationState.SUBMITTED, 1)
    workflow.start_review(r, people["city_sec"])
    workflow.close(r, people["city_sec"], note="佐证充分")
    r.refresh_from_db()
    assert r.state == RectificationState.CLOSED
    assert {i.review for i in r.items.all()} == {"evidence"}
    for key in ("a1", "a2"):
        findings[key].refresh_from_db()
        assert findings[key].status == FindingStatus.FIXED
    assert Notice.objects.get(pk=r.notice_id).state == NoticeState.CLOSED
    kinds = list(r.events.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == ["issued", "acknowledged", "assigned", "evidence", "submitted", "review", "closed"]
    # The finding's timeline shows the rectification's steps.
    assert set(findings["a1"].rectification_events.values_list("kind", flat=True)) >= {"issued", "submitted", "closed"}
    assert AuditEntry.objects.filter(object_type="notices.rectification", changes__workflow="close").exists()


def test_return_and_resubmit(people, issued):
    r = issued
    finish_report(r, people["netadmin_a"])
    workflow.submit(r, people["netadmin_a"])
    with pytest.raises(ValidationError):
        workflow.return_(r, people["city_sec"], " ")
    first = r.items.first()
    workflow.return_(r, people["city_sec"], "截图看不清", rejected=[first.pk])
    assert r.state == RectificationState.RETURNED
    assert r.items.get(pk=first.pk).review == "rejected"
    workflow.submit(r, people["netadmin_a"])
    assert (r.state, r.rounds) == (RectificationState.SUBMITTED, 2)
    assert r.items.get(pk=first.pk).review == "pending"
    workflow.close(r, people["city_sec"], {first.pk: "next_scan"})
    first.refresh_from_db()
    first.finding.refresh_from_db()
    assert first.review == "next_scan"
    assert first.finding.status == FindingStatus.OPEN  # the next scan closes it


def test_illegal_steps_are_refused(people, issued):
    r = issued
    with pytest.raises(ValidationError):
        workflow.close(r, people["city_sec"])  # nothing submitted
    with pytest.raises(ValidationError):
        workflow.submit(r, people["netadmin_a"])  # no report yet
    workflow.acknowledge(r, people["netadmin_a"])
    with pytest.raises(ValidationError):
        workflow.acknowledge(r, people["netadmin_a"])
    finish_report(r, people["netadmin_a"], evidence=False)
    with pytest.raises(ValidationError) as exc:
        workflow.submit(r, people["netadmin_a"])  # the notice requires evidence
    assert "evidence" in exc.value.message_dict
    workflow.add_evidence(r, people["netadmin_a"], SimpleUploadedFile("report.pdf", b"%PDF-1.4 test"))
    workflow.submit(r, people["netadmin_a"])
    with pytest.raises(ValidationError):  # "not fixed" is a return, not a way to close
        workflow.close(r, people["city_sec"], {r.items.first().pk: "rejected"})
    with pytest.raises(ValidationError):  # submitted: the report can no longer be changed
        workflow.save_report(r, people["netadmin_a"], report="改了")
    assert r.state == RectificationState.SUBMITTED


def test_each_side_does_only_its_own_steps(people, issued):
    r = issued
    with pytest.raises(PermissionDenied):  # the issuer does not rectify on the school's behalf
        workflow.acknowledge(r, people["city_sec"])
    with pytest.raises(PermissionDenied):  # nor does the district above the school
        workflow.acknowledge(r, people["a_sec"])
    with pytest.raises(PermissionDenied):  # a sibling school sees nothing
        workflow.acknowledge(r, people["netadmin_a2"])
    finish_report(r, people["netadmin_a"])
    workflow.submit(r, people["netadmin_a"])
    with pytest.raises(PermissionDenied):  # the school does not close its own rectification
        workflow.close(r, people["netadmin_a"])
    with pytest.raises(PermissionDenied):  # a district below the issuer does not review the city's notice
        workflow.close(r, people["a_sec"])
    with pytest.raises(PermissionDenied):
        workflow.close(r, people["b_sec"])
    with pytest.raises(PermissionDenied):  # auditors read only
        workflow.close(r, people["auditor"])


def test_assignee_must_belong_to_the_unit(people, issued):
    with pytest.raises(ValidationError):
        workflow.assign(issued, people["netadmin_a"], assignee=people["netadmin_a2"])
    workflow.assign(issued, people["netadmin_a"], contractor="某某信息技术有限公司")
    assert issued.contractor == "某某信息技术有限公司"


def test_withdrawal_ends_open_rectifications(people, issued):
    notice = workflow.withdraw(issued.notice, people["city_sec"], "通报有误")
    issued.refresh_from_db()
    assert (notice.state, issued.state) == ("withdrawn", "withdrawn")
    with pytest.raises(ValidationError):
        workflow.acknowledge(issued, people["netadmin_a"])


def test_recipients_copy_of_the_notice_has_only_its_own_rows(people, region, findings):
    from notices.documents_data import notice_document

    (notice,) = draft(people, region, [findings["a1"], findings["b1"]], one_per_unit=False)
    workflow.issue(notice, people["city_sec"])
    mine = notice.rectifications.get(unit=region["school_a"])
    full = notice_document(notice)
    copy = notice_document(notice, only=mine)
    assert {row.unit for row in full.findings} == {"甲区第一小学", "乙区实验小学"}
    assert {row.unit for row in copy.findings} == {"甲区第一小学"}
    assert copy.number == full.number == notice.number


# ---- reminders, escalation, rates ------------------------------------------------------------------------------------


def test_reminder_once_before_the_deadline_then_escalation_to_the_parent(people, issued, region):
    r = issued
    before = r.deadline - timezone.timedelta(hours=12)
    assert workflow.send_reminders(before) == 1
    assert workflow.send_reminders(before) == 0  # once
    after = r.deadline + timezone.timedelta(minutes=1)
    assert workflow.escalate_overdue(after) == 1
    assert workflow.escalate_overdue(after) == 0
    r.refresh_from_db()
    assert r.was_overdue and r.escalated_at == after
    event = r.events.get(kind=RectificationEvent.Kind.OVERDUE)
    assert event.message == str(region["a"])
    # Its name reads in the bureau's local time (China Standard Time, UTC+8), not in UTC.
    local = timezone.localtime(after, timezone.get_fixed_timezone(8 * 60))
    assert str(event).startswith(f"{local:%Y-%m-%d %H:%M} ")


def test_submitted_in_time_is_not_escalated(people, issued):
    finish_report(issued, people["netadmin_a"])
    workflow.submit(issued, people["netadmin_a"])
    assert workflow.escalate_overdue(issued.deadline + timezone.timedelta(days=3)) == 0


def test_rates_count_on_time_closures_and_overdue(people, region, findings):
    notices = draft(people, region, [findings["a1"], findings["b1"]])
    for notice in notices:
        workflow.issue(notice, people["city_sec"])
    on_time = Rectification.objects.get(unit=region["school_a"])
    finish_report(on_time, people["netadmin_a"])
    workflow.submit(on_time, people["netadmin_a"])
    workflow.close(on_time, people["city_sec"])
    late = Rectification.objects.get(unit=region["school_b"])
    now = late.deadline + timezone.timedelta(hours=1)
    workflow.escalate_overdue(now)
    rows = {row["unit"].code: row for row in rates_by_unit(Rectification.objects.select_related("unit"), now)}
    assert rows["2132990001"]["on_time_rate"] == 1.0 and rows["2132990001"]["closure_rate"] == 1.0
    assert rows["2132990003"]["on_time_rate"] == 0.0 and rows["2132990003"]["overdue"] == 1


def test_findings_from_monitoring_default_to_verified_only_when_reprobed_green(people, region):
    finding = make_finding(
        region["school_a"], source="monitoring", tool="edusec-monitor", rule_id="edusec-monitor:hidden_links"
    )
    (notice,) = workflow.draft_from_findings(
        people["city_sec"], region["city"], [finding], workflow.DraftInput(title="t", body="b"), one_per_unit=True
    )
    workflow.issue(notice, people["city_sec"])
    r = notice.rectifications.get()
    finish_report(r, people["netadmin_a"], evidence=False)
    workflow.submit(r, people["netadmin_a"])
    item = r.items.get()
    with pytest.raises(ValidationError):  # not re-probed: cannot be "verified"
        workflow.close(r, people["city_sec"], {item.pk: "verified"})
    # No monitored website is linked: the re-probe cannot say green, the reviewer accepts the evidence instead.
    assert workflow.reprobe(r, people["city_sec"]) == [{"item": item.pk, "green": False, "states": {}}]
    r.refresh_from_db()
    assert r.state == RectificationState.UNDER_REVIEW
    workflow.close(r, people["city_sec"])
    assert r.items.get().review == "evidence"
