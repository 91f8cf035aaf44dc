"""The issue's end-to-end scenario in a real browser (Debian Chromium through Playwright).

A district administrator sees only the district's schools, creates a school from the form, imports five schools from
the XLSX template (a bad row first: error shown, nothing written; then fixed: five written), exports the list; the
auditor then finds all of it in the audit log.
"""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from orgs.models import Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def demo_account(role, unit_code=None):
    out = io.StringIO()
    call_command("demo_accounts", "--json", stdout=out)
    for account in json.loads(out.getvalue()):
        if account["role"] == role and (unit_code is None or account["unit_code"] == unit_code):
            return account
    raise AssertionError(f"no demo account with role {role} in {unit_code}")


def log_in(page, base, account):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", account["username"])
    page.fill("input[name=password]", account["password"])
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def fill_template(path, rows):
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    headers = [str(c.value).replace("*", "").strip() for c in ws[1]]
    for r, row in enumerate(rows, start=2):
        for header, value in row.items():
            ws.cell(row=r, column=headers.index(header) + 1, value=value)
    out = Path(path).with_name("filled.xlsx")
    wb.save(out)
    return str(out)


def test_district_admin_end_to_end(live_server, page, settings, tmp_path):
    settings.EDUSEC_REQUIRE_2FA = False
    call_command("load_demo", "--quiet")
    base = live_server.url
    admin = demo_account("district_admin")
    district = Unit.objects.get(code=admin["unit_code"])
    sibling_school = Unit.objects.filter(unit_type="school").exclude(path__startswith=district.path).first()
    own_schools = Unit.objects.filter(unit_type="school", path__startswith=district.path).count()

    log_in(page, base, admin)
    shot(page, "01-home-district-admin")

    # Only this district's schools.
    page.goto(f"{base}/orgs/units/?unit_type=school&per_page=250")
    body = page.content()
    assert sibling_school.name not in body
    rows = page.locator("table tbody tr")
    assert rows.count() == own_schools
    shot(page, "02-district-schools")

    # Create a school from the form.
    page.goto(f"{base}/orgs/units/add/")
    page.select_option("select[name=parent]", str(district.pk))
    page.fill("input[name=name]", "东湖区浏览器测试小学")
    page.select_option("select[name=unit_type]", "school")
    prov = district.division_code[:2]
    page.fill("input[name=school_code]", f"21{prov}880001")
    page.check("input[name=stages][value=primary]")
    page.locator("form[enctype] button.btn-primary").click()
    page.wait_for_url(lambda url: "/orgs/units/" in url and "/add/" not in url)
    assert Unit.objects.filter(name="东湖区浏览器测试小学", path__startswith=district.path).exists()

    # Download the import template.
    page.goto(f"{base}/orgs/units/import/")
    with page.expect_download() as download:
        page.locator("a[href='/orgs/units/import/template/']").first.click()
    template_path = tmp_path / "template.xlsx"
    download.value.save_as(template_path)
    headers = [c.value for c in load_workbook(template_path).worksheets[0][1]]
    assert any("学校标识码" in str(h) for h in headers)

    def school_row(i, code):
        return {
            "上级单位": district.code,
            "名称": f"导入测试学校{i}",
            "单位类型": "学校",
            "学校标识码": code,
            "学段": "小学",
            "状态": "正常",
        }

    good = [school_row(i, f"21{prov}88010{i}") for i in range(5)]
    bad = [dict(good[0], 学校标识码="9999")] + good[1:]
    before = Unit.objects.count()

    # First a file with one bad row: the error is shown, nothing is written.
    page.set_input_files("input[name=file]", fill_template(template_path, bad))
    page.locator("form[enctype] button.btn-primary").click()
    page.wait_for_selector("#import-errors")
    errors_text = page.locator("#import-errors").inner_text()
    assert "2" in errors_text and "学校标识码" in errors_text
    assert Unit.objects.count() == before
    shot(page, "03-import-errors")

    # Then the fixed file: five schools written.
    page.set_input_files("input[name=file]", fill_template(template_path, good))
    page.locator("form[enctype] button.btn-primary").click()
    page.wait_for_url(f"{base}/orgs/units/")
    assert Unit.objects.count() == before + 5
    assert Unit.objects.filter(name__startswith="导入测试学校", path__startswith=district.path).count() == 5

    # Export the list.
    page.goto(f"{base}/orgs/units/?unit_type=school")
    with page.expect_download() as download:
        page.locator("a[href*='export=xlsx']").first.dispatch_event("click")
    export_path = tmp_path / "export.xlsx"
    download.value.save_as(export_path)
    exported = list(load_workbook(export_path).worksheets[0].iter_rows(min_row=2, values_only=True))
    assert len(exported) == own_schools + 6
    assert sibling_school.name not in {str(v) for row in exported for v in row}

    # The auditor finds those actions.
    page.locator("form[action='/logout/'] button").first.evaluate("b => b.form.submit()")
    page.wait_for_url(f"{base}/login/**")
    auditor = demo_account("auditor", unit_code=None)
    log_in(page, base, auditor)
    page.goto(f"{base}/audit/?username={admin['username']}")
    text = page.locator("#audit-table").inner_text()
    for action in ("登录", "创建", "导入", "导出"):
        assert action in text, action
    page.goto(f"{base}/audit/?username={admin['username']}&result=failure&action=import")
    assert "import" in page.url
    assert page.locator("#audit-table tbody tr").count() >= 1
    shot(page, "04-audit-log")
