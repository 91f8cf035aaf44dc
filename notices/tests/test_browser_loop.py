"""Issue 6's end-to-end scenario in Debian Chromium: the city security officer selects high findings of schools in two
districts and issues one notice per school; school network administrators submit rectifications with evidence; a
monitoring finding is re-probed green on review and closed; another rectification is returned, resubmitted and
closed; the one nobody answers runs over its deadline and is escalated to its district — recorded on the local
DingTalk robot receiver and in the district officer's in-app notifications."""

from pathlib import Path

import pytest
from django.utils import timezone

from assets.tests.factories import WebsiteFactory
from core.models import ChannelEndpoint, ChannelSubscription, Notification
from core.testing import PASSWORD
from findings.models import FindingStatus
from monitoring.ledger import sync_checks
from notices import workflow
from notices.models import Notice, NoticeState, Rectification, RectificationState

from .conftest import make_finding

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SITE = "www.first.school.example"


def log_in(page, base, user):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def log_out(page, base):
    page.context.clear_cookies()
    page.goto(f"{base}/login/")


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_rectification(page, base, rectification):
    page.goto(f"{base}{rectification.get_absolute_url()}")


def submit_with_evidence(page, base, rectification, evidence):
    open_rectification(page, base, rectification)
    page.set_input_files("#rectification-evidence input[name=file]", str(evidence))
    page.get_by_test_id("evidence-button").click()
    page.wait_for_load_state()
    for area in page.locator("#rectification-report textarea[name^=action_]").all():
        area.fill("已修改为强口令，关闭了公网访问，复查未再发现。")
    page.fill("#rectification-report textarea[name=report]", "已按通报要求逐项完成整改，附整改后截图。")
    page.fill("#rectification-report input[name=responsible]", "网络管理员")
    page.get_by_test_id("submit-button").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("rectification-state").inner_text().strip() in ("已提交", "Submitted")


def test_the_whole_loop(live_server, page, settings, tmp_path, region, people):
    from core.channels.receiver import WebhookReceiver
    from monitoring.simfarm.testing import running_farm

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EDUSEC_TASKS_EAGER = True  # deliveries are sent as the step commits
    base = live_server.url
    evidence = tmp_path / "整改后截图.png"
    evidence.write_bytes(PNG)

    # The registered site of the first school, its checks, and what monitoring found there last week.
    website = WebsiteFactory(unit=region["school_a"], name="甲区第一小学门户", url=f"https://{SITE}/")
    sync_checks(type(website).objects.filter(pk=website.pk))
    monitored = make_finding(
        region["school_a"], title="网站首页存在暗链", severity="high", source="monitoring", tool="edusec-monitor",
        rule_id="edusec-monitor:hidden_links", host=SITE, url=f"https://{SITE}/", website=website,
    )  # fmt: skip
    scanned = make_finding(region["school_a"], title="后台管理页面弱口令", severity="high")
    in_b = make_finding(region["school_b"], title="数据库端口暴露", severity="high")
    silent = make_finding(region["school_a2"], title="远程桌面暴露", severity="high")
    low = make_finding(region["school_a"], title="低危信息泄露", severity="low")

    with (
        WebhookReceiver() as receiver,
        running_farm([{"host": SITE, "scenario": "healthy"}], tmp_path / "farm") as farm,
    ):
        settings.EDUSEC_MONITOR_PORT_MAP = f"80:{farm.http_port},443:{farm.https_port}"
        settings.EDUSEC_MONITOR_CA_FILE = str(farm.ca_path)
        route = receiver.add_route("/dingtalk", "dingtalk", secret="SECdemo")
        robot = ChannelEndpoint.objects.create(
            unit=region["a"], name="甲区安全群机器人", kind="dingtalk",
            webhook_url=receiver.url("/dingtalk") + "?access_token=district-a", secret="SECdemo",
        )  # fmt: skip
        ChannelSubscription.objects.create(unit=region["a"], endpoint=robot, event_type="notices.overdue")

        # 1. The city officer selects the high findings of three schools in two districts and drafts per school.
        log_in(page, base, people["city_sec"])
        page.goto(f"{base}/findings/findings/?severity=high&per_page=100")
        for finding in (monitored, scanned, in_b, silent):
            page.check(f"#bulk-form input[name=pk][value='{finding.pk}']")
        assert not page.locator(f"#bulk-form input[name=pk][value='{low.pk}']").count()
        page.locator("#bulk-form button[formaction='/notices/notices/draft/']").click()
        page.wait_for_url(f"{base}/notices/notices/draft/")
        assert page.get_by_test_id("draft-groups").locator(".list-group-item").count() == 3
        page.fill("textarea[name=body]", "经市教育局检测，你单位存在以下网络安全问题，请立即整改。")
        shot(page, "notices-01-draft")
        page.get_by_test_id("draft-button").click()
        page.wait_for_url(f"{base}/notices/notices/?state=draft")
        drafts = list(Notice.objects.filter(state=NoticeState.DRAFT).order_by("pk"))
        assert len(drafts) == 3
        for notice in drafts:
            page.goto(f"{base}{notice.get_absolute_url()}")
            page.get_by_test_id("issue-button").click()
            page.wait_for_load_state()
            assert "测试市教信通〔" in page.get_by_test_id("notice-number").inner_text()
        shot(page, "notices-02-issued")
        mine = Rectification.objects.get(unit=region["school_a"])
        theirs = Rectification.objects.get(unit=region["school_b"])
        late = Rectification.objects.get(unit=region["school_a2"])
        assert sorted(mine.items.values_list("finding_id", flat=True)) == sorted([monitored.pk, scanned.pk])

        # 2. Two schools submit their rectifications with evidence.
        log_out(page, base)
        log_in(page, base, people["netadmin_a"])
        page.goto(f"{base}/notices/rectifications/mine/")
        assert page.locator(f"a[href='{mine.get_absolute_url()}']").count() >= 1
        open_rectification(page, base, mine)
        page.get_by_test_id("acknowledge-button").click()
        page.wait_for_load_state()
        submit_with_evidence(page, base, mine, evidence)
        shot(page, "notices-03-submitted")
        log_out(page, base)
        log_in(page, base, people["netadmin_b"])
        submit_with_evidence(page, base, theirs, evidence)

        # 3. The city reviews: the monitored site is probed again now and is green; closed (销号).
        log_out(page, base)
        log_in(page, base, people["city_sec"])
        open_rectification(page, base, mine)
        page.get_by_test_id("start-review-button").click()
        page.wait_for_load_state()
        page.get_by_test_id("reprobe-button").click()
        page.wait_for_load_state()
        assert page.get_by_test_id("reprobe-result").get_attribute("data-green") == "yes"
        shot(page, "notices-04-reprobed")
        page.get_by_test_id("close-button").click()
        page.wait_for_load_state()
        mine.refresh_from_db()
        assert mine.state == RectificationState.CLOSED
        reviews = dict(mine.items.values_list("finding_id", "review"))
        assert reviews == {monitored.pk: "verified", scanned.pk: "evidence"}
        monitored.refresh_from_db()
        assert monitored.status == FindingStatus.FIXED

        # 4. The other school's is returned, resubmitted and closed.
        open_rectification(page, base, theirs)
        page.fill("textarea[name=reason]", "截图未体现端口已关闭，请补充外网扫描结果。")
        page.get_by_test_id("return-button").click()
        page.wait_for_load_state()
        log_out(page, base)
        log_in(page, base, people["netadmin_b"])
        open_rectification(page, base, theirs)
        assert "请补充外网扫描结果" in page.get_by_test_id("return-reason").inner_text()
        page.fill("#rectification-report textarea[name=report]", "已关闭3306端口，附外网扫描结果。")
        page.get_by_test_id("submit-button").click()
        page.wait_for_load_state()
        log_out(page, base)
        log_in(page, base, people["city_sec"])
        open_rectification(page, base, theirs)
        page.get_by_test_id("close-button").click()
        page.wait_for_load_state()
        theirs.refresh_from_db()
        assert (theirs.state, theirs.rounds) == (RectificationState.CLOSED, 2)

        # 5. Nobody answered the third. Time passes (its deadline is moved into the past); the hourly task then
        #    escalates it to district A.
        Rectification.objects.filter(pk=late.pk).update(deadline=timezone.now() - timezone.timedelta(minutes=5))
        assert workflow.escalate_overdue() == 1
        received = [r for r in route.received if "甲区第二中学" in r.body.decode()]
        assert len(received) == 1 and received[0].signature_valid
        assert Notification.objects.filter(user=people["a_sec"], event_type="notices.overdue").exists()
        log_out(page, base)
        log_in(page, base, people["a_sec"])
        assert int(page.locator("#edusec-bell").get_attribute("data-unread")) >= 1
        page.goto(f"{base}/notifications/")
        assert "甲区第二中学" in page.content()
        shot(page, "notices-05-escalated")
        open_rectification(page, base, late)
        assert page.get_by_test_id("rectification-overdue").is_visible()
