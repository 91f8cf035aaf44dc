"""The monitor's alerts on the platform's channels (``core.channels``): in-app, e-mail, group robots, webhooks.

A bureau must know within minutes when a school site is down, defaced, carrying hidden links or leaking personal
information, without watching the status board. An alert goes out when a detection *appears* (after the check's grace
period, so a single failed probe does not page anybody), when it becomes more severe (a certificate now expiring
within 7 days), and, for a site that was down, when it is back. Nothing is sent while a maintenance window covers
the site, and nothing for the quieter detections (slow, IPv6, DNS, missing ICP number, stale site): those are
findings to work through, not news.

Who is told: the people of the site's unit and of the unit above it (the school's supervising bureau), and the
robots and webhooks of the site's unit and of the units above it set to receive their subordinate units' events. Each
of them gets one message per event type per store, listing every site it is told of (in-app, and by e-mail for those who
chose it). A district-wide outage thus sends the district's officers and robot one message, not one per school (group
robots accept about 20 messages a minute), and no message names a site outside the unit of whoever receives it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from . import vocabulary as v
from .analysis.results import SEVERITIES, severity_rank

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
            found.append(Alert(event_type, unit_id, website_id, event.detection, event.summary))
    return found


def escalations(before: dict[str, dict], after: list[dict], unit_id: int, website_id: int) -> list[Alert]:
    """Alerts for detections that persist but became more severe (a certificate now expiring within 7 days, a
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


def send(alerts: list[Alert], now) -> int:
    """Tell the people of each unit of ``alerts`` (one in-app message per event type and unit), then each robot or
    webhook once per event type about all the units it hears; the number of messages."""
    if not alerts:
        return 0
    from assets.models import Website
    from core.channels import notify
    from core.channels.service import endpoints_for
    from orgs.models import Unit

    grouped: dict[tuple[str, int], list[Alert]] = defaultdict(list)
    for alert in alerts:
        grouped[(alert.event_type, alert.unit_id)].append(alert)
    websites = Website.objects.in_bulk({alert.website_id for alert in alerts})
    units = Unit.objects.in_bulk({alert.unit_id for alert in alerts})
    parents = Unit.objects.in_bulk(
        {unit.path[: -Unit.steplen] for unit in units.values() if unit.depth > 1}, field_name="path"
    )
    # Who hears of what: the people of each site's unit and of the unit above it, and the endpoints of those units
    # (and of units further up that hear their subordinate units); each gets one message about all its sites.
    told: dict[tuple[str, int], tuple[object, list[Alert]]] = {}  # (event type, unit) -> (unit, alerts)
    heard: dict[tuple[str, int], tuple[object, list[Alert]]] = {}  # (event type, endpoint) -> (endpoint, alerts)
    for (event_type, unit_id), items in grouped.items():
        unit = units.get(unit_id)
        if unit is None:
            continue
        parent = parents.get(unit.path[: -Unit.steplen])
        for addressed in (unit, parent) if parent is not None else (unit,):
            told.setdefault((event_type, addressed.pk), (addressed, []))[1].extend(items)
        for endpoint in endpoints_for([unit], event_type):
            heard.setdefault((event_type, endpoint.pk), (endpoint, []))[1].extend(items)
    sent = 0
    for (event_type, _pk), (unit, items) in told.items():
        title, body, url = _message(event_type, unit, items, websites, units, now)
        notify(event_type, units=[unit], title=title, body=body, url=url, endpoints=[])
        sent += 1
    for (event_type, _pk), (endpoint, items) in heard.items():
        title, body, url = _message(event_type, endpoint.unit, items, websites, units, now)
        notify(event_type, title=title, body=body, url=url, endpoints=[endpoint])
        sent += 1
    return sent


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
        if event_type == DOWN:  # the head says "down": say why ("connection refused", "HTTP 502")
            what = separator.join(dict.fromkeys(a.summary for a in found))
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
            lines.append(gettext("- %(site)s (%(url)s): %(what)s") % {"site": name, "url": website.url,
                                                                     "what": what})  # fmt: skip
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


def send_safely(alerts: list[Alert], now) -> int:
    """``send``, in its own savepoint: a failure to alert is logged and costs the alerts, never the stored results."""
    from django.db import transaction

    if not alerts:
        return 0  # the usual store: no savepoint
    try:
        with transaction.atomic():
            return send(alerts, now)
    except Exception:
        logger.exception("monitoring alerts not sent (%d alerts)", len(alerts))
        return 0
