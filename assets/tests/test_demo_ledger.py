"""The demo region's asset ledger: every school and bureau has systems and sites, the MLPS records show every procedure
state with overdue and due-soon duties, nothing real is named, every row is valid, and loading twice changes nothing."""

import datetime
import ipaddress
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from assets import demo, mlps
from assets.duties import duty_rows
from assets.models import (
    Assessment,
    BusinessType,
    Domain,
    DutyStatus,
    Filing,
    Grading,
    GradingStep,
    InformationSystem,
    IPRange,
    MobileApp,
    Screen,
    Website,
)
from core.models import AuditEntry
from core.registry import demo_loaders
from orgs.models import Unit

ALLOWED_NETWORKS = [ipaddress.ip_network(n) for n in demo.DOCUMENTATION_NETWORKS]
CITY_PLATFORMS = [
    "示范市智慧教育云平台",
    "示范市网络学习空间",
    "示范市教育资源库",
    "示范市校园安防平台",
    "示范市教育城域网上网认证系统",
    "示范市教育局门户网站",
    "示范市中小学招生报名系统",
    "示范市教育数据中心",
    "示范市教育一卡通平台",
]
LEDGER_MODELS = (
    BusinessType,
    InformationSystem,
    Website,
    Domain,
    IPRange,
    MobileApp,
    Screen,
    Grading,
    GradingStep,
    Filing,
    Assessment,
    DutyStatus,
)


def _allowed_host(host: str) -> bool:
    if host.endswith((".example", ".test")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _inside_allowed(cidr: str) -> bool:
    network = ipaddress.ip_network(cidr)
    return any(network.version == n.version and network.subnet_of(n) for n in ALLOWED_NETWORKS)


@pytest.fixture
def ledger(db):
    call_command("load_demo", "--quiet")
    return Unit.objects.get(code=demo.CITY_CODE)


# ---- the plan (no database) -----------------------------------------------------------------------------------------


def test_loader_is_registered():
    assert demo.load in demo_loaders


def test_build_ledger_is_deterministic_and_fictional():
    today = datetime.date(2026, 3, 1)
    first, second = demo.build_ledger(today), demo.build_ledger(today)
    assert first == second
    assert all(_allowed_host(w.url.split("//", 1)[1].split("/")[0].rsplit(":", 1)[0]) for w in first.websites)
    assert all(d.name.endswith((".example", ".test")) for d in first.domains)
    # Address space: inside the documentation ranges and disjoint between units (the ledger refuses overlaps).
    networks = [(r.unit_code, ipaddress.ip_network(r.cidr)) for r in first.ranges]
    assert all(_inside_allowed(str(n)) for _u, n in networks)
    for i, (unit_a, a) in enumerate(networks):
        for unit_b, b in networks[i + 1 :]:
            assert unit_a == unit_b or a.version != b.version or not a.overlaps(b), (a, b)
    # Every event of a procedure lies on or before the day of loading and in procedure order.
    for plan in first.systems:
        days = [e.day for e in plan.events]
        assert days == sorted(days) and all(d <= today for d in days), plan.name
        assert (plan.level is None) == (not plan.events)


@pytest.mark.parametrize("today", [datetime.date(2028, 2, 29), datetime.date(2027, 1, 31), datetime.date(2026, 12, 31)])
def test_build_ledger_on_awkward_days(today):
    ledger = demo.build_ledger(today)
    assert ledger.systems and all(e.day <= today for p in ledger.systems for e in p.events)


def test_timeline_scenarios_give_the_promised_duty_states():
    today = datetime.date(2026, 6, 15)
    policy = mlps.MLPSPolicy()
    timeline = demo._Timeline(random.Random(7), today, policy)
    for _round in range(20):
        for level in (2, 3):
            events = timeline.events("approved_recent", level)
            approved_on = next(e.day for e in events if e.kind == "approve")
            facts = mlps.SystemFacts(
                "running",
                today - datetime.timedelta(days=900),
                level=level,
                level_fixed_on=approved_on,
                state="regulator_approval",
            )
            assert {d.kind: d.state for d in mlps.duties(facts, today, policy)}["filing"] == mlps.DUTY_DUE_SOON
            events = timeline.events("cert_due_soon", level)
            filed_on = next(e.day for e in events if e.kind == "file")
            valid_until = mlps.default_certificate_valid_until(filed_on, policy)
            assert mlps.duty_state(valid_until, today, policy.renewal_notice_days) == mlps.DUTY_DUE_SOON


# ---- the loaded ledger ----------------------------------------------------------------------------------------------


def test_every_unit_has_its_ledger(ledger):
    region = Unit.objects.filter(path__startswith=ledger.path)
    schools = list(region.filter(unit_type="school"))
    assert len(schools) >= 120
    sites = Counter(Website.objects.values_list("unit_id", flat=True))
    systems = Counter(InformationSystem.objects.values_list("unit_id", flat=True))
    portals = set(InformationSystem.objects.filter(business_type__code="portal").values_list("unit_id", flat=True))
    for school in schools:
        assert sites[school.pk] >= 1, school.name
        assert systems[school.pk] >= 2, school.name
        assert school.pk in portals, school.name
    assert Domain.objects.filter(unit__unit_type="school").values("unit").distinct().count() == len(schools)
    for district in region.filter(unit_type="district"):
        assert systems[district.pk] >= 4 and sites[district.pk] >= 1
        assert IPRange.objects.filter(unit=district, version=4).exists()
        assert IPRange.objects.filter(unit=district, version=6).exists()

    city_systems = InformationSystem.objects.filter(unit__path__startswith=ledger.path, unit__depth__lte=2)
    names = set(city_systems.values_list("name", flat=True))
    assert set(CITY_PLATFORMS) <= names
    assert InformationSystem.objects.filter(unit__code=demo.IT_CENTRE_CODE).count() >= 3
    data_centre = InformationSystem.objects.get(name="示范市教育数据中心")
    assert data_centre.business_type.code == "data_platform" and data_centre.data_level == "important"
    assert data_centre.mlps_level >= 3
    # Children's personal information, some with safeguards still missing or partly in place.
    child_systems = [s for s in InformationSystem.objects.filter(holds_child_pi=True).select_related("unit")]
    assert any(s.child_safeguard_gaps for s in child_systems if "kindergarten" in s.unit.stages)
    assert any(s.child_safeguard_gaps for s in child_systems if "primary" in s.unit.stages)
    assert all(s.holds_minor_pi and s.holds_sensitive_pi and s.holds_pi for s in child_systems)

    # Apps: some unfiled, exactly one blacklisted app still in use; screens at many schools.
    assert MobileApp.objects.filter(provider_filing_number="").exists()
    assert MobileApp.objects.filter(user_filing_state="not_filed", in_use=True).exists()
    assert MobileApp.objects.filter(blacklisted=True, in_use=True).count() == 1
    assert MobileApp.objects.filter(unit=ledger).exists()
    assert Screen.objects.filter(unit__unit_type="school").values("unit").distinct().count() >= len(schools) // 2
    assert not Screen.objects.filter(networked=False, content_control="platform_managed").exists()
    assert Screen.objects.filter(responsible_person__isnull=False).count() >= Screen.objects.count() * 0.9


def test_mlps_spread_and_duties(ledger):
    states = Counter(Grading.objects.filter(is_current=True).values_list("state", flat=True))
    for state in mlps.STATE_CODES:
        assert states[state] >= 1, state
    levels = Counter(Grading.objects.filter(is_current=True).values_list("level", flat=True))
    assert levels[2] > levels[3] > 0 and levels[1] > 0 and levels[4] >= 1
    assert all(g.state == mlps.STATE_GRADED_FINAL for g in Grading.objects.filter(is_current=True, level=1))
    assert InformationSystem.objects.filter(mlps_level__isnull=True, status="running", internet_facing=True).exists()
    assert Grading.objects.filter(is_current=False).exists(), "some systems were re-graded and keep their history"

    # The mirror on the system and the records agree, approvals fix the level before filing.
    for grading in Grading.objects.filter(is_current=True).select_related("system"):
        assert (grading.system.mlps_level, grading.system.mlps_state) == (grading.level, grading.state)
    for filing in Filing.objects.select_related("grading"):
        assert filing.grading.approved_by_id and filing.grading.level_fixed_on <= filing.filed_on
        assert filing.valid_until > filing.filed_on
    today = timezone.localdate()
    assert not GradingStep.objects.filter(at__gt=timezone.now()).exists()
    assert not Assessment.objects.filter(assessed_on__gt=today).exists()
    conclusions = set(Assessment.objects.filter(kind="assessment").values_list("conclusion", flat=True))
    assert {mlps.CONCLUSION_COMPLIANT, mlps.CONCLUSION_BASICALLY_COMPLIANT} <= conclusions

    rows = duty_rows(InformationSystem.objects.all(), MobileApp.objects.all())
    by_kind = Counter((r.duty.kind, r.duty.state) for r in rows)
    assert by_kind[(mlps.DUTY_GRADING, mlps.DUTY_OVERDUE)]
    assert by_kind[(mlps.DUTY_INTERNET_FACING_UNGRADED, mlps.DUTY_OVERDUE)]
    assert by_kind[(mlps.DUTY_FILING, mlps.DUTY_OVERDUE)] and by_kind[(mlps.DUTY_FILING, mlps.DUTY_DUE_SOON)]
    assert by_kind[(mlps.DUTY_CERTIFICATE_RENEWAL, mlps.DUTY_DUE_SOON)]
    assert by_kind[(mlps.DUTY_ASSESSMENT, mlps.DUTY_OVERDUE)] and by_kind[(mlps.DUTY_ASSESSMENT, mlps.DUTY_DUE_SOON)]
    assert by_kind[(mlps.DUTY_ASSESSMENT_WITH_HIGH_RISK, mlps.DUTY_OVERDUE)]
    assert by_kind[(mlps.DUTY_APP_BLACKLISTED, mlps.DUTY_OVERDUE)]
    assert by_kind[(mlps.DUTY_APP_USER_FILING, mlps.DUTY_OVERDUE)]
    # The daily recorder ran: every outstanding duty has its open record.
    assert DutyStatus.objects.filter(resolved_on__isnull=True).count() == len(rows)


def test_nothing_real_and_every_row_valid(ledger):
    for host in Website.objects.values_list("host", flat=True):
        assert _allowed_host(host), host
    for name in Domain.objects.values_list("name", flat=True):
        assert name.endswith((".example", ".test")), name
    for cidr in IPRange.objects.values_list("cidr", flat=True):
        assert _inside_allowed(cidr), cidr
    for icp, psb in Website.objects.values_list("icp_number", "psb_number"):
        assert not icp or icp.startswith("示ICP备")
        assert not psb or psb.startswith("示公网安备")
    assert Website.objects.filter(icp_number="").exists() and Website.objects.exclude(icp_number="").exists()
    for model in LEDGER_MODELS:
        objects = list(model.objects.all())
        assert len(objects) >= (9 if model is BusinessType else 50), model
        for obj in random.Random(2026).sample(objects, min(len(objects), 60)):
            obj.full_clean()
    # Ranges of different units never overlap (checked by the model for each row, here for all of them at once).
    ranges = list(IPRange.objects.order_by("version", "start_hex"))
    for a, b in zip(ranges, ranges[1:], strict=False):
        if a.version == b.version and a.unit_id != b.unit_id:
            assert a.end_hex < b.start_hex, (a.cidr, b.cidr)


def test_loading_again_changes_nothing(ledger):
    def counts():
        return [m.objects.count() for m in (*LEDGER_MODELS, AuditEntry)]

    before = counts()
    summary = AuditEntry.objects.filter(object_repr=demo.SUMMARY_OBJECT_REPR)
    assert summary.count() == 1 and summary.get().changes["systems"] == InformationSystem.objects.count()
    call_command("load_demo", "--quiet")
    assert counts() == before
    assert demo.load() is None
