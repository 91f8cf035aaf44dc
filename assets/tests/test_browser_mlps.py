"""Issue 3's end-to-end scenario in Debian Chromium: a school CIO registers a system, grades it to level 3 with the
reasoning shown, submits it; the expert opinion is recorded; the district administrator approves; the filing
certificate is entered; the duty list shows the next assessment date."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from assets import mlps
from assets.models import Grading, InformationSystem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer<<>>\n%%EOF\n"


def account(role, unit_code=None):
    out = io.StringIO()
    call_command("demo_accounts", "--json", stdout=out)
    return next(a for a in json.loads(out.getvalue()) if a["role"] == role and unit_code in (None, a["unit_code"]))


def log_in(page, base, who):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", who["username"])
    page.fill("input[name=password]", who["password"])
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def log_out(page, base):
    page.locator("form[action='/logout/'] button").first.evaluate("b => b.form.submit()")
    page.wait_for_url(f"{base}/login/**")


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def run_action(page, base, grading, code, fill=None):
    page.goto(f"{base}/assets/gradings/{grading.pk}/")
    page.locator(f"a[data-action='{code}']").click()
    page.wait_for_url(f"**/gradings/{grading.pk}/{code}/")
    if fill:
        fill(page)
    page.locator("form[enctype] button[type=submit]").click()
    page.wait_for_url(f"{base}/assets/gradings/{grading.pk}/")


def test_school_grades_district_approves_filing_shows_next_assessment(live_server, page, settings, tmp_path):
    settings.EDUSEC_REQUIRE_2FA = False
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", "--quiet")
    base = live_server.url
    cio = account("school_cio")
    district_admin = account("district_admin", "329901")
    opinion = tmp_path / "专家评审意见.pdf"
    opinion.write_bytes(PDF)

    # The school CIO registers a system.
    log_in(page, base, cio)
    page.goto(f"{base}/assets/systems/add/")
    page.fill("input[name=name]", "浏览器测试学生成长档案系统")
    page.select_option("select[name=business_type]", label="管理")
    page.select_option("select[name=deployment]", "on_premises")
    page.select_option("select[name=status]", "running")
    page.fill("input[name=went_live_on]", "2025-09-01")
    page.locator("form[enctype] button.btn-primary").click()
    page.wait_for_url(lambda url: "/assets/systems/" in url and "/add/" not in url)
    system = InformationSystem.objects.get(name="浏览器测试学生成长档案系统")
    assert system.unit.code == cio["unit_code"]

    # The grading wizard: business information harms social order seriously (3), service harms citizens (2).
    page.goto(f"{base}/assets/systems/{system.pk}/grading/new/")
    page.check("input[name=business][value='society:serious']")
    page.check("input[name=service][value='citizen:serious']")
    page.wait_for_selector("#grading-result [data-testid=grading-level]")
    assert page.locator("[data-testid=grading-level] .display-6").inner_text().strip() == "3"
    reasoning = page.locator("[data-testid=grading-reasoning]").inner_text()
    assert "社会秩序" in reasoning and "3" in reasoning
    page.fill("textarea[name=object_description]", "学校学生成长档案系统，部署于学校机房。")
    page.fill("textarea[name=business_description]", "记录学生成长档案与综合素质评价。")
    page.fill("textarea[name=service_description]", "面向本校师生提供服务。")
    shot(page, "11-grading-wizard")
    page.locator("#grading-form button[type=submit]").click()
    page.wait_for_url("**/assets/gradings/*/")
    grading = Grading.objects.get(system=system, is_current=True)
    assert grading.level == 3 and grading.state == mlps.STATE_DRAFT
    assert any("社会秩序" in line for line in grading.reasoning)

    run_action(page, base, grading, "submit")
    run_action(
        page, base, grading, "expert_review", lambda p: p.set_input_files("input[name=expert_opinion]", str(opinion))
    )
    grading.refresh_from_db()
    assert grading.state == mlps.STATE_REGULATOR_APPROVAL
    assert page.locator("a[data-action='approve']").count() == 0  # a school never approves its own grading
    log_out(page, base)

    # The district administrator approves and enters the filing certificate.
    log_in(page, base, district_admin)
    run_action(page, base, grading, "approve", lambda p: p.fill("textarea[name=comment]", "同意定为第三级。"))
    grading.refresh_from_db()
    assert grading.level_fixed_on == timezone.localdate() and grading.approved_by.username == district_admin["username"]
    filed_on = timezone.localdate()

    def filing(p):
        p.fill("input[name=public_security_organ]", "示范市公安局网络安全保卫支队")
        p.fill("input[name=certificate_number]", "32990013001-26001")
        p.fill("input[name=filed_on]", filed_on.isoformat())

    run_action(page, base, grading, "file", filing)
    grading.refresh_from_db()
    assert grading.state == mlps.STATE_FILED
    shot(page, "12-grading-filed")

    # The duty list shows the next assessment: level 3 → 12 months after filing.
    next_assessment = mlps.add_months(filed_on, 12)
    page.goto(f"{base}/assets/duties/?kind=assessment&state=ok&state=due_soon&state=overdue")
    row = page.locator("#duty-table tbody tr", has_text="浏览器测试学生成长档案系统")
    assert row.count() == 1
    assert next_assessment.isoformat() in row.inner_text()
    shot(page, "13-duties")
