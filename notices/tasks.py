"""Scheduled work of the notices: reminders before deadlines and escalation of overdue rectifications."""

from core.scheduler import periodic
from core.tasks import task


@periodic(3600, first_after=120)
@task(name="notices.remind_and_escalate")
def remind_and_escalate() -> dict:
    """Hourly: remind recipients whose deadline is near, escalate those past it to the parent unit and the issuer."""
    from .workflow import escalate_overdue, send_reminders

    return {"reminded": send_reminders(), "escalated": escalate_overdue()}
