"""``audit_verify``: an intact chain passes; an edited, removed or truncated entry is found and named."""

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection

from core.audit import record
from core.models import AuditAction, AuditChainHead, AuditEntry
from orgs.models import Person, Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries():
    """A few audited changes (create unit, create person, edit person, plus one explicit entry)."""
    unit = Unit.objects.add_root(
        instance=Unit(name="测试市教育局", code="329900", unit_type="city", division_code="329900")
    )
    person = Person.objects.create(unit=unit, name="张三", phone="13900000001", email="zs@edu.example")
    person.position = "局长"
    person.save()
    record(AuditAction.EXPORT, object_repr="people list", unit_path=unit.path)
    person.position = "副局长"
    person.save()
    count = AuditEntry.objects.count()
    assert count >= 5
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, count + 1))
    return count


def run_verify():
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_fresh_installation_chain_is_intact():
    # A new database already holds entries: granting the roles their permissions is a permission change.
    code, out, err = run_verify()
    assert code == 0 and err == ""
    assert out.startswith("audit chain intact:")


def test_intact_chain(entries):
    code, out, err = run_verify()
    assert code == 0 and err == ""
    assert f"audit chain intact: {entries} entries" in out


def test_altered_entry_is_named(entries):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET object_repr='x' WHERE seq=2")
    code, out, err = run_verify()
    assert code != 0 and out == ""
    assert "audit chain BROKEN at entry #2:" in err and "altered" in err


def test_altered_changes_field_is_found(entries):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET changes='{}' WHERE seq=3")
    code, _out, err = run_verify()
    assert code != 0 and "#3" in err


def test_rehashed_entry_breaks_the_next_link(entries):
    """Recomputing the hash of an edited entry does not help: the next entry no longer links to it."""
    from core.audit import compute_hash

    entry = AuditEntry.objects.get(seq=2)
    entry.object_repr = "x"
    forged = compute_hash(entry)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET object_repr='x', hash=%s WHERE seq=2", [forged])
    code, _out, err = run_verify()
    assert code != 0 and "BROKEN at entry #3:" in err


def test_removed_middle_entry_is_named(entries):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq=3")
    code, _out, err = run_verify()
    assert code != 0
    assert "audit chain BROKEN at entry #3:" in err and "missing" in err


def test_removed_last_entry_is_found(entries):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq=%s", [entries])
    code, _out, err = run_verify()
    assert code != 0
    assert f"#{entries}" in err and "missing" in err


def test_removed_tail_and_head_reset_is_still_found(entries):
    """Dropping the newest entries cannot hide behind a missing chain head either if the head is left alone."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq>=%s", [entries - 1])
    code, _out, err = run_verify()
    assert code != 0 and f"#{entries - 1}" in err
    assert AuditChainHead.objects.get(pk=1).seq == entries


def test_orm_refuses_to_change_entries(entries):
    entry = AuditEntry.objects.get(seq=1)
    entry.object_repr = "x"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        entry.delete()
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(seq=1).update(object_repr="x")
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(seq=1).delete()
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == entries
    assert run_verify()[0] == 0


def test_an_entry_is_named_in_local_time(entries):
    """Its name gives the time as the auditor's clock shows it (China Standard Time), whatever the stored UTC."""
    from django.utils import timezone

    entry = AuditEntry.objects.get(seq=1)
    local = timezone.localtime(entry.timestamp, timezone.get_fixed_timezone(8 * 60))
    assert str(entry).startswith(f"#1 {local:%Y-%m-%d %H:%M:%S} ")
