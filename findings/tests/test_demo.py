"""The demo scans: real files of every format imported through the upload path, a realistic spread over the region's
units and severities, a history with fixed/reopened findings, unattributed findings, nothing real, and loading twice
changes nothing."""

import hashlib
import importlib.util
import io
import ipaddress
import re
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from assets import demo as assets_demo
from assets.demo import DOCUMENTATION_NETWORKS
from core.models import AuditAction, AuditEntry
from core.registry import demo_loaders
from findings import demo
from findings.importers.detect import parse_any
from findings.models import SEVERITY_ORDER, Finding, FindingSource, ImportState, ScanImport
from orgs.models import Unit

pytestmark = pytest.mark.django_db

ALLOWED_NETWORKS = [ipaddress.ip_network(n) for n in DOCUMENTATION_NETWORKS]
REAL_DOMAIN_RE = re.compile(r"[a-z0-9-]+\.(?:com|cn|net|org|edu|gov|io)(?![\w.-])", re.IGNORECASE)
IPV4_RE = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")


@pytest.fixture
def region(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo", "--quiet")
    return Unit.objects.get(code=demo.CITY_CODE)


def _allowed_address(value: str) -> bool:
    address = ipaddress.ip_address(value)
    return any(address.version == n.version and address in n for n in ALLOWED_NETWORKS)


def test_loader_runs_after_the_asset_ledger():
    assert demo.load in demo_loaders
    assert demo_loaders.index(assets_demo.load) < demo_loaders.index(demo.load)


def test_demo_scans(region):
    imports = list(ScanImport.objects.filter(unit__path__startswith=region.path).order_by("created_at"))
    assert {i.file_format for i in imports} == {"nmap", "nuclei", "nessus", "zap", "testssl"}
    assert all(i.state == ImportState.DONE and i.records > 0 and i.created_by is not None for i in imports)
    assert {i.created_by.username for i in imports} == {"city_security", "dh_security"}
    # dated in the past, in upload order; the stored file is what was imported
    assert all(i.created_at < timezone.now() - timezone.timedelta(days=3) for i in imports)
    assert [i.created_at for i in imports] == sorted(i.created_at for i in imports)
    for scan_import in imports:
        with scan_import.upload.open("rb") as fh:
            data = fh.read()
        assert len(data) == scan_import.size
        assert hashlib.new("sm3", data).hexdigest() == scan_import.sm3
        assert parse_any(io.BytesIO(data))[0] == scan_import.file_format
        text = data.decode("utf-8")
        assert not REAL_DOMAIN_RE.search(text), (scan_import.file_name, REAL_DOMAIN_RE.search(text))
        assert all(_allowed_address(ip) for ip in IPV4_RE.findall(text)), scan_import.file_name
    # the re-scan closed what was fixed, reopened what was only said to be fixed, and found something new
    rescan = imports[-1]
    assert rescan.close_missing and rescan.file_format == "nuclei"
    assert rescan.closed > 0 and rescan.reopened > 0 and rescan.new > 0 and rescan.updated > 0
    assert sum(i.rejected for i in imports) > 0  # the district's scan strayed into the neighbouring district
    assert sum(i.unattributed for i in imports) > 0

    findings = Finding.objects.filter(unit__path__startswith=region.path, source=FindingSource.SCANNER)
    assert 300 <= findings.count() <= 3000
    assert set(findings.values_list("severity", flat=True)) == set(SEVERITY_ORDER)
    assert {"open", "confirmed", "fixed", "reopened", "risk_accepted"} <= set(findings.values_list("status", flat=True))
    assert findings.filter(closed_by_rescan=True).exists()
    assert findings.exclude(requested_status="").count() == 1
    assert {"city", "affiliated", "district", "school"} <= set(findings.values_list("unit__unit_type", flat=True))
    seen_twice = findings.filter(times_seen=2).first()
    assert seen_twice is not None and seen_twice.first_seen < seen_twice.last_seen < timezone.now()

    # most schools have low/medium findings, some high, a handful critical
    worst = {}
    open_problems = findings.filter(unit__unit_type="school", status__in=("open", "confirmed", "reopened"))
    for code, severity in open_problems.exclude(severity="info").values_list("unit__code", "severity"):
        worst[code] = max(worst.get(code, "info"), severity, key=SEVERITY_ORDER.get)
    spread = Counter(worst.values())
    schools = Unit.objects.filter(unit_type="school").count()
    assert spread["low"] + spread["medium"] > schools / 3
    assert schools / 20 <= spread["high"] <= schools / 4
    assert 2 <= spread["critical"] <= schools / 10

    # unattributed: unregistered sites parked on the city, an unregistered VPN gateway on the district that found it
    unattributed = findings.filter(attributed=False)
    assert unattributed.filter(unit=region).exists()
    vpn = unattributed.filter(tool="nessus", port=443)
    assert vpn.exists() and {f.unit.unit_type for f in vpn} == {"district"}
    for host in findings.exclude(host="").values_list("host", flat=True).distinct():
        assert host.endswith((".example", ".test")), host
    for ip in findings.exclude(ip="").values_list("ip", flat=True).distinct():
        assert _allowed_address(ip), ip

    if importlib.util.find_spec("findings.duties") is not None:
        assert Finding.objects.filter(source=FindingSource.MLPS_DUTY).exists()

    # one summary audit entry; the orgs demo's IMPORT entry stays the only one; the chain is intact
    summary = AuditEntry.objects.get(object_repr=demo.SUMMARY_OBJECT_REPR)
    assert summary.changes["imports"] == len(imports)
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT).count() == 1
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue()


def test_scans_are_deterministic_and_loading_again_adds_nothing(region):
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    first = demo.build_scans(demo.read_snapshot(region), today, tz)
    second = demo.build_scans(demo.read_snapshot(region), today, tz)
    assert [(f.file_name, f.data) for f in first] == [(f.file_name, f.data) for f in second]

    def counts():
        return [m.objects.count() for m in (Finding, ScanImport, AuditEntry)]

    before = counts()
    call_command("load_demo", "--quiet")
    assert counts() == before
    assert demo.load() is None
