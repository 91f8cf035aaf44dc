"""Notification channels, deciding and delivering: who is addressed, preferences and subscriptions, queueing on commit,
attempts with exponential back-off (driven by an explicit clock, then once for real through the in-process executor),
e-mail through Django's locmem backend."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from core import tasks
from core.channels import notify, register_event_type
from core.channels.delivery import attempt, backoff_delay, dispatch_due
from core.channels.forms import sync_subscriptions
from core.channels.receiver import WebhookReceiver
from core.models import (
    ChannelEndpoint,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Notification,
    NotificationPreference,
    TaskRun,
)
from core.testing import build_test_tree, make_user

EVENT = "tests.notice_issued"
OTHER_EVENT = "tests.notice_closed"
register_event_type(EVENT, "Notice issued (test)")
register_event_type(OTHER_EVENT, "Notice closed (test)")


@pytest.fixture(autouse=True)
def _channel_settings(settings):
    settings.EDUSEC_CHANNEL_ALLOW_PUBLIC = False
    settings.EDUSEC_CHANNEL_MAX_ATTEMPTS = 4
    settings.EDUSEC_CHANNEL_BACKOFF_SECONDS = 30
    settings.EDUSEC_CHANNEL_BACKOFF_MAX_SECONDS = 3600
    settings.EDUSEC_CHANNEL_TIMEOUT = 3
    settings.EDUSEC_SITE_URL = "http://127.0.0.1:8000"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def tree(db):
    root, unit_a, unit_b, school_a = build_test_tree()
    school_a2 = type(school_a).objects.add_child(
        unit_a,
        instance=type(school_a)(
            name="甲区第二小学", code="2132990002", unit_type="school", school_code="2132990002", stages=["primary"]
        ),
    )
    for unit in (root, unit_a, unit_b, school_a):
        unit.refresh_from_db()
    return {"root": root, "a": unit_a, "b": unit_b, "school": school_a, "school2": school_a2}


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def endpoint(unit, kind, url="", *, events=(EVENT,), secret="", **extra):
    obj = ChannelEndpoint.objects.create(
        unit=unit,
        name=f"{kind}-{unit.code}-{len(events)}-{url[-6:]}",
        kind=kind,
        webhook_url=url,
        secret=secret,
        **extra,
    )
    sync_subscriptions(obj, events)
    return obj


# ---- who hears what ------------------------------------------------------------------------------------------------


def test_unit_members_with_relevant_roles_are_addressed(tree, django_capture_on_commit_callbacks):
    cio = make_user("cio", tree["school"], ["school_cio"])
    netadmin = make_user("netadmin", tree["school"], ["school_netadmin"])
    make_user("auditor", tree["school"], ["auditor"])  # reads everything, is told nothing
    make_user("gone", tree["school"], ["school_cio"], is_active=False)
    make_user("district", tree["a"], ["district_admin"])  # the parent unit is not addressed
    make_user("other_school", tree["school2"], ["school_cio"])
    outsider = make_user("outsider", tree["b"], ["auditor"])

    with django_capture_on_commit_callbacks(execute=False):
        result = notify(EVENT, units=[tree["school"]], users=[outsider], title="整改通知", body="请整改", url="/x/1/")

    assert {u.username for u in result.users} == {"cio", "netadmin", "outsider"}
    rows = Notification.objects.order_by("user__username")
    assert [n.user.username for n in rows] == ["cio", "netadmin", "outsider"]
    assert all(n.title == "整改通知" and n.url == "/x/1/" and n.event_type == EVENT for n in rows)
    assert rows.get(user=cio).unit == tree["school"]
    assert rows.get(user=netadmin).read_at is None
    assert result.deliveries == []  # nobody opted in to e-mail, no endpoint subscribed


def test_event_type_roles_narrow_the_audience(tree, django_capture_on_commit_callbacks):
    register_event_type("tests.cio_only", "CIO only", roles=["school_cio"])
    make_user("cio", tree["school"], ["school_cio"])
    make_user("netadmin", tree["school"], ["school_netadmin"])
    with django_capture_on_commit_callbacks(execute=False):
        result = notify("tests.cio_only", units=[tree["school"]], title="t")
        override = notify("tests.cio_only", units=[tree["school"]], title="t", roles=["school_netadmin"])
    assert [u.username for u in result.users] == ["cio"]
    assert [u.username for u in override.users] == ["netadmin"]


def test_unknown_event_and_empty_title_are_refused(tree):
    with pytest.raises(ValueError):
        notify("tests.never_registered", units=[tree["school"]], title="x")
    with pytest.raises(ValueError):
        notify(EVENT, units=[tree["school"]], title="   ")


def test_preferences_decide_in_app_and_email(tree, django_capture_on_commit_callbacks):
    quiet = make_user("quiet", tree["school"], ["school_cio"], email="quiet@school.test")
    mailer = make_user("mailer", tree["school"], ["school_cio"], email="mailer@school.test")
    no_address = make_user("noaddr", tree["school"], ["school_cio"])
    NotificationPreference.objects.create(user=quiet, event_type=EVENT, in_app=False, email=False)
    NotificationPreference.objects.create(user=mailer, event_type=EVENT, in_app=True, email=True)
    NotificationPreference.objects.create(user=no_address, event_type=EVENT, in_app=True, email=True)
    # A preference for another event type changes nothing for this one.
    NotificationPreference.objects.create(user=quiet, event_type=OTHER_EVENT, in_app=True, email=True)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = notify(EVENT, units=[tree["school"]], title="漏洞通报")

    assert set(Notification.objects.values_list("user__username", flat=True)) == {"mailer", "noaddr"}
    (delivery,) = result.deliveries
    assert delivery.kind == "email" and delivery.recipient == mailer and delivery.endpoint is None
    assert delivery.target == "ma***@school.test"  # the log shows a masked address
    assert delivery.unit == tree["school"] and delivery.state == DeliveryState.QUEUED
    assert len(callbacks) == 1  # one task, started at commit


def test_endpoint_subscriptions_and_subunits(tree, django_capture_on_commit_callbacks):
    url = "http://127.0.0.1:9/hook"
    school_robot = endpoint(tree["school"], "wecom", url)
    endpoint(tree["school"], "wecom", url + "x", events=(OTHER_EVENT,))  # subscribed to something else
    endpoint(tree["school"], "wecom", url + "y", enabled=False)  # disabled
    district_all = endpoint(tree["a"], "dingtalk", url + "z", include_subunits=True)
    endpoint(tree["a"], "dingtalk", url + "w")  # the district's own events only
    endpoint(tree["b"], "feishu", url + "v", include_subunits=True)  # a sibling district
    city_all = endpoint(tree["root"], "webhook", url + "u", secret="s", include_subunits=True)

    with django_capture_on_commit_callbacks(execute=False):
        result = notify(EVENT, units=[tree["school"], tree["school2"]], title="t")

    got = {d.endpoint for d in result.deliveries}
    assert got == {school_robot, district_all, city_all}
    # one message per endpoint, although two of its schools were addressed
    assert len(result.deliveries) == 3
    assert {d.unit for d in result.deliveries} == {tree["school"], tree["a"], tree["root"]}


def test_a_caller_may_choose_the_endpoints(tree, django_capture_on_commit_callbacks):
    """``endpoints`` replaces the choice by units: [] tells the people only, a list sends to exactly those."""
    url = "http://127.0.0.1:9/hook"
    school_robot = endpoint(tree["school"], "wecom", url)
    district_all = endpoint(tree["a"], "dingtalk", url + "z", include_subunits=True)
    make_user("cio", tree["school"], ["school_cio"])
    with django_capture_on_commit_callbacks(execute=False):
        people_only = notify(EVENT, units=[tree["school"]], title="t", endpoints=[])
        robot_only = notify(EVENT, title="t", endpoints=[district_all])
    assert len(people_only.notifications) == 1 and people_only.deliveries == []
    assert robot_only.notifications == [] and [d.endpoint for d in robot_only.deliveries] == [district_all]
    assert not Delivery.objects.filter(endpoint=school_robot).exists()


def test_nothing_is_sent_when_the_transaction_rolls_back(tree, django_capture_on_commit_callbacks):
    endpoint(tree["school"], "wecom", "http://127.0.0.1:9/hook")
    make_user("cio", tree["school"], ["school_cio"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                notify(EVENT, units=[tree["school"]], title="t")
                raise RuntimeError("the caller failed after notifying")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not Notification.objects.exists() and not Delivery.objects.exists()
    assert not TaskRun.objects.filter(name="core.channels.deliver").exists()


# ---- attempts and back-off ------------------------------------------------------------------------------------------


def queued(tree, unit, kind, url, *, secret="", events=(EVENT,), **extra):
    target = endpoint(unit, kind, url, secret=secret, events=events, **extra)
    result = notify(EVENT, units=[unit], title="高危漏洞整改", body="请于 5 个工作日内整改", url="/x/9/")
    (delivery,) = [d for d in result.deliveries if d.endpoint_id == target.pk]
    return delivery


def test_backoff_delays_double_up_to_the_cap(settings):
    settings.EDUSEC_CHANNEL_BACKOFF_SECONDS = 30
    settings.EDUSEC_CHANNEL_BACKOFF_MAX_SECONDS = 200
    assert [backoff_delay(n) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]


def test_retries_with_backoff_and_every_attempt_recorded(tree, receiver, django_capture_on_commit_callbacks):
    route = receiver.add_route("/dt", "dingtalk", secret="SECretry").fail_next(2)
    with django_capture_on_commit_callbacks(execute=False):
        delivery = queued(tree, tree["school"], "dingtalk", receiver.url("/dt"), secret="SECretry")
    t0 = timezone.now()

    first = attempt(delivery.pk, now=t0, schedule=False)
    delivery.refresh_from_db()
    assert first["state"] == "retrying" and delivery.attempts == 1
    wait_1 = (delivery.next_attempt_at - t0).total_seconds()
    assert 30 <= wait_1 < 31  # base back-off after the first failure (plus the attempt's duration)
    assert "errcode 130101" in delivery.last_error

    early = attempt(delivery.pk, now=t0 + timedelta(seconds=10), schedule=False)
    assert early["skipped"] and len(route.received) == 1  # not due yet: nothing sent

    t1 = delivery.next_attempt_at
    second = attempt(delivery.pk, now=t1, schedule=False)
    delivery.refresh_from_db()
    assert second["state"] == "retrying"
    assert 60 <= (delivery.next_attempt_at - t1).total_seconds() < 61  # doubled

    third = attempt(delivery.pk, now=delivery.next_attempt_at, schedule=False)
    delivery.refresh_from_db()
    assert third["state"] == "sent" and delivery.state == DeliveryState.SENT
    assert delivery.sent_at is not None and delivery.last_error == "" and delivery.next_attempt_at is None

    log = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.number for a in log] == [1, 2, 3]
    assert [a.success for a in log] == [False, False, True]
    assert [a.http_status for a in log] == [200, 200, 200]
    assert log[0].result == "errcode 130101" and "send too fast" in log[0].response
    assert log[2].result == "errcode 0 (ok)" and log[2].error == ""
    assert all(a.duration_ms >= 0 and a.started_at for a in log)
    assert len(route.received) == 3 and all(r.signature_valid for r in route.received)
    assert attempt(delivery.pk, schedule=False)["skipped"]  # a sent delivery is never sent again


def test_gives_up_after_the_configured_attempts(tree, receiver, settings, django_capture_on_commit_callbacks):
    settings.EDUSEC_CHANNEL_MAX_ATTEMPTS = 3
    route = receiver.add_route("/w", "wecom").always_fail(mode="http", status=503)
    with django_capture_on_commit_callbacks(execute=False):
        delivery = queued(tree, tree["school"], "wecom", receiver.url("/w"))
    now = timezone.now()
    for _ in range(3):
        attempt(delivery.pk, now=now, schedule=False)
        delivery.refresh_from_db()
        now = delivery.next_attempt_at or now
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 3 and delivery.next_attempt_at is None
    assert delivery.last_error == "HTTP 503"
    assert attempt(delivery.pk, now=now + timedelta(days=1), schedule=False)["skipped"]
    assert len(route.received) == 3 and DeliveryAttempt.objects.filter(delivery=delivery).count() == 3


def test_configuration_problems_fail_at_once(tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        delivery = queued(tree, tree["school"], "wecom", "http://127.0.0.1:9/w")
    ChannelEndpoint.objects.filter(pk=delivery.endpoint_id).update(enabled=False)
    outcome = attempt(delivery.pk, schedule=False)
    delivery.refresh_from_db()
    assert outcome["state"] == "failed" and delivery.attempts == 1
    assert delivery.last_error == "the channel is disabled"


def test_an_unexpected_error_is_a_recorded_failure(tree, monkeypatch, django_capture_on_commit_callbacks):
    from core.channels import senders

    with django_capture_on_commit_callbacks(execute=False):
        delivery = queued(tree, tree["school"], "wecom", "http://127.0.0.1:9/w")

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(senders, "send_http", broken)
    assert attempt(delivery.pk, schedule=False)["state"] == "retrying"
    (logged,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert logged.error == "KeyError: 'surprise'" and not logged.success


def test_sweep_finishes_interrupted_attempts_and_redispatches_due_ones(tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        stuck = queued(tree, tree["school"], "wecom", "http://127.0.0.1:9/a")
        due = queued(tree, tree["school2"], "wecom", "http://127.0.0.1:9/b")
    long_ago = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=stuck.pk).update(state=DeliveryState.SENDING, attempts=1, updated_at=long_ago)
    Delivery.objects.filter(pk=due.pk).update(state=DeliveryState.RETRYING, attempts=1, next_attempt_at=long_ago)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = dispatch_due()
    assert outcome == {"interrupted": 1, "dispatched": 1}
    assert len(callbacks) == 1  # the due retry; the interrupted one becomes due at the next sweep
    stuck.refresh_from_db()
    assert stuck.state == DeliveryState.RETRYING
    assert DeliveryAttempt.objects.get(delivery=stuck).error.startswith("interrupted")


# ---- e-mail ---------------------------------------------------------------------------------------------------------


def test_unit_mailbox_and_opted_in_user_get_email(tree, django_capture_on_commit_callbacks):
    user = make_user("mailer", tree["school"], ["school_cio"], email="mailer@school.test")
    NotificationPreference.objects.create(user=user, event_type=EVENT, email=True)
    endpoint(tree["school"], "email", email_to="sec@school.test, office@school.test")
    with django_capture_on_commit_callbacks(execute=False):
        result = notify(EVENT, units=[tree["school"]], title="高危漏洞整改", body="请尽快整改", url="/x/9/")
    for delivery in result.deliveries:
        assert attempt(delivery.pk, schedule=False)["state"] == "sent"
    assert len(mail.outbox) == 2
    by_to = {tuple(m.to): m for m in mail.outbox}
    unit_mail = by_to["sec@school.test", "office@school.test"]
    assert unit_mail.subject == "[EduSec] 高危漏洞整改"
    assert "请尽快整改" in unit_mail.body and "http://127.0.0.1:8000/x/9/" in unit_mail.body
    assert unit_mail.extra_headers["X-EduSec-Event"] == EVENT
    assert ("mailer@school.test",) in by_to
    log = DeliveryAttempt.objects.filter(success=True)
    assert log.count() == 2 and all(a.result.startswith("locmem: accepted") for a in log)


def test_smtp_failure_is_recorded_and_retried(tree, settings, django_capture_on_commit_callbacks):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    endpoint(tree["school"], "email", email_to="sec@school.test")
    with django_capture_on_commit_callbacks(execute=False):
        (delivery,) = notify(EVENT, units=[tree["school"]], title="t").deliveries
    assert attempt(delivery.pk, schedule=False)["state"] == "retrying"
    (logged,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert logged.result == "SMTP error" and "ConnectionRefusedError" in logged.error


# ---- for real: the in-process executor, the retry timer, the receiver ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_end_to_end_retries_through_the_executor(settings):
    settings.EDUSEC_CHANNEL_BACKOFF_SECONDS = 0.05
    _root, _a, _b, school = build_test_tree()
    make_user("cio", school, ["school_cio"])
    with WebhookReceiver() as receiver:
        route = receiver.add_route("/feishu", "feishu", secret="fs-secret").fail_next(2)
        target = endpoint(school, "feishu", receiver.url("/feishu"), secret="fs-secret")
        result = notify(EVENT, units=[school], title="逾期提醒", body="整改已逾期", url="/x/2/")
        (delivery,) = result.deliveries
        # Wait without reading the database: the test database is SQLite in memory with a shared cache, where a read
        # in this thread makes a write in the executor's thread fail at once ("database table is locked") instead
        # of waiting as it does on a database file. Done: the third request came and the task that made it ended.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (len(route.received) >= 3 and tasks.in_flight() == 0):
            time.sleep(0.05)
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.SENT, delivery.last_error
        assert delivery.attempts == 3 and delivery.endpoint == target
        assert len(route.received) == 3 and all(r.signature_valid for r in route.received)
        assert [r.accepted for r in route.received] == [False, False, True]
    runs = TaskRun.objects.filter(name="core.channels.deliver")
    assert runs.count() == 3 and set(runs.values_list("state", flat=True)) == {TaskRun.State.SUCCESS}
    assert Notification.objects.get().title == "逾期提醒"
