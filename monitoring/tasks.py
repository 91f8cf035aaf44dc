"""Background tasks of the monitor: a batch of claimed checks, probed wherever a worker takes it; one site probed on
request (the "probe now" button and API action)."""

from core.scheduler import periodic
from core.tasks import progress, task


@task(name="monitoring.probe_batch")
def probe_batch(check_ids: list[int]) -> dict:
    """Probe and store these checks (already claimed by the scheduler). Sent by ``edusec monitor`` to Celery workers
    when ``EDUSEC_BROKER_URL`` is set; any number of workers on any number of machines share the batches, and the alert
    throttle (a receiver told a moment ago hears of more sites later, in one message)."""
    from .alerts import Throttle
    from .sweep import probe_checks

    counts = probe_checks(check_ids, throttle=Throttle.from_settings())
    return {"checks": counts.checks if counts else 0, "events": counts.events if counts else 0}


@task(name="monitoring.probe_site")
def probe_site(website_id: int, check_ids: list[int] | None = None) -> dict:
    """Probe the enabled checks of one website now (or only ``check_ids`` of them) and store the results. The caller
    has checked that the user may see them; the schedule is left as it is."""
    from .models import Check
    from .sweep import probe_checks

    checks = Check.objects.filter(website_id=website_id, enabled=True)
    if check_ids is not None:
        checks = checks.filter(pk__in=check_ids)
    ids = list(checks.values_list("pk", flat=True))
    progress(10, f"{len(ids)} checks")
    counts = probe_checks(ids) if ids else None
    progress(100, "done")
    return {
        "checks": counts.checks if counts else 0,
        "events": counts.events if counts else 0,
        "states": dict(counts.by_state) if counts else {},
    }


@periodic(24 * 3600, first_after=3600)
@task(name="monitoring.prune_history")
def prune_history() -> dict:
    """Daily: drop events, page copies and daily figures older than their retention (monitoring/retention.py)."""
    from .retention import prune_history as prune

    return prune()
