"""Background tasks of the notification channels (found by ``core.tasks.autodiscover`` and by Celery's autodiscovery,
since ``core.channels`` is an installed app)."""

from ..scheduler import periodic
from ..tasks import task


@task(name="core.channels.deliver")
def deliver(delivery_id: int) -> dict:
    """One attempt of one delivery (see ``core.channels.delivery``)."""
    from .delivery import attempt

    return attempt(int(delivery_id))


@periodic(60, first_after=30)
@task(name="core.channels.retry_due")
def retry_due() -> dict:
    """Re-dispatch due retries and deliveries that a stopped process left behind."""
    from .delivery import dispatch_due

    return dispatch_due()
