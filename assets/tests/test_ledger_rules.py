"""Ledger rules beyond the generic tests: IP range overlap between units, URL → host, personal-information flags,
localization status, lifecycle dates, the children's-PI checklist, and links that must stay inside the unit chain."""

import datetime
import ipaddress

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from assets.models import (
    BusinessType,
    Domain,
    InformationSystem,
    IPRange,
    Localization,
    MobileApp,
    Website,
)
from assets.models.ledger import address_hex, normalise_url, parse_range
from core.testing import BACKEND, build_test_tree, make_user
from orgs.tests.factories import PersonFactory

from .factories import InformationSystemFactory, IPRangeFactory, MobileAppFactory, WebsiteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_2fa")]


@pytest.fixture
def no_2fa(settings):
    settings.EDUSEC_REQUIRE_2FA = False


@pytest.fixture
def tree():
    return build_test_tree()


def login(user):
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def cidr_error(unit, cidr, shared=False):
    """The message clean() gives for ``cidr`` in ``unit``, or None when the range is accepted."""
    try:
        with translation.override("en"):
            IPRange(unit=unit, cidr=cidr, shared=shared).full_clean()
    except ValidationError as exc:
        return " ".join(exc.message_dict.get("cidr", ["(other field)"]))
    return None


# ---- IP ranges ------------------------------------------------------------------------------------------------------


def test_ipv4_ranges_of_sibling_units_must_not_overlap(tree):
    _root, unit_a, unit_b, _school = tree
    IPRangeFactory(unit=unit_a, cidr="192.0.2.0/24")
    message = cidr_error(unit_b, "192.0.2.128/25")
    assert message and "192.0.2.0/24" in message and "192.0.2.128/25" in message
    assert cidr_error(unit_b, "192.0.2.77") is not None  # a single address inside it
    assert cidr_error(unit_b, "198.51.100.0/24") is None
    assert cidr_error(unit_b, "192.0.2.0/23") is not None  # a range around it


def test_adjacent_ranges_do_not_overlap(tree):
    _root, unit_a, unit_b, _school = tree
    IPRangeFactory(unit=unit_a, cidr="192.0.2.0/25")
    assert cidr_error(unit_b, "192.0.2.128/25") is None
    assert cidr_error(unit_b, "192.0.2.127") is not None


def test_ipv6_ranges_of_different_units_must_not_overlap(tree):
    _root, unit_a, unit_b, school_a = tree
    IPRangeFactory(unit=unit_a, cidr="2001:db8:1::/48")
    assert "2001:db8:1::/48" in cidr_error(unit_b, "2001:db8:1:ff::/64")
    assert cidr_error(school_a, "2001:db8:1::1") is not None  # a unit below is another unit too
    assert cidr_error(unit_b, "2001:db8:2::/48") is None
    assert cidr_error(unit_b, "2001:db8::/32") is not None


def test_ipv4_and_ipv6_never_overlap(tree):
    _root, unit_a, unit_b, _school = tree
    IPRangeFactory(unit=unit_a, cidr="192.0.2.0/24")
    # the IPv4-mapped IPv6 form has the same low bits but is another address family
    assert cidr_error(unit_b, "::ffff:c000:200/120") is None


def test_overlap_is_allowed_only_when_both_ranges_are_shared(tree):
    _root, unit_a, unit_b, _school = tree
    IPRangeFactory(unit=unit_a, cidr="203.0.113.0/24", shared=True)
    IPRangeFactory(unit=unit_a, cidr="198.51.100.0/24", shared=False)
    assert cidr_error(unit_b, "203.0.113.0/25", shared=True) is None
    assert cidr_error(unit_b, "203.0.113.0/25", shared=False) is not None
    assert cidr_error(unit_b, "198.51.100.0/25", shared=True) is not None


def test_overlap_is_checked_against_units_the_user_cannot_see_without_naming_them(tree):
    _root, unit_a, unit_b, _school = tree
    IPRangeFactory(unit=unit_a, cidr="192.0.2.0/24")
    user_b = make_user("netadmin_b", unit_b, ["school_netadmin"])
    response = login(user_b).post("/assets/ip-ranges/add/", {"unit": unit_b.pk, "cidr": "192.0.2.0/26"})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["cidr"])
    assert "192.0.2.0/24" in errors
    body = response.content.decode()
    for secret in (unit_a.name, unit_a.code):
        assert secret not in errors and secret not in body
    response = api_for(user_b).post(
        "/api/assets/ip-ranges/", {"unit": unit_b.pk, "cidr": "192.0.2.0/26"}, format="json"
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "192.0.2.0/24" in text and unit_a.name not in text and unit_a.code not in text
    assert not IPRange.objects.filter(unit=unit_b).exists()


def test_within_one_unit_nesting_is_allowed_but_not_the_same_range_twice(tree):
    _root, unit_a, _unit_b, _school = tree
    IPRangeFactory(unit=unit_a, cidr="192.0.2.0/24")
    IPRangeFactory(unit=unit_a, cidr="192.0.2.1")
    assert cidr_error(unit_a, "192.0.2.0/26") is None
    assert "already" in cidr_error(unit_a, "192.0.2.0/24")
    assert "already" in cidr_error(unit_a, "192.0.2.1/32")  # the same range, written differently


def test_editing_a_range_does_not_conflict_with_itself(tree):
    _root, unit_a, _unit_b, _school = tree
    ip_range = IPRangeFactory(unit=unit_a, cidr="192.0.2.0/24")
    ip_range.purpose = "改用途"
    ip_range.full_clean()


def test_cidr_is_normalised_and_host_bits_are_refused():
    assert str(parse_range(" 192.0.2.7 ")) == "192.0.2.7/32"
    assert str(parse_range("2001:DB8:0:0::1")) == "2001:db8::1/128"
    with pytest.raises(ValueError, match="192.0.2.0/24"):
        parse_range("192.0.2.1/24")  # host bits set: the message suggests the network
    for bad in ("192.0.2.300/24", "school.example", "", "10.0.0.0/4", "2001:db8::/8"):
        with pytest.raises(ValueError):
            parse_range(bad)


def test_bounds_are_stored_as_fixed_width_hex(tree):
    _root, unit_a, _unit_b, _school = tree
    v4 = IPRangeFactory(unit=unit_a, cidr="192.0.2.0/24")
    assert (v4.version, v4.start_hex, v4.end_hex) == (4, "0" * 24 + "c0000200", "0" * 24 + "c00002ff")
    v6 = IPRangeFactory(unit=unit_a, cidr="2001:db8::/32")
    assert (v6.version, v6.start_hex, v6.end_hex) == (6, "20010db8" + "0" * 24, "20010db8" + "f" * 24)
    assert (v6.first_address, v6.last_address) == ("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")


def test_contains_filter_finds_the_range_of_an_address(tree):
    _root, unit_a, _unit_b, _school = tree
    inside = IPRangeFactory(unit=unit_a, cidr="198.51.100.0/24")
    IPRangeFactory(unit=unit_a, cidr="203.0.113.0/24")
    user = make_user("da", unit_a, ["district_admin"])
    client = login(user)
    rows = api_for(user).get("/api/assets/ip-ranges/", {"contains": "198.51.100.77"})
    assert [r["id"] for r in rows.json()["results"]] == [inside.pk]
    response = client.get("/assets/ip-ranges/", {"contains": "198.51.100.77"})
    assert inside.get_absolute_url() in response.content.decode()


# ---- websites -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, normalised, host",
    [
        ("HTTPS://WWW.School.Example:443/", "https://www.school.example", "www.school.example"),
        ("http://portal.school.test/index.html#top", "http://portal.school.test/index.html", "portal.school.test"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080", "127.0.0.1"),
        ("https://[::1]:8443/news?id=1", "https://[::1]:8443/news?id=1", "::1"),
        ("http://www.school.example:80/a/", "http://www.school.example/a/", "www.school.example"),
    ],
)
def test_url_is_normalised_and_host_derived(tree, url, normalised, host):
    _root, unit_a, _unit_b, _school = tree
    site = Website(unit=unit_a, name="门户", url=url)
    site.full_clean()
    site.save()
    site.refresh_from_db()
    assert (site.url, site.host) == (normalised, host)
    assert normalise_url(normalised) == normalised  # idempotent


def test_host_follows_the_url_on_every_save(tree):
    _root, unit_a, _unit_b, _school = tree
    site = WebsiteFactory(unit=unit_a, url="https://old.school.example")
    site.url = "https://New.School.Example/"
    site.save()  # no clean(): the host must still follow
    site.refresh_from_db()
    assert site.host == "new.school.example"
    assert Website.objects.filter(host="new.school.example").count() == 1


def test_host_through_the_api_is_derived_and_read_only(tree):
    _root, unit_a, _unit_b, _school = tree
    user = make_user("cio", unit_a, ["school_cio"])
    response = api_for(user).post(
        "/api/assets/websites/",
        {"unit": unit_a.pk, "name": "门户", "url": "https://WWW.District-A.test/", "host": "evil.example"},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["url"] == "https://www.district-a.test"
    assert data["host"] == "www.district-a.test"
    assert data["page_url"].startswith("/assets/websites/")


def test_urls_are_unique_after_normalisation(tree):
    _root, unit_a, unit_b, _school = tree
    WebsiteFactory(unit=unit_a, url="https://www.school.example")
    duplicate = Website(unit=unit_b, name="重复", url="HTTPS://www.school.example/")
    with pytest.raises(ValidationError) as exc:
        duplicate.full_clean()
    assert "url" in exc.value.message_dict


@pytest.mark.parametrize(
    "url",
    ["ftp://files.school.example", "https://user:secret@www.school.example", "javascript:alert(1)", "www school"],
)
def test_only_plain_http_and_https_addresses(tree, url):
    _root, unit_a, _unit_b, _school = tree
    with pytest.raises(ValidationError) as exc:
        Website(unit=unit_a, name="坏", url=url).full_clean()
    assert "url" in exc.value.message_dict


def test_filing_numbers_are_checked(tree):
    _root, unit_a, _unit_b, _school = tree
    site = Website(
        unit=unit_a, name="门户", url="https://a.school.example", icp_number="苏ICP备 12345678号-2", psb_number=""
    )
    site.full_clean()
    assert site.icp_number == "苏ICP备12345678号-2"
    site.psb_number = "苏公网安备 32010202000001号"
    site.full_clean()
    site.icp_number, site.psb_number = "12345678", "公安备案"
    with pytest.raises(ValidationError) as exc:
        site.full_clean()
    assert {"icp_number", "psb_number"} <= set(exc.value.message_dict)


def test_domain_names_are_validated_and_lower_cased(tree):
    _root, unit_a, _unit_b, _school = tree
    domain = Domain(unit=unit_a, name="Www.School.Example.")
    domain.full_clean()
    assert domain.name == "www.school.example"
    for bad in ("localhost", "-bad.example", "bad_label.example", "school.123", "a" * 64 + ".example"):
        with pytest.raises(ValidationError):
            Domain(unit=unit_a, name=bad).full_clean()


# ---- information systems --------------------------------------------------------------------------------------------


def system(unit, **kwargs):
    defaults = {"name": "系统", "business_type": BusinessType.objects.get(code="teaching"), "status": "running"}
    return InformationSystem(unit=unit, **{**defaults, **kwargs})


@pytest.mark.parametrize(
    "flags, bad_fields",
    [
        ({"holds_child_pi": True}, {"holds_minor_pi", "holds_sensitive_pi"}),
        ({"holds_child_pi": True, "holds_minor_pi": True, "holds_sensitive_pi": True}, {"holds_pi"}),
        ({"holds_minor_pi": True}, {"holds_pi"}),
        ({"holds_sensitive_pi": True}, {"holds_pi"}),
        ({"holds_child_pi": True, "holds_minor_pi": True, "holds_pi": True}, {"holds_sensitive_pi"}),
        ({"holds_child_pi": True, "holds_sensitive_pi": True, "holds_pi": True}, {"holds_minor_pi"}),
        ({"holds_pi": True, "holds_minor_pi": True}, set()),
        ({"holds_pi": True, "holds_sensitive_pi": True, "holds_minor_pi": True, "holds_child_pi": True}, set()),
        ({}, set()),
    ],
)
def test_personal_information_flags_are_consistent(tree, flags, bad_fields):
    _root, unit_a, _unit_b, _school = tree
    candidate = system(unit_a, **flags)
    if not bad_fields:
        candidate.full_clean()
        return
    with pytest.raises(ValidationError) as exc:
        candidate.full_clean()
    assert set(exc.value.message_dict) == bad_fields


def test_child_safeguards_apply_only_to_children_pi(tree):
    _root, unit_a, _unit_b, _school = tree
    child = system(unit_a, holds_pi=True, holds_sensitive_pi=True, holds_minor_pi=True, holds_child_pi=True)
    child.child_guardian_consent = "done"
    child.full_clean()
    assert (child.child_guardian_consent, child.child_processing_rules) == ("done", "missing")
    assert child.child_safeguard_gaps == 3
    adult = system(unit_a, holds_pi=True, child_encrypted_storage="done")
    adult.full_clean()
    assert adult.child_encrypted_storage == "" and adult.child_safeguard_gaps == 0
    adult.child_access_control = "partial"
    adult.save()  # also without clean()
    adult.refresh_from_db()
    assert adult.child_access_control == ""


@pytest.mark.parametrize(
    "layers, expected",
    [
        (("none", "none", "none", "none"), Localization.NONE),
        (("complete", "complete", "complete", "complete"), Localization.COMPLETE),
        (("complete", "none", "none", "none"), Localization.PARTIAL),
        (("partial", "partial", "partial", "partial"), Localization.PARTIAL),
        (("complete", "complete", "complete", "partial"), Localization.PARTIAL),
        (("none", "none", "none", "partial"), Localization.PARTIAL),
    ],
)
def test_localization_status_is_derived_from_the_layers(tree, layers, expected):
    _root, unit_a, _unit_b, _school = tree
    names = ("chip_localization", "os_localization", "db_localization", "middleware_localization")
    obj = InformationSystemFactory(unit=unit_a, **dict(zip(names, layers, strict=True)))
    assert obj.localization_status == expected
    user = make_user("cio", unit_a, ["school_cio"])
    response = api_for(user).get("/api/assets/systems/", {"localization": expected.value})
    assert [r["id"] for r in response.json()["results"]] == [obj.pk]
    assert response.json()["results"][0]["localization_status"] == expected.value
    for other in set(Localization) - {expected}:
        response = api_for(user).get("/api/assets/systems/", {"localization": other.value})
        assert response.json()["results"] == []


@pytest.mark.parametrize(
    "status, dates, bad_fields",
    [
        ("running", {}, set()),
        ("running", {"built_on": "2023-01-01", "went_live_on": "2023-09-01"}, set()),
        ("running", {"built_on": "2023-09-02", "went_live_on": "2023-09-01"}, {"went_live_on"}),
        ("running", {"retired_on": "2025-01-01"}, {"retired_on"}),
        ("building", {"built_on": "2026-01-01"}, set()),
        ("building", {"built_on": "2026-01-01", "went_live_on": "2026-09-01"}, set()),  # planned go-live
        ("building", {"built_on": "2026-01-01", "stopped_on": "2026-09-01"}, {"stopped_on"}),
        ("stopped", {}, {"stopped_on"}),
        ("stopped", {"went_live_on": "2023-09-01", "stopped_on": "2023-08-01"}, {"stopped_on"}),
        ("stopped", {"went_live_on": "2023-09-01", "stopped_on": "2025-07-01"}, set()),
        ("retired", {"stopped_on": "2025-07-01"}, {"retired_on"}),
        ("retired", {"retired_on": "2025-12-31"}, set()),
        (
            "retired",
            {
                "built_on": "2020-01-01",
                "went_live_on": "2020-09-01",
                "stopped_on": "2025-07-01",
                "retired_on": "2025-06-30",
            },
            {"retired_on"},
        ),
        (
            "retired",
            {
                "built_on": "2020-01-01",
                "went_live_on": "2020-09-01",
                "stopped_on": "2025-07-01",
                "retired_on": "2025-12-31",
            },
            set(),
        ),
    ],
)
def test_lifecycle_dates(tree, status, dates, bad_fields):
    _root, unit_a, _unit_b, _school = tree
    candidate = system(unit_a, status=status, **{k: datetime.date.fromisoformat(v) for k, v in dates.items()})
    if not bad_fields:
        candidate.full_clean()
        return
    with pytest.raises(ValidationError) as exc:
        candidate.full_clean()
    assert set(exc.value.message_dict) == bad_fields


def test_mlps_fields_are_not_writable_through_form_or_api(tree):
    _root, unit_a, _unit_b, _school = tree
    obj = InformationSystemFactory(unit=unit_a)
    user = make_user("cio", unit_a, ["school_cio"])
    response = api_for(user).patch(
        f"/api/assets/systems/{obj.pk}/", {"mlps_level": 3, "mlps_state": "filed", "name": "改名"}, format="json"
    )
    assert response.status_code == 200
    obj.refresh_from_db()
    assert (obj.name, obj.mlps_level, obj.mlps_state) == ("改名", None, "")
    InformationSystem.objects.filter(pk=obj.pk).update(mlps_level=3, mlps_state="filed")
    response = api_for(user).get("/api/assets/systems/", {"mlps_level": ["3"]})
    assert [r["id"] for r in response.json()["results"]] == [obj.pk]
    response = api_for(user).get("/api/assets/systems/", {"mlps_level": ["none"]})
    assert response.json()["results"] == []


# ---- the children's-PI checklist on pages ---------------------------------------------------------------------------


def test_detail_page_shows_the_children_pi_checklist(tree):
    _root, unit_a, _unit_b, _school = tree
    child = InformationSystemFactory(
        unit=unit_a,
        name="学生成长档案",
        holds_pi=True,
        holds_sensitive_pi=True,
        holds_minor_pi=True,
        holds_child_pi=True,
        child_guardian_consent="done",
        child_processing_rules="partial",
        child_encrypted_storage="missing",
        child_access_control="done",
    )
    client = login(make_user("cio", unit_a, ["school_cio"]))
    body = client.get(child.get_absolute_url()).content.decode()
    assert 'data-testid="child-pi-safeguards"' in body
    assert 'data-testid="child-pi-badge"' in body
    for field, state in (
        ("child_guardian_consent", "done"),
        ("child_processing_rules", "partial"),
        ("child_encrypted_storage", "missing"),
        ("child_access_control", "done"),
    ):
        assert f'data-safeguard="{field}" data-state="{state}"' in body
    assert 'data-testid="child-pi-gaps"' in body  # two items are not in place

    plain = InformationSystemFactory(unit=unit_a, name="办公系统", holds_pi=True)
    body = client.get(plain.get_absolute_url()).content.decode()
    assert "child-pi-safeguards" not in body and "child-pi-badge" not in body


def test_lists_badge_systems_with_children_pi(tree):
    _root, unit_a, _unit_b, _school = tree
    child = InformationSystemFactory(
        unit=unit_a, holds_pi=True, holds_sensitive_pi=True, holds_minor_pi=True, holds_child_pi=True
    )
    WebsiteFactory(unit=unit_a, system=child)
    client = login(make_user("cio", unit_a, ["school_cio"]))
    assert client.get("/assets/systems/").content.decode().count('data-testid="child-pi-badge"') == 1
    assert client.get("/assets/websites/").content.decode().count('data-testid="child-pi-badge"') == 1
    response = client.get("/assets/systems/", {"holds_child_pi": "true"})
    assert child.get_absolute_url() in response.content.decode()


# ---- links stay inside the unit chain -------------------------------------------------------------------------------


def test_responsible_person_and_system_must_be_at_or_above_the_unit(tree):
    root, unit_a, unit_b, school_a = tree
    person_b = PersonFactory(unit=unit_b)
    person_root = PersonFactory(unit=root)
    with pytest.raises(ValidationError) as exc:
        system(unit_a, responsible_person=person_b).full_clean()
    assert "responsible_person" in exc.value.message_dict
    system(unit_a, responsible_person=person_root).full_clean()

    school_system = InformationSystemFactory(unit=school_a)
    district_system = InformationSystemFactory(unit=unit_a)
    with pytest.raises(ValidationError) as exc:
        Website(unit=unit_a, name="站", url="https://x.school.example", system=school_system).full_clean()
    assert "system" in exc.value.message_dict
    Website(unit=school_a, name="站", url="https://y.school.example", system=district_system).full_clean()


def test_a_school_user_cannot_link_a_sibling_system(tree):
    _root, unit_a, unit_b, _school = tree
    other_system = InformationSystemFactory(unit=unit_b)
    user = make_user("cio", unit_a, ["school_cio"])
    response = login(user).post(
        "/assets/websites/add/",
        {"unit": unit_a.pk, "name": "站", "url": "https://z.school.example", "system": other_system.pk},
    )
    assert "system" in response.context["form"].errors
    response = api_for(user).post(
        "/api/assets/websites/",
        {"unit": unit_a.pk, "name": "站", "url": "https://z.school.example", "system": other_system.pk},
        format="json",
    )
    assert response.status_code == 400
    assert not Website.objects.filter(url="https://z.school.example").exists()


def test_contractors_do_not_see_the_ledger_yet(tree):
    _root, unit_a, _unit_b, _school = tree
    InformationSystemFactory(unit=unit_a)
    contractor = make_user("contractor", unit_a, ["contractor"])
    assert login(contractor).get("/assets/systems/").status_code == 403
    assert InformationSystem.objects.restrict(contractor, "view").count() == 0


def test_apps_that_must_be_cleared(tree):
    _root, unit_a, _unit_b, _school = tree
    filed = MobileAppFactory(unit=unit_a, user_filing_state="filed", icp_filed=True, mlps_filed=True)
    unfiled = MobileAppFactory(unit=unit_a, user_filing_state="not_filed")
    blacklisted = MobileAppFactory(unit=unit_a, user_filing_state="filed", blacklisted=True)
    retired = MobileAppFactory(unit=unit_a, user_filing_state="not_filed", in_use=False)
    assert [a.must_be_cleared for a in (filed, unfiled, blacklisted, retired)] == [False, True, True, False]
    assert unfiled.missing_prerequisites and not filed.missing_prerequisites
    user = make_user("cio", unit_a, ["school_cio"])
    rows = api_for(user).get("/api/assets/apps/", {"must_be_cleared": "true"}).json()["results"]
    assert {r["id"] for r in rows} == {unfiled.pk, blacklisted.pk}
    assert MobileApp.objects.count() == 4


# ---- the hex bounds agree with ipaddress on overlap -----------------------------------------------------------------


def _networks():
    v4 = st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)).map(
        lambda t: ipaddress.ip_network((t[0], t[1]), strict=False)
    )
    v6 = st.tuples(st.integers(0, 2**128 - 1), st.integers(16, 128)).map(
        lambda t: ipaddress.ip_network((t[0], t[1]), strict=False)
    )
    return st.one_of(v4, v6)


@given(_networks(), _networks())
def test_hex_bounds_overlap_exactly_when_the_networks_do(a, b):
    def bounds(n):
        return n.version, address_hex(n.network_address), address_hex(n.broadcast_address)

    (va, sa, ea), (vb, sb, eb) = bounds(a), bounds(b)
    assert len(sa) == len(ea) == 32
    hex_overlap = va == vb and sa <= eb and sb <= ea
    assert hex_overlap == (a.version == b.version and a.overlaps(b))


def test_an_import_cannot_smuggle_overlapping_ranges_of_two_units(tree):
    """Rows are validated before any is written, so the overlap is checked again when each row is saved."""
    import io

    from openpyxl import Workbook

    from core.registry import registry
    from core.xlsx import header_for

    _root, unit_a, _unit_b, school_a = tree
    user = make_user("da", unit_a, ["district_admin"])
    config = registry.get(IPRange)
    form = config.form(user=user)
    wb = Workbook()
    ws = wb.active
    ws.append([header_for(form.fields[n], n) for n in config.import_fields])
    for unit, cidr in ((unit_a, "192.0.2.0/24"), (school_a, "192.0.2.64/26")):
        ws.append([{"unit": unit.code, "cidr": cidr}.get(n, "") for n in config.import_fields])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "ranges.xlsx"
    response = login(user).post("/assets/ip-ranges/import/", {"file": buffer})
    assert response.status_code == 200
    assert response.context["errors"]
    assert "192.0.2.0/24" in str(response.context["errors"][0])
    assert not IPRange.objects.exists()
