"""A sweep through real Celery workers on Redis, as on the scale path: ``edusec monitor`` with ``EDUSEC_BROKER_URL``
claims the due checks and sends them in batches to two worker processes, which probe the farm, analyse the pages and
store the results, findings and alerts in the shared database; the alert throttle holds across the workers.

Everything runs in processes of its own against a scratch database (a SQLite file, or a PostgreSQL database of its own
when the suite runs on PostgreSQL): the workers see only what is committed there, as on other machines.
"""

import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from core.testing import REPO_ROOT, celery_workers, require_redis
from monitoring.simfarm.testing import running_farm

SITES = {
    "www.one.school.example": "healthy",
    "www.two.school.example": "healthy",
    "www.hidden.school.example": "hidden_css_display_none",
    "www.down1.school.example": "refused",
    "www.down2.school.example": "refused",
    "www.down3.school.example": "refused",
}
DOWN = [host for host, scenario in SITES.items() if scenario == "refused"]


@pytest.fixture
def scratch_database(tmp_path):
    """Settings for a database of this test's own: a PostgreSQL database beside the suite's when it runs on
    PostgreSQL (dropped afterwards), else a SQLite file in the test's data directory."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "EDUSEC_RESULT_BACKEND"}}
    env["EDUSEC_DATA_DIR"] = str(tmp_path / "data")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield env
        return
    import psycopg

    def database(name: str) -> str:
        return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))

    name = f"edusec_celery_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database("postgres"), autocommit=True) as admin:  # the suite's own may not exist yet
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield env | {"DATABASE_URL": database(name)}
    finally:
        with psycopg.connect(database("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(env: dict, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def region(env: dict, *args: str) -> dict:
    return json.loads(run(env, "-m", "monitoring.tests.celery_region", *args).strip().splitlines()[-1])


@pytest.mark.celery
def test_a_sweep_through_celery_workers_probes_stores_and_alerts_once_per_receiver(scratch_database, tmp_path):
    broker = require_redis()
    with running_farm(
        [{"host": host, "scenario": scenario, "tls": "none", "ipv6": False} for host, scenario in SITES.items()],
        state_dir=tmp_path / "farm",
    ) as farm:
        env = scratch_database | {
            "DJANGO_SETTINGS_MODULE": "edusec.settings",
            "EDUSEC_BROKER_URL": broker,
            "EDUSEC_CELERY_QUEUE": f"edusec-test-{uuid.uuid4().hex[:8]}",
            "EDUSEC_MONITOR_PORT_MAP": f"80:{farm.http_port}",
            "EDUSEC_MONITOR_CA_FILE": str(farm.ca_path),
            "EDUSEC_MONITOR_ALLOW_PUBLIC": "0",
            "EDUSEC_MONITOR_BATCH": "1",  # one check per task: the batches spread over both workers
            "EDUSEC_MONITOR_ALERT_INTERVAL": "600",
        }
        run(env, "manage.py", "migrate", "-v0")
        setup = region(env, "setup", json.dumps(SITES))
        checks = setup["checks"]
        assert checks == 2 * len(SITES)  # availability and content of each site

        with celery_workers(env, env["EDUSEC_CELERY_QUEUE"], count=2) as workers:
            for worker in workers:
                worker.wait_ready()
            sent = run(env, "manage.py", "monitor", "--once")
            assert f"{checks} checks sent to the workers" in sent
            first = region(env, "report", "120")

            # Every check was probed and stored by the workers; each worker took its share of the batches.
            assert first["unprobed"] == []
            for worker in workers:
                assert "monitoring.probe_batch" in worker.log() and " succeeded in " in worker.log(), worker.name
            assert {first["states"][f"{host} http"] for host in DOWN} == {"critical"}
            assert first["states"]["www.one.school.example http"] == "ok"
            assert first["states"]["www.hidden.school.example content"] == "critical"
            assert first["findings"]["monitoring:hidden_links"] == 1 and first["findings"]["monitoring:down"] == 3

            # Three sites of one school went down in three batches, stored by two processes: the school was told of
            # the first at once, the other two are held for one message when the interval is over.
            down_told = [message for message in first["told"] if message["event_type"] == "monitoring.down"]
            assert len(down_told) == 1
            named = [host for host in DOWN if host in down_told[0]["title"]]
            assert len(named) == 1
            assert len(first["held"][f"unit:{setup['school']}"]) == 2

            # The interval is over: the monitor's next round sends what the workers held, in one message.
            region(env, "release")
            run(env, "manage.py", "monitor", "--once")
            second = region(env, "report", "10")
            down_told = [message for message in second["told"] if message["event_type"] == "monitoring.down"]
            assert len(down_told) == 2
            later = down_told[1]
            assert all(host in later["body"] for host in DOWN if host not in named) and named[0] not in later["body"]
            assert second["held"] == {}
            assert [m["event_type"] for m in second["told"]].count("monitoring.content") == 1  # the hidden links
