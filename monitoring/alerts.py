"""The monitor's alerts on the platform's channels (``core.channels``): in-app, e-mail, group robots, webhooks.

A bureau must know within minutes when a school site is down, defaced, carrying hidden links or leaking personal
information, without watching the status board. An alert goes out when a detection *appears* (after the check's grace
period, so a single failed probe does not page anybody), when it becomes more severe (a certificate now expiring within
7 days, then within 2), and, for a site that was down, when it is back. Nothing is sent while a maintenance window
covers the site, and nothing for the quieter detections (slow, IPv6, DNS, missing ICP number, stale site): those are
findings to work through, not news.

Who is told: the people of the site's unit and of the unit above it (the school's supervising bureau), and the
robots and webhooks of the site's unit and of the units above it set to receive their subordinate units' events. Each
of them gets one message per event type per store, listing every site it is told of (in-app, and by e-mail for those who
chose it), and no message names a site outside the unit of whoever receives it. The long-running monitor and the
Celery workers also hold back what a receiver would hear again too soon (``Throttle``, its state in the database): a
district-wide outage, found site by site over several minutes, reaches the district's officers and robot in a few
messages, not one per school (group robots accept about 20 messages a minute).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from . import vocabulary as v
from .analysis.results import SEVERITIES, severity_rank
from .models import AlertThrottle

logger = logging.getLogger(__name__)

DOWN, RECOVERED, CONTENT, CERTIFICATE = (
    "monitoring.down",
    "monitoring.recovered",
    "monitoring.content",
    "monitoring.certificate",
)

EVENT_TYPES = {
    DOWN: _("A website is down or answers with an error"),
    RECOVERED: _("A website is back up"),
    CONTENT: _("Defacement, hidden links, harmful content or leaked personal information on a website"),
    CERTIFICATE: _("A website's certificate is invalid or expires soon"),
}

# Detection kind -> the event type its appearance sends; a cleared DOWN or HTTP_ERROR sends RECOVERED.
ALERTING_DETECTIONS = {
    v.DOWN: DOWN,
    v.HTTP_ERROR: DOWN,
    v.TLS_INVALID: CERTIFICATE,
    v.TLS_EXPIRING: CERTIFICATE,
    v.DEFACEMENT: CONTENT,
    v.HIDDEN_LINKS: CONTENT,
    v.MALICIOUS_SCRIPT: CONTENT,
    v.HARMFUL_KEYWORDS: CONTENT,
    v.PERSONAL_INFO: CONTENT,
    v.CLOAKING: CONTENT,
}
RECOVERING_DETECTIONS = {v.DOWN, v.HTTP_ERROR}
OPPOSITE = {DOWN: RECOVERED, RECOVERED: DOWN}  # a site told of one may be told of the other at once

# The head of a message's title (the event types' labels above say what one subscribes to).
TITLES = {
    DOWN: _("Website down"),
    RECOVERED: _("Website back up"),
    CONTENT: _("Website content alert"),
    CERTIFICATE: _("Certificate alert"),
}

MAX_SITES_LISTED = 20  # per message; the rest are counted


def register_event_types() -> None:
    from core.channels import register_event_type

    for code, label in EVENT_TYPES.items():
        register_event_type(code, label)


@dataclass(frozen=True, slots=True)
class Alert:
    event_type: str
    unit_id: int
    website_id: int
    detection: str
    summary: str  # the detection's summary (a translatable message id)
    reason: str = ""  # a site down: the engine's error code (``vocabulary.PROBE_ERROR_LABELS``)


def alerts_of(events, unit_id: int, website_id: int) -> list[Alert]:
    """The alerts that a check's new events (``CheckEvent`` rows of one store) call for."""
    found = []
    for event in events:
        if event.kind == "detected":
            event_type = ALERTING_DETECTIONS.get(event.detection)
        elif event.kind == "cleared" and event.detection in RECOVERING_DETECTIONS:
            event_type = RECOVERED
        else:
            event_type = None
        if event_type is not None:
            evidence = event.evidence if isinstance(event.evidence, dict) else {}
            reason = evidence.get("error") or "" if event.detection == v.DOWN else ""
            found.append(Alert(event_type, unit_id, website_id, event.detection, event.summary, reason))
    return found


def escalations(before: dict[str, dict], after: list[dict], unit_id: int, website_id: int) -> list[Alert]:
    """Alerts for detections that persist but became more severe (a certificate now expiring within 7 days or 2, a
    warning that turned critical): their appearance was told at a lower severity."""
    found = []
    for item in after:
        kind = item["kind"]
        event_type = ALERTING_DETECTIONS.get(kind)
        earlier = before.get(kind)
        if event_type is None or earlier is None or item["severity"] not in SEVERITIES:
            continue
        if earlier.get("severity") in SEVERITIES and severity_rank(item["severity"]) < severity_rank(
            earlier["severity"]
        ):
            found.append(Alert(event_type, unit_id, website_id, kind, item["summary"]))
    return found


@dataclass(slots=True)
class Message:
    """One message to send: about ``alerts`` of one event type, to the people of ``unit`` (``endpoint`` None) or to
    ``endpoint`` (a robot or webhook; ``unit`` is then its owner)."""

    event_type: str
    unit: object
    endpoint: object | None
    alerts: list[Alert]
    found_at: datetime | None = None  # a held message: when its first alert was found (the time it is dated)

    @property
    def receiver(self) -> str:
        """Who is told: "unit:<id>" for the people of a unit, "endpoint:<id>" for a robot or webhook."""
        return f"endpoint:{self.endpoint.pk}" if self.endpoint is not None else f"unit:{self.unit.pk}"

    @property
    def key(self) -> tuple[str, str]:
        """Who hears what: the same key is the same receiver told of the same event type."""
        return (self.event_type, self.receiver)


def messages_of(alerts: list[Alert]) -> list[Message]:
    """The messages ``alerts`` make: one per event type to the people of each site's unit and of the unit above it,
    and one per event type to each robot or webhook of those units (and of units further up that hear their
    subordinate units), each about all the sites it is told of."""
    if not alerts:
        return []
    from core.channels.service import endpoints_for
    from orgs.models import Unit

    grouped: dict[tuple[str, int], list[Alert]] = defaultdict(list)
    for alert in alerts:
        grouped[(alert.event_type, alert.unit_id)].append(alert)
    units = Unit.objects.in_bulk({alert.unit_id for alert in alerts})
    parents = Unit.objects.in_bulk(
        {unit.path[: -Unit.steplen] for unit in units.values() if unit.depth > 1}, field_name="path"
    )
    found: dict[tuple, Message] = {}
    for (event_type, unit_id), items in grouped.items():
        unit = units.get(unit_id)
        if unit is None:
            continue
        parent = parents.get(unit.path[: -Unit.steplen])
        for addressed in (unit, parent) if parent is not None else (unit,):
            message = Message(event_type, addressed, None, [])
            found.setdefault(message.key, message).alerts.extend(items)
        for endpoint in endpoints_for([unit], event_type):
            message = Message(event_type, endpoint.unit, endpoint, [])
            found.setdefault(message.key, message).alerts.extend(items)
    return list(found.values())


def deliver(messages: list[Message], now) -> int:
    """Send these messages (in-app and e-mail to the people of a unit, or to the one endpoint); how many."""
    if not messages:
        return 0
    from assets.models import Website
    from core.channels import notify
    from orgs.models import Unit

    every = [alert for message in messages for alert in message.alerts]
    websites = Website.objects.in_bulk({alert.website_id for alert in every})
    units = Unit.objects.in_bulk({alert.unit_id for alert in every})
    for message in messages:
        title, body, url = _message(message.event_type, message.unit, message.alerts, websites, units, now)
        if message.endpoint is None:
            notify(message.event_type, units=[message.unit], title=title, body=body, url=url, endpoints=[])
        else:
            notify(message.event_type, title=title, body=body, url=url, endpoints=[message.endpoint])
    return len(messages)


class Throttle:
    """Holds back what a receiver would be told again too soon, and tells it later in one message.

    A monitor probes each site on its own schedule, so a district-wide outage is found site by site over the checks'
    interval (five minutes for availability): one message per store would reach the district's officers and robot
    dozens of times in those minutes, beyond what a group robot accepts (about 20 messages a minute). The first
    message to a receiver about an event type goes at once; what comes for the same receiver and event type within
    ``interval`` seconds of it is held and sent as one message when the interval is over (``due``).

    A site that comes back before its held "down" was sent is dropped from both: nobody needs to hear of either.

    The state is kept in ``AlertThrottle`` rows, locked while a store decides (``select_for_update``), so that
    ``edusec monitor`` and any number of Celery workers share it. ``offer`` and ``due`` run in the caller's
    transaction; times are the stores' clock (``now``).
    """

    def __init__(self, interval: float):
        self.interval = timedelta(seconds=interval)

    @classmethod
    def from_settings(cls) -> Throttle:
        from django.conf import settings

        return cls(settings.EDUSEC_MONITOR_ALERT_INTERVAL)

    def offer(self, messages: list[Message], now) -> list[Message]:
        """The messages to send now; the others are held (merged with what is held for the same receiver). A receiver
        whose held alerts may go by now gets them in this message."""
        if not messages:
            return []
        rows = self._locked_rows(messages)
        messages = self._drop_short_outages(messages, rows)
        ready, changed = [], {}
        for message in messages:
            row = rows[message.key]
            recent = row.last_sent_at is not None and now - row.last_sent_at < self.interval
            if recent:  # another check of a site just told of (its content check finding it down too) is no news
                told = {tuple(item) for item in row.told}
                message.alerts[:] = [
                    alert for alert in message.alerts if (alert.website_id, alert.detection) not in told
                ]
                if not message.alerts:
                    continue
            held = [Alert(**alert) for alert in row.held]
            if held and now < row.due_at:
                row.held = [*row.held, *(asdict(alert) for alert in message.alerts if alert not in held)]
            elif held or not recent:
                message.alerts[:0] = [alert for alert in held if alert not in message.alerts]
                _sent(row, message, now)
                ready.append(message)
            else:
                row.held = [asdict(alert) for alert in message.alerts]
                row.found_at, row.due_at = now, row.last_sent_at + self.interval
            changed[row.pk] = row
            # A site back up may go down again (and the other way round) within the interval: that is news again.
            opposite = rows.get((OPPOSITE.get(message.event_type), message.receiver))
            sites = {alert.website_id for alert in message.alerts}
            if opposite is not None and any(website_id in sites for website_id, _detection in opposite.told):
                opposite.told = [item for item in opposite.told if item[0] not in sites]
                changed[opposite.pk] = opposite
        fields = ["last_sent_at", "told", "held", "found_at", "due_at"]
        AlertThrottle.objects.bulk_update(changed.values(), fields)
        return ready

    def due(self, now, *, everything: bool = False) -> list[Message]:
        """The held messages whose receiver may be told again (``everything``: all of them, as the monitor stops);
        their rows are marked sent at ``now``."""
        rows = AlertThrottle.objects.select_for_update(of=("self",)).select_related("unit", "endpoint").order_by("pk")
        rows = list(rows.filter(due_at__isnull=False) if everything else rows.filter(due_at__lte=now))
        ready = []
        for row in rows:
            alerts = [Alert(**alert) for alert in row.held]
            message = Message(row.event_type, row.unit, row.endpoint, alerts, found_at=row.found_at)
            _sent(row, message, now)
            ready.append(message)
        AlertThrottle.objects.bulk_update(rows, ["last_sent_at", "told", "held", "found_at", "due_at"])
        return [message for message in ready if message.alerts]

    @staticmethod
    def _locked_rows(messages: list[Message]) -> dict[tuple[str, str], AlertThrottle]:
        """The rows of the messages' receivers (created if new) and, for "down" and "back up", those of the other
        one (``OPPOSITE``), locked until the caller's transaction ends; created and locked in one order (receiver keys,
        then ids), so that two stores wanting the same rows queue instead of deadlocking."""
        AlertThrottle.objects.bulk_create(
            [AlertThrottle(event_type=m.event_type, receiver=m.receiver, unit=m.unit, endpoint=m.endpoint)
             for m in sorted(messages, key=lambda m: m.key)],
            ignore_conflicts=True,
        )  # fmt: skip
        keys = {message.key for message in messages}
        keys |= {(OPPOSITE[m.event_type], m.receiver) for m in messages if m.event_type in OPPOSITE}
        wanted = Q()
        for event_type, receiver in keys:
            wanted |= Q(event_type=event_type, receiver=receiver)
        rows = AlertThrottle.objects.select_for_update().filter(wanted).order_by("pk")
        return {(row.event_type, row.receiver): row for row in rows}

    @staticmethod
    def _drop_short_outages(messages: list[Message], rows: dict) -> list[Message]:
        kept = []
        for message in messages:
            down = rows.get((DOWN, message.receiver)) if message.event_type == RECOVERED else None
            if down is not None and down.held:
                back = {alert.website_id for alert in message.alerts}
                still_down = [alert for alert in down.held if alert["website_id"] not in back]
                unheard = {alert["website_id"] for alert in down.held} & back
                if unheard:
                    down.held = still_down
                    if not still_down:
                        down.found_at = down.due_at = None
                    down.save(update_fields=["held", "found_at", "due_at"])
                    message.alerts[:] = [alert for alert in message.alerts if alert.website_id not in unheard]
                    if not message.alerts:
                        continue
            kept.append(message)
        return kept


def _sent(row: AlertThrottle, message: Message, now) -> None:
    """Mark ``row`` as its receiver told ``message`` at ``now``: nothing held any more."""
    row.last_sent_at, row.held, row.found_at, row.due_at = now, [], None, None
    row.told = [[alert.website_id, alert.detection] for alert in message.alerts]


def _message(event_type: str, unit, alerts: list[Alert], websites, units, now) -> tuple[str, str, str]:
    """Title, body and link of a message to ``unit`` about ``alerts`` (sites of ``unit`` or of units under it)."""
    separator = pgettext("list separator", ", ")
    sites: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts:
        sites[alert.website_id].append(alert)
    several_units = len({alert.unit_id for alert in alerts}) > 1
    names, whats, lines = [], [], []
    for website_id, found in sites.items():
        website = websites.get(website_id)
        if website is None:
            continue
        detail = ""
        if event_type == DOWN:  # the head says "down": say why ("connection refused", "HTTP 502")
            what = separator.join(dict.fromkeys(_why_down(alert) for alert in found))
            detail = separator.join(dict.fromkeys(a.summary for a in found if a.summary and a.summary != what))
        else:
            what = separator.join(dict.fromkeys(str(v.DETECTION_KINDS.get(a.detection, a.detection)) for a in found))
        if event_type == RECOVERED:  # what it recovered from
            what = gettext("was: %(what)s") % {"what": what}
        name = website.name
        if several_units and found[0].unit_id in units:
            name = f"{units[found[0].unit_id]} {name}"
        names.append(website.name)
        whats.append(what)
        if len(lines) < MAX_SITES_LISTED:
            told = gettext("%(what)s (%(detail)s)") % {"what": what, "detail": detail} if detail else what
            lines.append(gettext("- %(site)s (%(url)s): %(what)s") % {"site": name, "url": website.display_url,
                                                                     "what": told})  # fmt: skip
    if len(names) > MAX_SITES_LISTED:
        lines.append(gettext("… and %(count)d more sites.") % {"count": len(names) - MAX_SITES_LISTED})
    head = TITLES[event_type]
    if len(names) == 1:
        title = gettext("%(event)s: %(site)s (%(what)s)") % {"event": head, "site": names[0], "what": whats[0]}
    else:
        title = gettext("%(event)s: %(count)d sites of %(unit)s") % {"event": head, "count": len(names), "unit": unit}
    when = formats.date_format(timezone.localtime(now), "Y-m-d H:i")
    body = "\n".join([gettext("%(unit)s, %(time)s") % {"unit": unit, "time": when}, *lines])
    only = next(iter(sites)) if len(sites) == 1 else None
    url = reverse("monitoring:site", args=[only]) if only is not None else reverse("monitoring:board")
    return title, body, url


def _why_down(alert: Alert) -> str:
    """The reason a site is down in the reader's language ("connection refused"), or its summary ("HTTP 502")."""
    reason = v.PROBE_ERROR_LABELS.get(alert.reason)
    return str(reason) if reason is not None else alert.summary


def send_safely(alerts: list[Alert], now, throttle: Throttle | None = None) -> int:
    """Send ``alerts`` in a savepoint of their own: a failure to alert is logged and costs the alerts, never the stored
    results. With ``throttle``, what it holds back is not sent now (see ``Throttle``)."""
    from django.db import transaction

    if not alerts:
        return 0  # the usual store: no savepoint
    try:
        with transaction.atomic():
            messages = messages_of(alerts)
            if throttle is not None:
                messages = throttle.offer(messages, now)
            return deliver(messages, now)
    except Exception:
        logger.exception("monitoring alerts not sent (%d alerts)", len(alerts))
        return 0


def send_held(throttle: Throttle, now=None, *, everything: bool = False) -> int:
    """Send what ``throttle`` held and may now go (``everything``: all it holds), each message dated when its first
    alert was found. A message that fails is logged and not sent again."""
    from django.db import transaction

    now = now or timezone.now()
    held = AlertThrottle.objects.filter(due_at__isnull=False)
    if not (held if everything else held.filter(due_at__lte=now)).exists():
        return 0  # the usual look: no write transaction
    with transaction.atomic():
        messages = throttle.due(now, everything=everything)
    sent = 0
    for message in messages:
        try:
            with transaction.atomic():
                sent += deliver([message], message.found_at or now)
        except Exception:
            logger.exception("held monitoring alerts not sent (%d alerts)", len(message.alerts))
    return sent
