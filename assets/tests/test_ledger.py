"""The ledger models through the generic UI/API/import tests, and business types as global reference data."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from assets.models import BusinessType, Domain, InformationSystem, IPRange, MobileApp, Screen, Website
from core.models import AuditEntry
from core.testing import BACKEND, ModelTestCases, build_test_tree, make_user
from orgs.tests.factories import PersonFactory

from .factories import (
    DomainFactory,
    InformationSystemFactory,
    IPRangeFactory,
    MobileAppFactory,
    ScreenFactory,
    WebsiteFactory,
)


class InformationSystemTests(ModelTestCases.All):
    model = InformationSystem
    update_data = {"name": "智慧教育云平台", "contractor": "示例运维有限公司"}
    bulk_edit_data = {"deployment": "government_cloud"}

    def make_object(self, unit, **kwargs):
        return InformationSystemFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        person = PersonFactory(unit=unit)
        return {
            "unit": unit.pk,
            "name": "网络学习空间",
            "business_type": BusinessType.objects.get(code="teaching").pk,
            "responsible_person": person.pk,
            "deployment": "on_premises",
            "internet_facing": "on",
            "status": "running",
            "built_on": "2023-03-01",
            "went_live_on": "2023-09-01",
            "chip_localization": "none",
            "os_localization": "partial",
            "db_localization": "complete",
            "middleware_localization": "none",
            "ipv6_support": "partial",
            "data_level": "general2",
            "holds_pi": "on",
            "holds_sensitive_pi": "on",
            "holds_minor_pi": "on",
            "holds_child_pi": "on",
            "child_guardian_consent": "done",
            "child_processing_rules": "partial",
            "child_encrypted_storage": "missing",
            "child_access_control": "done",
        }

    def api_data(self, unit):
        return {
            "unit": unit.pk,
            "name": "上网认证系统",
            "business_type": BusinessType.objects.get(code="management").pk,
            "deployment": "public_cloud",
            "status": "building",
            "built_on": "2026-01-05",
        }

    def import_rows(self, unit):
        return [
            {
                "unit": unit.code,
                "name": f"导入系统{i}",
                "business_type": "office",
                "deployment": "On premises" if i % 2 else "on_premises",  # label or value
                "internet_facing": "是",
                "status": "running",
                "went_live_on": "2024-09-01",
                "chip_localization": "none",
                "os_localization": "none",
                "db_localization": "none",
                "middleware_localization": "none",
                "ipv6_support": "none",
                "holds_pi": "是",
            }
            for i in range(5)
        ]

    def bad_import_row(self, unit):
        # children's PI without the minors'/sensitive flags breaks the consistency rule
        return {**self.import_rows(unit)[0], "name": "坏行系统", "holds_child_pi": "是"}

    def test_detail_lists_the_assets_of_the_system(self):
        system = self.make_object(self.unit_a)
        site = WebsiteFactory(unit=self.unit_a, system=system)
        domain = DomainFactory(unit=self.unit_a, system=system)
        ip_range = IPRangeFactory(unit=self.school_a, system=system)  # a school's range on its district's system
        app = MobileAppFactory(unit=self.unit_a, system=system)
        screen = ScreenFactory(unit=self.unit_a, system=system)
        unrelated = WebsiteFactory(unit=self.unit_a)
        response = self.client.get(self.url("detail", system))
        self.assertEqual(response.status_code, 200)
        for asset in (site, domain, ip_range, app, screen):
            self.assertContains(response, asset.get_absolute_url())
        self.assertNotContains(response, unrelated.get_absolute_url())
        self.assertEqual(response.context["asset_total"], 5)


class WebsiteTests(ModelTestCases.All):
    model = Website
    update_data = {"name": "甲区教育局门户", "cms": "示例CMS 4.0"}
    bulk_edit_data = {"cms": "示例CMS 5.0"}

    def make_object(self, unit, **kwargs):
        return WebsiteFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        system = InformationSystemFactory(unit=unit)
        return {
            "unit": unit.pk,
            "name": "门户网站",
            "url": "https://www.district-a.test/",
            "system": system.pk,
            "icp_number": "苏ICP备12345678号-1",
            "psb_number": "苏公网安备 32010202000001号",
            "cms": "示例CMS",
            "is_active": "on",
        }

    def api_data(self, unit):
        return {"unit": unit.pk, "name": "招生网", "url": f"https://zs-{unit.code}.school.example", "is_active": True}

    def import_rows(self, unit):
        system = InformationSystemFactory(unit=unit)
        return [
            {
                "unit": unit.code,
                "name": f"导入网站{i}",
                "url": f"https://import{i}.school.test",
                "system": str(system.pk),
                "icp_number": f"苏ICP备1234567{i}号",
                "is_active": "是",
            }
            for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {"unit": unit.code, "name": "坏行网站", "url": "ftp://files.school.test", "is_active": "是"}

    def test_an_internationalised_host_is_shown_as_registered_and_found_by_it(self):
        """A public institution's ``.公益`` site: stored and probed as punycode, shown and found in Chinese."""
        shown, stored = "https://北京市第一中学.公益", "https://xn--4gq1d1q29l7pmp1dht1e.xn--55qw42g"
        response = self.client.post(self.url("add"), self.form_data(self.unit_a) | {"url": shown + "/"})
        self.assertEqual(response.status_code, 302)
        site = Website.objects.get(unit=self.unit_a, url=stored)
        self.assertEqual((site.host, site.display_host), (stored[8:], "北京市第一中学.公益"))
        found = [self.url("list") + query for query in ("", "?q=北京市第一中学.公益", "?host=北京市第一中学.公益")]
        for page in (*found, self.url("detail", site)):
            self.assertContains(self.client.get(page), shown)
        self.assertContains(self.client.get(self.url("edit", site)), f'value="{shown}"')  # edited as registered
        self.assertNotContains(self.client.get(self.url("list") + "?q=北京市第二中学.公益"), shown)
        row = self.client.get(self.url("list") + "?export=csv").content.decode("utf-8-sig").splitlines()[1]
        self.assertIn(shown, row)
        answer = APIClient()
        answer.force_authenticate(self.user)
        data = answer.get(reverse("assets-website-detail", kwargs={"pk": site.pk})).json()
        self.assertEqual((data["url"], data["display_url"]), (stored, shown))


class DomainTests(ModelTestCases.All):
    model = Domain
    update_data = {"registrar": "另一注册商"}
    bulk_edit_data = {"registrar": "统一注册商"}

    def make_object(self, unit, **kwargs):
        return DomainFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        return {"unit": unit.pk, "name": "District-A.Test.", "registrar": "示例注册商", "expires_on": "2027-06-30"}

    def api_data(self, unit):
        return {"unit": unit.pk, "name": f"api-{unit.code}.school.example", "expires_on": "2027-01-31"}

    def import_rows(self, unit):
        return [
            {
                "unit": unit.code,
                "name": f"import{i}.school.example",
                "registrar": "示例注册商",
                "expires_on": "2027-12-31",
            }
            for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {"unit": unit.code, "name": "not a domain", "registrar": "示例注册商"}

    def test_name_is_stored_lower_case_without_the_final_dot(self):
        self.client.post(self.url("add"), self.form_data(self.unit_a))
        self.assertTrue(Domain.objects.filter(name="district-a.test", unit=self.unit_a).exists())

    def test_an_internationalised_name_is_stored_as_punycode_and_shown_as_registered(self):
        self.client.post(self.url("add"), self.form_data(self.unit_a) | {"name": "示范中学.公益"})
        domain = Domain.objects.get(unit=self.unit_a, name__startswith="xn--")
        self.assertEqual((str(domain), domain.name.endswith(".xn--55qw42g")), ("示范中学.公益", True))
        for page in (self.url("list") + "?q=示范中学.公益", self.url("detail", domain)):
            self.assertContains(self.client.get(page), "示范中学.公益")
        self.assertContains(self.client.get(self.url("edit", domain)), 'value="示范中学.公益"')


class IPRangeTests(ModelTestCases.All):
    model = IPRange
    update_data = {"purpose": "教学区"}
    bulk_edit_data = {"purpose": "办公区"}

    def make_object(self, unit, **kwargs):
        return IPRangeFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        return {"unit": unit.pk, "cidr": "192.0.2.0/26", "purpose": "校园网"}

    def api_data(self, unit):
        return {"unit": unit.pk, "cidr": "198.51.100.0/28", "purpose": "服务器区", "shared": False}

    def import_rows(self, unit):
        return [
            {"unit": unit.code, "cidr": f"203.0.113.{i * 16}/28", "purpose": "导入", "shared": "否"} for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {"unit": unit.code, "cidr": "203.0.113.300/28", "purpose": "坏行"}


class MobileAppTests(ModelTestCases.All):
    model = MobileApp
    update_data = {"provider": "另一科技有限公司"}
    bulk_edit_data = {"user_filing_state": "filed"}

    def make_object(self, unit, **kwargs):
        return MobileAppFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        return {
            "unit": unit.pk,
            "name": "家校通",
            "kind": "mini_program",
            "provider": "示例科技有限公司",
            "provider_filing_number": "教APP备0000001号",
            "user_filing_state": "filed",
            "icp_filed": "on",
            "mlps_filed": "on",
            "in_use": "on",
        }

    def api_data(self, unit):
        return {"unit": unit.pk, "name": "作业助手", "kind": "app", "user_filing_state": "not_filed", "in_use": True}

    def import_rows(self, unit):
        return [
            {
                "unit": unit.code,
                "name": f"导入应用{i}",
                "kind": "app",
                "provider": "示例科技有限公司",
                "user_filing_state": "not_filed",
                "icp_filed": "是",
                "mlps_filed": "否",
                "blacklisted": "否",
                "in_use": "是",
            }
            for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {"unit": unit.code, "name": "坏行应用", "kind": "game"}


class ScreenTests(ModelTestCases.All):
    model = Screen
    update_data = {"location": "校门口"}
    bulk_edit_data = {"content_control": "platform_managed"}

    def make_object(self, unit, **kwargs):
        return ScreenFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        person = PersonFactory(unit=unit)
        return {
            "unit": unit.pk,
            "name": "大厅电子屏",
            "location": "行政楼大厅",
            "networked": "on",
            "content_control": "platform_managed",
            "responsible_person": person.pk,
        }

    def api_data(self, unit):
        return {"unit": unit.pk, "name": "操场大屏", "location": "操场", "content_control": "offline_playback"}

    def import_rows(self, unit):
        return [
            {
                "unit": unit.code,
                "name": f"导入屏{i}",
                "location": f"{i}号楼",
                "networked": "否",
                "content_control": "none",
            }
            for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {"unit": unit.code, "name": "坏行屏", "location": ""}


# ---- business types: global reference data -------------------------------------------------------------------------

BT_LIST = "/assets/business-types/"
BT_API = "/api/assets/business-types/"


@pytest.fixture
def bt_tree(settings):
    settings.EDUSEC_REQUIRE_2FA = False
    return build_test_tree()


def _client(user):
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.django_db
def test_default_business_types_are_seeded():
    codes = list(BusinessType.objects.values_list("code", flat=True))
    assert codes == [
        "portal",
        "teaching",
        "management",
        "admission_exam",
        "campus_card",
        "security_video",
        "office",
        "data_platform",
        "other",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["school_netadmin", "school_cio", "auditor", "participant", "contractor"])
def test_every_role_sees_business_types_of_the_whole_installation(bt_tree, role):
    _root, _unit_a, unit_b, school_a = bt_tree
    user = make_user("viewer", school_a, [role])
    response = _client(user).get(BT_LIST)
    assert response.status_code == 200
    portal = BusinessType.objects.get(code="portal")
    assert portal.get_absolute_url() in response.content.decode()
    assert _client(user).get(portal.get_absolute_url()).status_code == 200
    rows = _api(user).get(BT_API, {"page_size": 100}).json()["results"]
    assert {r["code"] for r in rows} >= {"portal", "other"}
    # nothing to change for anyone but the bureau administrator
    assert _client(user).get(f"{BT_LIST}add/").status_code == 403
    assert _client(user).post(f"{portal.get_absolute_url()}edit/", {"code": "portal", "name": "改"}).status_code == 403
    assert _api(user).patch(f"{BT_API}{portal.pk}/", {"name": "改"}, format="json").status_code == 403
    assert _api(user).delete(f"{BT_API}{portal.pk}/").status_code == 403
    portal.refresh_from_db()
    assert portal.name == "门户网站"


@pytest.mark.django_db
def test_district_administrator_cannot_edit_business_types(bt_tree):
    _root, unit_a, *_ = bt_tree
    user = make_user("da", unit_a, ["district_admin"])
    assert _client(user).get(BT_LIST).status_code == 200
    assert _client(user).post(f"{BT_LIST}add/", {"code": "library", "name": "图书馆", "order": 5}).status_code == 403
    assert not BusinessType.objects.filter(code="library").exists()


@pytest.mark.django_db
def test_bureau_administrator_edits_business_types(bt_tree):
    root, *_ = bt_tree
    admin = make_user("ba", root, ["bureau_admin"])
    client = _client(admin)
    response = client.post(f"{BT_LIST}add/", {"code": "library", "name": "图书馆", "order": 95, "is_active": "on"})
    assert response.status_code == 302
    library = BusinessType.objects.get(code="library")
    assert AuditEntry.objects.filter(action="create", object_type="assets.businesstype", object_id=str(library.pk))
    response = _api(admin).patch(f"{BT_API}{library.pk}/", {"name": "图书馆系统"}, format="json")
    assert response.status_code == 200
    library.refresh_from_db()
    assert library.name == "图书馆系统"
    assert client.post(f"{library.get_absolute_url()}delete/").status_code == 302
    assert not BusinessType.objects.filter(code="library").exists()


@pytest.mark.django_db
def test_a_business_type_in_use_cannot_be_deleted_and_an_inactive_one_is_not_offered(bt_tree):
    root, unit_a, *_ = bt_tree
    admin = make_user("ba", root, ["bureau_admin"])
    office = BusinessType.objects.get(code="office")
    system = InformationSystemFactory(unit=unit_a, business_type=office)
    _client(admin).post(f"{office.get_absolute_url()}delete/")
    assert BusinessType.objects.filter(pk=office.pk).exists()
    office.is_active = False
    office.save()
    cio = make_user("cio", unit_a, ["school_cio"])
    response = _client(cio).get("/assets/systems/add/")
    assert office.pk not in {c.pk for c in response.context["form"].fields["business_type"].queryset}
    response = _client(cio).get(f"{system.get_absolute_url()}edit/")
    assert office.pk in {c.pk for c in response.context["form"].fields["business_type"].queryset}
