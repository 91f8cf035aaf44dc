"""The demo region's notices, loaded by ``edusec load_demo`` after the findings (``findings.demo``).

Every state of the loop is on show, each reached through ``notices.workflow`` exactly as the pages do it, with the
demo accounts of the city (``city_security``), of 东湖区 (``dh_security``) and of the demo school
(``school_netadmin``, ``school_cio``):

- 全市学校网站高危漏洞整改通知 (city → three schools): the demo school's is closed (销号); one school is overdue and
  escalated to its district; one has an extended deadline and is received.
- 东湖区弱口令整改通知 (东湖区 → demo school): closed, so the notice is closed too.
- 暴露面整改通知 (city → demo school): in progress (acknowledged, assigned to the CIO).
- 数据库端口暴露整改通知 (东湖区 → demo school): submitted for review.
- 网站安全隐患复核 (city → demo school): under review.
- TLS 配置整改通知 (city → demo school): returned with reasons.
- 重保期间资产清查通知 (city → two districts): withdrawn (sent by mistake).
- a draft per school of 西山区, not yet issued.

Notices are issued on days in the past (their numbers and deadlines follow from those days); the recipients' steps
are then moved back in time between the day of issue and yesterday, so timelines read as they would have happened.
Idempotent: nothing is done when the region already has notices.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import record
from core.models import AuditAction
from core.registry import register_demo_loader
from findings.models import OPEN_STATUSES, Finding, FindingSource
from orgs.models import Unit

from . import workflow
from .models import Notice, Rectification, RectificationEvent

SUMMARY = "demo notices"
# A 1×1 white PNG: the evidence "screenshot" of the demo.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00"
    b"\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _open(unit, n, *, exclude=(), severities=("critical", "high", "medium")):
    return list(
        Finding.objects.filter(unit=unit, status__in=OPEN_STATUSES, attributed=True, severity__in=severities)
        .exclude(pk__in=exclude)
        .order_by("-risk_score", "pk")[:n]
    )


def _draft(user, issuer, findings, title, body, **extra):
    data = workflow.DraftInput(title=title, body=body, **extra)
    return workflow.draft_from_findings(user, issuer, findings, data, one_per_unit=False)[0]


def _report(rectification, user, text="已按通报要求完成整改，并组织复查。"):
    actions = {item.pk: f"已处置：{item.title[:40]}；复查未再发现。" for item in rectification.items.all()}
    workflow.save_report(
        rectification, user, report=text, responsible="网络管理员", contact="0599-80000000", actions=actions
    )
    workflow.add_evidence(
        rectification, user, SimpleUploadedFile("整改后截图.png", PNG), item=rectification.items.first()
    )


def _backdate(rectification, start, end):
    """Spread the rectification's events (after the first) evenly between ``start`` and ``end``, and move the times
    stored on the rectification with them."""
    events = list(rectification.events.order_by("at", "pk"))
    if len(events) < 2:
        return
    step = (end - start) / len(events)
    moments = {}
    for n, event in enumerate(events[1:], start=1):
        moment = start + step * n
        RectificationEvent.objects.filter(pk=event.pk).update(at=moment)
        moments[event.kind] = moment
    fields = {}
    for field, kind in (("acknowledged_at", "acknowledged"), ("submitted_at", "submitted"), ("closed_at", "closed")):
        if getattr(rectification, field) is not None and kind in moments:
            fields[field] = moments[kind]
    if rectification.acknowledged_at is not None and "acknowledged_at" not in fields:
        fields["acknowledged_at"] = start + step  # acknowledged implicitly by the first step taken
    if fields:
        Rectification.objects.filter(pk=rectification.pk).update(**fields)
    if "closed" in moments and rectification.notice.closed_at is not None:
        Notice.objects.filter(pk=rectification.notice_id).update(closed_at=moments["closed"])


def load() -> dict | None:
    from orgs import demo as orgs_demo

    city = Unit.objects.filter(code=orgs_demo.CITY_CODE).first()
    if city is None or Notice.objects.filter(unit__path__startswith=city.path).exists():
        return None
    users = {u.username: u for u in get_user_model().objects.filter(is_demo=True).select_related("unit")}
    needed = ("city_security", "dh_security", "school_netadmin", "school_cio")
    if any(name not in users for name in needed):
        return None
    city_sec, dh_sec = users["city_security"], users["dh_security"]
    netadmin, cio = users["school_netadmin"], users["school_cio"]
    school, district = netadmin.unit, dh_sec.unit
    now = timezone.now()
    yesterday = now - datetime.timedelta(days=1)

    def days_ago(n, hour=9):
        moment = timezone.localtime(now - datetime.timedelta(days=n))
        return moment.replace(hour=hour, minute=30, second=0, microsecond=0)

    used: list[int] = []

    def take(unit, n, **kwargs):
        found = _open(unit, n, exclude=used, **kwargs)
        used.extend(f.pk for f in found)
        return found

    others = list(
        Unit.objects.filter(path__startswith=city.path, unit_type="school")
        .exclude(pk=school.pk)
        .filter(
            pk__in=Finding.objects.filter(status__in=OPEN_STATUSES, severity__in=("critical", "high")).values("unit")
        )
        .order_by("path")[:2]
    )
    counts = {"notices": 0, "rectifications": 0}
    with transaction.atomic():
        # 1. City → three schools, issued 25 days ago: one closed, one overdue and escalated, one extended.
        web = take(school, 2) + [f for unit in others for f in take(unit, 2, severities=("critical", "high"))]
        if web:
            notice = _draft(
                city_sec, city, web, "关于全市学校网站高危漏洞整改的通知",
                "近期市教育局组织对全市学校网站开展了漏洞扫描，发现部分学校网站存在高危漏洞。\n"
                "请各单位对照附件清单逐项整改，整改完成后在平台提交整改报告及佐证材料。",
                required_evidence="整改前后截图、复测报告", signer="示范市教育局",
            )  # fmt: skip
            workflow.issue(notice, city_sec, now=days_ago(25))
            mine = notice.rectifications.filter(unit=school).first()
            if mine is not None:
                workflow.acknowledge(mine, netadmin)
                _report(mine, netadmin)
                workflow.submit(mine, netadmin)
                workflow.start_review(mine, city_sec)
                workflow.close(mine, city_sec, note="复测未发现，同意销号。")
                _backdate(mine, days_ago(25), days_ago(20))
            late = notice.rectifications.exclude(unit=school).order_by("unit__path")
            if late.count() >= 2:
                extended = late[1]
                workflow.change_deadline(extended, city_sec, now + datetime.timedelta(days=5))
            workflow.escalate_overdue(now)
            counts["notices"] += 1

        # 2. 东湖区 → demo school: closed, so the notice closes.
        weak = take(school, 1)
        if weak:
            notice = _draft(
                dh_sec, district, weak, "关于东湖区学校弱口令整改的通知", "请立即修改弱口令并启用登录失败处理。"
            )
            workflow.issue(notice, dh_sec, now=days_ago(40))
            r = notice.rectifications.get()
            _report(r, netadmin)
            workflow.submit(r, netadmin)
            workflow.close(r, dh_sec, note="佐证材料齐全。")
            _backdate(r, days_ago(40), days_ago(36))
            counts["notices"] += 1

        # 3.–6. City and district → demo school, one state each.
        plans = [
            (city_sec, city, "关于互联网暴露面整改的通知", 6, "in_progress"),
            (dh_sec, district, "关于数据库端口暴露整改的通知", 5, "submitted"),
            (city_sec, city, "关于网站安全隐患复核的通知", 8, "under_review"),
            (city_sec, city, "关于TLS配置整改的通知", 9, "returned"),
        ]
        for user, issuer, title, age, state in plans:
            found = take(school, 1, severities=("critical", "high", "medium", "low"))
            if not found:
                continue
            notice = _draft(
                user, issuer, found, title, "请对照附件清单完成整改并提交整改报告。", required_evidence="整改截图",
                deadline=now + datetime.timedelta(days=7),  # set by the issuer: the demo keeps these on time
            )  # fmt: skip
            workflow.issue(notice, user, now=days_ago(age))
            r = notice.rectifications.get()
            if state == "in_progress":
                workflow.acknowledge(r, netadmin)
                workflow.assign(r, netadmin, assignee=cio)
            else:
                _report(r, netadmin)
                workflow.submit(r, netadmin)
                if state == "under_review":
                    workflow.start_review(r, user)
                elif state == "returned":
                    workflow.return_(
                        r, user, "佐证截图未体现TLS 1.0已关闭，请补充复测结果。", rejected=[r.items.get().pk]
                    )
            _backdate(r, days_ago(age), yesterday)
            counts["notices"] += 1

        # 7. Withdrawn: a notice to two districts sent by mistake.
        districts = list(Unit.objects.filter(path__startswith=city.path, unit_type="district").order_by("path")[:2])
        if districts:
            notice = Notice.objects.create(
                unit=city, title="关于重保期间开展资产清查的通知", body="请各区县教育局组织所属学校开展资产清查。",
                severity="medium", created_by=city_sec, updated_by=city_sec,
            )  # fmt: skip
            workflow.set_recipients(notice, city_sec, districts)
            workflow.issue(notice, city_sec, now=days_ago(12))
            workflow.withdraw(notice, city_sec, "通知内容有误，已另行发文。")
            counts["notices"] += 1

        # 8. A draft for 西山区's schools, waiting to be issued.
        xs = (
            Unit.objects.filter(path__startswith=city.path, unit_type="district")
            .exclude(pk=district.pk)
            .order_by("path")
            .first()
        )
        if xs is not None:
            pending = list(
                Finding.objects.filter(
                    Q(unit__path__startswith=xs.path) & ~Q(unit=xs), status__in=OPEN_STATUSES, attributed=True,
                    severity__in=("critical", "high"), source=FindingSource.SCANNER,
                ).exclude(pk__in=used).order_by("-risk_score")[:4]
            )  # fmt: skip
            if pending:
                workflow.draft_from_findings(
                    city_sec, city, pending,
                    workflow.DraftInput(title="关于{unit}网络安全隐患整改的通知", body="请对照附件清单完成整改。"),
                    one_per_unit=True,
                )  # fmt: skip
                counts["notices"] += 1
    counts["rectifications"] = Rectification.objects.filter(notice__unit__path__startswith=city.path).count()
    record(AuditAction.CREATE, object_repr=SUMMARY, unit_path=city.path, changes=counts)
    return counts


register_demo_loader(load)
