"""Background tasks of the monitor: a batch of claimed checks, probed wherever a worker takes it."""

from core.tasks import task


@task(name="monitoring.probe_batch")
def probe_batch(check_ids: list[int]) -> dict:
    """Probe and store these checks (already claimed by the scheduler). Sent by ``edusec monitor`` to Celery workers
    when ``EDUSEC_BROKER_URL`` is set; any number of workers on any number of machines share the batches."""
    from .sweep import probe_checks

    counts = probe_checks(check_ids)
    return {"checks": counts.checks if counts else 0, "events": counts.events if counts else 0}
