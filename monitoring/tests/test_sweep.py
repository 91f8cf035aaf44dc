"""A scheduler round end to end against the simulated farm: checks from the ledger, probes, latest state, events,
rollups, and findings that open, refresh, close after good probes and reopen."""

import pytest
from django.utils import timezone

from assets.tests.factories import WebsiteFactory
from core.testing import build_test_tree
from findings.models import Finding
from monitoring import rollups
from monitoring.ledger import sync_checks
from monitoring.models import Check, CheckEvent, ContentBaseline, PageSnapshot, WeeklyRollup
from monitoring.simfarm.pages import SPAM_HOSTS
from monitoring.simfarm.testing import running_farm
from monitoring.sweep import claim_due, probe_checks, run_due

HEALTHY, HIDDEN, DOWN, EXPIRED = (
    "www.healthy.school.example",
    "www.hidden.school.example",
    "www.down.school.example",
    "www.expired.school.example",
)
SITES = [
    {"host": HEALTHY, "scenario": "healthy", "tls": "valid", "ipv6": True},
    {"host": HIDDEN, "scenario": "hidden_css_display_none", "tls": "valid", "ipv6": True},
    {"host": DOWN, "scenario": "refused", "tls": "valid", "ipv6": True},
    {"host": EXPIRED, "scenario": "healthy", "tls": "expired", "ipv6": False},
]


@pytest.fixture
def farm(tmp_path):
    with running_farm(SITES, state_dir=tmp_path / "farm") as running:
        yield running


@pytest.fixture
def ledger(db):
    root, unit_a, unit_b, school_a = build_test_tree()
    websites = {
        host: WebsiteFactory(unit=school_a if host != DOWN else unit_b, name=host, url=f"https://{host}/")
        for host in (HEALTHY, HIDDEN, DOWN, EXPIRED)
    }
    sync_checks()
    return school_a, unit_b, websites


def sweep(farm, kinds=None, now=None):
    checks = Check.objects.all() if kinds is None else Check.objects.filter(kind__in=kinds)
    return probe_checks(
        list(checks.values_list("pk", flat=True)),
        now=now,
        port_map={80: farm.http_port, 443: farm.https_port},
        ca_file=str(farm.ca_path),
        allow_public=False,
    )


def sweep_new_sites(sites, kinds, tmp_path):
    """Register the farm ``sites`` in a fresh tree (HTTPS unless their TLS is "none") and probe ``kinds`` once."""
    _root, _unit_a, _unit_b, school = build_test_tree()
    for site in sites:
        scheme = "http" if site.get("tls") == "none" else "https"
        WebsiteFactory(unit=school, name=site["host"], url=f"{scheme}://{site['host']}/")
    sync_checks()
    with running_farm(sites, state_dir=tmp_path / "farm") as farm:
        sweep(farm, kinds=kinds)


def check(host, kind):
    return Check.objects.get(website__host=host, kind=kind)


@pytest.mark.django_db
def test_checks_follow_the_ledger(ledger):
    school_a, unit_b, websites = ledger
    assert Check.objects.filter(website=websites[HEALTHY]).count() == 5  # http, content, tls, dns, ipv6
    assert set(Check.objects.filter(website=websites[DOWN]).values_list("unit", flat=True)) == {unit_b.pk}
    websites[HEALTHY].is_active = False
    websites[HEALTHY].save()
    sync_checks()
    assert not Check.objects.filter(website=websites[HEALTHY], enabled=True).exists()


@pytest.mark.django_db
def test_a_round_sets_state_events_rollups_and_findings(ledger, farm):
    counts = sweep(farm)
    assert counts.checks == Check.objects.count() == 20
    assert check(HEALTHY, "http").state == "ok" and check(HEALTHY, "http").status_code == 200
    assert check(HEALTHY, "tls").state == "ok" and check(HEALTHY, "tls").details["tls"]["days_left"] > 30
    assert check(HEALTHY, "content").state == "ok"
    assert ContentBaseline.objects.filter(site_check=check(HEALTHY, "content")).exists()  # learnt from its first page
    hidden = check(HIDDEN, "content")
    assert hidden.state == "critical" or hidden.state == "warning"
    assert "hidden_links" in [d["kind"] for d in hidden.detections]
    event = CheckEvent.objects.get(site_check=hidden, kind="detected", detection="hidden_links")
    assert event.snapshot is not None and "display:none" in event.snapshot.text().replace(" ", "")
    assert check(EXPIRED, "tls").state == "critical"
    assert [d["kind"] for d in check(EXPIRED, "tls").detections] == ["tls_invalid"]
    # One refused probe is inside the grace period: a warning, no finding yet.
    down = check(DOWN, "http")
    assert down.state == "warning" and down.failures == 1 and not down.detections
    findings = Finding.objects.filter(source="monitoring")
    assert set(findings.values_list("rule_id", "host")) == {
        ("monitoring:hidden_links", HIDDEN),
        ("monitoring:harmful_keywords", HIDDEN),  # the hidden block's gambling anchor texts
        ("monitoring:tls_invalid", EXPIRED),
        ("monitoring:ipv6_missing", EXPIRED),
        ("monitoring:ipv6_missing", DOWN),  # a site that refuses connections refuses them over IPv6 too
    }
    assert findings.get(rule_id="monitoring:hidden_links").unit == hidden.unit
    week = WeeklyRollup.objects.get(site_check=check(HEALTHY, "http"))
    hours = week.hourly()
    assert week.week == rollups.week_of(timezone.localdate()) and week.week.weekday() == 0
    assert week.probes == 1 and sum(h[0] for h in hours) == 1 and any(h[2] > 0 for h in hours)


@pytest.mark.django_db
def test_down_after_grace_then_recovery_closes_and_relapse_reopens(ledger, farm):
    for _round in range(2):
        sweep(farm, kinds=["http"])
    down = check(DOWN, "http")
    assert down.state == "critical" and [d["kind"] for d in down.detections] == ["down"]
    # Why, as the alerts and the site page say it: the farm resets the connection, told without the errno.
    assert down.error in ("Connection reset by peer", "Server disconnected"), down.error
    assert down.detections[0]["summary"] == down.error
    finding = Finding.objects.get(rule_id="monitoring:down")
    assert finding.unit == down.unit and finding.status == "open"
    sweep(farm, kinds=["http"])
    finding.refresh_from_db()
    assert finding.times_seen == 2  # refreshed while it persists, never duplicated

    farm.set_scenario(DOWN, "healthy")
    sweep(farm, kinds=["http"])
    finding.refresh_from_db()
    assert check(DOWN, "http").state == "ok" and finding.status == "open"  # one good probe is not enough
    sweep(farm, kinds=["http"])
    finding.refresh_from_db()
    assert finding.status == "fixed" and finding.closed_by_rescan

    farm.set_scenario(DOWN, "refused")
    for _round in range(2):
        sweep(farm, kinds=["http"])
    finding.refresh_from_db()
    assert finding.status == "reopened"
    kinds = list(CheckEvent.objects.filter(site_check=down).order_by("at", "pk").values_list("kind", flat=True))
    assert kinds.count("detected") == 2 and kinds.count("cleared") == 1


@pytest.mark.django_db
def test_unchanged_page_is_not_analysed_again_and_keeps_its_detections(ledger, farm):
    sweep(farm, kinds=["content"])
    hidden = check(HIDDEN, "content")
    analysed = hidden.analysed_hash
    snapshots = PageSnapshot.objects.count()
    sweep(farm, kinds=["content"])
    hidden.refresh_from_db()
    assert hidden.analysed_hash == analysed and PageSnapshot.objects.count() == snapshots
    assert "hidden_links" in [d["kind"] for d in hidden.detections]
    assert CheckEvent.objects.filter(site_check=hidden, kind="detected", detection="hidden_links").count() == 1


@pytest.mark.django_db
def test_claiming_moves_the_due_time_so_nobody_takes_a_check_twice(ledger):
    now = timezone.now() + timezone.timedelta(hours=2)
    first = claim_due(now, limit=1000)
    assert len(first) == Check.objects.count()
    assert claim_due(now, limit=1000) == []
    assert run_due(now) is None


@pytest.mark.django_db
def test_a_page_unchanged_for_months_is_a_stale_site(ledger, farm, settings):
    settings.EDUSEC_MONITOR_STALE_DAYS = 180
    sweep(farm, kinds=["content"])
    healthy = check(HEALTHY, "content")
    assert healthy.state == "ok" and healthy.content_changed_at is not None
    later = healthy.content_changed_at + timezone.timedelta(days=181)
    sweep(farm, kinds=["content"], now=later)
    healthy.refresh_from_db()
    stale = [d for d in healthy.detections if d["kind"] == "stale_site"]
    assert stale and stale[0]["evidence"]["unchanged_days"] == 181 and healthy.state == "warning"
    assert Finding.objects.filter(rule_id="monitoring:stale_site", host=HEALTHY).exists()
    settings.EDUSEC_MONITOR_STALE_DAYS = 0  # the rule off: nothing more
    sweep(farm, kinds=["content"], now=later + timezone.timedelta(hours=1))
    healthy.refresh_from_db()
    assert not [d for d in healthy.detections if d["kind"] == "stale_site"]


@pytest.mark.django_db
def test_history_is_pruned_by_retention_but_baseline_pages_stay(ledger, farm, settings):
    from monitoring.retention import prune_history

    sweep(farm, kinds=["content", "http"])
    snapshot = PageSnapshot.objects.first()
    ContentBaseline.objects.filter(site_check=check(HIDDEN, "content")).update(snapshot=snapshot)
    PageSnapshot.objects.create(  # an older copy of the same page that nothing points at
        unit=snapshot.unit, site_check=snapshot.site_check, taken_at=snapshot.taken_at, url=snapshot.url,
        sha256=snapshot.sha256, size=snapshot.size, body=snapshot.body,
    )  # fmt: skip
    events, rollups, snapshots = CheckEvent.objects.count(), WeeklyRollup.objects.count(), PageSnapshot.objects.count()
    assert events and rollups and snapshots >= 2
    assert prune_history() == {"events": 0, "snapshots": 0, "rollups": 0, "probe_records": 0}
    far = timezone.now() + timezone.timedelta(days=800)
    assert prune_history(far) == {"events": events, "snapshots": snapshots - 1, "rollups": rollups, "probe_records": 0}
    assert list(PageSnapshot.objects.all()) == [snapshot]  # a baseline still points at it


@pytest.mark.django_db
def test_a_certificate_name_with_a_nul_is_stored_and_shown_as_u_fffd(tmp_path):
    """The null-prefix trick ("site\\0.attacker.example"): the certificate fails the host-name check, and its name,
    written by the site, reaches the check's details. PostgreSQL stores no NUL in JSON: stored raw, it failed the
    whole batch, the valid site's result with it."""
    spoofed, valid = "www.spoofed.school.example", "www.valid.school.example"
    sweep_new_sites([{"host": spoofed, "tls": "null_prefix"}, {"host": valid, "tls": "valid"}], ["tls"], tmp_path)
    tls = check(spoofed, "tls").details["tls"]
    assert check(spoofed, "tls").state == "critical" and tls["verify_error"] == "hostname_mismatch"
    assert tls["subject_cn"] == f"{spoofed}\ufffd.other-site.example" and tls["sans"] == [tls["subject_cn"]]
    assert check(valid, "tls").state == "ok"  # stored in the same batch


@pytest.mark.django_db
def test_school_sites_in_gbk_are_judged_by_their_chinese_text(tmp_path):
    """Two sites of an older CMS, in GBK declared by <meta charset="gb2312"> only: the gambling words of one are
    found, and neither is reported as missing its ICP number (it was, read as UTF-8)."""
    gambling, healthy = "www.gbk-gambling.school.example", "www.gbk-healthy.school.example"
    sites = [{"host": host, "scenario": scenario, "tls": "none", "charset": "gbk"}
             for host, scenario in ((gambling, "keywords"), (healthy, "healthy"))]  # fmt: skip
    sweep_new_sites(sites, ["content"], tmp_path)
    assert {d["kind"] for d in check(gambling, "content").detections} == {"harmful_keywords"}
    assert check(healthy, "content").detections == [] and check(healthy, "content").state == "ok"


@pytest.mark.django_db
def test_each_cloaking_scenario_of_the_farm_is_found_through_the_engine(tmp_path):
    """Cloaked sites answer spiders, phones and search visitors differently, often with an HTTP redirect to a spam
    site that gives no page (down, or out of reach of a closed education network; in the farm, an unknown site that
    answers 404). The redirect is the evidence, wherever it leads."""
    scenarios = ("cloaking_spider", "cloaking_mobile", "cloaking_referer", "cloaking_referer_redirect", "healthy")
    hosts = {scenario: f"www.{scenario.replace('_', '-')}.school.example" for scenario in scenarios}
    sweep_new_sites([{"host": host, "scenario": scenario} for scenario, host in hosts.items()], ["content"], tmp_path)
    for scenario, host in hosts.items():
        detections = {d["kind"]: d for d in check(host, "content").detections}
        if scenario == "healthy":
            assert detections == {}
            continue
        technique = "cloaking_referer" if scenario == "cloaking_referer_redirect" else scenario
        assert "cloaking" in detections, (scenario, detections)
        assert technique in detections["cloaking"]["evidence"]["techniques"], scenario
    for scenario, variant in (("cloaking_mobile", "mobile"), ("cloaking_referer_redirect", "referer")):
        cloaking = next(d for d in check(hosts[scenario], "content").detections if d["kind"] == "cloaking")
        report = cloaking["evidence"]["variants"][variant]
        assert report["reasons"] == ["redirect"], report  # the spam site gave no page to compare: only where to
        assert [url.split("/")[2] for url in report["redirects"]] == [report["redirects"][0].split("/")[2]]
        assert report["redirects"][0].split("/")[2] in SPAM_HOSTS
