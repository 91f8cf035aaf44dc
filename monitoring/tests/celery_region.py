"""The region of the Celery sweep test (``test_celery_sweep.py``), set up and read in processes of their own: the
test's Celery workers and monitor see only what is in the scratch database, as on separate machines.

    python -m monitoring.tests.celery_region setup '{"www.a.school.example": "healthy", ...}'
    python -m monitoring.tests.celery_region report 120     # waits until every enabled check was probed
    python -m monitoring.tests.celery_region release        # held alerts may go now (their interval is over)

Each prints one line of JSON.
"""

import json
import sys
import time

import django


def setup(sites: dict[str, str]) -> dict:
    from django.utils import timezone

    from assets.tests.factories import WebsiteFactory
    from core.testing import build_test_tree, make_user
    from monitoring import vocabulary as v
    from monitoring.ledger import sync_checks
    from monitoring.models import Check

    _root, _district, _other, school = build_test_tree()
    make_user("netadmin", school, ["school_netadmin"])
    for host in sites:
        WebsiteFactory(unit=school, name=host, url=f"http://{host}/")
    sync_checks()
    # Availability and content: what the workers' analysis and alerts are about; one failure is enough to alert.
    Check.objects.exclude(kind__in=[v.HTTP, v.CONTENT]).update(enabled=False)
    Check.objects.update(grace_failures=1, next_due_at=timezone.now())
    return {"checks": Check.objects.filter(enabled=True).count(), "school": school.pk}


def report(timeout: float) -> dict:
    from django.db.models import Count

    from core.models import Notification
    from findings.models import Finding
    from monitoring import alerts
    from monitoring.models import AlertThrottle, Check

    deadline = time.monotonic() + timeout
    checks = Check.objects.filter(enabled=True)
    while checks.filter(last_run_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    states = checks.values_list("website__host", "kind", "state")
    held = AlertThrottle.objects.filter(event_type=alerts.DOWN, receiver__startswith="unit:").exclude(held=[])
    return {
        "unprobed": sorted(checks.filter(last_run_at__isnull=True).values_list("website__host", "kind")),
        "states": {f"{host} {kind}": state for host, kind, state in states},
        "told": [
            {"event_type": n.event_type, "title": n.title, "body": n.body}
            for n in Notification.objects.filter(user__username="netadmin").order_by("pk")
        ],
        "held": {row.receiver: [alert["website_id"] for alert in row.held] for row in held},
        "findings": dict(
            Finding.objects.filter(source="monitoring")
            .values_list("rule_id")
            .annotate(n=Count("pk"))
            .values_list("rule_id", "n")
        ),
    }


def release() -> dict:
    from django.utils import timezone

    from monitoring.models import AlertThrottle

    return {"released": AlertThrottle.objects.filter(due_at__isnull=False).update(due_at=timezone.now())}


def main(argv: list[str]) -> None:
    django.setup()
    command = argv[1]
    if command == "setup":
        answer = setup(json.loads(argv[2]))
    elif command == "report":
        answer = report(float(argv[2]))
    elif command == "release":
        answer = release()
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(answer, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv)
