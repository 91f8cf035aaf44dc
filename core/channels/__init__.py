"""Notification channels: one call tells people about an event, in the platform and outside it.

    from core.channels import notify, register_event_type

    register_event_type("notices.issued", _("Notice issued"))          # once, in the app's AppConfig.ready()

    notify("notices.issued", units=[school], title=notice.title, body=summary, obj=notice)

``notify`` (see ``core.channels.service.notify`` for the full rule) creates an in-app Notification for each addressed
user who wants it, and one Delivery per external destination (a unit's WeCom/DingTalk/Feishu robot, signed webhook or
e-mail list, a user's opted-in e-mail), each sent by a background task with retries and exponential back-off, every
attempt recorded. Deliveries start only when the caller's transaction commits.

Pieces: ``events`` (event-type registry), ``service`` (notify), ``senders`` (payloads, signatures, transport),
``delivery`` (attempts, retries), ``receiver`` (a local stand-in for the vendors, for tests and the demo), the pages
(``views``), the API (``api``) and the registrations. docs/channels.md is the operator's guide.
"""

from .events import (  # noqa: F401
    DEFAULT_RECIPIENT_ROLES,
    EventType,
    event_label,
    event_types,
    get_event_type,
    register_event_type,
)


def notify(event_type, *, units=(), users=(), title, body="", url="", obj=None, roles=None, endpoints=None):
    """See :func:`core.channels.service.notify`."""
    from .service import notify as _notify

    return _notify(
        event_type, units=units, users=users, title=title, body=body, url=url, obj=obj, roles=roles,
        endpoints=endpoints,
    )  # fmt: skip


def unread_count(user) -> int:
    """Unread in-app notifications of ``user``."""
    from ..models import Notification

    return Notification.objects.restrict(user).unread().count()


__all__ = [
    "DEFAULT_RECIPIENT_ROLES",
    "EventType",
    "event_label",
    "event_types",
    "get_event_type",
    "notify",
    "register_event_type",
    "unread_count",
]
