"""The storage's batch behaviour: rollup blobs, writes of changed columns only, bounded statements per batch, and the
claim's anchored schedule. No network: probe results are made by hand."""

import json
import random
import struct
import zlib
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from assets.tests.factories import WebsiteFactory
from core.testing import build_test_tree
from findings.models import Finding
from monitoring import rollups
from monitoring.engine.targets import ProbeResult
from monitoring.ledger import sync_checks
from monitoring.models import Check, CheckEvent, MaintenanceWindow, WeeklyRollup
from monitoring.simfarm.pages import SchoolPages
from monitoring.store import CHECK_FIELDS, fetch_rows, load_checks, store_results
from monitoring.sweep import claim


def test_rollup_blob_round_trip_and_size():
    rng = random.Random(5)
    for _ in range(500):
        hours = [(rng.choice([0, 1, 12, 70_000]), rng.choice([0, 0, 2]), rng.randint(0, 70_000)) for _ in range(24)]
        assert rollups.unpack(rollups.pack(hours)) == [tuple(min(x, 65535) for x in hour) for hour in hours]
    day = [(12, 0, rng.randint(40, 200)) for _ in range(24)]  # a full day of a 5-minute check
    assert len(rollups.pack(day)) <= 50
    assert len(rollups.pack(rollups.EMPTY_DAY)) <= 10
    assert rollups.unpack(None) == rollups.EMPTY_DAY


def test_rollup_blobs_of_the_earlier_zlib_format_are_still_read():
    hours = [(12, 1, 80 + i) for i in range(24)]
    old = zlib.compress(b"".join(struct.pack("<HHH", *hour) for hour in hours), 9)
    assert rollups.unpack(old) == hours


@pytest.fixture
def checks(db):
    _root, _unit_a, _unit_b, school = build_test_tree()
    for i in range(30):
        WebsiteFactory(unit=school, name=f"学校{i}", url=f"http://s{i}.school.example/")
    sync_checks()
    return list(Check.objects.filter(kind="http").order_by("pk"))


def ok(check, latency=50.0):
    return ProbeResult(check.pk, "http", ok=True, status=200, latency_ms=latency, body_hash=b"\1" * 16)


def refused(check):
    return ProbeResult(check.pk, "http", ok=False, error="refused", error_detail="connection refused")


def test_checks_read_in_one_statement_equal_what_the_orm_reads(checks):
    now = timezone.now()
    store_results([ok(c) for c in checks[:3]] + [refused(c) for c in checks[3:6]], now=now, schedule=False)
    Check.objects.filter(pk=checks[0].pk).update(url="http://s0.school.example/路径?q='引号'\"&x=1")
    ids = [c.pk for c in checks[:6]]
    with CaptureQueriesContext(connection) as queries:
        loaded = load_checks([*ids, 10**9])  # an id that is gone is left out
    assert len(queries.captured_queries) == 1 and sorted(loaded) == ids
    for check in Check.objects.filter(pk__in=ids).select_related("website", "unit"):
        row = loaded[check.pk]
        for name in ("unit_id", "website_id", "kind", "url", "interval", *CHECK_FIELDS):
            assert getattr(row, name) == getattr(check, name), name
        assert (row.website.host, row.unit.path) == (check.website.host, check.unit.path)
    assert loaded[ids[0]].last_run_at == now and loaded[ids[0]].last_run_at.utcoffset() == timezone.timedelta(0)
    assert loaded[ids[3]].details["clearing"] and loaded[ids[0]].latency_ms == 50.0


def test_checks_are_read_by_thousands_of_ids_in_few_statements(checks):
    """SQLite takes at most 2,000 ids per statement (its parameter limit); PostgreSQL takes them all as one array."""
    ids = [c.pk for c in checks] + list(range(10**9, 10**9 + 4500))  # thousands of ids that are gone
    with CaptureQueriesContext(connection) as queries:
        loaded = load_checks(ids)
    assert sorted(loaded) == [c.pk for c in checks]
    assert len(queries.captured_queries) == (3 if connection.vendor == "sqlite" else 1)
    assert load_checks([]) == {}


def test_a_site_in_an_open_maintenance_window_is_probed_but_raises_nothing(checks):
    now = timezone.now()
    hour = timezone.timedelta(hours=1)
    in_window, after_window, before_window = checks[:3]
    for check, starts, ends in (
        (in_window, -hour, hour),
        (after_window, -2 * hour, -hour),
        (before_window, hour, 2 * hour),
    ):
        MaintenanceWindow.objects.create(
            unit_id=check.unit_id,
            website_id=check.website_id,
            starts_at=now + starts,
            ends_at=now + ends,
            reason="升级",
        )
    for step in range(3):  # past the grace count
        store_results([refused(c) for c in checks[:3]], now=now + timezone.timedelta(seconds=step), schedule=False)
    states = dict(Check.objects.filter(pk__in=[c.pk for c in checks[:3]]).values_list("pk", "state"))
    assert states == {in_window.pk: "maintenance", after_window.pk: "critical", before_window.pk: "critical"}
    raised = set(Finding.objects.filter(source="monitoring").values_list("website_id", flat=True))
    assert in_window.website_id not in raised and {after_window.website_id, before_window.website_id} <= raised
    assert Check.objects.get(pk=in_window.pk).failures == 3  # probed and recorded all the same


def test_a_window_of_a_unit_covers_the_websites_of_its_subtree_only(db):
    _root, district_a, district_b, school_a = build_test_tree()
    in_school = WebsiteFactory(unit=school_a, url="http://school-a.school.example/")
    in_district = WebsiteFactory(unit=district_a, url="http://jyj-a.edu.example/")
    in_sibling = WebsiteFactory(unit=district_b, url="http://jyj-b.edu.example/")
    sync_checks()
    now = timezone.now()
    MaintenanceWindow.objects.create(
        unit=district_a, starts_at=now - timezone.timedelta(hours=1), ends_at=now + timezone.timedelta(hours=1),
        reason="区数据中心断电检修",
    )  # fmt: skip
    checks = list(Check.objects.filter(kind="http"))
    for step in range(3):
        store_results([refused(c) for c in checks], now=now + timezone.timedelta(seconds=step), schedule=False)
    states = dict(Check.objects.filter(kind="http").values_list("website_id", "state"))
    assert states == {in_school.pk: "maintenance", in_district.pk: "maintenance", in_sibling.pk: "critical"}
    assert set(Finding.objects.filter(source="monitoring").values_list("website_id", flat=True)) == {in_sibling.pk}


def test_a_weekly_window_silences_its_hours_only(checks):
    shanghai = ZoneInfo("Asia/Shanghai")
    sunday_night = timezone.datetime(2026, 11, 1, 0, 0, tzinfo=shanghai)  # a Sunday, 00:00–06:00 every week
    site = checks[0]
    MaintenanceWindow.objects.create(
        unit_id=site.unit_id, website_id=site.website_id, starts_at=sunday_night,
        ends_at=sunday_night + timezone.timedelta(hours=6), repeat="weekly", reason="每周日凌晨系统备份",
    )  # fmt: skip

    def state_at(moment):
        for step in range(3):
            store_results([refused(site)], now=moment + timezone.timedelta(seconds=step), schedule=False)
        return Check.objects.get(pk=site.pk).state

    raised = Finding.objects.filter(source="monitoring", website_id=site.website_id)
    assert state_at(timezone.datetime(2026, 11, 29, 3, 0, tzinfo=shanghai)) == "maintenance"  # a later Sunday
    assert not raised.exists()
    assert state_at(timezone.datetime(2026, 11, 29, 7, 0, tzinfo=shanghai)) == "critical"  # after its hours
    assert raised.exists()
    raised.delete()
    assert state_at(timezone.datetime(2026, 12, 2, 3, 0, tzinfo=shanghai)) == "critical"  # a Wednesday
    assert raised.exists()


def test_fetch_rows_keeps_every_kind_of_value(db):
    text = "文字 \"引号\" 'x' \\ \n"
    blob = "hex(x'00ff10')" if connection.vendor == "sqlite" else "encode('\\x00ff10'::bytea, 'hex')"
    with connection.cursor() as cursor:
        rows = fetch_rows(cursor, ["1", "NULL", "2.5", "%s", str(2**62), blob], "", [text])
    assert [list(row)[:5] for row in rows] == [[1, None, 2.5, text, 2**62]]
    assert bytes.fromhex(rows[0][5]) == b"\x00\xff\x10"
    with connection.cursor() as cursor:
        assert list(fetch_rows(cursor, ["1"], "WHERE 1 = 0", [])) == []


def test_an_unchanged_probe_writes_only_what_changed_in_a_few_statements(checks):
    now = timezone.now()
    for step in range(3):  # the first probes set state, hash, counters
        store_results([ok(c) for c in checks], now=now + timezone.timedelta(minutes=5 * step), schedule=False)
    with CaptureQueriesContext(connection) as queries:
        counts = store_results([ok(c, 60.0) for c in checks], now=now + timezone.timedelta(minutes=15), schedule=False)
    assert counts.checks == len(checks) and counts.state_updates == len(checks)
    updates = [q["sql"] for q in queries.captured_queries if 'UPDATE "monitoring_check"' in q["sql"]]
    # executemany is captured as one entry ("30 times: UPDATE …"): one UPDATE for the batch, the changing columns only.
    assert len(updates) == 1
    assert '"latency_ms"' in updates[0] and '"successes"' in updates[0]
    assert '"details"' not in updates[0] and '"detections"' not in updates[0] and '"state"' not in updates[0]
    assert len(queries.captured_queries) <= 12
    fresh = Check.objects.get(pk=checks[0].pk)
    assert fresh.latency_ms == 60.0 and fresh.successes == 4 and fresh.state == "ok"
    assert fresh.details["clearing"] == {"down": 2, "http_error": 2, "slow": 2}  # stops at the recovery count
    week = WeeklyRollup.objects.get(site_check=checks[0])
    assert week.probes == 4 and week.failures == 0
    assert sum(hour[0] for hour in week.hourly()) == 4


def test_findings_of_many_checks_close_in_two_statements(checks):
    now = timezone.now()
    for step in range(2):
        store_results([refused(c) for c in checks], now=now + timezone.timedelta(minutes=step), schedule=False)
    assert Finding.objects.filter(rule_id="monitoring:down", status="open").count() == len(checks)
    store_results([ok(c) for c in checks], now=now + timezone.timedelta(minutes=2), schedule=False)
    with CaptureQueriesContext(connection) as queries:
        counts = store_results([ok(c) for c in checks], now=now + timezone.timedelta(minutes=3), schedule=False)
    assert counts.findings_fixed == len(checks)
    assert not Finding.objects.filter(rule_id="monitoring:down", status="open").exists()
    finding_statements = [q for q in queries.captured_queries if "findings_finding" in q["sql"]]
    assert len(finding_statements) == 2


def test_claim_moves_the_next_run_one_interval_past_the_due_time(checks):
    now = timezone.now()
    due = now - timezone.timedelta(seconds=30)
    late = now - timezone.timedelta(hours=2)  # more than an interval late: a new cycle from now
    Check.objects.update(next_due_at=now + timezone.timedelta(hours=1))
    Check.objects.filter(pk=checks[0].pk).update(next_due_at=due)
    Check.objects.filter(pk=checks[1].pk).update(next_due_at=late)
    claimed = dict(claim(now, limit=10))
    assert claimed == {checks[0].pk: due, checks[1].pk: late}
    first, second = Check.objects.get(pk=checks[0].pk), Check.objects.get(pk=checks[1].pk)
    assert first.next_due_at == due + timezone.timedelta(seconds=first.interval)  # no drift by the claim delay
    assert now + timezone.timedelta(seconds=second.interval) <= second.next_due_at
    assert second.next_due_at <= now + timezone.timedelta(seconds=second.interval * 1.05 + 1)
    assert claim(now, limit=10) == []


@pytest.mark.django_db
def test_rows_updated_in_one_statement_keep_every_value_as_it_was():
    from monitoring.store import update_rows

    _root, _unit_a, _unit_b, school = build_test_tree()
    for name in ("a", "b", "c"):
        WebsiteFactory(unit=school, name=name, url=f"http://www.{name}.school.example/")
    sync_checks()
    first, second, third = Check.objects.order_by("pk")[:3]
    when = timezone.now().replace(microsecond=123456)
    tricky = 'it\'s "quoted" \\ back\\slash, null, {braces}, 中文 \u2028 line'
    detections = [{"kind": "keywords", "summary": tricky, "evidence": {"matches": ["赌博", None, 1.5], "n": 3}}]
    rows = {
        first.pk: [tricky, detections, None, when, 503],
        second.pk: ["", [], 12.25, None, None],
        third.pk: ["null", {"deep": {"x": [1, 2, {"y": "z"}]}}, 0.0, when.astimezone(ZoneInfo("Asia/Shanghai")), 200],
    }
    names = ["error", "detections", "latency_ms", "last_run_at", "status_code"]
    with CaptureQueriesContext(connection) as queries:
        update_rows(Check, names, [[*values, pk] for pk, values in rows.items()])
    assert len(queries) == 1
    for pk, values in rows.items():
        assert list(Check.objects.filter(pk=pk).values_list(*names).get()) == values


def test_evidence_is_stored_json_safe_and_cut_down_when_too_large():
    from django.utils.translation import gettext_lazy

    from monitoring.store import EVIDENCE_LIMIT, _clip_evidence

    evidence = {"matches": [{"word": "博彩", "count": 2}], "sites": {"b.example", "a.example"}, 3: "three",
                "reason": gettext_lazy("hidden"), "big": 2**70, "spans": ({"offset": 1, "length": 2},)}  # fmt: skip
    stored = _clip_evidence(evidence)
    assert stored["matches"] == [{"word": "博彩", "count": 2}] and stored["3"] == "three"
    assert stored["reason"] == "hidden" and stored["big"] == 2**70 and stored["spans"] == [{"offset": 1, "length": 2}]
    assert isinstance(stored["sites"], str) and "a.example" in stored["sites"]
    huge = {"techniques": ["display_none"], "excerpt": "链" * (EVIDENCE_LIMIT * 4), "matches": []}
    assert _clip_evidence(huge) == {"techniques": ["display_none"], "matches": []}


def test_check_rows_keep_no_index_their_updates_do_not_need(db):
    """Every claim moves the indexed ``next_due_at``, which writes an entry into every index of the row: look-ups by
    website use the unique (website, kind) index, and on PostgreSQL the pages keep room for the store's update (no
    indexed column) to stay on its page without touching the indexes."""
    table = Check._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexed = [tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"]]
    assert ("website_id",) not in indexed and ("website_id", "kind") in indexed
    assert ("enabled", "next_due_at") in indexed
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
            assert "fillfactor=70" in (cursor.fetchone()[0] or [])


def test_a_nul_in_a_page_is_stored_as_u_fffd_with_the_rest_of_its_batch(checks):
    """A site chooses the bytes of its page, and evidence excerpts can come from the page source. PostgreSQL stores
    no NUL in text or JSON: one in the evidence failed the store of the whole batch (the site and every site stored
    with it went unrecorded, at every probe). The analysers show it as U+FFFD, as the HTML parser does."""
    hidden = Check.objects.filter(kind="content").order_by("pk").first()
    page = SchoolPages(hidden.website.host, "测试学校").page("hidden_js_write_hidden").body.decode()
    opener = "document.write('<div style=\"display:none\">');</script>"
    assert opener in page
    page = page.replace(opener, opener + "\0", 1)  # in the hidden markup between the two scripts
    results = [
        ProbeResult(
            hidden.pk, "content", ok=True, status=200, latency_ms=30.0, body=page.encode(), body_hash=b"\2" * 16
        ),
        ok(checks[0]),
    ]
    store_results(results, now=timezone.now(), schedule=False)
    stored = Check.objects.get(pk=hidden.pk)
    assert stored.state == "critical" and stored.last_run_at is not None
    event = CheckEvent.objects.get(site_check=hidden, detection="hidden_links")
    excerpts = " ".join(block["excerpt"] for block in event.evidence["blocks"])
    assert "\ufffd" in excerpts and "\0" not in json.dumps(event.evidence, ensure_ascii=False)
    assert Check.objects.get(pk=checks[0].pk).state == "ok"  # stored in the same batch


def test_a_page_copy_keeps_a_final_url_of_any_length_with_the_rest_of_its_batch(checks):
    """The URL a page was fetched from after its redirects is the site's choice. A copy kept as evidence under a
    column of 500 characters failed the store of the whole batch on PostgreSQL."""
    hidden = Check.objects.filter(kind="content").order_by("pk").first()
    page = SchoolPages(hidden.website.host, "测试学校").page("hidden_css_display_none").body
    final_url = f"https://{hidden.website.host}/index.html?" + "x=1&" * 400
    result = ProbeResult(
        hidden.pk, "content", ok=True, status=200, latency_ms=30.0, body=page, body_hash=b"\3" * 16, final_url=final_url
    )
    store_results([result, ok(checks[0])], now=timezone.now(), schedule=False)
    event = CheckEvent.objects.get(site_check=hidden, detection="hidden_links")
    assert event.snapshot is not None and event.snapshot.url == final_url
    assert Check.objects.get(pk=checks[0].pk).state == "ok"  # stored in the same batch


def test_a_school_page_in_gbk_is_analysed_and_its_evidence_points_into_its_copy(checks):
    """Older school CMSs write GB2312/GBK. Read as UTF-8, every Chinese character was a replacement character: the
    gambling words went unseen and the ICP number was "missing"."""
    site = Check.objects.filter(kind="content").order_by("pk").first()
    page = SchoolPages(site.website.host, "测试学校").page("keywords").body.decode()
    assert '<meta charset="utf-8">' in page
    body = page.replace('<meta charset="utf-8">', '<meta charset="gb2312">').encode("gb18030")
    result = ProbeResult(
        site.pk, "content", ok=True, status=200, latency_ms=30.0, body=body, body_hash=b"\4" * 16,
        headers={"content-type": "text/html"},
    )  # fmt: skip
    store_results([result], now=timezone.now(), schedule=False)
    kinds = {detection["kind"] for detection in Check.objects.get(pk=site.pk).detections}
    assert "harmful_keywords" in kinds and "missing_registration" not in kinds
    event = CheckEvent.objects.get(site_check=site, detection="harmful_keywords")
    words = {keyword["word"] for keyword in event.evidence["keywords"]}
    source = event.snapshot.text()  # what the evidence viewer highlights
    for match in event.evidence["matches"]:
        assert source[match["offset"] : match["offset"] + match["length"]] in words


PLATFORM_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>测试学校</title>
<script src="https://zq.platform.example/site/s0/js/common.js"></script></head><body>
<ul class="submenu" style="display:none"><li><a href="https://zq.platform.example/site/s0/col/1.html">学校概况</a></li>
<li><a href="https://zq.platform.example/site/s0/col/2.html">校园新闻</a></li></ul>
<div id="content"><p>测试学校坚持立德树人，办人民满意的教育。本学期开展读书节、科技节和运动会等活动。</p></div>
<div class="footer">苏ICP备12345678号-1 苏公网安备32010202000001号</div></body></html>"""


def test_a_site_on_its_districts_platform_is_judged_where_its_page_is_served(checks):
    """Many school sites live on their district's site platform (站群): the ledger address redirects there. Judged at
    the ledger address, the platform's own menu and scripts were hidden links and scripts of an unknown domain. If the
    redirects later lead to another site, the page is no longer the reviewed one."""
    site = Check.objects.filter(kind="content").order_by("pk").first()
    platform_url = "https://zq.platform.example/site/s0/index.html"

    def probe(final_url, at, digest):
        result = ProbeResult(
            site.pk, "content", ok=True, status=200, latency_ms=30.0, body=PLATFORM_PAGE.encode(), body_hash=digest,
            final_url=final_url, redirects=[(302, site.url)],
        )  # fmt: skip
        store_results([result], now=at, schedule=False)
        return Check.objects.get(pk=site.pk)

    now = timezone.now()
    stored = probe(platform_url, now, b"\5" * 16)
    assert stored.detections == [], stored.detections
    assert stored.state == "ok"
    moved = probe("https://www.elsewhere.example/index.html", now + timezone.timedelta(hours=1), b"\6" * 16)
    defacement = next(d for d in moved.detections if d["kind"] == "defacement")
    assert defacement["evidence"]["reasons"] == ["other_site"]
    assert defacement["evidence"]["baseline_site"] == "platform.example"
    assert defacement["evidence"]["url"] == "https://www.elsewhere.example/index.html"


def test_an_event_is_told_in_the_readers_language(checks):
    """The monitor stores in the language it runs in; a reader sees a change of state, and a detection, in hers."""
    store_results([refused(checks[0])], now=timezone.now(), schedule=False)  # inside the grace period: a warning
    event = CheckEvent.objects.get(site_check=checks[0], kind="state")
    with translation.override("en"):
        assert event.summary_text == str(event) == "Not probed yet → Warning"
    with translation.override("zh-hans"):
        assert event.summary_text == "尚未探测 → 告警"
    detected = CheckEvent(kind="detected", summary="Harmful keywords found on the page.")
    cleared = CheckEvent(kind="cleared", summary="Harmful keywords found on the page.")
    with translation.override("zh-hans"):
        assert detected.summary_text == "页面中发现有害关键词。"
        assert cleared.summary_text == "已不再发现：页面中发现有害关键词。"
    with translation.override("en"):
        assert cleared.summary_text == "No longer found: Harmful keywords found on the page."
