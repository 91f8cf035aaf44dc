"""Unit rules beyond the generic tests: code validation in forms, moving subtrees, accountability gaps, scoping."""

import pytest
from django.test import Client, override_settings

from core.models import AuditEntry
from core.testing import BACKEND, build_test_tree, make_user
from orgs.models import Accountability, Person, Unit

from .factories import UnitFactory

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


def test_school_code_must_match_the_province_of_its_district(tree):
    root, unit_a, unit_b, school_a = tree
    client = login(make_user("da", unit_a, ["district_admin"]))
    response = client.post(
        "/orgs/units/add/",
        {
            "parent": unit_a.pk,
            "name": "错码学校",
            "unit_type": "school",
            "school_code": "2133990001",
            "status": "active",
        },
    )
    assert response.status_code == 200
    assert "school_code" in response.context["form"].errors
    assert not Unit.objects.filter(name="错码学校").exists()


def test_school_needs_a_school_code_and_bureau_a_division_code(tree):
    root, unit_a, *_ = tree
    client = login(make_user("da", unit_a, ["district_admin"]))
    response = client.post(
        "/orgs/units/add/", {"parent": unit_a.pk, "name": "无码学校", "unit_type": "school", "status": "active"}
    )
    assert "school_code" in response.context["form"].errors
    response = client.post(
        "/orgs/units/add/", {"parent": root.pk, "name": "无码区", "unit_type": "district", "status": "active"}
    )
    # root is outside a district admin's subtree: refused as an invalid choice, not created
    assert "parent" in response.context["form"].errors


def test_district_code_must_lie_within_the_city(tree):
    root, *_ = tree
    client = login(make_user("ca", root, ["bureau_admin"]))
    response = client.post(
        "/orgs/units/add/",
        {"parent": root.pk, "name": "外市区", "unit_type": "district", "division_code": "320101", "status": "active"},
    )
    assert "division_code" in response.context["form"].errors


def test_move_subtree_is_audited_and_keeps_descendants(tree):
    root, unit_a, unit_b, school_a = tree
    client = login(make_user("ca", root, ["bureau_admin"]))
    response = client.post(f"/orgs/units/{school_a.pk}/move/", {"target": unit_b.pk})
    assert response.status_code == 302
    school_a.refresh_from_db()
    unit_b.refresh_from_db()
    assert Unit.objects.get_parent(school_a) == unit_b
    assert school_a.path.startswith(unit_b.path)
    entry = AuditEntry.objects.get(action="move", object_id=str(school_a.pk))
    assert entry.changes["parent"] == ["甲区教育局", "乙区教育局"]


def test_district_admin_cannot_move_into_a_sibling_or_move_its_own_root(tree):
    root, unit_a, unit_b, school_a = tree
    client = login(make_user("da", unit_a, ["district_admin"]))
    response = client.post(f"/orgs/units/{school_a.pk}/move/", {"target": unit_b.pk})
    assert response.status_code == 200 and "target" in response.context["form"].errors
    assert client.get(f"/orgs/units/{unit_a.pk}/move/").status_code == 403
    assert client.get(f"/orgs/units/{unit_b.pk}/move/").status_code == 404


def test_unit_page_flags_empty_accountable_roles(tree):
    root, unit_a, unit_b, school_a = tree
    head = Person.objects.create(unit=school_a, name="校长甲")
    Accountability.objects.create(unit=school_a, person=head, role="head")
    client = login(make_user("da", unit_a, ["district_admin"]))
    response = client.get(f"/orgs/units/{school_a.pk}/")
    assert response.status_code == 200
    gaps = [str(g) for g in response.context["gaps"]]
    assert len(gaps) == 4 and not any("一把手" in g or "Head" in g for g in gaps)
    for role in ["leader", "cio", "security_officer", "netadmin"]:
        person = Person.objects.create(unit=school_a, name=f"人{role}")
        Accountability.objects.create(
            unit=school_a, person=person, role=role, netadmin_mode="full_time" if role == "netadmin" else ""
        )
    response = client.get(f"/orgs/units/{school_a.pk}/")
    assert response.context["gaps"] == []


def test_accountable_person_must_belong_to_the_unit_or_above(tree):
    root, unit_a, unit_b, school_a = tree
    outsider = Person.objects.create(unit=unit_b, name="外区人员")
    client = login(make_user("ca", root, ["bureau_admin"]))
    response = client.post("/orgs/accountability/add/", {"unit": school_a.pk, "person": outsider.pk, "role": "cio"})
    assert response.status_code == 200
    assert "person" in response.context["form"].errors


def test_scoping_hides_ancestors_and_siblings_everywhere(tree):
    root, unit_a, unit_b, school_a = tree
    user = make_user("da", unit_a, ["district_admin"])
    visible = set(Unit.objects.restrict(user, "view").values_list("pk", flat=True))
    assert visible == {unit_a.pk, school_a.pk}
    client = login(user)
    for unit in (root, unit_b):
        assert client.get(f"/orgs/units/{unit.pk}/").status_code == 404
    response = client.get("/orgs/units/?q=乙区")
    assert "乙区教育局" not in response.content.decode()
    response = client.get("/api/orgs/units/", {"q": "乙区"})
    assert response.json()["count"] == 0


def test_role_without_write_permission_is_refused(tree):
    root, unit_a, unit_b, school_a = tree
    client = login(make_user("aud", unit_a, ["auditor"]))
    assert client.get("/orgs/units/").status_code == 200
    assert client.get("/orgs/units/add/").status_code == 403
    assert client.post(f"/orgs/units/{school_a.pk}/delete/").status_code == 403
    assert Unit.objects.filter(pk=school_a.pk).exists()


def test_deleting_a_unit_with_people_is_refused_with_a_message(tree):
    root, unit_a, unit_b, school_a = tree
    Person.objects.create(unit=school_a, name="在岗人员")
    client = login(make_user("da", unit_a, ["district_admin"]))
    response = client.post(f"/orgs/units/{school_a.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert Unit.objects.filter(pk=school_a.pk).exists()


@override_settings(LANGUAGE_CODE="en")
def test_unit_factory_creates_valid_schools(tree):
    root, unit_a, *_ = tree
    school = UnitFactory.create(unit_a)
    school.full_clean()


def test_person_page_has_breadcrumbs_by_unit(tree):
    root, unit_a, unit_b, school_a = tree
    person = Person.objects.create(unit=school_a, name="面包屑人员")
    client = login(make_user("da", unit_a, ["district_admin"]))
    response = client.get(f"/orgs/people/{person.pk}/")
    trail = [u.name for u in response.context["unit_trail"]]
    assert trail == ["甲区教育局", "甲区第一小学"]  # the city above the district admin is not shown


def test_an_exported_list_imports_again(tree):
    """Export → edit in Excel → import: the export's ID column is ignored and its columns match the template."""
    import io

    from openpyxl import Workbook, load_workbook

    root, unit_a, unit_b, school_a = tree
    Person.objects.create(unit=school_a, name="导出人员", position="教师")
    client = login(make_user("da", unit_a, ["district_admin"]))
    exported = load_workbook(io.BytesIO(client.get("/orgs/people/?export=xlsx").content)).worksheets[0]
    rows = [list(r) for r in exported.iter_rows(values_only=True)]
    wb = Workbook()
    ws = wb.active
    ws.append(rows[0])
    ws.append(["", school_a.code, "再导入人员", "", "", "教师", "是"])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "again.xlsx"
    response = client.post("/orgs/people/import/", {"file": buffer})
    assert response.status_code == 302, response.context and [str(e) for e in response.context.get("errors") or []]
    assert Person.objects.filter(name="再导入人员", unit=school_a).exists()
