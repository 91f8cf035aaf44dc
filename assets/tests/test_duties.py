"""Duties of the ledger: facts gathered from the records, the duty page, the daily recorder, coverage."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from assets import mlps
from assets.duties import duty_rows, record_duty_states
from assets.models import Assessment, DutyStatus, Filing, Grading, InformationSystem, MobileApp
from core.models import AuditEntry
from core.testing import BACKEND, build_test_tree, make_user

from .factories import InformationSystemFactory, MobileAppFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 23)
LEVEL3 = mlps.grade([("society", "serious")], [("citizen", "serious")])


@pytest.fixture
def tree(settings):
    settings.EDUSEC_REQUIRE_2FA = False
    return build_test_tree()


def graded(system, user, *, approved_on, filed_on=None, assessed_on=None, high_risk=0):
    grading = Grading.start(system, LEVEL3, user=user, reason="initial", texts={})
    grading.approve(user=user)
    Grading.objects.filter(pk=grading.pk).update(level_fixed_on=approved_on)
    grading.refresh_from_db()
    if filed_on:
        Filing.objects.create(
            grading=grading,
            unit=system.unit,
            public_security_organ="示范市公安局网安支队",
            certificate_number="32990000000-00001",
            filed_on=filed_on,
        )
    if assessed_on:
        Assessment.objects.create(
            system=system,
            grading=grading,
            unit=system.unit,
            kind="assessment",
            agency="示例测评机构",
            assessed_on=assessed_on,
            score=88,
            compliance_rate=88,
            high_risk_count=high_risk,
        )
    return grading


def kinds(rows, system):
    return {r.duty.kind: r.duty for r in rows if r.subject == system}


def test_facts_come_from_the_current_grading_filing_and_assessments(tree):
    root, unit_a, unit_b, school_a = tree
    user = make_user("cio", school_a, ["school_cio"])
    ungraded = InformationSystemFactory(
        unit=school_a, status="running", internet_facing=True, went_live_on=datetime.date(2025, 1, 1)
    )
    unfiled = InformationSystemFactory(unit=school_a, status="running", went_live_on=datetime.date(2025, 1, 1))
    graded(unfiled, user, approved_on=datetime.date(2026, 11, 1))
    assessed = InformationSystemFactory(unit=school_a, status="running", went_live_on=datetime.date(2024, 1, 1))
    graded(
        assessed,
        user,
        approved_on=datetime.date(2025, 1, 1),
        filed_on=datetime.date(2025, 1, 20),
        assessed_on=datetime.date(2025, 12, 1),
    )
    late = InformationSystemFactory(unit=school_a, status="running", went_live_on=datetime.date(2024, 1, 1))
    graded(
        late,
        user,
        approved_on=datetime.date(2024, 1, 1),
        filed_on=datetime.date(2024, 1, 20),
        assessed_on=datetime.date(2025, 6, 1),
        high_risk=2,
    )

    rows = duty_rows(InformationSystem.objects.all(), MobileApp.objects.none(), TODAY)
    assert kinds(rows, ungraded)["grading"].state == "overdue"
    assert kinds(rows, ungraded)["internet_facing_ungraded"].state == "overdue"
    filing = kinds(rows, unfiled)["filing"]
    assert filing.due_on == datetime.date(2026, 12, 1) and filing.state == "due_soon"  # 30 days after approval
    assessment = kinds(rows, assessed)["assessment"]
    assert assessment.due_on == datetime.date(2026, 12, 1) and assessment.state == "due_soon"  # level 3: 12 months
    assert kinds(rows, late)["assessment"].state == "overdue"
    assert kinds(rows, late)["assessment_with_high_risk"].state == "overdue"


def test_app_duties(tree):
    root, unit_a, unit_b, school_a = tree
    app = MobileAppFactory(
        unit=school_a, provider_filing_number="", user_filing_state="not_filed", in_use=True, blacklisted=True
    )
    rows = duty_rows(InformationSystem.objects.none(), MobileApp.objects.all(), TODAY)
    assert {r.duty.kind for r in rows if r.subject == app} >= {
        "app_provider_filing",
        "app_user_filing",
        "app_blacklisted",
    }


def test_recorder_writes_changes_only_and_resolves(tree):
    root, unit_a, unit_b, school_a = tree
    user = make_user("cio", school_a, ["school_cio"])
    system = InformationSystemFactory(unit=school_a, status="running", went_live_on=datetime.date(2025, 1, 1))
    first = record_duty_states(TODAY)
    assert first["opened"] >= 1
    status = DutyStatus.objects.get(system=system, kind="grading", resolved_on__isnull=True)
    assert status.state == "overdue" and status.since == TODAY
    audited = AuditEntry.objects.filter(object_type="assets.dutystatus").count()
    again = record_duty_states(TODAY + datetime.timedelta(days=1))
    assert again["opened"] == 0 and again["changed"] == 0
    assert AuditEntry.objects.filter(object_type="assets.dutystatus").count() == audited  # no change, no entry
    graded(system, user, approved_on=TODAY)
    result = record_duty_states(TODAY + datetime.timedelta(days=2))
    assert result["resolved"] >= 1
    status.refresh_from_db()
    assert status.resolved_on == TODAY + datetime.timedelta(days=2)
    assert DutyStatus.objects.filter(system=system, kind="filing", resolved_on__isnull=True).exists()


def test_duty_page_lists_own_subtree_with_counts(tree):
    root, unit_a, unit_b, school_a = tree
    mine = InformationSystemFactory(
        unit=school_a, name="本区未定级系统", status="running", went_live_on=datetime.date(2025, 1, 1)
    )
    InformationSystemFactory(
        unit=unit_b, name="邻区未定级系统", status="running", went_live_on=datetime.date(2025, 1, 1)
    )
    client = Client()
    client.force_login(make_user("da", unit_a, ["district_admin"]), backend=BACKEND)
    response = client.get("/assets/duties/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "本区未定级系统" in body and "邻区未定级系统" not in body
    assert response.context["per_unit"][0]["unit"] == school_a and response.context["per_unit"][0]["overdue"] >= 1
    assert any(r.subject == mine for r in response.context["rows"])
    response = client.get(f"/assets/duties/?unit={unit_b.pk}")  # a sibling unit cannot be chosen
    assert "邻区未定级系统" not in response.content.decode()
    export = client.get("/assets/duties/?export=csv")
    assert "本区未定级系统" in export.content.decode("utf-8-sig")


def test_coverage_counts_per_subordinate_unit(tree):
    root, unit_a, unit_b, school_a = tree
    user = make_user("cio", school_a, ["school_cio"])
    today = timezone.localdate()  # the page counts on the real date
    a = InformationSystemFactory(unit=school_a, status="running", went_live_on=today - datetime.timedelta(days=900))
    graded(
        a,
        user,
        approved_on=today - datetime.timedelta(days=300),
        filed_on=today - datetime.timedelta(days=290),
        assessed_on=today - datetime.timedelta(days=100),
    )
    InformationSystemFactory(unit=school_a, status="running", went_live_on=datetime.date(2025, 1, 1))
    InformationSystemFactory(unit=unit_b, status="running")
    client = Client()
    client.force_login(make_user("ca", root, ["bureau_admin"]), backend=BACKEND)
    response = client.get("/assets/mlps-coverage/")
    assert response.status_code == 200
    table = {e["unit"].pk: e for e in response.context["table"]}
    assert table[root.pk]["systems"] == 3
    assert table[unit_a.pk]["systems"] == 2 and table[unit_a.pk]["graded"] == 1 and table[unit_a.pk]["filed"] == 1
    assert table[unit_a.pk]["assessed_on_time"] == 1 and table[unit_a.pk]["by_level"][3] == 1
    assert table[unit_b.pk]["graded"] == 0
    district = Client()
    district.force_login(make_user("da", unit_a, ["district_admin"]), backend=BACKEND)
    response = district.get(f"/assets/mlps-coverage/?unit={unit_b.pk}")  # falls back to the own unit
    assert response.context["root"] == unit_a


def test_due_state_filter_on_systems_and_the_api(tree):
    root, unit_a, unit_b, school_a = tree
    user = make_user("cio", school_a, ["school_cio"])
    overdue = InformationSystemFactory(
        unit=school_a, name="逾期系统", status="running", went_live_on=datetime.date(2025, 1, 1)
    )
    soon = InformationSystemFactory(
        unit=school_a, name="临期系统", status="running", went_live_on=datetime.date(2025, 1, 1)
    )
    graded(soon, user, approved_on=TODAY - datetime.timedelta(days=20))
    fine = InformationSystemFactory(unit=school_a, name="正常系统", status="building")
    record_duty_states(TODAY)
    client = Client()
    client.force_login(make_user("da", unit_a, ["district_admin"]), backend=BACKEND)

    def names(state):
        response = client.get("/api/assets/systems/", {"due_state": state, "page_size": 100})
        return {row["name"] for row in response.json()["results"]}

    assert overdue.name in names("overdue") and soon.name not in names("overdue")
    assert soon.name in names("due_soon") and overdue.name not in names("due_soon")
    assert fine.name in names("ok") and overdue.name not in names("ok")
