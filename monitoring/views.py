"""The monitoring pages: the region status board, a site's page, the evidence viewer, and the keyword list with the
default library's summary. The generic list/detail/edit pages of the registered models come from the registry.

Rows are reached through ``restrict`` only: a website is shown when the user may see its checks, a content baseline,
page copy or weekly rollup only through such a check, an event or a finding through its own ``restrict``. A website,
event or check of another unit's subtree answers 404.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Max, Q, Value, When
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from django.utils.translation import gettext as _
from django.views import View

from assets.models import InformationSystem, Website
from assets.models.ledger import LifecycleStatus
from core import audit
from core.idn import unicode_host
from core.models import AuditAction
from core.tasks import run_task
from core.views.generic import ObjectListView
from findings.models import OPEN_STATUSES, Finding, FindingSource
from orgs.models import Unit, UnitType

from . import rollups
from . import vocabulary as v
from .analysis import make_baseline
from .analysis.cloaking import REASONS as CLOAKING_REASONS
from .analysis.defacement import REASONS as DEFACEMENT_REASONS
from .analysis.scripts import REASONS as SCRIPT_REASONS
from .keywords import default_summary
from .ledger import KINDS
from .models import (
    Check,
    CheckEvent,
    CheckState,
    ContentBaseline,
    MaintenanceWindow,
    PageSnapshot,
    WeeklyRollup,
)
from .tables import STATE_COLOURS, severity_badge

# Worst-of order for a site and a tile. Unknown and maintenance are both grey; maintenance wins over "not probed yet".
SITE_RANK = {"ok": 0, "unknown": 1, "maintenance": 2, "warning": 3, "critical": 4}
RANK_STATE = {rank: state for state, rank in SITE_RANK.items()}
# What the board counts per tile: the three colours and grey (not probed yet, or in maintenance).
TILE_BUCKETS = {"ok": "ok", "warning": "warning", "critical": "critical", "unknown": "other", "maintenance": "other"}
CONTENT_COUNTERS = (v.HIDDEN_LINKS, v.DEFACEMENT, v.HARMFUL_KEYWORDS)
MAX_TILE_SITES = 6
CHART_DAYS = 30
TIMELINE_EVENTS = 50
BASELINE_SUMMARY = gettext_noop("Baseline accepted.")


def can_probe(user) -> bool:
    """Who may start a probe: whoever looks after checks or maintenance windows (everybody but read-only roles)."""
    return user.has_perm("monitoring.view_check") and (
        user.has_perm("monitoring.change_check") or user.has_perm("monitoring.change_maintenancewindow")
    )


def can_accept_baseline(user) -> bool:
    """Accepting what a site should look like is a security decision: administrators and security officers."""
    return user.has_perm("monitoring.change_check")


def _require(user, permission):
    if not user.has_perm(permission):
        raise PermissionDenied


# ---- the status board ------------------------------------------------------------------------------------------------


def _site_rank():
    return Max(
        Case(*[When(state=state, then=Value(rank)) for state, rank in SITE_RANK.items()], default=Value(1)),
        output_field=IntegerField(),
    )


def board_districts(user) -> list[Unit]:
    """The districts of the user's subtree, for the district filter and the grouping."""
    return list(Unit.objects.restrict(user, "view").filter(unit_type=UnitType.DISTRICT).only("pk", "path", "name"))


def unmonitored_systems(user, district: Unit | None = None):
    """The internet-facing information systems in operation, of the user's subtree, without an active website."""
    systems = InformationSystem.objects.restrict(user, "view").filter(
        internet_facing=True, status=LifecycleStatus.RUNNING
    )
    if district is not None:
        systems = systems.filter(unit__path__startswith=district.path)
    watched = Website.objects.filter(is_active=True, system__isnull=False).values("system")  # NOT IN: no NULL
    return systems.exclude(pk__in=watched)


def unmonitored_systems_url(district: Unit | None = None) -> str:
    """The systems list showing ``unmonitored_systems``."""
    query = "?internet_facing=true&status=running&monitored=false"
    return reverse("assets:informationsystem_list") + query + (f"&unit={district.pk}" if district is not None else "")


def board_data(user, *, district: Unit | None = None, state: str = "", districts: list[Unit] | None = None) -> dict:
    """The board for ``user``: summary counters and unit tiles grouped by district.

    A fixed number of queries whatever the region's size: one per aggregate (sites by worst state, HTTP up/down, open
    findings, current content detections) and one for the districts.
    """
    checks = Check.objects.restrict(user, "view").filter(enabled=True)
    findings = Finding.objects.restrict(user, "view").filter(source=FindingSource.MONITORING, status__in=OPEN_STATUSES)
    if district is not None:
        checks = checks.filter(unit__path__startswith=district.path)
        findings = findings.filter(unit__path__startswith=district.path)
    if districts is None:
        districts = board_districts(user)

    sites = (
        checks.values("website_id", "website__name", "website__host", "unit_id", "unit__name", "unit__short_name")
        .annotate(rank=_site_rank(), unit_path=F("unit__path"))
        .order_by("unit__path", "website__name")
    )
    # Down: no answer or a server error, past the grace period. Failing: any other failed probe (an error status such
    # as 404, or a failure still inside the grace period).
    down = Q(failures__gt=0, failures__gte=F("grace_failures")) & (
        Q(status_code__isnull=True) | Q(status_code__gte=500)
    )
    http = checks.filter(kind=v.HTTP).aggregate(
        up=Count("pk", filter=Q(failures=0, last_run_at__isnull=False)),
        down=Count("pk", filter=down),
        failing=Count("pk", filter=Q(failures__gt=0) & ~down),
    )
    detected: dict[str, set[int]] = {kind: set() for kind in CONTENT_COUNTERS}
    for website_id, detections in (
        checks.filter(kind=v.CONTENT).exclude(detections=[]).values_list("website_id", "detections")
    ):
        for item in detections or []:
            if item.get("kind") in detected:
                detected[item["kind"]].add(website_id)

    tiles: dict[int, dict] = {}
    for row in sites:
        tile = tiles.get(row["unit_id"])
        if tile is None:
            tile = tiles[row["unit_id"]] = {
                "unit": row["unit_id"],
                "name": row["unit__short_name"] or row["unit__name"],
                "path": row["unit_path"],
                "sites": [],
                "counts": {"sites": 0, "ok": 0, "warning": 0, "critical": 0, "other": 0},
                "rank": 0,
            }
        site_state = RANK_STATE[row["rank"]]
        tile["sites"].append(
            {
                "id": row["website_id"],
                "name": row["website__name"] or row["website__host"],
                "host": unicode_host(row["website__host"]),
                "state": site_state,
                "url": reverse("monitoring:site", args=[row["website_id"]]),
            }
        )
        tile["counts"]["sites"] += 1
        tile["counts"][TILE_BUCKETS[site_state]] += 1
        tile["rank"] = max(tile["rank"], row["rank"])
    # Internet-facing systems in operation with no active website: the monitor does not see them.
    unmonitored = unmonitored_systems(user, district)
    summary = {
        "unmonitored_systems": unmonitored.count(),
        "units": len(tiles),
        "sites": sum(t["counts"]["sites"] for t in tiles.values()),
        "sites_up": http["up"],
        "sites_down": http["down"],
        "sites_failing": http["failing"],
        "open_findings": findings.count(),
        **{f"sites_{kind}": len(ids) for kind, ids in detected.items()},
    }
    for bucket in ("ok", "warning", "critical", "other"):
        summary[f"sites_{bucket}"] = sum(t["counts"][bucket] for t in tiles.values())

    by_path = sorted(districts, key=lambda d: len(d.path), reverse=True)
    # Units in no district: the bureau's own level and its directly-affiliated units; for a user below any district
    # (a school), simply the user's own unit.
    own_unit = getattr(user, "unit", None)
    outside_districts = (
        gettext("Bureau and directly-affiliated units") if districts or own_unit is None else own_unit.name
    )
    groups: dict[int | None, dict] = {}
    for tile in tiles.values():
        tile["state"] = RANK_STATE[tile["rank"]]
        tile["colour"] = STATE_COLOURS[tile["state"]]
        if state and tile["state"] != state:
            continue
        owner = next((d for d in by_path if tile["path"].startswith(d.path)), None)
        key = owner.pk if owner is not None else None
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "district": key,
                "name": owner.name if owner is not None else outside_districts,
                "path": owner.path if owner is not None else "",
                "tiles": [],
                "counts": {"units": 0, "sites": 0, "ok": 0, "warning": 0, "critical": 0, "other": 0},
            }
        group["tiles"].append(tile)
        group["counts"]["units"] += 1
        for bucket in ("sites", "ok", "warning", "critical", "other"):
            group["counts"][bucket] += tile["counts"][bucket]
    ordered = sorted(groups.values(), key=lambda g: g["path"])
    for group in ordered:
        for tile in group["tiles"]:
            tile["more"] = max(0, len(tile["sites"]) - MAX_TILE_SITES)
    return {"summary": summary, "groups": ordered}


class BoardView(LoginRequiredMixin, View):
    """``/monitoring/``: every unit of the user's subtree that has monitored websites, as a tile coloured by the worst
    state of its sites, grouped by district; filters by district and by state."""

    template_name = "monitoring/board.html"

    def get(self, request):
        _require(request.user, "monitoring.view_check")
        districts = board_districts(request.user)
        district_id = request.GET.get("district", "")
        district = next((d for d in districts if str(d.pk) == district_id), None)
        state = request.GET.get("state", "")
        if state not in SITE_RANK:
            state = ""
        data = board_data(request.user, district=district, state=state, districts=districts)
        return render(
            request,
            self.template_name,
            {
                **data,
                "districts": sorted(districts, key=lambda d: d.path),
                "district": district,
                "state": state,
                "states": CheckState.choices,
                "filtered": bool(district or state),
                "check_list_url": reverse("monitoring:check_list"),
                "unmonitored_url": unmonitored_systems_url(district),
                "can_view_findings": request.user.has_perm("findings.view_finding"),
            },
        )


# ---- a site's page ---------------------------------------------------------------------------------------------------


def site_checks(user, website_id: int) -> list[Check]:
    """The site's checks the user may see, in the ledger's order (http, content, tls, dns, ipv6); 404 when none."""
    checks = list(Check.objects.restrict(user, "view").filter(website_id=website_id).select_related("website", "unit"))
    if not checks:
        raise Http404
    order = {kind: index for index, kind in enumerate(KINDS)}
    return sorted(checks, key=lambda check: order.get(check.kind, len(order)))


def _parse_time(value):
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def tls_details(check: Check | None, now) -> dict | None:
    if check is None or not check.details.get("tls"):
        return None
    tls = dict(check.details["tls"])
    not_after = _parse_time(tls.get("not_after"))
    tls["not_after"] = not_after
    tls["not_before"] = _parse_time(tls.get("not_before"))
    tls["days_left"] = (not_after - now).total_seconds() / 86400 if not_after else tls.get("days_left")
    tls["expired"] = tls["days_left"] is not None and tls["days_left"] < 0
    return tls


def chart_data(checks: list[Check], today: dt.date) -> dict:
    """Hourly mean latency and daily availability of the site's availability check over the last 30 days, from the
    weekly rollups (one query; 30 days touch five or six weeks)."""
    main = next((c for c in checks if c.kind == v.HTTP), None) or checks[0]
    first = today - dt.timedelta(days=CHART_DAYS - 1)
    weeks = {
        r.week: rollups.days_of(r.hourly())
        for r in WeeklyRollup.objects.filter(site_check=main, week__gte=rollups.week_of(first), week__lte=today)
    }
    zone = timezone.get_current_timezone()
    latency, days, uptime, probes = [], [], [], []
    for offset in range(CHART_DAYS):
        day = first + dt.timedelta(days=offset)
        week = weeks.get(rollups.week_of(day))
        hours = week[day.weekday()] if week else rollups.EMPTY_DAY
        days.append(day.isoformat())
        total = sum(good + failed for good, failed, _mean in hours)
        if not total:
            uptime.append(None)
            probes.append(0)
            continue
        failures = sum(failed for _good, failed, _mean in hours)
        uptime.append(round(100 * (total - failures) / total, 2))
        probes.append(total)
        for hour, (good, failed, mean) in enumerate(hours):
            if good + failed and mean:
                at = dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
                latency.append([int(at.timestamp() * 1000), mean])
    start = dt.datetime.combine(first, dt.time(0), tzinfo=zone)
    return {
        "check": main.get_kind_display(),
        "start": int(start.timestamp() * 1000),
        "end": int(timezone.now().timestamp() * 1000),
        "latency": latency,
        "days": days,
        "uptime": uptime,
        "probes": probes,
        "has_data": any(probes),
        "labels": {
            "latency": gettext("Response time (ms)"),
            "uptime": gettext("Availability (%)"),
            "probes": gettext("Probes"),
        },
    }


def current_detections(checks: list[Check], events: list[CheckEvent]) -> list[dict]:
    latest = {}
    for event in events:  # newest first: the first DETECTED event per (check, detection) is the current one
        if event.kind == CheckEvent.Kind.DETECTED:
            latest.setdefault((event.site_check_id, event.detection), event)
    found = []
    for check in checks:
        for item in check.detections or []:
            kind, technique = item.get("kind", ""), item.get("technique", "")
            event = latest.get((check.pk, kind))
            found.append(
                {
                    "check": check,
                    "kind": kind,
                    "label": v.DETECTION_KINDS.get(kind, kind),
                    "severity": item.get("severity", ""),
                    "severity_badge": severity_badge(item.get("severity", "")),
                    "technique": v.HIDDEN_LINK_TECHNIQUES.get(technique, technique),
                    "summary": item.get("summary", ""),
                    "event": event,
                }
            )
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    return sorted(found, key=lambda d: rank.get(d["severity"], 5))


def site_context(request, website_id: int) -> dict:
    user = request.user
    checks = site_checks(user, website_id)
    website = checks[0].website
    by_kind = {check.kind: check for check in checks}
    now = timezone.now()
    events = list(
        CheckEvent.objects.restrict(user, "view")
        .filter(site_check__website_id=website_id)
        .select_related("site_check")
        .order_by("-at", "-pk")[:TIMELINE_EVENTS]
    )
    findings = list(
        Finding.objects.restrict(user, "view")
        .filter(source=FindingSource.MONITORING, host=website.host, status__in=OPEN_STATUSES)
        .select_related("unit")
        .order_by("-risk_score", "-last_seen")[:50]
    )
    # The site's own windows and those of its unit's websites (its unit or one above), open now or to come.
    path, steplen = checks[0].unit.path, Unit.steplen
    unit_paths = [path[:end] for end in range(steplen, len(path) + 1, steplen)]
    candidates = (
        MaintenanceWindow.objects.restrict(user, "view")
        .filter(Q(website_id=website_id) | Q(website__isnull=True, unit__path__in=unit_paths))
        .filter(Q(expires_at__gt=now) | Q(expires_at__isnull=True))
        .select_related("unit")
    )
    windows = sorted(
        ((window, window.next_occurrence(now)) for window in candidates),
        key=lambda pair: pair[1][0] if pair[1] else now,
    )
    windows = [{"window": window, "next": upcoming} for window, upcoming in windows if upcoming][:10]
    content = by_kind.get(v.CONTENT)
    baseline = (
        ContentBaseline.objects.filter(site_check=content).select_related("reviewed_by").first() if content else None
    )
    http = by_kind.get(v.HTTP)
    for check in checks:
        check.colour = STATE_COLOURS.get(check.state, "secondary")
    for event in events:
        event.colour = STATE_COLOURS.get(event.state, "secondary")
        event.severity_badge = severity_badge(event.severity)
        event.detection_label = v.DETECTION_KINDS.get(event.detection, event.detection)
    state = (
        RANK_STATE[max(SITE_RANK.get(c.state, 1) for c in checks if c.enabled)]
        if any(c.enabled for c in checks)
        else "unknown"
    )
    return {
        "website": website,
        "unit": checks[0].unit,
        "checks": checks,
        "state": state,
        "state_label": CheckState(state).label,
        "state_colour": STATE_COLOURS[state],
        "detections": current_detections(checks, events),
        "tls": tls_details(by_kind.get(v.TLS), now),
        "redirects": (http.details.get("redirects") if http else None) or [],
        "chart": chart_data(checks, timezone.localdate()),
        "events": events,
        "findings": findings,
        "windows": windows,
        "baseline": baseline,
        "content_check": content,
        "can_probe": can_probe(user),
        "can_accept_baseline": content is not None and can_accept_baseline(user),
        "can_change_check": user.has_perm("monitoring.change_check"),
        "can_add_window": user.has_perm("monitoring.add_maintenancewindow"),
        "can_view_findings": user.has_perm("findings.view_finding"),
        # Raw probe records are kept only when turned on (EDUSEC_MONITOR_PROBE_RECORD_DAYS).
        "probe_records": settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS > 0 and user.has_perm("monitoring.view_proberecord"),
        "task": request.GET.get("task", "") if request.GET.get("task", "").isdigit() else "",
    }


class SiteView(LoginRequiredMixin, View):
    """``/monitoring/sites/<website_id>/``: the state of every check of one website, its detections, charts, events,
    open findings, and the probe-now and accept-baseline buttons."""

    template_name = "monitoring/site_detail.html"

    def get(self, request, website_id):
        _require(request.user, "monitoring.view_check")
        return render(request, self.template_name, site_context(request, website_id))


def start_probe(website_id: int, check_ids: list[int]):
    """Probe these checks of one website in the background; returns the TaskRun."""
    from .tasks import probe_site

    return run_task(probe_site, website_id, check_ids)


class SiteProbeView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, website_id):
        _require(request.user, "monitoring.view_check")
        checks = site_checks(request.user, website_id)
        if not can_probe(request.user):
            raise PermissionDenied
        ids = [check.pk for check in checks if check.enabled]
        url = reverse("monitoring:site", args=[website_id])
        if not ids:
            messages.warning(request, _("Every check of this site is switched off: nothing to probe."))
            return HttpResponseRedirect(url)
        run = start_probe(website_id, ids)
        messages.info(request, _("Probing the site in the background; this page refreshes when it is done."))
        return HttpResponseRedirect(f"{url}?task={run.pk}")


# ---- accepting a baseline --------------------------------------------------------------------------------------------


def fetch_page(check: Check, now) -> PageSnapshot:
    """Fetch the content check's page now (unsaved copy); ValidationError when the site does not answer."""
    from .engine import run_sweep
    from .store import _snapshot
    from .sweep import engine_options, target_for

    target = dataclasses.replace(target_for(check), last_body_hash=None, variants=())
    results = run_sweep([target], **engine_options())
    result = results[0] if results else None
    if result is None or not result.ok or not result.body:
        detail = (result.error_detail or result.error) if result is not None else ""
        raise ValidationError(_("The page could not be fetched: %(error)s") % {"error": detail or _("no answer")})
    return _snapshot(check, result, now)


def current_page(check: Check, now) -> PageSnapshot:
    """The copy of the page as it is now: the latest stored copy when no later change was analysed, else a fresh
    fetch (unsaved)."""
    snapshot = PageSnapshot.objects.filter(site_check=check).order_by("-taken_at").first()
    if snapshot is not None and (check.content_changed_at is None or snapshot.taken_at >= check.content_changed_at):
        return snapshot
    return fetch_page(check, now)


def accept_baseline(check: Check, user, *, now=None) -> tuple[ContentBaseline, CheckEvent]:
    """Make the current page the reviewed baseline of ``check`` (a content check): ContentBaseline with the reviewer,
    an audit entry, a BASELINE event, and the page re-analysed at the next probe (due now)."""
    if check.kind != v.CONTENT:
        raise ValidationError(_("Only the content check of a site has a baseline."))
    now = now or timezone.now()
    snapshot = current_page(check, now)
    data = make_baseline([snapshot.text()], url=snapshot.url or check.url)  # where the page was served from
    with transaction.atomic():
        if snapshot.pk is None:
            snapshot.save()
        previous = ContentBaseline.objects.filter(site_check=check).first()
        baseline, created = ContentBaseline.objects.update_or_create(
            site_check=check,
            defaults={
                "unit_id": check.unit_id,
                "data": data,
                "samples": 1,
                "reviewed_by": user,
                "reviewed_at": now,
                "snapshot": snapshot,
                "updated_by": user,
            },
        )
        audit.record(
            AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=baseline,
            user=user,
            object_repr=str(check),
            changes={
                "reviewed_by": [previous.reviewed_by_id if previous else None, user.pk],
                "reviewed_at": [
                    previous.reviewed_at.isoformat() if previous and previous.reviewed_at else None,
                    now.isoformat(),
                ],
                "snapshot": [previous.snapshot_id if previous else None, snapshot.pk],
                "page_sha256": [None, snapshot.sha256],
            },
        )
        event = CheckEvent.objects.create(
            unit_id=check.unit_id,
            site_check=check,
            at=now,
            kind=CheckEvent.Kind.BASELINE,
            summary=BASELINE_SUMMARY,
            evidence={"reviewed_by": user.get_username(), "page_sha256": snapshot.sha256, "url": snapshot.url},
            snapshot=snapshot,
        )
        # The page is analysed again against the new baseline at the next probe, which is due now.
        Check.objects.filter(pk=check.pk).update(analysed_hash="", next_due_at=now)
    return baseline, event


class SiteBaselineView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, website_id):
        _require(request.user, "monitoring.view_check")
        checks = site_checks(request.user, website_id)
        if not can_accept_baseline(request.user):
            raise PermissionDenied
        url = reverse("monitoring:site", args=[website_id])
        content = next((c for c in checks if c.kind == v.CONTENT), None)
        if content is None:
            raise Http404
        try:
            accept_baseline(content, request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The current page is now the reviewed baseline of this site."))
        return HttpResponseRedirect(url)


# ---- the evidence viewer ---------------------------------------------------------------------------------------------

# Anything shaped like an ID number (15 or more digits, an 18-character ID may end in X) or a mobile number, masked in
# place with the same length, so the evidence's character offsets still point at the same places.
_LONG_NUMBER_RE = re.compile(r"(?<![0-9])[0-9]{14,}[0-9Xx]?(?![0-9])")
_MOBILE_RE = re.compile(r"(?<![0-9])1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")


def _mask_span(text: str, keep_start: int, keep_end: int) -> str:
    digits = [i for i, char in enumerate(text) if char.isalnum()]
    hidden = set(digits[keep_start : len(digits) - keep_end])
    return "".join("*" if i in hidden else char for i, char in enumerate(text))


def mask_source(source: str) -> str:
    """The page source with every ID-shaped and mobile-shaped number masked, character offsets unchanged."""
    if not any(char.isdigit() for char in source):
        return source
    source = _LONG_NUMBER_RE.sub(lambda m: _mask_span(m.group(0), 4, 4), source)
    return _MOBILE_RE.sub(lambda m: _mask_span(m.group(0), 3, 4), source)


def highlighted_source(source: str, matches) -> tuple[str, int]:
    """The (masked) source, escaped, with each ``{"offset", "length"}`` span in a ``<mark>``; and how many spans."""
    spans = []
    for match in matches or []:
        try:
            start, length = int(match["offset"]), int(match["length"])
        except (KeyError, TypeError, ValueError):
            continue
        if length > 0 and 0 <= start < len(source):
            spans.append((start, min(start + length, len(source))))
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    text = mask_source(source)
    parts, cursor = [], 0
    for number, (start, end) in enumerate(merged, start=1):
        parts.append(format_html("{}", text[cursor:start]))
        parts.append(format_html('<mark id="match-{}" class="edusec-match">{}</mark>', number, text[start:end]))
        cursor = end
    parts.append(format_html("{}", text[cursor:]))
    return mark_safe("".join(parts)), len(merged)  # noqa: S308 (every part is escaped by format_html)


# Labels of evidence keys and reason codes the analysers write (see monitoring/analysis/).
EVIDENCE_LABELS = {
    "reasons": gettext_lazy("Reasons"),
    "text_retained": gettext_lazy("Share of the baseline's text still on the page"),
    "text_novel": gettext_lazy("Share of new text"),
    "structure_similarity": gettext_lazy("Layout similarity to the baseline"),
    "title_similarity": gettext_lazy("Title similarity to the baseline"),
    "title": gettext_lazy("Page title"),
    "baseline_titles": gettext_lazy("Titles of the baseline"),
    "title_keywords": gettext_lazy("Keywords in the title"),
    "baseline_samples": gettext_lazy("Pages in the baseline"),
    "found": gettext_lazy("Found"),
    "variants": gettext_lazy("Page variants"),
    "status": gettext_lazy("HTTP status"),
    "error": gettext_lazy("Error"),
    "detail": gettext_lazy("Detail"),
    "reviewed_by": gettext_lazy("Reviewed by"),
    "page_sha256": gettext_lazy("SHA-256 of the page"),
    "url": gettext_lazy("URL"),
    "baseline_site": gettext_lazy("Site of the baseline"),
}
REASON_LABELS = {**CLOAKING_REASONS, **DEFACEMENT_REASONS, **SCRIPT_REASONS}


def _labelled(values, labels) -> str:
    return "、".join(str(labels.get(value, value)) for value in values)


def _table(label, headers, rows) -> dict:
    return {"label": label, "table": {"headers": headers, "rows": rows}}


def evidence_rows(evidence: dict) -> list[dict]:
    """The evidence as labelled rows for a table; lists (links, keywords, hidden blocks, scripts, software, personal
    data) as sub-tables. Table cells are text, or ``{"code": text}`` for page excerpts. Everything is escaped by the
    template; the analysers have already masked personal numbers."""
    evidence = dict(evidence or {})
    evidence.pop("matches", None)
    evidence.pop("snapshot", None)
    rows = []
    if techniques := evidence.pop("techniques", None):
        rows.append({"label": _("Techniques"), "text": _labelled(techniques, v.HIDDEN_LINK_TECHNIQUES)})
    if reasons := evidence.pop("reasons", None):
        rows.append({"label": _("Reasons"), "text": _labelled(reasons, REASON_LABELS)})
    if categories := evidence.pop("categories", None):
        if isinstance(categories, dict):
            text = "、".join(f"{v.KEYWORD_CATEGORIES.get(k, k)} × {n}" for k, n in categories.items())
        else:
            text = _labelled(categories, v.KEYWORD_CATEGORIES)
        rows.append({"label": _("Categories"), "text": text})
    if links := evidence.pop("links", None):
        rows.append(
            _table(
                _("Links"),
                [_("Address"), _("Host"), _("Link text")],
                [[link.get("href", ""), link.get("host", ""), link.get("text", "")] for link in links],
            )
        )
    if blocks := evidence.pop("blocks", None):
        rows.append(
            _table(
                _("Hidden blocks"),
                [_("Technique"), _("Excerpt")],
                [
                    [
                        _labelled(block.get("techniques") or [block.get("technique", "")], v.HIDDEN_LINK_TECHNIQUES),
                        {"code": block.get("excerpt", "")},
                    ]
                    for block in blocks
                ],
            )
        )
    if keywords := evidence.pop("keywords", None):
        fields = {"title": _("Title"), "meta": _("Meta tags"), "text": _("Text"), "attribute": _("Attributes")}
        rows.append(
            _table(
                _("Keywords"),
                [_("Word"), _("Category"), _("Where"), _("Context")],
                [
                    [
                        item.get("word", ""),
                        v.KEYWORD_CATEGORIES.get(item.get("category", ""), item.get("category", "")),
                        fields.get(item.get("field", ""), item.get("field", "")),
                        item.get("context", ""),
                    ]
                    for item in keywords
                ],
            )
        )
    if scripts := evidence.pop("scripts", None):
        rows.append(
            _table(
                _("Scripts"),
                [_("Reason"), _("Address or excerpt")],
                [
                    [
                        REASON_LABELS.get(
                            item.get("reason", ""),
                            v.HIDDEN_LINK_TECHNIQUES.get(item.get("technique", ""), item.get("reason", "")),
                        ),
                        {"code": item.get("src") or item.get("excerpt") or item.get("script") or ""},
                    ]
                    for item in scripts
                ],
            )
        )
    if variants := evidence.pop("variants", None):
        visitors = {"spider": _("Search-engine spider"), "mobile": _("Mobile visitor"),
                    "referer": _("Visitor from a search engine")}  # fmt: skip
        rows.append(
            _table(
                _("Page variants"),
                [
                    _("Fetched as"),
                    _("Reasons"),
                    _("Sent to"),
                    _("New links to other sites"),
                    _("Keywords"),
                    _("Text similarity"),
                ],  # fmt: skip
                [
                    [
                        visitors.get(name, name),
                        _labelled(report.get("reasons", []), REASON_LABELS),
                        "、".join(report.get("redirects", [])),
                        "、".join(report.get("new_links", [])),
                        "、".join(report.get("keywords", [])),
                        f"{report['text_similarity']:.0%}" if "text_similarity" in report else "",
                    ]
                    for name, report in variants.items()
                    if isinstance(report, dict)
                ],
            )
        )
    if software := evidence.pop("software", None):
        rows.append(
            _table(
                _("Outdated software"),
                [_("Product"), _("Version"), _("Minimum version"), _("Seen in")],
                [
                    [s.get("product", ""), s.get("version", ""), s.get("minimum", ""), s.get("banner", "")]
                    for s in software
                ],
            )
        )
    personal = []
    for key, label in (("id_count", _("ID numbers")), ("phone_count", _("Mobile numbers"))):
        if key in evidence:
            personal.append(f"{label}: {evidence.pop(key)}")
    if personal:
        rows.append({"label": _("Personal data found"), "text": "；".join(personal)})
    if numbers := evidence.pop("id_numbers", None):
        rows.append({"label": _("ID numbers (masked)"), "text": "、".join(numbers)})
    if phones := evidence.pop("phones", None):
        rows.append({"label": _("Mobile numbers (masked)"), "text": "、".join(phones)})
    if tables := evidence.pop("tables", None):
        rows.append(
            _table(
                _("Lists of people"),
                [_("Columns"), _("Sensitive columns"), _("Rows")],
                [
                    ["、".join(t.get("headers", [])), "、".join(t.get("sensitive_columns", [])), t.get("rows", "")]
                    for t in tables
                ],
            )
        )
    if missing := evidence.pop("missing", None):
        labels = {"icp": _("ICP filing number"), "public_security": _("Public-security filing number")}
        rows.append({"label": _("Missing"), "text": _labelled(missing, labels)})
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = "、".join(value)
        text = value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False, indent=1)
        rows.append(
            {"label": EVIDENCE_LABELS.get(key, key), "text": text, "pre": not isinstance(value, str | int | float)}
        )
    return rows


class EvidenceView(LoginRequiredMixin, View):
    """``/monitoring/events/<pk>/evidence/``: the stored copy of the page as escaped source text (never rendered as
    HTML), the evidence's spans highlighted, and the evidence fields in a table. Personal numbers are masked."""

    template_name = "monitoring/evidence.html"

    def get(self, request, pk):
        _require(request.user, "monitoring.view_checkevent")
        event = get_object_or_404(
            CheckEvent.objects.restrict(request.user, "view").select_related("site_check__website", "snapshot", "unit"),
            pk=pk,
        )
        snapshot = event.snapshot
        source, count = ("", 0)
        if snapshot is not None:
            source, count = highlighted_source(snapshot.text(), (event.evidence or {}).get("matches"))
        return render(
            request,
            self.template_name,
            {
                "event": event,
                "website": event.site_check.website,
                "snapshot": snapshot,
                "source": source,
                "match_count": count,
                "rows": evidence_rows(event.evidence),
                "severity_badge": severity_badge(event.severity),
                "technique_labels": v.HIDDEN_LINK_TECHNIQUES,
            },
        )


# ---- the keyword library's list --------------------------------------------------------------------------------------


class KeywordListView(ObjectListView):
    """The generic list of the bureau's keyword entries, with a summary of the default library above it."""

    template_name = "monitoring/keywordentry_list.html"

    def base_context(self, **extra):
        context = super().base_context(**extra)
        context["default_library"] = default_summary()
        context["default_total"] = sum(row["count"] for row in context["default_library"] if row["label"])
        return context
