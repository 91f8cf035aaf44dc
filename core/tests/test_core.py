"""The platform base: encryption at rest, audit diffs, role separation, role sync, navigation."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client

from core import audit, roles
from core.crypto import mask_value, sm3_hex, sm4_decrypt, sm4_encrypt
from core.models import AuditEntry
from core.registry import registry
from core.testing import BACKEND, build_test_tree, make_user
from orgs.models import Person, User

pytestmark = pytest.mark.django_db


def test_sm3_known_answer():
    # GB/T 32905-2016 example: SM3("abc")
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm4_round_trip_and_random_nonce():
    a, b = sm4_encrypt("13812345678"), sm4_encrypt("13812345678")
    assert a != b
    assert sm4_decrypt(a) == sm4_decrypt(b) == "13812345678"


def test_phone_is_encrypted_at_rest_and_masked_in_audit():
    root, unit_a, *_ = build_test_tree()
    person = Person.objects.create(unit=unit_a, name="张三", phone="13812345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM orgs_person WHERE id = %s", [person.pk])
        stored = cursor.fetchone()[0]
    assert "13812345678" not in stored and stored.startswith("sm4gcm$")
    assert Person.objects.get(pk=person.pk).phone == "13812345678"
    entry = AuditEntry.objects.get(action="create", object_id=str(person.pk), object_type="orgs.person")
    assert entry.changes["phone"] == [None, "138****5678"]
    assert mask_value("13812345678") == "138****5678"


def test_update_records_only_changed_fields():
    root, unit_a, *_ = build_test_tree()
    person = Person.objects.create(unit=unit_a, name="张三", position="教师")
    person.position = "校长"
    person.save()
    entry = AuditEntry.objects.filter(action="update", object_id=str(person.pk)).get()
    assert entry.changes == {"position": ["教师", "校长"]}
    assert entry.unit_path == unit_a.path


def test_audit_entries_are_append_only():
    root, *_ = build_test_tree()
    entry = AuditEntry.objects.order_by("seq").first()
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(pk=entry.pk).update(username="x")
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.username = "x"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        entry.delete()
    assert audit.verify_chain().ok


def test_separation_of_duties():
    assert roles.separation_violation(["bureau_admin", "school_cio"]) is None
    assert roles.separation_violation(["bureau_admin", "auditor"]) is not None
    assert roles.separation_violation(["security_officer", "district_admin"]) is not None
    assert roles.separation_violation(["security_officer", "auditor"]) is not None


def test_roles_follow_the_registered_matrices():
    auditor = Group.objects.get(name="auditor")
    perms = set(auditor.permissions.values_list("codename", flat=True))
    assert "view_auditentry" in perms
    assert not any(p.startswith(("add_", "change_", "delete_")) for p in perms)
    for config in registry.all():
        assert f"view_{config.model_name}" in perms
    assert not Group.objects.get(name="bureau_admin").permissions.filter(codename="view_auditentry").exists()


def test_role_grant_is_a_permission_change_by_the_security_officer_only(settings):
    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, unit_b, school_a = build_test_tree()
    officer = make_user("sec", root, ["security_officer"])
    admin = make_user("adm", root, ["bureau_admin"])
    target = make_user("target", school_a, [])
    client = Client()
    client.force_login(admin, backend=BACKEND)
    assert client.get(f"/orgs/users/{target.pk}/roles/").status_code == 403
    client.force_login(officer, backend=BACKEND)
    response = client.post(f"/orgs/users/{target.pk}/roles/", {"roles": ["school_cio"]})
    assert response.status_code == 302
    assert User.objects.get(pk=target.pk).role_codes() == ["school_cio"]
    entry = AuditEntry.objects.filter(action="permission", object_id=str(target.pk)).latest("seq")
    assert entry.changes["roles"] == {"granted": ["school_cio"]}
    assert entry.username == "sec"
    response = client.post(f"/orgs/users/{target.pk}/roles/", {"roles": ["bureau_admin", "auditor"]})
    assert response.status_code == 200 and response.context["form"].errors
    response = client.post(f"/orgs/users/{officer.pk}/roles/", {"roles": ["security_officer", "school_cio"]})
    assert response.status_code == 200 and response.context["form"].errors  # nobody changes their own roles


def test_auditor_reads_the_audit_log_of_its_subtree_only(settings):
    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, unit_b, school_a = build_test_tree()
    Person.objects.create(unit=unit_a, name="甲区人员")
    Person.objects.create(unit=unit_b, name="乙区人员")
    auditor = make_user("aud", unit_a, ["auditor"])
    admin = make_user("adm", unit_a, ["district_admin"])
    client = Client()
    client.force_login(admin, backend=BACKEND)
    assert client.get("/audit/").status_code == 403
    client.force_login(auditor, backend=BACKEND)
    response = client.get("/audit/?q=人员")
    body = response.content.decode()
    assert "甲区人员" in body and "乙区人员" not in body
    other = AuditEntry.objects.filter(object_repr="乙区人员").first()
    assert client.get(f"/audit/{other.pk}/").status_code == 404


def test_navigation_shows_only_what_the_user_may_see(settings):
    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, *_ = build_test_tree()
    participant = make_user("p", unit_a, ["participant"])
    client = Client()
    client.force_login(participant, backend=BACKEND)
    response = client.get("/")
    labels = [str(i["label"]) for g in response.context["nav_groups"] for i in g["items"]]
    urls = [i["url"] for g in response.context["nav_groups"] for i in g["items"]]
    assert "/orgs/units/" in urls and "/orgs/users/" not in urls and "/audit/" not in urls, labels


def test_changing_a_roles_permissions_is_audited():
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name="participant")
    perm = Permission.objects.get(codename="view_person")
    group.permissions.add(perm)
    entry = AuditEntry.objects.filter(action="permission", object_type="auth.group").latest("seq")
    assert entry.changes == {"permissions": {"granted": ["orgs.view_person"]}}
    roles.sync_roles()  # the code's matrix wins again, and that is audited too
    assert not group.permissions.filter(pk=perm.pk).exists()
    entry = AuditEntry.objects.filter(action="permission", object_type="auth.group").latest("seq")
    assert (
        entry.changes["permissions"] == {"revoked": ["orgs.view_person"]} or "cleared" in entry.changes["permissions"]
    )


def test_pbkdf2_sm3_hasher_round_trip():
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password("Xy@20260101z", hasher="pbkdf2_sm3")
    assert encoded.startswith("pbkdf2_sm3$")
    assert check_password("Xy@20260101z", encoded)
    assert not check_password("Xy@20260101y", encoded)


def test_api_session_of_an_administrator_needs_the_second_factor(settings):
    settings.EDUSEC_REQUIRE_2FA = True
    root, unit_a, *_ = build_test_tree()
    admin = make_user("adm2", unit_a, ["district_admin"])
    client = Client()
    client.force_login(admin, backend=BACKEND)  # password only, no OTP verification
    assert client.get("/api/orgs/units/").status_code in (401, 403)
    settings.EDUSEC_REQUIRE_2FA = False
    assert client.get("/api/orgs/units/").status_code == 200


def test_create_user_starts_password_history_and_expiry_clock():
    root, unit_a, *_ = build_test_tree()
    user = make_user("fresh", unit_a, [])
    assert user.password_changed_at is not None
    assert user.password_history.count() == 1


def test_only_the_longest_matching_menu_item_is_current():
    from core.navigation import mark_active

    groups = [
        {"items": [{"url": "/monitoring/"}, {"url": "/monitoring/checks/"}, {"url": "/monitoring/events/"}]},
        {"items": [{"url": "/findings/findings/"}]},
    ]
    mark_active(groups, "/monitoring/checks/7/")
    assert [item["active"] for item in groups[0]["items"]] == [False, True, False]
    assert groups[1]["items"][0]["active"] is False
    mark_active(groups, "/monitoring/")
    assert [item["active"] for item in groups[0]["items"]] == [True, False, False]
