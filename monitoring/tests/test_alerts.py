"""The monitor's alerts on the channels: who is told that a site is down, back, defaced or has a bad certificate; one
message per unit per store; nothing during maintenance or for the quieter detections; and a failure to alert never
costs the stored results."""

import pytest
from django.utils import formats, timezone, translation

from assets.tests.factories import WebsiteFactory
from core.channels.forms import sync_subscriptions
from core.models import ChannelEndpoint, Delivery, Notification
from core.testing import build_test_tree, make_user
from monitoring import alerts
from monitoring import vocabulary as v
from monitoring.engine.targets import ProbeResult, TLSInfo
from monitoring.ledger import sync_checks
from monitoring.models import AlertThrottle, Check, MaintenanceWindow
from monitoring.simfarm.pages import SchoolPages
from monitoring.store import store_results


@pytest.fixture
def region(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # five users: keep setup fast
    root, district, other_district, school = build_test_tree()
    people = {
        "netadmin": make_user("netadmin", school, ["school_netadmin"]),
        "district_officer": make_user("district_officer", district, ["security_officer"]),
        "city_officer": make_user("city_officer", root, ["security_officer"]),  # two levels up: not addressed
        "other_officer": make_user("other_officer", other_district, ["security_officer"]),
        "auditor": make_user("auditor", school, ["auditor"]),  # reads everything, is told nothing
    }
    sites = [WebsiteFactory(unit=school, name=f"第一小学网站{i}", url=f"http://s{i}.school.example/") for i in range(3)]
    sync_checks()
    robot = ChannelEndpoint.objects.create(
        unit=root, name="市教育局安全群", kind="wecom", webhook_url="http://127.0.0.1:9/robot", include_subunits=True
    )
    sync_subscriptions(robot, list(alerts.EVENT_TYPES))
    return {"school": school, "district": district, "sites": sites, "robot": robot, **people}


def http_check(site):
    return Check.objects.get(website=site, kind="http")


def refused(site):
    return ProbeResult(http_check(site).pk, "http", ok=False, error="refused", error_detail="connection refused")


def ok(site):
    return ProbeResult(http_check(site).pk, "http", ok=True, status=200, latency_ms=40.0, body_hash=b"\1" * 16)


def probe(results, now):
    return store_results(results, now=now, schedule=False)


def storing(now, throttle):
    """``store(results, seconds)``: the results stored ``seconds`` after ``now`` with ``throttle``."""

    def store(results, seconds):
        return store_results(results, now=now + timezone.timedelta(seconds=seconds), schedule=False, throttle=throttle)

    return store


def told(username, event_type):
    return list(Notification.objects.filter(user__username=username, event_type=event_type))


def test_a_site_down_after_its_grace_is_told_once_to_its_school_and_bureau_then_its_recovery(region):
    site = region["sites"][0]
    now = timezone.now()
    with translation.override("zh-hans"):  # the monitor writes in the platform's language
        assert probe([refused(site)], now).alerts == 0  # one failed probe: within the grace period
        assert probe([refused(site)], now + timezone.timedelta(minutes=5)).alerts == 3  # school, district, robot
        assert probe([refused(site)], now + timezone.timedelta(minutes=10)).alerts == 0  # still down: no news
    [message] = told("netadmin", alerts.DOWN)
    # Why, in the reader's language; the engine's own words in the body.
    assert message.title == f"网站无法访问：{site.name}（连接被拒绝）"
    assert f"- {site.name}（{site.url}）：连接被拒绝（connection refused）" in message.body
    assert message.url == f"/monitoring/sites/{site.pk}/"
    assert len(told("district_officer", alerts.DOWN)) == 1
    assert told("city_officer", alerts.DOWN) == told("other_officer", alerts.DOWN) == told("auditor", alerts.DOWN) == []
    assert Delivery.objects.filter(endpoint=region["robot"], event_type=alerts.DOWN).count() == 1
    with translation.override("zh-hans"):
        assert probe([ok(site)], now + timezone.timedelta(minutes=15)).alerts == 3  # answers again
        assert probe([ok(site)], now + timezone.timedelta(minutes=20)).alerts == 0
    [back] = told("netadmin", alerts.RECOVERED)
    assert back.title == f"网站恢复访问：{site.name}（此前：网站无法访问）"


def test_sites_down_together_make_one_message_per_unit(region):
    now = timezone.now()
    for step in range(2):
        counts = probe([refused(site) for site in region["sites"]], now + timezone.timedelta(minutes=5 * step))
    assert counts.alerts == 3  # one each to the school, the district and the robot
    [message] = told("netadmin", alerts.DOWN)
    assert "3" in message.title and all(site.name in message.body for site in region["sites"])
    assert message.url == "/monitoring/"


def test_a_districts_robot_hears_of_all_its_schools_in_one_message(region):
    """A district-wide outage: each school's people are told of their own sites only; the robots that hear the
    schools (the city's, set to receive its subordinate units' events) get one message about all of them, not one
    per school (group robots accept about 20 messages a minute)."""
    from orgs.models import Unit

    second = Unit.objects.add_child(
        region["district"],
        instance=Unit(name="甲区第二小学", code="2132990002", unit_type="school", school_code="2132990002"),
    )
    make_user("netadmin2", second, ["school_netadmin"])
    theirs = WebsiteFactory(unit=second, name="第二小学网站", url="http://t0.school.example/")
    sync_checks()
    down = [*region["sites"], theirs]
    now = timezone.now()
    for step in range(2):
        counts = probe([refused(site) for site in down], now + timezone.timedelta(minutes=5 * step))
    assert counts.alerts == 4  # the people of each school, of the district, and the robot: once each
    [mine] = told("netadmin", alerts.DOWN)
    [their] = told("netadmin2", alerts.DOWN)
    assert "第二小学网站" not in mine.body and "第一小学网站0" not in their.body
    [district] = told("district_officer", alerts.DOWN)  # one message about both schools
    assert all(site.name in district.body for site in down) and "4" in district.title
    [delivery] = Delivery.objects.filter(endpoint=region["robot"], event_type=alerts.DOWN)
    assert all(site.name in delivery.body for site in down) and "4" in delivery.title


def test_nothing_is_told_during_maintenance(region):
    site = region["sites"][0]
    now = timezone.now()
    MaintenanceWindow.objects.create(
        unit=region["district"], starts_at=now - timezone.timedelta(hours=1), ends_at=now + timezone.timedelta(hours=1),
        reason="区数据中心断电检修",
    )  # fmt: skip
    for step in range(3):
        assert probe([refused(site)], now + timezone.timedelta(minutes=5 * step)).alerts == 0
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_content_detections_alert_and_the_quiet_ones_do_not(region):
    site = region["sites"][1]
    check = Check.objects.get(website=site, kind="content")
    pages = SchoolPages(site.host, "第一小学")

    def page(scenario, digest):
        body = pages.page(scenario).body
        return ProbeResult(check.pk, "content", ok=True, status=200, latency_ms=30.0, body=body, body_hash=digest)

    now = timezone.now()
    probe([page("missing_icp", b"\2" * 16)], now)
    assert Check.objects.get(pk=check.pk).detections[0]["kind"] == "missing_registration"
    assert not Notification.objects.exists()  # a finding to work through, not news
    with translation.override("zh-hans"):  # the monitor writes in the platform's language
        assert probe([page("hidden_css_display_none", b"\3" * 16)], now + timezone.timedelta(hours=1)).alerts == 3
    [message] = told("netadmin", alerts.CONTENT)
    assert message.title == f"网站内容安全告警：{site.name}（暗链、有害关键词）"
    assert f"- {site.name}（{site.url}）：暗链、有害关键词" in message.body


def test_a_certificate_is_told_when_it_starts_to_expire_within_its_last_week_and_last_two_days(region):
    site = WebsiteFactory(unit=region["school"], name="第一小学HTTPS", url="https://tls.school.example/")
    sync_checks()
    check = Check.objects.get(website=site, kind="tls")
    now = timezone.now()

    def certificate(days_left):
        expired = days_left < 0
        tls = TLSInfo(valid=not expired, verify_error="expired" if expired else "", days_left=days_left,
                      subject_cn=site.host, protocol="TLSv1.3")  # fmt: skip
        return ProbeResult(check.pk, "tls", ok=not expired, latency_ms=20.0, tls=tls)

    days = (25, 20, 6, 5, 1.5, 0.5, -1, -2)
    with translation.override("zh-hans"):  # the monitor writes in the platform's language
        sent = [probe([certificate(left)], now + timezone.timedelta(days=25 - left)).alerts for left in days]
        labels = [str(v.DETECTION_KINDS[kind]) for kind in ("tls_expiring",) * 3 + ("tls_invalid",)]
    # Expiring (medium), the same, within 7 days (high), the same, within 2 days (critical: the last reminder, as the
    # daily check comes one to two days before), the same, expired (invalid), the same; to 3 receivers each.
    assert sent == [3, 0, 3, 0, 3, 0, 3, 0]
    messages = Notification.objects.filter(user__username="netadmin", event_type=alerts.CERTIFICATE).order_by("pk")
    assert [message.title.rsplit("（", 1)[1].rstrip("）") for message in messages] == labels


def test_a_failure_to_alert_costs_the_alerts_only(region, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the channels are broken")

    monkeypatch.setattr("core.channels.notify", broken)
    site = region["sites"][0]
    now = timezone.now()
    probe([refused(site)], now)
    counts = probe([refused(site)], now + timezone.timedelta(minutes=5))
    assert counts.alerts == 0 and "monitoring alerts not sent" in caplog.text
    assert http_check(site).state == "critical"  # stored all the same


def test_a_receiver_told_a_moment_ago_hears_of_more_sites_in_one_message_when_the_interval_is_over(region):
    """The monitor finds a district-wide outage site by site (each check on its own schedule): the first site is told
    at once, the next ones within the interval are held and told together when it is over."""
    throttle = alerts.Throttle(120)
    first, second, third = region["sites"]
    now = timezone.now()

    def at(minutes):
        return now + timezone.timedelta(minutes=minutes)

    def store(results, minutes):
        return store_results(results, now=at(minutes), schedule=False, throttle=throttle)

    store([refused(first), refused(second)], 0)  # within their grace period
    with translation.override("zh-hans"):
        assert store([refused(first)], 5).alerts == 3  # the school, the district, the robot: at once
        assert store([refused(second)], 5.5).alerts == 0  # held: they were told 30 seconds ago
        assert store([refused(third)], 6).alerts == 0  # within its grace period
        assert store([refused(third)], 6.5).alerts == 0  # held with the second
        assert alerts.send_held(throttle, at(6.9)) == 0
        held = AlertThrottle.objects.get(event_type=alerts.DOWN, receiver=f"unit:{region['school'].pk}")
        assert [alert["website_id"] for alert in held.held] == [second.pk, third.pk] and held.due_at == at(7)
        assert alerts.send_held(throttle, at(7)) == 3  # 120 seconds after the first message
    assert alerts.send_held(throttle, at(10), everything=True) == 0  # nothing is held any more
    first_message, later = sorted(told("netadmin", alerts.DOWN), key=lambda message: message.pk)
    assert first.name in first_message.title and second.name not in first_message.body
    assert (
        "2" in later.title and second.name in later.body and third.name in later.body and first.name not in later.body
    )
    when = formats.date_format(timezone.localtime(at(5.5)), "Y-m-d H:i")
    assert when in later.body  # dated when the first of its sites was found down
    assert len(told("district_officer", alerts.DOWN)) == 2
    assert Delivery.objects.filter(endpoint=region["robot"], event_type=alerts.DOWN).count() == 2
    # Another event type is other news: it goes at once.
    with translation.override("zh-hans"):
        assert store([ok(first)], 7.5).alerts == 3
    assert len(told("netadmin", alerts.RECOVERED)) == 1


def test_held_alerts_go_with_the_next_message_once_the_interval_is_over(region):
    """Nobody looked for held alerts in time (the monitor was stopped, say): the next store that has news for the same
    receiver and event type sends them with its own."""
    throttle = alerts.Throttle(120)
    first, second, third = region["sites"]
    now = timezone.now()
    store = storing(now, throttle)

    store([refused(first), refused(second), refused(third)], 0)
    assert store([refused(first)], 300).alerts == 3
    assert store([refused(second)], 330).alerts == 0  # held
    assert store([refused(third)], 500).alerts == 3  # the interval is over: the second goes with the third
    _first, later = sorted(told("netadmin", alerts.DOWN), key=lambda message: message.pk)
    assert second.name in later.body and third.name in later.body
    assert not AlertThrottle.objects.filter(due_at__isnull=False).exists()


def test_a_site_back_before_its_held_message_went_is_told_neither_down_nor_back(region):
    throttle = alerts.Throttle(120)
    first, second, third = region["sites"]
    now = timezone.now()
    store = storing(now, throttle)

    store([refused(first), refused(second), refused(third)], 0)
    assert store([refused(first)], 300).alerts == 3
    assert store([refused(second), refused(third)], 310).alerts == 0  # held
    assert store([ok(second)], 320).alerts == 0  # back before anybody heard it was down
    assert alerts.send_held(throttle, now + timezone.timedelta(seconds=420)) == 3  # the third site alone
    _first, later = sorted(told("netadmin", alerts.DOWN), key=lambda message: message.pk)
    assert third.name in later.title and second.name not in later.body
    assert told("netadmin", alerts.RECOVERED) == []
    # A site whose "down" was told is told when it is back.
    assert store([ok(first)], 430).alerts == 3


def test_a_site_told_down_is_not_told_again_by_its_other_checks_but_is_when_it_goes_down_again(region):
    throttle = alerts.Throttle(120)
    first, _second, _third = region["sites"]
    content = Check.objects.get(website=first, kind="content")
    content_refused = ProbeResult(content.pk, "content", ok=False, error="refused", error_detail="connection refused")
    now = timezone.now()

    store = storing(now, throttle)

    store([refused(first), content_refused], 0)  # within their grace period
    assert store([refused(first)], 300).alerts == 3
    assert store([content_refused], 310).alerts == 0  # its content check finds it down too: no news
    assert not AlertThrottle.objects.filter(due_at__isnull=False).exists()  # and nothing held
    assert store([ok(first)], 320).alerts == 3  # back up
    store([refused(first)], 330)  # within its grace period again
    assert store([refused(first)], 340).alerts == 0  # down again: news, held (the last "down" was 40 s ago)
    assert alerts.send_held(throttle, now + timezone.timedelta(seconds=420)) == 3
    assert [message.title.count(first.name) for message in told("netadmin", alerts.DOWN)] == [1, 1]


def test_the_monitor_sends_what_it_holds_when_it_stops(region):
    from monitoring.sweep import Monitor

    monitor = Monitor(workers=0)
    first, second, _third = region["sites"]
    now = timezone.now()
    store_results([refused(first), refused(second)], now=now, schedule=False, throttle=monitor.throttle)
    store_results([refused(first)], now=now, schedule=False, throttle=monitor.throttle)
    store_results([refused(second)], now=now, schedule=False, throttle=monitor.throttle)
    assert monitor._send_held_alerts() == 0  # its interval is not over
    assert monitor._send_held_alerts(everything=True) == 3
    assert len(told("netadmin", alerts.DOWN)) == 2


def test_held_alerts_outlive_the_process_that_held_them(region):
    """The throttle's state is in the database: a worker (or a restarted monitor) with a throttle of its own sends
    what another held, and holds what another was told a moment ago."""
    first, second, third = region["sites"]
    now = timezone.now()

    def store(results, seconds, throttle):
        return store_results(results, now=now + timezone.timedelta(seconds=seconds), schedule=False, throttle=throttle)

    store([refused(first), refused(second), refused(third)], 0, None)
    assert store([refused(first)], 300, alerts.Throttle(120)).alerts == 3
    assert store([refused(second)], 310, alerts.Throttle(120)).alerts == 0  # another worker: held all the same
    assert alerts.send_held(alerts.Throttle(120), now + timezone.timedelta(seconds=420)) == 3
    assert len(told("netadmin", alerts.DOWN)) == 2
    # "probe now" (no throttle) tells at once, whatever was told before.
    assert store([refused(third)], 430, None).alerts == 3


def test_why_a_site_is_down_is_told_in_the_readers_language_with_the_engines_words_beside(region):
    first, second, third = region["sites"]
    reset = ProbeResult(
        http_check(second).pk, "http", ok=False, error="connect", error_detail="Connection reset by peer"
    )
    failing = ProbeResult(http_check(third).pk, "http", ok=False, error="http", status=502, latency_ms=30.0)
    now = timezone.now()
    with translation.override("en"):
        for step in range(2):
            probe([refused(first), reset, failing], now + timezone.timedelta(minutes=5 * step))
    [message] = told("netadmin", alerts.DOWN)
    assert message.title == "Website down: 3 sites of 甲区第一小学"
    assert f"- {first.name} ({first.url}): connection refused\n" in message.body  # the same words: said once
    assert f"- {second.name} ({second.url}): connection lost (Connection reset by peer)" in message.body
    assert message.body.endswith(f"- {third.name} ({third.url}): HTTP 502")


def test_a_site_under_an_internationalised_name_is_told_by_that_name(region):
    """A ``.公益`` school site is probed as punycode; its alert shows the address as the school registered it."""
    site = WebsiteFactory(unit=region["school"], name="第二小学公益网站", url="http://第二小学.公益/")
    sync_checks()
    assert http_check(site).url.startswith("http://xn--")
    now = timezone.now()
    probe([refused(site)], now)
    assert probe([refused(site)], now + timezone.timedelta(minutes=5)).alerts == 3
    (message,) = told("netadmin", alerts.DOWN)
    assert "http://第二小学.公益" in message.body and "xn--" not in message.body
