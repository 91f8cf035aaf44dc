"""The long-running scheduler (``sweep.Monitor``, what ``edusec monitor`` runs) against the simulated farm: claims,
probes, analysis in-process or in the process pool, batched storage, schedule lag."""

import os

import pytest
from django.db import DataError, OperationalError, transaction
from django.utils import timezone

from assets.tests.factories import WebsiteFactory
from core.testing import build_test_tree
from findings.models import Finding
from monitoring import store, sweep
from monitoring.ledger import sync_checks
from monitoring.models import AlertThrottle, Check, CheckEvent, ContentBaseline, PageSnapshot
from monitoring.simfarm.testing import running_farm
from monitoring.sweep import Monitor

HEALTHY, HIDDEN, DOWN = "www.healthy.school.example", "www.hidden.school.example", "www.down.school.example"
SITES = [
    {"host": HEALTHY, "scenario": "healthy", "tls": "none", "ipv6": True},
    {"host": HIDDEN, "scenario": "hidden_css_display_none", "tls": "none", "ipv6": True},
    {"host": DOWN, "scenario": "refused", "tls": "none", "ipv6": True},
]


@pytest.fixture
def farm(tmp_path):
    with running_farm(SITES, state_dir=tmp_path / "farm") as running:
        yield running


@pytest.fixture
def ledger(transactional_db):
    _root, _unit_a, _unit_b, school = build_test_tree()
    for host in (HEALTHY, HIDDEN, DOWN):
        WebsiteFactory(unit=school, name=host, url=f"http://{host}/")
    sync_checks()
    Check.objects.update(next_due_at=timezone.now())


def monitor(farm, workers):
    return Monitor(
        tick=0.05,
        workers=workers,
        port_map={80: farm.http_port},
        allow_public=False,
        ca_file=str(farm.ca_path),
        record_lags=True,
    )


def refuse_results_of(check_id, monkeypatch):
    """Make the database refuse every store that holds ``check_id``'s result (all of it rolled back, as when it
    refuses a value the result holds)."""
    original = store.store_results

    def refusing_store(results, **options):
        with transaction.atomic():
            stored = original(results, **options)
            if any(result.check_id == check_id for result in results):
                raise DataError("value refused")
        return stored

    monkeypatch.setattr(store, "store_results", refusing_store)
    monkeypatch.setattr(sweep, "store_results", refusing_store)


@pytest.mark.parametrize("workers", [0, 1])
def test_monitor_claims_probes_analyses_and_stores(ledger, farm, workers):
    pool_pids = []
    run = monitor(farm, workers)
    run.before_close = lambda m: pool_pids.extend(m.engine._executor._processes if m.engine._executor else [])
    stats = run.run(until_idle=True)
    total = Check.objects.count()
    assert stats.claimed == stats.probed == stats.stored == total and stats.store_errors == 0
    assert len(stats.lags) == total and all(-1 < lag < 30 for lag in stats.lags)
    assert stats.analysed == 2  # the two content pages that answered
    assert bool(pool_pids) is (workers > 0) and os.getpid() not in pool_pids
    hidden = Check.objects.get(website__host=HIDDEN, kind="content")
    assert "hidden_links" in [d["kind"] for d in hidden.detections] and hidden.analysed_hash
    event = CheckEvent.objects.get(site_check=hidden, kind="detected", detection="hidden_links")
    assert event.snapshot is not None and "display:none" in event.snapshot.text().replace(" ", "")
    assert ContentBaseline.objects.count() == 2
    assert Finding.objects.filter(rule_id="monitoring:hidden_links", host=HIDDEN).exists()
    assert Check.objects.get(website__host=DOWN, kind="http").state == "warning"  # inside its grace period
    # Nothing is due any more: every next run moved one interval on.
    assert not Check.objects.filter(next_due_at__lte=timezone.now()).exists()

    # A second round: unchanged pages are not analysed again, and nothing new is stored as evidence.
    snapshots = PageSnapshot.objects.count()
    Check.objects.update(next_due_at=timezone.now())
    again = monitor(farm, workers).run(until_idle=True)
    assert again.stored == total and again.analysed == 0
    assert PageSnapshot.objects.count() == snapshots
    assert Finding.objects.get(rule_id="monitoring:down", host=DOWN).status == "open"  # second failure: past grace


def test_monitor_stops_when_asked(ledger, farm):
    run = monitor(farm, 0)
    run.stop()
    stats = run.run()
    assert stats.claimed == 0


def test_the_monitor_command_once_probes_everything_due(ledger, farm, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.EDUSEC_MONITOR_PORT_MAP = f"80:{farm.http_port}"
    settings.EDUSEC_MONITOR_ALLOW_PUBLIC = False
    settings.EDUSEC_MONITOR_ANALYSIS_WORKERS = 0
    settings.EDUSEC_BROKER_URL = ""
    out = StringIO()
    call_command("monitor", "--once", stdout=out)
    assert f"{Check.objects.count()} checks probed" in out.getvalue()
    assert not Check.objects.filter(last_run_at=None).exists()


def test_a_monitor_keeps_the_checks_it_stored_and_reads_again_what_changed_elsewhere(ledger, farm, monkeypatch):
    from monitoring import sweep

    run = monitor(farm, 0)
    run.run(until_idle=True)
    healthy = Check.objects.get(website__host=HEALTHY, kind="http")
    hidden = Check.objects.get(website__host=HIDDEN, kind="content")
    down = Check.objects.get(website__host=DOWN, kind="http")
    # Changed elsewhere: a baseline accepted (the page is analysed again), the grace raised, a "probe now".
    Check.objects.filter(pk=hidden.pk).update(analysed_hash="")
    down_checks = list(Check.objects.filter(website__host=DOWN).values_list("pk", flat=True))
    Check.objects.filter(pk__in=down_checks).update(grace_failures=5)
    sweep.probe_checks([healthy.pk], port_map={80: farm.http_port}, allow_public=False)
    assert Check.objects.get(pk=healthy.pk).successes == 2

    read = []
    load_checks = sweep.load_checks
    monkeypatch.setattr(sweep, "load_checks", lambda ids: load_checks(read.extend(ids) or read[-len(ids) :]))
    Check.objects.update(next_due_at=timezone.now())
    stats = run.run(until_idle=True)

    assert stats.stored == Check.objects.count()
    assert sorted(read) == sorted([healthy.pk, hidden.pk, *down_checks])  # the rest were kept from the first run
    assert stats.analysed == 1
    assert Check.objects.get(pk=healthy.pk).successes == 3  # counted on from the probe made elsewhere
    down.refresh_from_db()
    assert down.failures == 2 and down.state == "warning"  # the new grace: still no finding
    assert not Finding.objects.filter(rule_id="monitoring:down", host=DOWN).exists()


def test_a_standing_detection_refreshes_its_finding_at_most_every_so_often(ledger, farm, settings):
    settings.EDUSEC_MONITOR_FINDING_REFRESH = 600
    run = monitor(farm, 0)
    run.run(until_idle=True)
    finding = Finding.objects.get(rule_id="monitoring:hidden_links", host=HIDDEN)
    first_seen = finding.last_seen
    assert finding.times_seen == 1

    Check.objects.update(next_due_at=timezone.now())
    run.run(until_idle=True)
    finding.refresh_from_db()
    assert finding.times_seen == 1 and finding.last_seen == first_seen  # the same detection a moment later
    # The site went down at the first probe and is past its grace now: that finding is written at once.
    assert Finding.objects.filter(rule_id="monitoring:down", host=DOWN).exists()

    settings.EDUSEC_MONITOR_FINDING_REFRESH = 0
    Check.objects.update(next_due_at=timezone.now())
    run.run(until_idle=True)
    finding.refresh_from_db()
    assert finding.times_seen == 2 and finding.last_seen > first_seen


def test_a_monitor_reads_a_baseline_again_only_after_it_made_one_or_a_change_elsewhere(ledger, farm, monkeypatch):
    from monitoring import sweep

    read = []
    baseline_texts = sweep.baseline_texts
    monkeypatch.setattr(sweep, "baseline_texts", lambda ids: baseline_texts(read.extend(ids) or ids))
    contents = set(Check.objects.filter(kind="content").values_list("pk", flat=True))
    hidden = Check.objects.get(website__host=HIDDEN, kind="content")
    run = monitor(farm, 1)

    def round_reads():
        read.clear()
        Check.objects.update(next_due_at=timezone.now())
        run.run(until_idle=True)
        return set(read)

    healthy = Check.objects.get(website__host=HEALTHY, kind="content")
    assert round_reads() == contents  # nothing known yet
    # The first analysis of each page that answered made the site's provisional baseline.
    assert round_reads() == contents - {Check.objects.get(website__host=DOWN, kind="content").pk}
    assert round_reads() == set()  # unchanged pages: the baselines read before still stand
    Check.objects.filter(pk=hidden.pk).update(analysed_hash="")  # what accepting a new baseline does
    assert round_reads() == {hidden.pk}
    # A page that changed is analysed against the baseline the monitor knows, which that analysis did not change.
    farm.set_scenario(HEALTHY, "keywords")
    assert round_reads() == set()
    healthy.refresh_from_db()
    assert "harmful_keywords" in {item["kind"] for item in healthy.detections}
    assert ContentBaseline.objects.filter(site_check=healthy).count() == 1


def test_a_result_the_database_refuses_loses_only_itself(ledger, farm, monkeypatch):
    """A site chooses what its page, certificate and redirects hold; if the database refuses what one result holds,
    the monitor stores the batch again in halves and leaves out only that result (logged, counted as a store error)."""
    refused = Check.objects.get(website__host=HIDDEN, kind="content").pk
    refuse_results_of(refused, monkeypatch)
    stats = monitor(farm, 0).run(until_idle=True)
    total = Check.objects.count()
    assert stats.probed == total and stats.stored == total - 1 and stats.store_errors == 1
    assert not Check.objects.filter(last_run_at__isnull=True).exclude(pk=refused).exists()
    assert Check.objects.get(pk=refused).last_run_at is None
    assert Check.objects.get(website__host=HEALTHY, kind="content").state == "ok"


def test_a_database_that_is_gone_is_not_asked_again_result_by_result(ledger, farm, monkeypatch):
    calls = []

    def unavailable(results, **options):
        calls.append(len(results))
        raise OperationalError("the database is gone")

    monkeypatch.setattr(store, "store_results", unavailable)
    monkeypatch.setattr(sweep, "store_results", unavailable)
    stats = monitor(farm, 0).run(until_idle=True)
    assert stats.stored == 0 and stats.store_errors == len(calls) and sum(calls) == Check.objects.count()


def test_a_batch_of_a_worker_or_of_probe_now_loses_only_the_refused_result(ledger, farm, monkeypatch):
    """``probe_checks`` (the batches of Celery workers, the "probe now" button) stores a refused batch in parts too."""
    refused = Check.objects.get(website__host=HIDDEN, kind="content").pk
    refuse_results_of(refused, monkeypatch)
    ids = list(Check.objects.values_list("pk", flat=True))
    counts = sweep.probe_checks(ids, port_map={80: farm.http_port}, allow_public=False)
    assert counts.checks == len(ids) - 1 and counts.refused == 1
    assert list(Check.objects.filter(last_run_at__isnull=True).values_list("pk", flat=True)) == [refused]


def test_the_monitor_holds_what_a_receiver_was_just_told_of_and_sends_it_at_its_stop(ledger, farm):
    from core.models import Notification
    from core.testing import make_user
    from monitoring import alerts

    school = Check.objects.get(website__host=HIDDEN, kind="content").unit
    make_user("netadmin", school, ["school_netadmin"])
    run = monitor(farm, 0)
    first = run.run(until_idle=True)
    assert first.alerts == 2  # the hidden links: to the school's people and to its district's
    farm.set_scenario(HEALTHY, "keywords")
    Check.objects.update(next_due_at=timezone.now())
    second = run.run(until_idle=True)
    # The keywords are content news for the same people a moment later: held, and sent as the monitor stopped; the
    # site that went down (past its grace now) is other news, sent at once.
    assert second.alerts == 4
    assert not AlertThrottle.objects.filter(due_at__isnull=False).exists()  # nothing is left held
    titles = set(Notification.objects.filter(user__username="netadmin").values_list("event_type", flat=True))
    assert titles == {alerts.CONTENT, alerts.DOWN}
    assert Notification.objects.filter(user__username="netadmin", event_type=alerts.CONTENT).count() == 2
