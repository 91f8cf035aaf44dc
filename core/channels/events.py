"""The event types messages are sent for. Apps register their own codes (``notices.issued``, ``notices.overdue`` …) at
start-up, usually in their ``AppConfig.ready``::

    from django.utils.translation import gettext_lazy as _
    from core.channels import register_event_type

    register_event_type("notices.issued", _("Notice issued"))

Codes are stored as plain strings in notifications, deliveries, subscriptions and preferences, so adding one needs no
migration; a code that is no longer registered still shows (as the code itself) in old records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Who, in an addressed unit, hears an event unless its registration says otherwise (see ``core.channels.notify``).
DEFAULT_RECIPIENT_ROLES: tuple[str, ...] = (
    "bureau_admin",
    "district_admin",
    "security_officer",
    "school_cio",
    "school_netadmin",
)

TEST_EVENT = "core.channel_test"


@dataclass(frozen=True)
class EventType:
    code: str
    label: object  # a lazily translated string
    description: object = ""
    # Roles whose holders in an addressed unit receive the event (None: DEFAULT_RECIPIENT_ROLES).
    roles: tuple[str, ...] | None = None
    # False for internal types (the endpoint test message) that nobody subscribes to.
    subscribable: bool = True
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def recipient_roles(self) -> tuple[str, ...]:
        return self.roles if self.roles is not None else DEFAULT_RECIPIENT_ROLES


_registry: dict[str, EventType] = {}


def register_event_type(
    code: str,
    label,
    *,
    description="",
    roles: tuple[str, ...] | list[str] | None = None,
    subscribable: bool = True,
) -> EventType:
    """Declare an event type. ``label`` should be lazily translated (``gettext_lazy``). Registering the same code again
    replaces the earlier declaration (module reloads, tests)."""
    code = str(code).strip()
    if not code or len(code) > 100 or any(c.isspace() for c in code):
        raise ValueError(f"an event type code is 1–100 characters without spaces, not {code!r}")
    if roles is not None:
        from ..roles import ROLES

        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"event type {code}: unknown roles {unknown}")
        roles = tuple(roles)
    event = EventType(code, label, description, roles, subscribable)
    _registry[code] = event
    return event


def unregister_event_type(code: str) -> None:
    """For tests."""
    _registry.pop(code, None)


def get_event_type(code: str) -> EventType:
    try:
        return _registry[code]
    except KeyError:
        raise ValueError(f"unknown event type {code!r}: register it with core.channels.register_event_type") from None


def event_types(*, subscribable_only: bool = False) -> list[EventType]:
    return [e for e in _registry.values() if e.subscribable or not subscribable_only]


def subscribable_codes() -> set[str]:
    return {e.code for e in event_types(subscribable_only=True)}


def event_choices() -> list[tuple[str, str]]:
    """(code, label) of the types users and endpoints can subscribe to, for forms and filters."""
    return [(e.code, e.label) for e in event_types(subscribable_only=True)]


def event_label(code: str) -> str:
    event = _registry.get(code)
    return str(event.label) if event is not None else code


def all_event_choices() -> list[tuple[str, str]]:
    """(code, label) of every registered type, internal ones included (for records: deliveries, notifications)."""
    return [(e.code, e.label) for e in event_types()]
