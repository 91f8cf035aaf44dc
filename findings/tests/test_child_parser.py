"""Large files are parsed by a child process (findings/importers/child.py) while the importing process writes: the
result must be exactly the in-process result, and a malformed file must fail the same way, naming where."""

import io

import pytest

from core.testing import build_test_tree
from findings.fingerprints import fingerprint
from findings.importers import child
from findings.importers.base import ImportFormatError
from findings.importers.detect import parse_any
from findings.imports import run_import
from findings.models import Finding, ScanImport
from findings.tests.test_findings import SCANS

SAMPLES = [
    SCANS / "nessus" / "defectdojo" / "nessus_many_vuln.xml",
    SCANS / "nessus" / "defectdojo" / "nessus_many_vuln.csv",
    SCANS / "nuclei" / "defectdojo" / "many_findings.json",
    SCANS / "nuclei" / "defectdojo" / "multiple_v3.json",
]


@pytest.fixture
def every_file_in_a_child(monkeypatch):
    monkeypatch.setattr(child, "CHILD_MIN_BYTES", 0)


def records_of(path, *, in_child):
    with open(path, "rb") as stream:
        fmt, records = parse_any(stream, child=in_child)
        return fmt, list(records)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_child_gives_the_same_records_with_their_fingerprints(every_file_in_a_child, path):
    fmt, here = records_of(path, in_child=False)
    fmt_child, there = records_of(path, in_child=True)
    assert fmt_child == fmt and here
    for record in there:
        assert record.fingerprint == fingerprint(record)
        record.fingerprint = ""
    assert there == here


def test_small_or_in_memory_files_stay_in_process():
    path = SAMPLES[0]
    with open(path, "rb") as stream:
        assert not child.can_parse_in_child("nessus", stream)  # smaller than CHILD_MIN_BYTES
    assert not child.can_parse_in_child("nessus", io.BytesIO(path.read_bytes()))
    with open(path, "rb") as stream:
        assert not child.can_parse_in_child("generic_xlsx", stream)


def test_a_malformed_file_fails_in_the_child_with_its_location(every_file_in_a_child, tmp_path):
    broken = tmp_path / "broken.nessus"
    broken.write_bytes(
        b'<?xml version="1.0"?>\n<NessusClientData_v2><Report name="x"><ReportHost name="h">\n'
        b'<ReportItem port="80" severity="2" pluginName="x"></ReportItem>\n</ReportHost></Report></NessusClientData_v2>'
    )
    with pytest.raises(ImportFormatError) as in_process:
        records_of(broken, in_child=False)
    with pytest.raises(ImportFormatError) as in_child:
        records_of(broken, in_child=True)
    assert in_child.value.render("en") == in_process.value.render("en")
    assert in_child.value.render("zh-hans") == in_process.value.render("zh-hans")
    assert "line 3" in in_child.value.render("en")


@pytest.mark.django_db
def test_run_import_through_the_child_writes_what_in_process_writes(every_file_in_a_child, monkeypatch, settings):
    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, *_ = build_test_tree()
    path = SAMPLES[2]
    with open(path, "rb") as stream:
        first = run_import(ScanImport.objects.create(unit=unit_a, file_name=path.name), stream)
    assert first.state == "done" and first.new == Finding.objects.count() > 0
    in_child = sorted(Finding.objects.values_list("fingerprint", "unit_id", "title", "severity"))
    Finding.objects.all().delete()
    monkeypatch.setattr(child, "CHILD_MIN_BYTES", 1 << 40)  # in process this time
    with open(path, "rb") as stream:
        run_import(ScanImport.objects.create(unit=unit_a, file_name=path.name), stream)
    assert sorted(Finding.objects.values_list("fingerprint", "unit_id", "title", "severity")) == in_child


def test_a_child_that_dies_is_an_error_not_an_empty_file(every_file_in_a_child, monkeypatch):
    monkeypatch.setattr(child.sys, "executable", "/bin/false")
    with open(SAMPLES[0], "rb") as stream:
        with pytest.raises(child.ParserProcessError):
            list(child.records_in_child("nessus", stream))
