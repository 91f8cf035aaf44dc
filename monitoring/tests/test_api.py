"""The monitoring API: checks (read, PATCH of the editable fields, probe and accept-baseline actions), events
(read-only), the status board, and the generic CRUD of keyword entries and maintenance windows; always scoped (another
district's rows answer 404)."""

import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from assets.tests.factories import WebsiteFactory
from core.models import AuditEntry, TaskRun
from core.testing import ModelTestCases, build_test_tree, make_user
from monitoring.models import Check, CheckEvent, ContentBaseline, KeywordEntry, MaintenanceWindow
from monitoring.simfarm.pages import SchoolPages
from monitoring.tests.test_views import _fresh_keyword_libraries, add_site, add_unit, store_page  # noqa: F401


@pytest.fixture
def region(db, settings):
    settings.EDUSEC_REQUIRE_2FA = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    root, unit_a, unit_b, school_a = build_test_tree()
    school_b = add_unit(unit_b, "乙区第一小学", "2132990003")
    ok = dict.fromkeys(["http", "content", "tls", "dns", "ipv6"], "ok")
    return {
        "root": root,
        "unit_a": unit_a,
        "unit_b": unit_b,
        "mine": add_site(school_a, "www.mine.school.example", **ok),
        "theirs": add_site(school_b, "www.theirs.school.example", **{**ok, "http": "critical"}),
        "officer_a": make_user("sec_a", unit_a, ["security_officer"]),
        "city_officer": make_user("city_sec", root, ["security_officer"]),
        "netadmin_a": make_user("net_a", school_a, ["school_netadmin"]),
        "auditor": make_user("aud", root, ["auditor"]),
    }


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def check_of(website, kind="http"):
    return Check.objects.get(website=website, kind=kind)


def test_checks_list_retrieve_and_scope(region):
    client = api(region["officer_a"])
    response = client.get("/api/monitoring/checks/", {"page_size": 100})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["host"] for row in rows} == {"www.mine.school.example"}
    assert len(rows) == 5
    row = next(r for r in rows if r["kind"] == "http")
    assert row["page_url"] == f"/monitoring/sites/{region['mine'].pk}/" and row["state"] == "ok"
    assert client.get(f"/api/monitoring/checks/{check_of(region['theirs']).pk}/").status_code == 404
    response = client.get("/api/monitoring/checks/", {"kind": "tls"})
    assert [r["kind"] for r in response.json()["results"]] == ["tls"]
    response = api(region["city_officer"]).get("/api/monitoring/checks/", {"state": "critical"})
    assert [r["host"] for r in response.json()["results"]] == ["www.theirs.school.example"]


def test_checks_patch_only_the_editable_fields(region):
    client = api(region["officer_a"])
    check = check_of(region["mine"])
    response = client.patch(
        f"/api/monitoring/checks/{check.pk}/",
        {"interval": 900, "enabled": False, "kind": "tls", "state": "critical", "url": "http://elsewhere.example/"},
        format="json",
    )
    assert response.status_code == 200, response.content
    check.refresh_from_db()
    assert (check.interval, check.enabled, check.kind, check.state) == (900, False, "http", "ok")
    assert check.url == region["mine"].url
    entry = AuditEntry.objects.filter(action="update", object_type="monitoring.check", object_id=str(check.pk)).get()
    assert set(entry.changes) >= {"interval", "enabled"}
    assert client.patch(f"/api/monitoring/checks/{check.pk}/", {"interval": 10}, format="json").status_code == 400
    theirs = check_of(region["theirs"])
    assert client.patch(f"/api/monitoring/checks/{theirs.pk}/", {"interval": 900}, format="json").status_code == 404
    # No creating, replacing or deleting checks: they follow the ledger.
    assert client.post("/api/monitoring/checks/", {}, format="json").status_code in (403, 405)
    assert client.put(f"/api/monitoring/checks/{check.pk}/", {}, format="json").status_code in (403, 405)
    assert client.delete(f"/api/monitoring/checks/{check.pk}/").status_code in (403, 405)
    # Schools and auditors read checks only.
    assert api(region["netadmin_a"]).get(f"/api/monitoring/checks/{check.pk}/").status_code == 200
    response = api(region["netadmin_a"]).patch(f"/api/monitoring/checks/{check.pk}/", {"interval": 600}, format="json")
    assert response.status_code == 403


def test_probe_action_starts_the_task(region, settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.EDUSEC_TASKS_EAGER = True
    probed = []
    monkeypatch.setattr("monitoring.sweep.probe_checks", lambda ids, **kw: probed.append(sorted(ids)))
    check = check_of(region["mine"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api(region["netadmin_a"]).post(f"/api/monitoring/checks/{check.pk}/probe/")
    assert response.status_code == 202, response.content
    run = TaskRun.objects.get(pk=response.json()["task"])
    assert run.name == "monitoring.probe_site" and run.state == "success"
    assert probed == [[check.pk]] and response.json()["checks"] == [check.pk]
    assert (
        api(region["officer_a"]).post(f"/api/monitoring/checks/{check_of(region['theirs']).pk}/probe/").status_code
        == 404
    )
    assert api(region["auditor"]).post(f"/api/monitoring/checks/{check.pk}/probe/").status_code == 403


def test_accept_baseline_action(region):
    website = region["mine"]
    pages = SchoolPages("www.mine.school.example", "甲区第一小学")
    store_page(website, pages.page("healthy").body)
    content = check_of(website, "content")
    url = f"/api/monitoring/checks/{content.pk}/accept-baseline/"
    # Nothing was detected, so no copy of the page is stored: it is fetched, and here the site does not answer.
    response = api(region["officer_a"]).post(url)
    assert response.status_code == 400 and "connection refused" in response.json()["non_field_errors"][0]
    store_page(website, pages.page("missing_icp").body)  # a detection: the page is stored as evidence
    assert api(region["netadmin_a"]).post(url).status_code == 403
    assert (
        api(region["officer_a"]).post(f"/api/monitoring/checks/{check_of(website).pk}/accept-baseline/").status_code
        == 400
    )
    theirs = check_of(region["theirs"], "content")
    assert api(region["officer_a"]).post(f"/api/monitoring/checks/{theirs.pk}/accept-baseline/").status_code == 404
    response = api(region["officer_a"]).post(url)
    assert response.status_code == 200, response.content
    data = response.json()
    baseline = ContentBaseline.objects.get(site_check=content)
    assert data["reviewed_by"] == "sec_a" and data["snapshot"] == baseline.snapshot_id
    assert CheckEvent.objects.get(pk=data["event"]).kind == "baseline"
    assert AuditEntry.objects.filter(object_type="monitoring.contentbaseline", username="sec_a").exists()


def test_events_are_read_only_and_scoped(region):
    mine = CheckEvent.objects.create(
        unit=region["mine"].unit, site_check=check_of(region["mine"]), at=timezone.now(), kind="detected",
        detection="slow", severity="low", summary="answered in 6000 ms", evidence={"status": 200},
    )  # fmt: skip
    theirs = CheckEvent.objects.create(
        unit=region["theirs"].unit, site_check=check_of(region["theirs"]), at=timezone.now(), kind="state",
        state="critical", summary="x",
    )  # fmt: skip
    client = api(region["officer_a"])
    response = client.get("/api/monitoring/events/")
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    row = response.json()["results"][0]
    assert row["website"] == region["mine"].pk and row["check_kind"] == "http"
    assert row["evidence_url"] == f"/monitoring/events/{mine.pk}/evidence/"
    assert client.get(f"/api/monitoring/events/{theirs.pk}/").status_code == 404
    assert client.get("/api/monitoring/events/", {"detection": "down"}).json()["results"] == []
    assert client.post("/api/monitoring/events/", {}, format="json").status_code in (403, 405)
    assert client.patch(f"/api/monitoring/events/{mine.pk}/", {"summary": "y"}, format="json").status_code in (403, 405)
    assert client.delete(f"/api/monitoring/events/{mine.pk}/").status_code in (403, 405)


def test_board(region):
    client = api(region["city_officer"])
    response = client.get("/api/monitoring/checks/board/")
    assert response.status_code == 200
    data = response.json()
    assert data["summary"]["sites"] == 2 and data["summary"]["sites_critical"] == 1
    tiles = {t["name"]: t for g in data["groups"] for t in g["tiles"]}
    assert tiles["乙区第一小学"]["state"] == "critical" and tiles["甲区第一小学"]["state"] == "ok"
    assert tiles["甲区第一小学"]["sites"][0]["url"] == f"/monitoring/sites/{region['mine'].pk}/"
    response = client.get("/api/monitoring/checks/board/", {"district": region["unit_a"].pk})
    assert [t["name"] for g in response.json()["groups"] for t in g["tiles"]] == ["甲区第一小学"]
    response = client.get("/api/monitoring/checks/board/", {"state": "critical"})
    assert [t["name"] for g in response.json()["groups"] for t in g["tiles"]] == ["乙区第一小学"]
    assert client.get("/api/monitoring/checks/board/", {"state": "nonsense"}).status_code == 400
    # A district sees its own subtree; another district's ID is not found.
    client = api(region["officer_a"])
    assert client.get("/api/monitoring/checks/board/").json()["summary"]["sites"] == 1
    assert client.get("/api/monitoring/checks/board/", {"district": region["unit_b"].pk}).status_code == 404
    assert APIClient().get("/api/monitoring/checks/board/").status_code in (401, 403)


def test_board_at_its_own_path(region):
    try:
        url = reverse("api_monitoring_board")
    except NoReverseMatch:
        pytest.skip("edusec/api_urls.py does not include monitoring.api.urls yet")
    assert url == "/api/monitoring/board/"
    response = api(region["city_officer"]).get(url)
    assert response.status_code == 200 and response.json()["summary"]["sites"] == 2
    assert APIClient().get(url).status_code in (401, 403)


def test_maintenance_window_api_rules(region):
    client = api(region["netadmin_a"])
    start = timezone.now().replace(microsecond=0)
    data = {"website": region["mine"].pk, "starts_at": start.isoformat(), "reason": "升级"}
    response = client.post(
        "/api/monitoring/maintenance/", {**data, "ends_at": (start + dt.timedelta(days=8)).isoformat()}, format="json"
    )
    assert response.status_code == 400 and "ends_at" in response.json()
    response = client.post(
        "/api/monitoring/maintenance/", {**data, "ends_at": (start - dt.timedelta(hours=1)).isoformat()}, format="json"
    )
    assert response.status_code == 400
    response = client.post(
        "/api/monitoring/maintenance/",
        {**data, "website": region["theirs"].pk, "ends_at": (start + dt.timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400 and "website" in response.json()
    response = client.post(
        "/api/monitoring/maintenance/", {**data, "ends_at": (start + dt.timedelta(hours=2)).isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    window = MaintenanceWindow.objects.get(pk=response.json()["id"])
    assert window.unit == region["mine"].unit and response.json()["unit"] == region["mine"].unit_id


class KeywordEntryAPITests(ModelTestCases.API):
    model = KeywordEntry
    update_data = {"word": "改后的词"}

    def make_object(self, unit, **kwargs):
        return KeywordEntry.objects.create(unit=unit, category="fraud", word=f"词{KeywordEntry.objects.count()}")

    def api_data(self, unit):
        return {"unit": unit.pk, "category": "gambling", "word": "示例赌博词", "whitelist": False, "enabled": True}


class MaintenanceWindowAPITests(ModelTestCases.API):
    model = MaintenanceWindow
    update_data = {"reason": "延长维护"}

    def make_object(self, unit, **kwargs):
        start = timezone.now()
        return MaintenanceWindow.objects.create(
            unit=unit, website=WebsiteFactory(unit=unit), starts_at=start, ends_at=start + dt.timedelta(hours=2),
            reason="系统升级",
        )  # fmt: skip

    def api_data(self, unit):
        start = timezone.now().replace(microsecond=0)
        return {
            "website": WebsiteFactory(unit=unit).pk,
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=3)).isoformat(),
            "reason": "网站改版",
        }
