"""The notices' events on the platform's channels (in-app, e-mail, group robots, webhooks; see ``core.channels``)."""

from django.utils.translation import gettext_lazy as _

EVENT_TYPES = {
    "notices.issued": _("A notice was received"),
    "notices.withdrawn": _("A notice was withdrawn"),
    "notices.assigned": _("A rectification was assigned to me"),
    "notices.submitted": _("A rectification was submitted for review"),
    "notices.returned": _("A rectification was returned"),
    "notices.closed": _("A rectification was closed (销号)"),
    "notices.reminder": _("A rectification deadline is near"),
    "notices.overdue": _("A rectification is overdue (escalation)"),
}


def register_event_types() -> None:
    from core.channels import register_event_type

    for code, label in EVENT_TYPES.items():
        register_event_type(code, label)


def tell(event_type: str, rectification, *, units=(), users=(), title: str, body: str = "") -> None:
    """Notify ``units`` and ``users`` about ``rectification``. Called inside the step's transaction: the in-app
    notifications are part of it, and nothing leaves for outside channels unless it commits (core.channels)."""
    from core.channels import notify

    notify(event_type, units=units, users=users, title=title, body=body, obj=rectification)
