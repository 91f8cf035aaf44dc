"""The demo region: size, valid codes, deliberate gaps, idempotent loading, demo accounts, nothing real."""

import io
import json
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from core.models import AuditAction, AuditEntry
from core.roles import ROLES
from orgs import demo, validators
from orgs.models import REQUIRED_ROLES, Accountability, Person, SchoolStage, Unit, User

pytestmark = pytest.mark.django_db

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def region(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS  # the shared demo password is hashed once; keep authenticate() fast
    call_command("load_demo", quiet=True)
    return Unit.objects.get(code=demo.CITY_CODE)


def _json_accounts():
    out = io.StringIO()
    call_command("demo_accounts", json=True, stdout=out)
    return json.loads(out.getvalue())


def test_build_region_is_deterministic():
    first, second = demo.build_region(), demo.build_region()
    assert [(u.code, u.name, [p.name for p in u.people]) for u in first.units] == [
        (u.code, u.name, [p.name for p in u.people]) for u in second.units
    ]


def test_region_shape(region):
    assert region.unit_type == "city" and region.name == "示范市教育局"
    assert validators.division_level(region.division_code) == "city"

    districts = list(Unit.objects.filter(unit_type="district"))
    assert len(districts) >= 5
    for d in districts:
        assert Unit.objects.get_parent(d) == region
        assert validators.division_code_error(d.division_code) is None
        assert validators.division_level(d.division_code) == "county"
        assert d.division_code[:4] == region.division_code[:4]

    affiliated = list(Unit.objects.filter(unit_type="affiliated"))
    assert len(affiliated) == 3
    assert all(Unit.objects.get_parent(u) == region and not u.division_code and not u.school_code for u in affiliated)

    schools = list(Unit.objects.filter(unit_type="school"))
    assert len(schools) >= 120
    assert len({s.school_code[4:] for s in schools}) == len(schools), "sequence digits are unique"
    for s in schools:
        assert s.code == s.school_code
        assert validators.school_code_error(s.school_code, s.effective_division_code()) is None
        assert s.effective_division_code()[:4] == region.division_code[:4]
        assert s.stages and set(s.stages) <= set(SchoolStage.values)
        s._parent_for_validation = Unit.objects.get_parent(s)
        s.full_clean(exclude=["path", "depth", "numchild"])
    for d in districts:
        assert 20 <= Unit.objects.get_children_count(d) <= 25

    stages = {stage for s in schools for stage in s.stages}
    assert stages >= {"kindergarten", "primary", "junior", "senior", "vocational", "special"}
    assert {s.school_code[:2] for s in schools} >= {"11", "21", "31", "34", "36", "51"}
    assert all(u.name for u in Unit.objects.all())
    assert len({u.name for u in Unit.objects.all()}) == Unit.objects.count()
    assert Unit.objects.find_problems() == ([], [], [], [], [])


def test_accountability_mostly_complete_with_deliberate_gaps(region):
    units = list(Unit.objects.all())
    gaps = {u.code: u.accountability_gaps() for u in units}
    with_gaps = [code for code, g in gaps.items() if g]
    schools = [u for u in units if u.unit_type == "school"]
    school_gaps = [u for u in schools if gaps[u.code]]
    assert with_gaps, "some gaps are deliberate"
    assert 0.05 <= len(school_gaps) / len(schools) <= 0.3
    assert len(with_gaps) < len(units) / 4, "most units are complete"
    bureaus_without_officer = [
        u
        for u in units
        if u.unit_type == "district"
        and "security_officer" not in set(Accountability.objects.filter(unit=u).values_list("role", flat=True))
    ]
    assert [u.code for u in bureaus_without_officer] == [demo.DISTRICT_WITHOUT_SECURITY_OFFICER]
    assert not gaps[demo.CITY_CODE]

    for duty in Accountability.objects.select_related("person__unit", "unit"):
        assert duty.role in REQUIRED_ROLES
        assert bool(duty.netadmin_mode) == (duty.role == "netadmin")
        duty.full_clean()
    assert {d.netadmin_mode for d in Accountability.objects.filter(role="netadmin")} == {"full_time", "part_time"}
    assert Person.objects.filter(unit=region).count() >= 5


def test_load_is_idempotent(region):
    def counts():
        return [m.objects.count() for m in (Unit, Person, Accountability, User, AuditEntry)]

    before = counts()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "already loaded" in out.getvalue()
    assert counts() == before
    assert demo.load() is None


def test_load_writes_one_import_audit_entry(region):
    entries = AuditEntry.objects.filter(action=AuditAction.IMPORT)
    assert entries.count() == 1
    assert entries.get().changes["schools"] >= 120
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue()


def test_demo_accounts_cover_every_role_and_log_in(region):
    rows = _json_accounts()
    assert rows
    assert {r["role"] for r in rows} == set(ROLES)
    assert set(rows[0]) == {"username", "password", "role", "role_label", "unit_code", "unit_name"}
    assert len({r["username"] for r in rows}) == len(rows) == User.objects.filter(is_demo=True).count()

    levels = {r["role"]: set() for r in rows}
    for row in rows:
        unit = Unit.objects.get(code=row["unit_code"])
        assert unit.name == row["unit_name"]
        levels[row["role"]].add(unit.unit_type)
        request = RequestFactory().post("/login/")
        user = authenticate(request=request, username=row["username"], password=row["password"])
        assert user is not None, row["username"]
        assert user.is_demo and user.unit == unit and user.role_codes() == [row["role"]]
    # every level has accounts; sibling districts exist for scoping demos
    assert {"city", "district", "school"} <= {lvl for s in levels.values() for lvl in s}
    assert {"city", "district", "school"} <= levels["auditor"]
    assert len({r["unit_code"] for r in rows if r["role"] == "district_admin"}) >= 2
    # accounts for accountable roles are linked to the person holding that role
    cio = User.objects.get(username="school_cio")
    assert Accountability.objects.filter(unit=cio.unit, role="cio", person=cio.person).exists()


def test_demo_password_meets_policy():
    from django.contrib.auth.password_validation import validate_password

    validate_password(demo.DEMO_PASSWORD)


def test_demo_accounts_table_and_empty_list():
    assert _json_accounts() == []
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    assert "load_demo" in out.getvalue()


def test_demo_accounts_table(region):
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    text = out.getvalue()
    assert "city_admin" in text and demo.DEMO_PASSWORD in text and "示范市教育局" in text


def test_demo_accounts_lists_only_demo_users(region):
    User.objects.create_user("real_person", password="Xy7#kq2!Lm", unit=region)
    assert "real_person" not in {r["username"] for r in _json_accounts()}


DOMAIN_RE = re.compile(r"[a-z0-9-]+\.(com|cn|net|org|edu|gov|io)\b", re.IGNORECASE)


def test_nothing_real(region):
    texts = []
    for unit in Unit.objects.all():
        texts += [unit.name, unit.short_name, unit.code, unit.address, unit.contact_name, unit.contact_phone]
        assert unit.address.startswith("示范市")
        assert unit.contact_phone.startswith("0599-8")
    for person in Person.objects.all():
        texts += [person.name, person.phone, person.email, person.position]
        assert person.email.endswith(".example")
        assert person.phone.isdigit() and len(person.phone) == 11
    for user in User.objects.filter(is_demo=True):
        texts += [user.username, user.full_name, user.email]
        assert user.email.endswith(".example")
    for text in texts:
        assert "http" not in text.lower() and "www" not in text.lower()
        assert not DOMAIN_RE.search(text), text
    assert len({p.phone for p in Person.objects.all()}) == Person.objects.count()
