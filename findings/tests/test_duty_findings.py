"""Overdue MLPS / app duties become findings (created, refreshed, reopened, closed by the daily recorder), and a newly
registered asset claims the unattributed findings it explains."""

import datetime

import pytest

from assets.duties import record_duty_states
from assets.models import InformationSystem
from assets.tests.factories import InformationSystemFactory, IPRangeFactory, MobileAppFactory, WebsiteFactory
from core.testing import build_test_tree
from findings.duties import duty_severity
from findings.importers.base import Record
from findings.models import Finding
from findings.writer import write_records

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 23)


@pytest.fixture
def tree(settings):
    settings.EDUSEC_REQUIRE_2FA = False
    return build_test_tree()


def duty_findings(**filters):
    return Finding.objects.filter(source="mlps_duty", **filters)


def test_overdue_duties_become_findings_and_close_when_fulfilled(tree):
    root, unit_a, unit_b, school_a = tree
    system = InformationSystemFactory(
        unit=school_a, name="学籍系统", status="running", internet_facing=True, went_live_on=datetime.date(2025, 1, 1)
    )
    record_duty_states(TODAY)
    findings = {f.rule_id: f for f in duty_findings(system=system)}
    assert "mlps_duty:internet_facing_ungraded" in findings
    ungraded = findings["mlps_duty:internet_facing_ungraded"]
    assert ungraded.unit == school_a and ungraded.severity == "high" and ungraded.status == "open"
    assert "学籍系统" in ungraded.title and ungraded.risk_score > 0

    record_duty_states(TODAY + datetime.timedelta(days=1))  # still overdue: refreshed, never duplicated
    assert duty_findings(system=system, rule_id="mlps_duty:internet_facing_ungraded").count() == 1

    InformationSystem.objects.filter(pk=system.pk).update(internet_facing=False, status="retired")
    record_duty_states(TODAY + datetime.timedelta(days=2))
    ungraded.refresh_from_db()
    assert ungraded.status == "fixed" and ungraded.closed_by_rescan

    InformationSystem.objects.filter(pk=system.pk).update(internet_facing=True, status="running")
    record_duty_states(TODAY + datetime.timedelta(days=3))
    ungraded.refresh_from_db()
    assert ungraded.status == "reopened"


def test_a_blacklisted_app_in_use_is_a_critical_finding_on_its_unit(tree):
    root, unit_a, unit_b, school_a = tree
    app = MobileAppFactory(unit=school_a, in_use=True, blacklisted=True)
    record_duty_states(TODAY)
    finding = duty_findings(app=app, rule_id="mlps_duty:app_blacklisted").get()
    assert finding.severity == "critical" and finding.unit == school_a


def test_duty_severity_is_raised_for_level_three_systems():
    assert duty_severity("filing", 2) == "medium"
    assert duty_severity("filing", 3) == "high"
    assert duty_severity("self_inspection", 4) == "low"


def test_registering_the_missing_asset_claims_unattributed_findings(tree):
    root, unit_a, unit_b, school_a = tree
    records = [
        Record(tool="nuclei", rule_id="nuclei:x", title="x", severity="high", host="oa.yixiao.school.example"),
        Record(tool="nmap", rule_id="nmap:rdp", title="RDP", severity="high", ip="198.51.100.7", port=3389),
        Record(tool="nmap", rule_id="nmap:rdp", title="RDP", severity="high", ip="203.0.113.7", port=3389),
    ]
    write_records(records, unit=unit_a)
    assert Finding.objects.filter(attributed=False, unit=unit_a).count() == 3

    WebsiteFactory(unit=school_a, url="https://oa.yixiao.school.example")
    IPRangeFactory(unit=school_a, cidr="198.51.100.0/28")
    on_school = Finding.objects.filter(unit=school_a)
    assert on_school.count() == 2 and all(f.attributed for f in on_school)
    assert on_school.get(host="oa.yixiao.school.example").website is not None
    assert Finding.objects.get(ip="203.0.113.7").attributed is False  # nothing registered explains it


def test_a_sibling_asset_does_not_claim_another_districts_findings(tree):
    root, unit_a, unit_b, school_a = tree
    write_records(
        [Record(tool="nmap", rule_id="nmap:rdp", title="RDP", severity="high", ip="198.51.100.7", port=3389)],
        unit=unit_a,
    )
    IPRangeFactory(unit=unit_b, cidr="198.51.100.0/28")
    finding = Finding.objects.get()
    assert finding.unit == unit_a and not finding.attributed
