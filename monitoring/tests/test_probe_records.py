"""Raw per-probe rows: off by default; when turned on, one row per probe, scoped like its check, pruned after the
configured days."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from assets.tests.factories import WebsiteFactory
from core.testing import BACKEND, build_test_tree, make_user
from monitoring.engine.targets import ProbeResult
from monitoring.ledger import sync_checks
from monitoring.models import Check, ProbeRecord
from monitoring.retention import prune_history
from monitoring.store import store_results


@pytest.fixture
def region(db, settings):
    settings.EDUSEC_REQUIRE_2FA = False
    _root, district_a, district_b, school_a = build_test_tree()
    mine = WebsiteFactory(unit=school_a, name="甲区第一小学网站", url="http://www.a.school.example/")
    theirs = WebsiteFactory(unit=district_b, name="乙区教育局网站", url="http://www.b.school.example/")
    sync_checks()
    return {
        "officer_a": make_user("officer_a", district_a, ["security_officer"]),
        "mine": Check.objects.get(website=mine, kind="http"),
        "theirs": Check.objects.get(website=theirs, kind="http"),
    }


def probe(check, ok=True, at=None, **result):
    started = (at or timezone.now()).timestamp()
    if ok:
        result = {"status": 200, "latency_ms": 12.345, **result}
    else:
        result = {"error": "refused", "error_detail": "connection refused", **result}
    return store_results([ProbeResult(check.pk, check.kind, ok=ok, started_at=started, **result)], schedule=False)


def test_no_row_is_kept_per_probe_by_default(region):
    probe(region["mine"])
    probe(region["mine"], ok=False)
    assert not ProbeRecord.objects.exists()


def test_when_turned_on_every_probe_is_kept_as_it_was(region, settings):
    settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS = 7
    at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    probe(region["mine"], at=at)
    probe(region["mine"], ok=False, at=at + dt.timedelta(minutes=5))
    good, bad = ProbeRecord.objects.filter(site_check=region["mine"]).order_by("at")
    assert (good.at, good.ok, good.status_code, good.latency_ms, good.error) == (at, True, 200, 12.3, "")
    assert (bad.ok, bad.status_code, bad.latency_ms, bad.error) == (False, None, None, "refused")


def test_records_are_pruned_after_their_days_and_all_of_them_once_turned_off(region, settings):
    settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS = 7
    now = timezone.now()
    probe(region["mine"], at=now - dt.timedelta(days=8))
    probe(region["mine"], at=now - dt.timedelta(days=6))
    assert prune_history(now)["probe_records"] == 1
    assert ProbeRecord.objects.count() == 1
    settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS = 0
    assert prune_history(now)["probe_records"] == 1
    assert not ProbeRecord.objects.exists()


def test_records_are_seen_as_their_checks_are(region, settings):
    settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS = 7
    probe(region["mine"], ok=False)
    probe(region["theirs"])
    mine = ProbeRecord.objects.get(site_check=region["mine"])
    theirs = ProbeRecord.objects.get(site_check=region["theirs"])
    client = Client()
    client.force_login(region["officer_a"], backend=BACKEND)
    listing = client.get("/monitoring/probes/")
    assert listing.status_code == 200
    assert [row.pk for row in listing.context["table"].data] == [mine.pk]
    assert "连接被拒绝" in listing.content.decode()  # the error in the reader's language
    assert client.get(f"/monitoring/probes/{mine.pk}/").status_code == 200
    assert client.get(f"/monitoring/probes/{theirs.pk}/").status_code == 404
    site_page = client.get(f"/monitoring/sites/{region['mine'].website_id}/").content.decode()
    assert f"/monitoring/probes/?website={region['mine'].website_id}" in site_page
    api = APIClient()
    api.force_authenticate(region["officer_a"])
    answer = api.get("/api/monitoring/probes/").json()
    assert [row["id"] for row in answer["results"]] == [mine.pk]
    assert answer["results"][0]["error"] == "refused" and answer["results"][0]["check_kind"] == "http"
    assert api.get(f"/api/monitoring/probes/{theirs.pk}/").status_code == 404


def test_the_site_page_links_to_its_probes_only_when_they_are_kept(region):
    client = Client()
    client.force_login(region["officer_a"], backend=BACKEND)
    assert "/monitoring/probes/" not in client.get(f"/monitoring/sites/{region['mine'].website_id}/").content.decode()
