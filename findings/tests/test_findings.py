"""Findings: the shared writer (dedup, re-import, close on re-scan, reopen, asset matching, unattributed), the import
paths (command line, upload page with a background task), scoping, scoring, and the generic pages/API."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from assets.tests.factories import InformationSystemFactory, IPRangeFactory, WebsiteFactory
from core.models import AuditEntry, TaskRun
from core.testing import BACKEND, ModelTestCases, build_test_tree, make_user
from findings.importers.base import Record
from findings.models import Finding, ScanImport
from findings.scoring import risk_score
from findings.writer import fingerprint, write_records
from orgs.models import Unit

SCANS = Path(__file__).resolve().parents[3] / "shared" / "data" / "scans"


@pytest.fixture
def tree(settings, tmp_path):
    settings.EDUSEC_REQUIRE_2FA = False
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_test_tree()


def rec(rule="CVE-2021-44228", host="", ip="", port=443, severity="high", url=""):
    return Record(
        tool="nuclei", rule_id=rule, title=f"问题 {rule}", severity=severity, host=host, ip=ip, port=port, url=url
    )


@pytest.mark.django_db
def test_reimport_never_duplicates_and_counts(tree):
    root, unit_a, unit_b, school_a = tree
    records = [rec(ip="192.0.2.10"), rec(ip="192.0.2.11"), rec(rule="CVE-2023-1", ip="192.0.2.10")]
    first = write_records(records + [records[0]], unit=unit_a)  # a duplicate inside the file counts once
    assert (first.records, first.new, first.updated) == (4, 3, 0)
    again = write_records(records, unit=unit_a)
    assert (again.new, again.updated) == (0, 3)
    assert Finding.objects.count() == 3
    assert set(Finding.objects.values_list("times_seen", flat=True)) == {2}


@pytest.mark.django_db
def test_reimport_refreshes_severity_score_evidence_and_last_import(tree):
    """Two kinds of re-seen finding: one whose severity changed (its score follows) and one that kept it; both take
    the new evidence, the new last import and one more sighting, and keep their status."""
    root, unit_a, unit_b, school_a = tree
    first_import = ScanImport.objects.create(unit=unit_a, file_name="a.jsonl")
    write_records(
        [rec(ip="192.0.2.10", severity="medium"), rec(rule="CVE-2023-1", ip="192.0.2.10", severity="low")],
        unit=unit_a,
        scan_import=first_import,
    )
    Finding.objects.filter(rule_id="CVE-2023-1").update(status="confirmed")
    second_import = ScanImport.objects.create(unit=unit_a, file_name="b.jsonl")
    changed = rec(ip="192.0.2.10", severity="critical")
    kept = rec(rule="CVE-2023-1", ip="192.0.2.10", severity="low")
    changed.evidence, kept.evidence = "new evidence 1", "new evidence 2"
    counts = write_records([changed, kept], unit=unit_a, scan_import=second_import)
    assert (counts.new, counts.updated) == (0, 2)
    raised = Finding.objects.get(rule_id="CVE-2021-44228")
    assert (
        raised.severity == "critical" and raised.risk_score == risk_score("critical", None, False, False, False).score
    )
    assert (raised.evidence, raised.last_import, raised.times_seen, raised.status) == (
        "new evidence 1",
        second_import,
        2,
        "open",
    )
    same = Finding.objects.get(rule_id="CVE-2023-1")
    assert same.severity == "low" and same.risk_score == risk_score("low", None, False, False, False).score
    assert (same.evidence, same.last_import, same.times_seen, same.status) == (
        "new evidence 2",
        second_import,
        2,
        "confirmed",
    )


@pytest.mark.django_db
def test_reseen_evidence_is_stored_exactly_whatever_its_characters(tree):
    """PostgreSQL takes a batch's evidence as one array literal: quotes, backslashes, braces, commas, "NULL", empty
    text and non-ASCII must come back as they were written."""
    root, unit_a, unit_b, school_a = tree
    texts = ['say "hi"', "C:\\temp\\x", "{a,b}", "NULL", "", '报文 \\" , }', "line1\nline2\ttab"]
    records = [rec(ip=f"192.0.2.{i}") for i in range(len(texts))]
    write_records(records, unit=unit_a)
    for record, text in zip(records, texts, strict=True):
        record.evidence = text
    counts = write_records(records, unit=unit_a)
    assert counts.updated == len(texts)
    stored = dict(Finding.objects.values_list("ip", "evidence"))
    assert stored == {f"192.0.2.{i}": text for i, text in enumerate(texts)}
    assert set(Finding.objects.values_list("times_seen", flat=True)) == {2}


@pytest.mark.django_db
def test_references_to_deleted_rows_read_as_empty_and_are_repaired(tree):
    """Only the unit has a database constraint (the import writes faster without the others). A deletion racing an
    import can leave a reference to a row that is gone: pages and the API still answer (a page shows it as empty),
    and the hourly task sets it to NULL, and nothing else."""
    from findings.models import repair_loose_references

    root, unit_a, unit_b, school_a = tree
    user = make_user("importer", unit_a, ["security_officer"])
    website = WebsiteFactory(unit=unit_a, url="https://a.example/", host="a.example")
    scan = ScanImport.objects.create(unit=unit_a, file_name="a.jsonl")
    write_records([rec(host="a.example"), rec(ip="192.0.2.11")], unit=unit_a, scan_import=scan, user=user)
    dangling = Finding.objects.get(host="a.example")
    kept = Finding.objects.get(ip="192.0.2.11")
    assert dangling.website_id == website.pk
    # What a deletion committed while the import ran leaves behind: references to rows that are gone.
    Finding.objects.filter(pk=dangling.pk).update(
        created_by_id=user.pk + 1000, last_import_id=scan.pk + 1000, website_id=website.pk + 1000
    )
    client = Client()
    client.force_login(user)
    assert client.get(dangling.get_absolute_url()).status_code == 200
    response = client.get(f"/api/findings/findings/{dangling.pk}/")
    assert response.status_code == 200  # the API gives the id it holds until the task repairs it
    assert client.get("/findings/findings/").status_code == 200
    assert repair_loose_references() == 3  # the user, the import and the website
    dangling.refresh_from_db()
    assert (dangling.created_by_id, dangling.updated_by_id, dangling.last_import_id, dangling.website_id) == (
        None, user.pk, None, None,
    )  # fmt: skip
    kept.refresh_from_db()
    assert (kept.created_by_id, kept.last_import_id) == (user.pk, scan.pk)
    assert repair_loose_references() == 0


@pytest.mark.django_db
def test_close_on_rescan_and_reopen(tree):
    root, unit_a, unit_b, school_a = tree
    write_records([rec(ip="192.0.2.10"), rec(ip="192.0.2.11")], unit=unit_a, tool="nuclei")
    result = write_records([rec(ip="192.0.2.10")], unit=unit_a, close_missing=True, tool="nuclei")
    assert result.closed == 1
    gone = Finding.objects.get(ip="192.0.2.11")
    assert gone.status == "fixed" and gone.closed_by_rescan
    back = write_records([rec(ip="192.0.2.11")], unit=unit_a, tool="nuclei")
    assert back.reopened == 1
    gone.refresh_from_db()
    assert gone.status == "reopened" and not gone.closed_by_rescan


@pytest.mark.django_db
def test_records_are_matched_to_assets_and_units(tree):
    root, unit_a, unit_b, school_a = tree
    system = InformationSystemFactory(unit=school_a, mlps_level=3, internet_facing=True)
    WebsiteFactory(unit=school_a, system=system, url="https://www.yixiao.school.example")
    IPRangeFactory(unit=school_a, cidr="198.51.100.0/28")
    write_records(
        [
            rec(host="www.yixiao.school.example"),
            rec(ip="198.51.100.5"),
            rec(ip="203.0.113.99"),
        ],
        unit=unit_a,
    )
    by_site = Finding.objects.get(host="www.yixiao.school.example")
    assert by_site.unit == school_a and by_site.system == system and by_site.website is not None
    assert by_site.risk_score == risk_score("high", 3, True).score
    by_range = Finding.objects.get(ip="198.51.100.5")
    assert by_range.unit == school_a and by_range.ip_range is not None
    stray = Finding.objects.get(ip="203.0.113.99")
    assert stray.unit == unit_a and not stray.attributed  # no registered asset: on the importer's unit, unattributed


@pytest.mark.django_db
def test_records_on_a_siblings_assets_are_rejected_not_written(tree):
    """A district cannot write findings into a sibling district, nor park them on itself as its own."""
    root, unit_a, unit_b, school_a = tree
    WebsiteFactory(unit=unit_b, url="https://www.yiqu.school.example")
    IPRangeFactory(unit=unit_b, cidr="198.51.100.0/28")
    counts = write_records(
        [rec(host="www.yiqu.school.example"), rec(ip="198.51.100.3"), rec(ip="203.0.113.7")], unit=unit_a
    )
    assert (counts.records, counts.new, counts.rejected, counts.unattributed) == (3, 1, 2, 1)
    assert {r["host"] or r["ip"] for r in counts.rejected_sample} == {"www.yiqu.school.example", "198.51.100.3"}
    assert list(Finding.objects.values_list("ip", "unit", "attributed")) == [("203.0.113.7", unit_a.pk, False)]


@pytest.mark.django_db
def test_an_ancestors_range_leaves_the_record_unattributed_on_the_importer(tree):
    root, unit_a, unit_b, school_a = tree
    IPRangeFactory(unit=root, cidr="10.0.0.0/8", shared=True)
    counts = write_records([rec(ip="10.1.2.3")], unit=unit_a)
    assert (counts.new, counts.rejected, counts.unattributed) == (1, 0, 1)
    assert Finding.objects.get().unit == unit_a


@pytest.mark.django_db
def test_candidate_unit_from_domain_suffix_and_address_block(tree):
    root, unit_a, unit_b, school_a = tree
    WebsiteFactory(unit=school_a, url="https://www.yixiao.school.example")
    IPRangeFactory(unit=school_a, cidr="198.51.100.0/28")
    write_records([rec(host="oa.yixiao.school.example"), rec(ip="198.51.100.200"), rec(ip="203.0.113.9")], unit=unit_a)
    by_host = Finding.objects.get(host="oa.yixiao.school.example")
    assert not by_host.attributed and by_host.unit == unit_a and by_host.candidate_unit == school_a
    assert Finding.objects.get(ip="198.51.100.200").candidate_unit == school_a
    assert Finding.objects.get(ip="203.0.113.9").candidate_unit is None


@pytest.mark.django_db
def test_a_shared_parent_domain_gives_no_candidate(tree):
    root, unit_a, unit_b, school_a = tree
    school_b = Unit.objects.add_child(
        unit_a, instance=Unit(name="甲区第二小学", code="2132990002", unit_type="school", school_code="2132990002")
    )
    WebsiteFactory(unit=school_a, url="https://www.yixiao.school.example")
    WebsiteFactory(unit=school_b, url="https://www.erxiao.school.example")
    write_records([rec(host="new.school.example"), rec(host="mail.erxiao.school.example")], unit=unit_a)
    assert Finding.objects.get(host="new.school.example").candidate_unit is None
    assert Finding.objects.get(host="mail.erxiao.school.example").candidate_unit == school_b


@pytest.mark.django_db
def test_an_unattributed_finding_moves_when_a_later_import_can_place_it(tree):
    root, unit_a, unit_b, school_a = tree
    write_records([rec(ip="198.51.100.5")], unit=unit_a)
    IPRangeFactory(unit=school_a, cidr="198.51.100.0/28")
    counts = write_records([rec(ip="198.51.100.5")], unit=unit_a)
    assert (counts.new, counts.updated) == (0, 1)
    finding = Finding.objects.get()
    assert finding.unit == school_a and finding.attributed and finding.ip_range is not None and finding.times_seen == 2


@pytest.mark.django_db
def test_a_file_larger_than_a_batch_counts_its_duplicates_once(tree, monkeypatch):
    from findings import writer

    root, unit_a, unit_b, school_a = tree
    monkeypatch.setattr(writer, "BATCH", 3)
    records = [rec(ip=f"192.0.2.{i}") for i in range(5)] * 2  # the second half repeats the first, across batches
    counts = write_records(records, unit=unit_a)
    assert (counts.records, counts.new, counts.updated) == (10, 5, 0)
    assert set(Finding.objects.values_list("times_seen", flat=True)) == {1}


def test_fingerprint_ignores_the_tool_and_follows_the_place():
    a = Record(tool="nessus", rule_id="CVE-2021-44228", title="x", severity="high", ip="192.0.2.1", port=443)
    b = Record(tool="nuclei", rule_id="CVE-2021-44228", title="y", severity="critical", ip="192.0.2.1", port=443)
    c = Record(tool="nuclei", rule_id="CVE-2021-44228", title="y", severity="critical", ip="192.0.2.1", port=8443)
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


def test_risk_score_parts():
    plain = risk_score("medium")
    assert plain.score == 12
    worst = risk_score("critical", 4, True, True, True)
    assert worst.score == 100 and dict(worst.parts)["mlps_level"] == 2.0
    with pytest.raises(ValueError):
        risk_score("urgent")


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(p for p in SCANS.rglob("*") if p.is_file()), ids=lambda p: p.name)
def test_every_shared_sample_imports_from_the_command_line(tree, path):
    root, unit_a, unit_b, school_a = tree
    out = io.StringIO()
    call_command("import_scan", str(path), "--unit", unit_a.code, stdout=out)
    scan_import = ScanImport.objects.get()
    assert scan_import.state == "done", scan_import.error
    assert Finding.objects.count() == scan_import.new
    call_command("import_scan", str(path), "--unit", unit_a.code, stdout=out)  # again: no duplicates
    assert Finding.objects.count() == scan_import.new
    assert AuditEntry.objects.filter(action="import", object_type="findings.scanimport").count() == 2


@pytest.mark.django_db
def test_nul_characters_in_a_scan_are_dropped_not_fatal(tree, tmp_path):
    """JSON may carry \\u0000 (a binary response excerpt) and a CSV cell a NUL byte; PostgreSQL cannot store either."""
    import json

    root, unit_a, *_ = tree
    line = {
        "template-id": "nul-test",
        "info": {"name": "bad\u0000name", "severity": "high", "description": "d\u0000"},
        "host": "a.example",
        "matched-at": "http://a.example/x",
        "type": "http",
        "response": "HTTP/1.1 200 OK\r\n\r\n\u0000\u0001binary",
        "timestamp": "2024-01-01T00:00:00Z",
    }
    nuclei_file = tmp_path / "nul.jsonl"
    nuclei_file.write_text(json.dumps(line) + "\n")
    csv_file = tmp_path / "nul.csv"
    csv_file.write_bytes(b"Plugin ID,Name,Risk,Host,Port,Plugin Output\n10,Plu\x00gin,High,192.0.2.9,80,o\x00ut\n")
    for path in (nuclei_file, csv_file):
        call_command("import_scan", str(path), "--unit", unit_a.code, stdout=io.StringIO())
    assert list(ScanImport.objects.values_list("state", flat=True)) == ["done", "done"]
    titles = set(Finding.objects.values_list("title", flat=True))
    assert titles == {"badname", "Plugin"}
    assert not any("\x00" in text for text in Finding.objects.values_list("evidence", flat=True))


@pytest.mark.django_db
def test_an_internal_error_marks_the_import_failed_and_is_raised(tree, tmp_path, monkeypatch):
    from findings import imports

    root, unit_a, *_ = tree

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(imports, "write_records", broken)
    scan_import = ScanImport.objects.create(unit=unit_a, file_name="a.nessus")
    sample = SCANS / "nessus" / "defectdojo" / "nessus_many_vuln.xml"
    with pytest.raises(RuntimeError), open(sample, "rb") as f:
        imports.run_import(scan_import, f)
    scan_import.refresh_from_db()
    assert scan_import.state == "failed" and scan_import.finished_at is not None
    assert "internal error" in scan_import.error_en and "内部错误" in scan_import.error
    assert AuditEntry.objects.filter(action="import", result="failure").count() == 1


@pytest.mark.django_db
def test_a_malformed_file_writes_nothing(tree, tmp_path):
    root, unit_a, *_ = tree
    broken = tmp_path / "broken.nessus"
    broken.write_bytes(b'<?xml version="1.0"?><NessusClientData_v2><Report name="x"><ReportHost name="h">')
    with pytest.raises(Exception) as excinfo:
        call_command("import_scan", str(broken), "--unit", unit_a.code)
    assert "nothing was imported" in str(excinfo.value)
    assert Finding.objects.count() == 0
    assert ScanImport.objects.get().state == "failed"


@pytest.mark.django_db
def test_upload_page_imports_through_a_task_and_imports_are_scoped(tree, settings, django_capture_on_commit_callbacks):
    # The task runs eagerly when the upload commits; the thread-pool and Celery executors are tested in core.
    settings.EDUSEC_TASKS_EAGER = True
    root, unit_a, unit_b, school_a = tree
    client = Client()
    client.force_login(make_user("sec", unit_a, ["security_officer"]), backend=BACKEND)
    with (
        (SCANS / "nessus" / "defectdojo" / "nessus_many_vuln.xml").open("rb") as fh,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/findings/imports/upload/", {"unit": unit_a.pk, "file": fh})
    assert response.status_code == 302
    scan_import = ScanImport.objects.get()
    run = TaskRun.objects.latest("pk")
    assert run.name == "findings.import_scan" and run.state == "success"
    assert response["Location"].endswith(f"?task={run.pk}")
    assert scan_import.state == "done", scan_import.error
    assert scan_import.new > 0 and Finding.objects.filter(unit__path__startswith=unit_a.path).count() > 0
    sibling = Client()
    sibling.force_login(make_user("sec_b", unit_b, ["security_officer"]), backend=BACKEND)
    assert sibling.get(f"/findings/imports/{scan_import.pk}/").status_code == 404
    finding = Finding.objects.first()
    assert sibling.get(f"/findings/findings/{finding.pk}/").status_code == 404


class FindingTests(ModelTestCases.UI, ModelTestCases.API):
    model = Finding
    update_data = {"title": "弱口令（已核实）"}
    bulk_edit_data = {"status": "confirmed"}

    def make_object(self, unit, **kwargs):
        counter = Finding.objects.count()
        return Finding.objects.create(
            unit=unit,
            fingerprint=f"{counter:064x}",
            rule_id="manual:weak-password",
            title="后台弱口令",
            severity="high",
            host=f"h{counter}.school.example",
            **kwargs,
        )

    def form_data(self, unit):
        return {
            "unit": unit.pk,
            "title": "门户后台弱口令",
            "severity": "high",
            "host": "www.jia.school.example",
            "status": "open",
        }

    def api_data(self, unit):
        return {
            "unit": unit.pk,
            "title": "接口新增问题",
            "severity": "medium",
            "rule_id": "manual:api",
            "host": "api.jia.school.example",
        }


@pytest.mark.django_db
def test_an_ancestors_domain_does_not_hide_a_schools_range(tree):
    from assets.tests.factories import DomainFactory

    root, unit_a, unit_b, school_a = tree
    DomainFactory(unit=root, name="shifan.example")
    IPRangeFactory(unit=school_a, cidr="198.51.100.0/28")
    write_records([rec(host="vpn.shifan.example", ip="198.51.100.9")], unit=unit_a)
    finding = Finding.objects.get()
    assert finding.unit == school_a and finding.attributed and finding.ip_range is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://a.example",
        "https://a.example/",
        "https://a.example/x/y?q=1#f",
        "http://a.example:8080/p#frag?x",
        "https://[2001:db8::1]:443/a/b",
        "https://u:p@a.example/x?y",
        "a.example/x",
        "https://a.example?x=/y",
        "https://a.example#/y",
        "https://a.example//x",
    ],
)
def test_url_path_is_what_urlsplit_says(url):
    from urllib.parse import urlsplit

    from findings.fingerprints import url_path

    assert url_path(url) == (urlsplit(url).path or "/")


@pytest.mark.django_db
def test_a_report_naming_an_internationalised_host_in_either_form_finds_its_website(tree):
    """A .公益 school site is registered as typed (stored as punycode); one scanner reports the Chinese name, another
    the punycode form, a third only the URL: all three land on the site, as one host."""
    root, unit_a, unit_b, school_a = tree
    site = WebsiteFactory(unit=school_a, url="https://第一中学.公益/")
    records = [
        rec(rule="CVE-2024-1", host="第一中学.公益"),
        rec(rule="CVE-2024-2", host=site.host.upper()),
        rec(rule="CVE-2024-3", url="https://第一中学.公益/login"),
    ]
    write_records(records, unit=unit_a)
    assert list(Finding.objects.values_list("website", flat=True)) == [site.pk] * 3
    assert set(Finding.objects.exclude(host="").values_list("host", flat=True)) <= {site.host, site.host.upper()}
    client = Client()
    client.force_login(make_user("officer", unit_a, ["security_officer"]), backend=BACKEND)
    listing = client.get("/findings/findings/", {"q": "第一中学.公益"})
    assert {f.rule_id for f in listing.context["table"].data} >= {"CVE-2024-1", "CVE-2024-2"}
    assert "第一中学.公益" in listing.content.decode()
