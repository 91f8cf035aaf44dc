"""The monitoring pages: status board (tiles, counters, filters, bounded queries), a site's page (state, detections,
events, charts, probe now, accept baseline), the evidence viewer (highlighting, masking), the keyword library (its
effect on what the store detects), maintenance windows, the generic pages of the registered models, and scoping
(another district's website, event or check answers 404). A browser test takes screenshots of the board and a site.
"""

import datetime as dt
import json
import re
import time
from html import unescape
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone, translation

from assets.tests.factories import WebsiteFactory
from core.models import AuditEntry
from core.testing import BACKEND, ModelTestCases, build_test_tree, make_user
from findings.models import Finding
from monitoring import rollups
from monitoring.analysis.personal_info import find_ids, find_mobiles
from monitoring.engine.targets import ProbeResult
from monitoring.keywords import clear_cache, keyword_library_for
from monitoring.ledger import sync_checks
from monitoring.models import Check, CheckEvent, ContentBaseline, KeywordEntry, MaintenanceWindow, WeeklyRollup
from monitoring.simfarm.pages import SchoolPages
from monitoring.store import store_results
from orgs.models import Unit

SCREENSHOTS = Path("/tmp")


# ---- helpers ---------------------------------------------------------------------------------------------------------


def add_unit(parent, name, code, unit_type="school"):
    extra = {"school_code": code, "stages": ["primary"]} if unit_type == "school" else {"division_code": code[:6]}
    return Unit.objects.add_child(parent, instance=Unit(name=name, code=code, unit_type=unit_type, **extra))


def add_site(unit, host, **states):
    """A website of ``unit`` with its checks (from the ledger), their states set as given by kind."""
    website = WebsiteFactory(unit=unit, name=f"{unit.name}门户", url=f"https://{host}/")
    sync_checks(type(website).objects.filter(pk=website.pk))
    now = timezone.now()
    for kind, state in states.items():
        Check.objects.filter(website=website, kind=kind).update(state=state, last_run_at=now, state_since=now)
    return website


def login(user):
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def content_check(website):
    return Check.objects.get(website=website, kind="content")


def store_page(website, body: bytes, headers=None, now=None):
    """Store one content probe of ``body`` for the website, as the scheduler would (analysis, events, page copy)."""
    check = content_check(website)
    result = ProbeResult(
        check_id=check.pk,
        kind="content",
        ok=True,
        status=200,
        latency_ms=85.0,
        final_url=check.url,
        headers=dict(headers or {}),
        body_hash=body[:16].ljust(16, b"\0"),
        body=body,
        body_changed=True,
    )
    return store_results([result], now=now, schedule=False)


@pytest.fixture(autouse=True)
def _fresh_keyword_libraries():
    """Libraries are cached per unit path, and a rolled-back test sends no delete signal: start and end empty."""
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def region(db, settings):
    """City → district A (school A, school A2) and district B (school B); users of the city, district A and B."""
    settings.EDUSEC_REQUIRE_2FA = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # five users: keep setup fast
    root, unit_a, unit_b, school_a = build_test_tree()
    school_a2 = add_unit(unit_a, "甲区第二小学", "2132990002")
    school_b = add_unit(unit_b, "乙区第一小学", "2132990003")
    return {
        "root": root,
        "unit_a": unit_a,
        "unit_b": unit_b,
        "school_a": school_a,
        "school_a2": school_a2,
        "school_b": school_b,
        "city_officer": make_user("city_sec", root, ["security_officer"]),
        "officer_a": make_user("sec_a", unit_a, ["security_officer"]),
        "officer_b": make_user("sec_b", unit_b, ["security_officer"]),
        "netadmin_a": make_user("net_a", school_a, ["school_netadmin"]),
        "auditor": make_user("aud", root, ["auditor"]),
    }


@pytest.fixture
def sites(region):
    """Five sites: ok and warning at school A, critical at school A2, not probed at school B, maintenance at the
    district B bureau itself."""
    ok = dict.fromkeys(["http", "content", "tls", "dns", "ipv6"], "ok")
    return {
        "ok": add_site(region["school_a"], "www.ok.school.example", **ok),
        "warning": add_site(region["school_a"], "www.warn.school.example", **{**ok, "ipv6": "warning"}),
        "critical": add_site(region["school_a2"], "www.crit.school.example", **{**ok, "http": "critical"}),
        "unknown": add_site(region["school_b"], "www.new.school.example"),
        "maintenance": add_site(
            region["unit_b"], "www.maint.school.example", **dict.fromkeys(["http", "content", "tls"], "maintenance")
        ),
    }


def tiles(response):
    """{unit name: (state, counts)} of the board's tiles, from the context."""
    return {t["name"]: (t["state"], t["counts"]) for g in response.context["groups"] for t in g["tiles"]}


# ---- the status board ------------------------------------------------------------------------------------------------


def test_board_colours_units_by_their_worst_site_and_counts(region, sites):
    Check.objects.filter(website=sites["critical"], kind="http").update(failures=3, grace_failures=2)
    Check.objects.filter(website=sites["ok"], kind="content").update(
        detections=[{"kind": "hidden_links", "severity": "high", "summary": "x", "technique": "", "evidence": {}}]
    )
    Finding.objects.create(
        unit=region["school_a"],
        fingerprint="f" * 64,
        rule_id="monitoring:down",
        title="down",
        severity="high",
        host="www.crit.school.example",
        source="monitoring",
    )
    response = login(region["city_officer"]).get("/monitoring/")
    assert response.status_code == 200
    found = tiles(response)
    assert found["甲区第一小学"][0] == "warning"
    assert found["甲区第一小学"][1] == {"sites": 2, "ok": 1, "warning": 1, "critical": 0, "other": 0}
    assert found["甲区第二小学"][0] == "critical"
    assert found["乙区第一小学"][0] == "unknown"
    assert found["乙区教育局"][0] == "maintenance"
    groups = {g["name"]: [t["name"] for t in g["tiles"]] for g in response.context["groups"]}
    assert groups == {"甲区教育局": ["甲区第一小学", "甲区第二小学"], "乙区教育局": ["乙区教育局", "乙区第一小学"]}
    summary = response.context["summary"]
    assert (summary["sites"], summary["units"], summary["sites_down"]) == (5, 4, 1)
    assert summary["sites_up"] == 3  # probed and answering: ok, warning (IPv6 only) and the maintenance site
    assert (summary["open_findings"], summary["sites_hidden_links"], summary["sites_defacement"]) == (1, 1, 0)
    body = response.content.decode()
    assert 'data-state="critical"' in body and "bg-red-lt" in body and "bg-yellow-lt" in body
    assert f"/monitoring/sites/{sites['ok'].pk}/" in body  # tiles link to their sites

    # A district sees its own district only.
    response = login(region["officer_b"]).get("/monitoring/")
    assert set(tiles(response)) == {"乙区第一小学", "乙区教育局"}
    assert response.context["summary"]["open_findings"] == 0


def test_board_filters_by_district_and_state(region, sites):
    client = login(region["city_officer"])
    response = client.get("/monitoring/", {"district": region["unit_b"].pk})
    assert set(tiles(response)) == {"乙区第一小学", "乙区教育局"}
    assert response.context["summary"]["sites"] == 2
    response = client.get("/monitoring/", {"state": "critical"})
    assert set(tiles(response)) == {"甲区第二小学"}
    response = client.get("/monitoring/", {"state": "ok"})
    assert not response.context["groups"] and 'data-testid="board-empty"' in response.content.decode()
    # A district outside the user's subtree is ignored (the whole subtree is shown).
    response = login(region["officer_a"]).get("/monitoring/", {"district": region["unit_b"].pk})
    assert set(tiles(response)) == {"甲区第一小学", "甲区第二小学"}


def test_a_site_under_an_internationalised_name_is_shown_and_found_by_that_name(region, sites):
    """Stored and probed as punycode (xn--…), shown on the board, its page and the check list as registered."""
    site = add_site(region["school_a"], "第一小学.公益", http="ok")
    client = login(region["officer_a"])
    assert "第一小学.公益" in unescape(client.get("/monitoring/").content.decode())  # the tile's link title
    assert "https://第一小学.公益" in client.get(f"/monitoring/sites/{site.pk}/").content.decode()
    found = client.get("/monitoring/checks/", {"q": "第一小学.公益"}).content.decode()
    assert f"/monitoring/sites/{site.pk}/" in found and f"/monitoring/sites/{sites['ok'].pk}/" not in found


def test_board_names_the_internet_facing_systems_the_monitor_does_not_see(region, sites):
    from assets.tests.factories import InformationSystemFactory

    unwatched = InformationSystemFactory(unit=region["school_a"], name="家校互动平台", internet_facing=True)
    watched = InformationSystemFactory(unit=region["school_a"], name="门户系统", internet_facing=True)
    WebsiteFactory(unit=region["school_a"], system=watched, url="https://portal.a.school.example/")
    InformationSystemFactory(unit=region["school_a"], name="内网OA", internet_facing=False)
    InformationSystemFactory(unit=region["school_a"], name="旧招生系统", internet_facing=True, status="retired")
    InformationSystemFactory(unit=region["school_b"], name="乙区平台", internet_facing=True)  # another district's
    client = login(region["officer_a"])
    with translation.override("zh-hans"):
        board = client.get("/monitoring/")
    assert board.context["summary"]["unmonitored_systems"] == 1
    assert "有 1 个面向互联网的在用信息系统未登记有效网站" in board.content.decode()
    listed = client.get(board.context["unmonitored_url"])
    assert [system.pk for system in listed.context["table"].data] == [unwatched.pk]
    assert client.get("/api/monitoring/board/").json()["summary"]["unmonitored_systems"] == 1
    # Registering its website brings it under watch.
    WebsiteFactory(unit=region["school_a"], system=unwatched, url="https://jx.a.school.example/")
    assert "board-unmonitored" not in client.get("/monitoring/").content.decode()


def test_board_needs_the_monitoring_permission(region):
    participant = make_user("p", region["school_a"], ["participant"])
    assert login(participant).get("/monitoring/").status_code == 403


def test_board_for_150_units_is_a_bounded_number_of_queries(region, django_assert_max_num_queries):
    """150 schools × 5 checks: one query per aggregate, not per tile, and well under a second."""
    parents = [region["unit_a"], region["unit_b"]]
    websites = []
    for i in range(150):
        unit = add_unit(parents[i % 2], f"批量学校{i:03d}", f"21329{i:05d}")
        websites.append(WebsiteFactory(unit=unit, name=f"批量学校{i:03d}", url=f"https://s{i}.school.example/"))
    sync_checks()
    for i, state in enumerate(["ok", "warning", "critical", "unknown", "maintenance"]):
        Check.objects.filter(website__in=websites[i::5]).update(state=state)
    assert Check.objects.count() == 750
    client = login(region["city_officer"])
    client.get("/monitoring/")  # warm the session and the permission cache
    # Session, user, permissions (2), the user's unit, districts, then one query per aggregate: HTTP up/down, current
    # content detections, sites by worst state, open findings; the notification bell; the session save.
    with django_assert_max_num_queries(15):  # the aggregates (the unmonitored systems' count the last one added)
        started = time.perf_counter()
        response = client.get("/monitoring/")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert sum(len(g["tiles"]) for g in response.context["groups"]) == 150
    assert elapsed < 1.0, elapsed


# ---- a site's page ---------------------------------------------------------------------------------------------------


def test_site_page_shows_state_detections_events_tls_and_chart_data(region, sites):
    website = sites["warning"]
    http = Check.objects.get(website=website, kind="http")
    http.status_code, http.latency_ms = 200, 123.0
    http.details = {"redirects": [[301, "https://www.warn.school.example/index.html"]]}
    http.save()
    not_after = timezone.now() + dt.timedelta(days=20)
    Check.objects.filter(website=website, kind="tls").update(
        details={
            "tls": {
                "issuer": "CN=示例CA",
                "subject_cn": "www.warn.school.example",
                "sans": ["www.warn.school.example", "warn.school.example"],
                "not_after": not_after.isoformat(),
                "not_before": None,
                "days_left": 20.0,
                "protocol": "TLSv1.3",
                "cipher": "TLS_AES_128_GCM_SHA256",
                "verify_error": "",
            }
        }
    )
    ipv6 = Check.objects.get(website=website, kind="ipv6")
    ipv6.detections = [
        {"kind": "ipv6_missing", "severity": "low", "summary": "no AAAA record", "technique": "", "evidence": {}}
    ]
    ipv6.save()
    event = CheckEvent.objects.create(
        unit=website.unit,
        site_check=ipv6,
        at=timezone.now(),
        kind="detected",
        detection="ipv6_missing",
        severity="low",
        summary="no AAAA record",
    )
    today = timezone.localdate()
    hours = list(rollups.EMPTY_WEEK)
    day = today - dt.timedelta(days=2)
    hours[rollups.slot(day, 9)] = (11, 1, 140)
    WeeklyRollup.objects.create(
        site_check=http, week=rollups.week_of(day), probes=12, failures=1, hours=rollups.pack(hours)
    )
    response = login(region["officer_a"]).get(f"/monitoring/sites/{website.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["state"] == "warning"
    assert [d["kind"] for d in response.context["detections"]] == ["ipv6_missing"]
    assert 'data-kind="ipv6_missing"' in body and f"/monitoring/events/{event.pk}/evidence/" in body
    assert "CN=示例CA" in body and "TLSv1.3" in body and "warn.school.example" in body
    assert response.context["tls"]["days_left"] == pytest.approx(20, abs=0.1)
    assert "https://www.warn.school.example/index.html" in body  # the redirect chain
    chart = json.loads(re.search(r'<script id="site-chart-data" type="application/json">(.*?)</script>', body, re.S)[1])
    assert len(chart["days"]) == 30 and chart["uptime"][-3] == pytest.approx(91.67, abs=0.01)
    assert [point[1] for point in chart["latency"]] == [140]
    assert 'id="latency-chart"' in body and "vendor/echarts/echarts.common.min.js" in body
    assert len(response.context["events"]) == 1


def test_another_districts_site_event_and_check_answer_404(region, sites):
    client = login(region["officer_a"])
    theirs = sites["unknown"]
    event = CheckEvent.objects.create(
        unit=theirs.unit, site_check=content_check(theirs), at=timezone.now(), kind="state", summary="x"
    )
    assert client.get(f"/monitoring/sites/{theirs.pk}/").status_code == 404
    assert client.post(f"/monitoring/sites/{theirs.pk}/probe/").status_code == 404
    assert client.post(f"/monitoring/sites/{theirs.pk}/accept-baseline/").status_code == 404
    assert client.get(f"/monitoring/events/{event.pk}/evidence/").status_code == 404
    assert client.get(f"/monitoring/events/{event.pk}/").status_code == 404
    assert client.get(f"/monitoring/checks/{content_check(theirs).pk}/edit/").status_code == 404
    assert client.get(f"/monitoring/sites/{sites['ok'].pk}/").status_code == 200


def test_probe_now_runs_the_site_checks_in_the_background(
    region, settings, tmp_path, django_capture_on_commit_callbacks
):
    from monitoring.simfarm.testing import running_farm

    host = "www.probe.school.example"
    website = add_site(region["school_a"], host)
    settings.EDUSEC_TASKS_EAGER = True
    with running_farm([{"host": host, "scenario": "healthy", "tls": "valid", "ipv6": True}], tmp_path / "farm") as farm:
        settings.EDUSEC_MONITOR_PORT_MAP = f"80:{farm.http_port},443:{farm.https_port}"
        settings.EDUSEC_MONITOR_CA_FILE = str(farm.ca_path)
        client = login(region["officer_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/monitoring/sites/{website.pk}/probe/")
    assert response.status_code == 302 and "?task=" in response["Location"]
    http = Check.objects.get(website=website, kind="http")
    assert http.state == "ok" and http.status_code == 200 and http.last_run_at is not None
    assert set(Check.objects.filter(website=website).values_list("state", flat=True)) == {"ok"}
    page = client.get(response["Location"])
    assert 'id="probe-progress"' in page.content.decode()
    # Read-only roles may not start probes.
    assert login(region["auditor"]).post(f"/monitoring/sites/{website.pk}/probe/").status_code == 403


def test_accept_baseline_is_for_security_staff_and_is_audited(region, sites):
    website = sites["ok"]
    body = SchoolPages("www.ok.school.example", "甲区第一小学").page("defaced").body
    store_page(website, body)  # the defaced-looking page is the site's first page here: it is stored as evidence
    check = content_check(website)
    assert check.analysed_hash
    assert login(region["netadmin_a"]).post(f"/monitoring/sites/{website.pk}/accept-baseline/").status_code == 403
    assert not ContentBaseline.objects.filter(site_check=check, reviewed_by__isnull=False).exists()

    response = login(region["officer_a"]).post(f"/monitoring/sites/{website.pk}/accept-baseline/")
    assert response.status_code == 302
    baseline = ContentBaseline.objects.get(site_check=check)
    assert baseline.reviewed_by == region["officer_a"] and baseline.reviewed_at is not None
    assert baseline.snapshot is not None and baseline.samples == 1
    entry = AuditEntry.objects.filter(object_type="monitoring.contentbaseline", object_id=str(baseline.pk)).latest(
        "seq"
    )
    assert entry.username == "sec_a" and entry.action in ("create", "update")
    assert CheckEvent.objects.filter(site_check=check, kind="baseline").count() == 1
    check.refresh_from_db()
    assert check.analysed_hash == ""  # analysed again against the new baseline at the next probe
    page = login(region["officer_a"]).get(f"/monitoring/sites/{website.pk}/").content.decode()
    assert 'data-testid="baseline-reviewed"' in page and 'data-kind="baseline"' in page


# ---- the evidence viewer ---------------------------------------------------------------------------------------------


def test_evidence_viewer_highlights_the_evidence_and_never_shows_an_id_number(region, sites):
    website = sites["ok"]
    page = SchoolPages("www.ok.school.example", "甲区第一小学").page("id_leak")
    source = page.body.decode()
    raw_ids = find_ids(source)
    raw_mobiles = [written for _digits, written in find_mobiles(source)]
    assert len(raw_ids) >= 10 and raw_mobiles
    store_page(website, page.body, page.headers)
    event = CheckEvent.objects.get(site_check__website=website, kind="detected", detection="personal_info")
    assert event.snapshot is not None and event.evidence["matches"]

    response = login(region["officer_a"]).get(f"/monitoring/events/{event.pk}/evidence/")
    assert response.status_code == 200
    body = response.content.decode()
    for number in raw_ids:
        assert number not in body and number.lower() not in body
    for written in raw_mobiles:
        assert written not in body and re.sub(r"\D", "", written) not in body
    marks = [unescape(m) for m in re.findall(r'<mark id="match-\d+" class="edusec-match">(.*?)</mark>', body, re.S)]
    assert len(marks) == len(event.evidence["matches"]) == response.context["match_count"]
    masked_ids = set(event.evidence["id_numbers"])
    masked_phones = set(event.evidence["phones"])
    for mark in marks:  # every highlight is an ID or mobile number of the evidence, masked in place
        assert mark in masked_ids or re.sub(r"[- ]", "", mark) in masked_phones, mark
    assert masked_ids <= set(marks)
    # The page is text, never markup: its tags are escaped.
    assert "&lt;table" in body and '<table class="table" border="1"' not in body
    fields = body[body.index('data-testid="evidence-fields"') :]
    assert "4" in fields and event.evidence["id_numbers"][0] in fields


def test_evidence_viewer_highlights_keywords(region, sites):
    website = sites["ok"]
    page = SchoolPages("www.ok.school.example", "甲区第一小学").page("keywords")
    store_page(website, page.body)
    event = CheckEvent.objects.get(site_check__website=website, detection="harmful_keywords")
    body = login(region["officer_a"]).get(f"/monitoring/events/{event.pk}/evidence/").content.decode()
    marks = re.findall(r'<mark id="match-\d+" class="edusec-match">(.*?)</mark>', body)
    words = {item["word"] for item in event.evidence["keywords"]}
    assert marks and set(marks) <= words
    assert "赌博" in body or "博彩" in body or "Gambling" in body  # categories by their label


def test_evidence_viewer_tells_where_a_cloaked_site_sent_each_visitor(region, sites):
    """A table per visitor the page was fetched as, with the reasons, where the server sent it and what was new."""
    website = sites["ok"]
    check = content_check(website)
    body = SchoolPages("www.ok.school.example", "甲区第一小学").page("healthy").body
    result = ProbeResult(
        check.pk, "content", ok=True, status=200, latency_ms=50.0, final_url=check.url, body=body, body_hash=b"\7" * 16,
        variant_meta={"referer": {"status": None, "final_url": "", "body_hash": None, "error": "refused",
                                  "redirected_to": "http://www.bc-vip66.example/"}},
    )  # fmt: skip
    store_results([result], schedule=False)
    event = CheckEvent.objects.get(site_check=check, detection="cloaking")
    with translation.override("zh-hans"):
        response = login(region["officer_a"]).get(f"/monitoring/events/{event.pk}/evidence/")
    table = next(row["table"] for row in response.context["rows"] if row.get("label") == "页面变体")
    assert table["rows"] == [["来自搜索引擎的访客", "重定向到其他网站", "http://www.bc-vip66.example/", "", "", "100%"]]
    assert '"redirects"' not in response.content.decode()  # no raw JSON


# ---- the keyword library ---------------------------------------------------------------------------------------------

CUSTOM_WORD = "彩虹快乐币"  # not in the default library


def _keyword_page(word):
    return (
        "<html><head><title>甲区第一小学</title></head><body><div class='news'><p>本周校园新闻：学生参加植树活动。</p>"
        f"<p>欢迎访问{word}官方网站，注册即送好礼。</p></div><footer>苏ICP备12345678号 苏公网安备32010202000001号"
        "</footer></body></html>"
    ).encode()


def _detected_kinds(website):
    return {d["kind"] for d in content_check(website).detections}


def test_the_bureaus_keywords_change_what_the_store_detects(region, sites):
    website = sites["ok"]
    store_page(website, _keyword_page(CUSTOM_WORD))
    assert "harmful_keywords" not in _detected_kinds(website)

    KeywordEntry.objects.create(unit=region["root"], category="fraud", word=CUSTOM_WORD)
    Check.objects.filter(pk=content_check(website).pk).update(analysed_hash="")
    store_page(website, _keyword_page(CUSTOM_WORD) + b" ")
    assert "harmful_keywords" in _detected_kinds(website)
    item = next(d for d in content_check(website).detections if d["kind"] == "harmful_keywords")
    assert item["evidence"]["keywords"][0]["word"] == CUSTOM_WORD

    # The same word whitelisted by the district switches it off again.
    KeywordEntry.objects.create(unit=region["unit_a"], category="fraud", word=CUSTOM_WORD, whitelist=True)
    store_page(website, _keyword_page(CUSTOM_WORD) + b"  ")
    assert "harmful_keywords" not in _detected_kinds(website)


def test_keyword_entries_apply_to_their_subtree_only(region):
    entry = KeywordEntry.objects.create(unit=region["unit_b"], category="gambling", word=CUSTOM_WORD)
    assert CUSTOM_WORD in keyword_library_for(region["school_b"]).words
    assert CUSTOM_WORD not in keyword_library_for(region["school_a"]).words
    entry.enabled = False
    entry.save()  # the signal clears the cache
    assert CUSTOM_WORD not in keyword_library_for(region["school_b"]).words


def test_keyword_list_shows_the_default_library(region):
    response = login(region["officer_a"]).get("/monitoring/keywords/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="default-library"' in body
    rows = {row["category"]: row["count"] for row in response.context["default_library"]}
    assert rows["gambling"] > 10 and rows["whitelist"] > 5


# ---- checks, events and maintenance windows through the generic pages ------------------------------------------------


def test_check_list_edit_and_nothing_else(region, sites):
    client = login(region["officer_a"])
    response = client.get("/monitoring/checks/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"/monitoring/sites/{sites['ok'].pk}/" in body and f"/monitoring/sites/{sites['unknown'].pk}/" not in body
    check = Check.objects.get(website=sites["ok"], kind="http")
    response = client.post(
        f"/monitoring/checks/{check.pk}/edit/",
        {"interval": 600, "grace_failures": 3, "recovery_successes": 2, "enabled": "on", "kind": "tls", "url": "x"},
    )
    assert response.status_code == 302
    check.refresh_from_db()
    assert (check.interval, check.grace_failures, check.kind) == (600, 3, "http")
    assert AuditEntry.objects.filter(action="update", object_type="monitoring.check", object_id=str(check.pk)).exists()
    response = client.post(f"/monitoring/checks/{check.pk}/edit/", {"interval": 5, "grace_failures": 0})
    assert response.status_code == 200 and set(response.context["form"].errors) >= {"interval", "grace_failures"}
    page = client.get(f"/monitoring/checks/{check.pk}/")  # the check's settings page links to its site
    assert page.status_code == 200 and f"/monitoring/sites/{sites['ok'].pk}/" in page.content.decode()
    assert client.get("/monitoring/checks/add/").status_code == 403
    assert client.post(f"/monitoring/checks/{check.pk}/delete/").status_code == 403
    # Schools read their checks but do not edit them.
    school = login(region["netadmin_a"])
    assert school.get("/monitoring/checks/").status_code == 200
    assert school.get(f"/monitoring/checks/{check.pk}/edit/").status_code == 403
    response = client.get("/monitoring/checks/", {"state": "warning"})
    assert list(response.context["table"].data) == [Check.objects.get(website=sites["warning"], kind="ipv6")]


def test_events_list_filters_and_is_read_only(region, sites):
    check = Check.objects.get(website=sites["ok"], kind="http")
    CheckEvent.objects.create(
        unit=check.unit,
        site_check=check,
        at=timezone.now(),
        kind="detected",
        detection="slow",
        severity="low",
        summary="answered in 6000 ms",
    )
    CheckEvent.objects.create(
        unit=check.unit,
        site_check=check,
        at=timezone.now() - dt.timedelta(days=10),
        kind="state",
        state="ok",
        summary="old",
    )
    client = login(region["officer_a"])
    response = client.get("/monitoring/events/", {"detection": "slow"})
    assert [e.summary for e in response.context["table"].data] == ["answered in 6000 ms"]
    since = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    response = client.get("/monitoring/events/", {"since": since})
    assert [e.summary for e in response.context["table"].data] == ["answered in 6000 ms"]
    response = client.get("/monitoring/events/", {"website": sites["ok"].pk, "severity": "low"})
    assert len(response.context["table"].data) == 1
    assert client.get("/monitoring/events/add/").status_code == 403
    event = CheckEvent.objects.get(detection="slow")
    page = client.get(f"/monitoring/events/{event.pk}/")
    assert page.status_code == 200
    assert f"/monitoring/events/{event.pk}/evidence/" in page.content.decode()
    assert client.get(f"/monitoring/events/{event.pk}/edit/").status_code == 403
    evidence = client.get(f"/monitoring/events/{event.pk}/evidence/")  # no page copy: the fields only
    assert evidence.status_code == 200 and evidence.context["snapshot"] is None


def test_events_export_tells_changes_of_state_in_the_readers_language(region, sites):
    """As the list does: a change of state stored as "尚未探测 → 正常" by a monitor running in Chinese."""
    check = Check.objects.get(website=sites["ok"], kind="http")
    CheckEvent.objects.create(
        unit=check.unit, site_check=check, at=timezone.now(), kind="state", state="ok", summary="尚未探测 → 正常",
        evidence={"from": "unknown"},
    )  # fmt: skip
    client = login(region["officer_a"])
    with translation.override("en"):
        rows = client.get("/monitoring/events/", {"export": "csv"}, HTTP_ACCEPT_LANGUAGE="en")
    text = rows.content.decode("utf-8-sig")
    assert "Not probed yet → OK" in text and "尚未探测" not in text


def test_maintenance_window_rules(region, sites):
    client = login(region["netadmin_a"])  # schools announce their own maintenance
    start = timezone.localtime().replace(second=0, microsecond=0)
    data = {"website": sites["ok"].pk, "reason": "服务器迁移"}

    def post(**times):
        return client.post(
            "/monitoring/maintenance/add/", {**data, **{k: v.strftime("%Y-%m-%dT%H:%M") for k, v in times.items()}}
        )

    response = post(starts_at=start, ends_at=start - dt.timedelta(hours=1))
    assert "ends_at" in response.context["form"].errors
    response = post(starts_at=start, ends_at=start + dt.timedelta(days=8))
    assert "ends_at" in response.context["form"].errors
    response = client.post(
        "/monitoring/maintenance/add/",
        {
            **data,
            "website": sites["unknown"].pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert "website" in response.context["form"].errors  # a website of another district
    response = post(starts_at=start, ends_at=start + dt.timedelta(hours=2))
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert window.unit == region["school_a"] and window.created_by == region["netadmin_a"]
    page = login(region["officer_a"]).get(f"/monitoring/sites/{sites['ok'].pk}/").content.decode()
    assert 'data-testid="window"' in page and "服务器迁移" in page


def test_maintenance_window_reads_in_local_time(region, sites, settings):
    """Its name (page titles, the audit log) gives the times the school entered, not UTC."""
    settings.TIME_ZONE = "Asia/Shanghai"
    shanghai = dt.timezone(dt.timedelta(hours=8))
    window = MaintenanceWindow.objects.create(
        unit=region["school_a"],
        website=sites["ok"],
        starts_at=dt.datetime(2026, 11, 25, 1, 30, tzinfo=shanghai),  # 17:30 UTC the day before
        ends_at=dt.datetime(2026, 11, 25, 5, 0, tzinfo=shanghai),
        reason="机房断电检修",
    )
    window.refresh_from_db()  # as every page reads it: in UTC
    assert str(window).endswith(" 2026-11-25 01:30–05:00")
    window.ends_at += dt.timedelta(days=1)
    assert str(window).endswith(" 2026-11-25 01:30–2026-11-26 05:00")


def test_monitoring_menu(region):
    response = login(region["city_officer"]).get("/")
    group = next(g for g in response.context["nav_groups"] if g["key"] == "monitoring")
    assert [item["url"] for item in group["items"]] == [
        "/monitoring/",
        "/monitoring/checks/",
        "/monitoring/events/",
        "/monitoring/keywords/",
        "/monitoring/maintenance/",
    ]
    participant = make_user("p", region["school_a"], ["participant"])
    response = login(participant).get("/")
    assert all(g["key"] != "monitoring" for g in response.context["nav_groups"])


class KeywordEntryTests(ModelTestCases.UI, ModelTestCases.Import):
    model = KeywordEntry
    update_data = {"word": "新词语"}
    bulk_edit_data = {"category": "fraud"}

    def make_object(self, unit, **kwargs):
        return KeywordEntry.objects.create(unit=unit, category="gambling", word=f"词{KeywordEntry.objects.count()}")

    def form_data(self, unit):
        return {"unit": unit.pk, "category": "gambling", "word": "示例赌博词", "enabled": "on"}

    def import_rows(self, unit):
        return [
            {"unit": unit.code, "category": "gambling" if i % 2 else "Fraud", "word": f"导入词{i}", "enabled": "是"}
            for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {"unit": unit.code, "category": "no-such-category", "word": "坏行"}


class MaintenanceWindowTests(ModelTestCases.UI):
    model = MaintenanceWindow
    update_data = {"reason": "机房断电检修"}
    bulk_edit_data = {"reason": "批量修改"}

    def make_object(self, unit, **kwargs):
        website = WebsiteFactory(unit=unit)
        start = timezone.now()
        return MaintenanceWindow.objects.create(
            unit=unit, website=website, starts_at=start, ends_at=start + dt.timedelta(hours=4), reason="系统升级"
        )

    def form_data(self, unit):
        website = WebsiteFactory(unit=unit)
        start = timezone.localtime().replace(second=0, microsecond=0)
        return {
            "website": website.pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "reason": "网站改版",
        }


# ---- in a browser ----------------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_board_and_site_page_in_a_browser(live_server, page, settings):
    """A city security officer opens the status board and a site's page with its charts (screenshots in /tmp)."""
    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, unit_b, school_a = build_test_tree()
    schools = [school_a] + [
        add_unit(parent, f"{parent.name[:2]}实验学校{i}", f"21329{i:05d}")
        for i, parent in enumerate([unit_a, unit_b, unit_b, unit_a, unit_b], start=1)
    ]
    states = ["ok", "warning", "critical", "ok", "unknown", "maintenance"]
    kinds = ["http", "content", "tls", "dns", "ipv6"]
    websites = [
        add_site(school, f"www.s{i}.school.example", **({} if state == "unknown" else dict.fromkeys(kinds, state)))
        for i, (school, state) in enumerate(zip(schools, states, strict=True))
    ]
    website = websites[1]
    http = Check.objects.get(website=website, kind="http")
    Check.objects.filter(pk=http.pk).update(
        status_code=200, latency_ms=180, details={"redirects": [[301, "https://www.s1.school.example/index.html"]]}
    )
    not_after = timezone.now() + dt.timedelta(days=75)
    tls = {
        "issuer": "CN=EduSec Farm CA,O=EduSec",
        "subject_cn": "www.s1.school.example",
        "sans": ["www.s1.school.example"],
        "not_before": (not_after - dt.timedelta(days=365)).isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": 75.0,
        "protocol": "TLSv1.3",
        "cipher": "TLS_AES_256_GCM_SHA384",
        "verify_error": "",
    }
    Check.objects.filter(website=website, kind="tls").update(details={"tls": tls})
    today = timezone.localdate()
    days = []
    for offset in range(30):
        hours = [(12, 1 if (offset + h) % 17 == 0 else 0, 120 + (offset * 7 + h * 13) % 90) for h in range(24)]
        days.append((http.pk, today - dt.timedelta(days=offset), sum(g + f for g, f, _m in hours),
                     sum(f for _g, f, _m in hours), rollups.pack(hours)))  # fmt: skip
    WeeklyRollup.objects.bulk_create(
        WeeklyRollup(site_check_id=check_id, week=week, probes=probes, failures=failures, hours=rollups.pack(hours))
        for (check_id, week), (probes, failures, hours) in rollups.merge_days(days).items()
    )
    body = SchoolPages("www.s1.school.example", school_a.name).page("hidden_css_display_none").body
    store_page(website, body)
    officer = make_user("city_sec", root, ["security_officer"])

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", officer.username)
    page.fill("input[name=password]", "Test@2026pass")
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/monitoring/")
    assert page.locator("[data-testid=tile]").count() == 6
    assert page.locator("[data-testid=tile][data-state=critical]").count() == 2  # one down, one with hidden links
    assert page.locator("[data-testid=tile][data-state=ok]").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "monitoring-board.png"), full_page=True)

    page.goto(f"{live_server.url}/monitoring/sites/{website.pk}/")
    page.wait_for_selector("#latency-chart canvas")
    page.wait_for_selector("#uptime-chart canvas")
    assert page.locator("[data-testid=detection]").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "monitoring-site.png"), full_page=True)

    event = CheckEvent.objects.filter(site_check__website=website, detection="hidden_links").get()
    page.goto(f"{live_server.url}/monitoring/events/{event.pk}/evidence/")
    page.wait_for_selector("mark.current")
    page.screenshot(path=str(SCREENSHOTS / "monitoring-evidence.png"), full_page=True)

    page.goto(f"{live_server.url}/monitoring/checks/?state=critical")
    assert page.locator("#object-table tbody tr").count() == 6  # all checks of the down site, and the content check
    page.screenshot(path=str(SCREENSHOTS / "monitoring-checks.png"), full_page=True)
    page.goto(f"{live_server.url}/monitoring/keywords/")
    assert page.locator("[data-testid=default-library] .badge").count() >= 5
    page.screenshot(path=str(SCREENSHOTS / "monitoring-keywords.png"), full_page=True)
