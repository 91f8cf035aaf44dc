"""``notify``: the one way to tell people about an event. See ``core.channels`` for the rules."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q

from ..context import get_request
from ..models import ChannelEndpoint, ChannelKind, Delivery, DeliveryState, Notification, NotificationPreference
from .events import get_event_type

logger = logging.getLogger("edusec.channels")

TITLE_MAX = 200
LINK_MAX = 500


@dataclass
class NotifyResult:
    """What one ``notify`` call created (rows are saved; deliveries start when the transaction commits)."""

    notifications: list = field(default_factory=list)
    deliveries: list = field(default_factory=list)
    users: list = field(default_factory=list)  # everyone addressed, whatever their preferences


def _unique(items):
    seen, result = set(), []
    for item in items:
        if item is not None and item.pk not in seen:
            seen.add(item.pk)
            result.append(item)
    return result


def unit_recipients(units, roles) -> list:
    """Active users *of* each unit (not of its subunits) holding one of ``roles``."""
    if not units:
        return []
    user_model = get_user_model()
    return list(
        user_model.objects.filter(unit__in=units, is_active=True, groups__name__in=list(roles))
        .select_related("unit")
        .distinct()
        .order_by("pk")
    )


def endpoints_for(units, event_type: str) -> list:
    """Enabled endpoints subscribed to ``event_type`` that belong to one of ``units``, or to a unit above one of them
    and set to hear its subordinate units too."""
    if not units:
        return []
    above: set[str] = set()
    for unit in units:
        steplen = getattr(type(unit), "steplen", 4)
        above.update(unit.path[: i * steplen] for i in range(1, len(unit.path) // steplen))
    condition = Q(unit__in=units)
    if above:
        condition |= Q(include_subunits=True, unit__path__in=above)
    return list(
        ChannelEndpoint.objects.filter(condition, enabled=True, subscriptions__event_type=event_type)
        .select_related("unit")
        .distinct()
        .order_by("unit__path", "pk")
    )


def _object_ref(obj):
    if obj is None or getattr(obj, "pk", None) is None:
        return None, None
    try:
        object_id = int(obj.pk)
    except (TypeError, ValueError):
        return None, None
    return ContentType.objects.get_for_model(obj), object_id


def _object_url(obj) -> str:
    if obj is None:
        return ""
    getter = getattr(obj, "get_absolute_url", None)
    if getter is None:
        return ""
    try:
        return getter() or ""
    except Exception:  # an object without a page: no link
        return ""


def notify(
    event_type: str,
    *,
    units=(),
    users=(),
    title,
    body="",
    url: str = "",
    obj=None,
    roles=None,
    endpoints=None,
) -> NotifyResult:
    """Tell people about an event, in the platform and on the external channels configured for it.

    Who is addressed:

    * every active user in ``users``, whatever their role;
    * for every unit in ``units``, the active users *of that unit* (not of units below it) who hold one of ``roles``
      (default: the roles the event type was registered with, else ``DEFAULT_RECIPIENT_ROLES`` — bureau and district
      administrators, security officers, school CIOs and network administrators; never auditors, contractors or
      participants).

    What each addressed user gets, by their preference for the event type: an in-app notification (default: yes) and
    an e-mail to the account's address (default: no, the user opts in on "My notification settings").

    Which external endpoints get it: the enabled endpoints subscribed to the event type that belong to one of
    ``units``, or to a unit above one of them when set to "also for subordinate units". Each endpoint gets one message
    per call, however many of its units were addressed.

    ``endpoints``, when given, replaces that choice: exactly these endpoints get the message ([] for none). A caller
    that tells many units at once uses it to send each endpoint one message about all its units instead of one per
    unit (``monitoring.alerts``: a district-wide outage would otherwise flood the district's robot).

    ``url`` (default: ``obj.get_absolute_url()``) is the link of the notification; ``obj`` is recorded as the subject.
    Safe inside a transaction: nothing leaves before it commits, and nothing at all if it rolls back.
    """
    event = get_event_type(event_type)
    title = " ".join(str(title).split())[:TITLE_MAX]
    if not title:
        raise ValueError("a notification needs a title")
    body = str(body or "").strip()
    url = (str(url or "") or _object_url(obj))[:LINK_MAX]
    units = _unique(list(units))
    content_type, object_id = _object_ref(obj)
    object_unit = getattr(obj, "unit", None) if obj is not None and hasattr(obj, "unit_id") else None
    request = get_request()
    actor = getattr(request, "user", None)
    actor = actor if actor is not None and actor.is_authenticated else None

    # Who: direct addressees first (their notification points at the object's unit), then each unit's members.
    addressed: dict[int, tuple] = {}
    for user in _unique(list(users)):
        if user.is_active:
            addressed[user.pk] = (user, object_unit)
    for user in unit_recipients(units, roles or event.recipient_roles):
        addressed.setdefault(user.pk, (user, user.unit))
    preferences = {
        p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=list(addressed), event_type=event.code)
    }

    result = NotifyResult(users=[user for user, _unit in addressed.values()])
    with transaction.atomic():
        in_app = []
        deliveries = []
        for user, unit in addressed.values():
            preference = preferences.get(user.pk)
            if preference is None or preference.in_app:
                in_app.append(
                    Notification(
                        user=user,
                        event_type=event.code,
                        title=title,
                        body=body,
                        url=url,
                        unit=unit,
                        content_type=content_type,
                        object_id=object_id,
                    )
                )
            if preference is not None and preference.email and user.email:
                owner = user.unit if user.unit_id else (unit or object_unit or (units[0] if units else None))
                if owner is None:
                    logger.warning("no unit to file the e-mail delivery to %s under; not sent", user)
                    continue
                deliveries.append(
                    _delivery(
                        event.code,
                        owner,
                        ChannelKind.EMAIL,
                        _masked_email(user.email),
                        title,
                        body,
                        url,
                        content_type,
                        object_id,
                        actor,
                        recipient=user,
                    )
                )
        for endpoint in endpoints_for(units, event.code) if endpoints is None else endpoints:
            deliveries.append(
                _delivery(
                    event.code,
                    endpoint.unit,
                    endpoint.kind,
                    endpoint.name,
                    title,
                    body,
                    url,
                    content_type,
                    object_id,
                    actor,
                    endpoint=endpoint,
                )
            )
        result.notifications = Notification.objects.bulk_create(in_app)
        # bulk_create: no model-change audit for the system's own records (see Delivery).
        result.deliveries = Delivery.objects.bulk_create(deliveries)
        from .delivery import queue

        queue([d.pk for d in result.deliveries])
    return result


def _masked_email(address: str) -> str:
    local, _at, domain = address.partition("@")
    shown = local[:2] + "***" if len(local) > 2 else "***"
    return f"{shown}@{domain}"[:200]


def _delivery(
    event_type,
    unit,
    kind,
    target,
    title,
    body,
    url,
    content_type,
    object_id,
    actor,
    *,
    endpoint=None,
    recipient=None,
    is_test=False,
) -> Delivery:
    return Delivery(
        uuid=uuid.uuid4(),
        unit=unit,
        endpoint=endpoint,
        recipient=recipient,
        kind=kind,
        target=str(target)[:200],
        event_type=event_type,
        title=title,
        body=body,
        link=url,
        content_type=content_type,
        object_id=object_id,
        state=DeliveryState.QUEUED,
        max_attempts=1 if is_test else settings.EDUSEC_CHANNEL_MAX_ATTEMPTS,
        is_test=is_test,
        created_by=actor,
        updated_by=actor,
    )


def send_test(endpoint, user=None) -> Delivery:
    """Queue one test message to ``endpoint`` (a single attempt, no retries: the administrator wants an answer now)."""
    from django.utils.translation import gettext as _

    from .delivery import queue
    from .events import TEST_EVENT

    with transaction.atomic():
        delivery = _delivery(
            TEST_EVENT,
            endpoint.unit,
            endpoint.kind,
            endpoint.name,
            _("EduSec test message"),
            _("If you can read this, the channel “%(name)s” of %(unit)s works.")
            % {"name": endpoint.name, "unit": endpoint.unit},
            "/",
            None,
            None,
            user,
            endpoint=endpoint,
            is_test=True,
        )
        (delivery,) = Delivery.objects.bulk_create([delivery])
        queue([delivery.pk])
    return delivery
