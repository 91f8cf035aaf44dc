"""Turning a batch of probe results into stored state: the checks' latest state (one UPDATE per check), events only
on change or detection, a page copy as evidence, the day's rollup, and findings through the findings writer.

Everything for one batch happens in one transaction with a fixed number of statements per batch (bulk updates and
inserts), whatever the batch size, plus one findings write per region root when something is detected.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from findings.importers.base import EVIDENCE_LIMIT, Record
from findings.models import OPEN_STATUSES, Finding, FindingSource, FindingStatus
from findings.writer import write_records
from orgs.models import Unit

from . import rollups, rules
from . import vocabulary as v
from .analysis import Detection, analyse_page, make_baseline
from .engine.targets import ProbeResult
from .keywords import keyword_library_for
from .models import Check, CheckEvent, CheckState, ContentBaseline, MaintenanceWindow, PageSnapshot

TOOL = "monitoring"
CHECK_FIELDS = [
    "state", "last_run_at", "last_ok_at", "state_since", "status_code", "latency_ms", "error", "failures",
    "successes", "body_hash", "analysed_hash", "content_changed_at", "detections", "details", "next_due_at",
]  # fmt: skip


@dataclass
class StoreCounts:
    checks: int = 0
    events: int = 0
    detections: int = 0
    findings_written: int = 0
    findings_fixed: int = 0
    by_state: dict = field(default_factory=lambda: defaultdict(int))


def rule_id(kind: str) -> str:
    return f"{TOOL}:{kind}"


def store_results(results: list[ProbeResult], *, now: datetime | None = None, schedule: bool = True) -> StoreCounts:
    """Apply ``results`` (one per check) to the database. ``schedule``: set each check's next due time."""
    now = now or timezone.now()
    counts = StoreCounts()
    if not results:
        return counts
    checks = {
        check.pk: check
        for check in Check.objects.filter(pk__in=[r.check_id for r in results]).select_related("website", "unit")
    }
    baselines = {b.site_check_id: b for b in ContentBaseline.objects.filter(site_check__in=list(checks))}
    in_maintenance = set(
        MaintenanceWindow.objects.filter(
            website__in={c.website_id for c in checks.values()}, starts_at__lte=now, ends_at__gt=now
        ).values_list("website_id", flat=True)
    )
    events: list[CheckEvent] = []
    records: dict[str, list[Record]] = defaultdict(list)  # region root path → findings to write
    to_fix: list[tuple[Check, str]] = []
    rollup = rollups.Accumulator(now)
    new_baselines: list[ContentBaseline] = []
    for result in results:
        check = checks.get(result.check_id)
        if check is None:
            continue  # deleted while it was being probed
        counts.checks += 1
        rollup.add(check.pk, result.ok, result.latency_ms)
        baseline = baselines.get(check.pk)
        found = rules.probe_detections(result)
        # The default library plus the entries of the site's unit and the units above it (content checks only).
        library = keyword_library_for(check.unit) if check.kind == v.CONTENT else None
        analysed = _analyse(check, result, baseline, library, now, events, new_baselines)
        failing = not result.ok
        check.failures = check.failures + 1 if failing else 0
        check.successes = 0 if failing else check.successes + 1
        found = rules.after_grace(found, check.failures, check.grace_failures)
        if analysed is not None:
            found += analysed
        elif result.ok and check.kind == v.CONTENT:
            # The page did not change since it was analysed: what the analysis found stands.
            found += [Detection(**d) for d in check.details.get("analysed", [])]
            stale = rules.unchanged_for(check.content_changed_at, now, settings.EDUSEC_MONITOR_STALE_DAYS)
            if stale is not None and v.STALE_SITE not in {item.kind for item in found}:
                found.append(stale)
        detections = [item.as_dict() for item in found]
        _record_changes(check, detections, now, events, result)
        maintenance = check.website_id in in_maintenance
        state = CheckState.MAINTENANCE if maintenance else rules.state_of(detections, failing=failing)
        if state != check.state:
            events.append(
                CheckEvent(
                    unit_id=check.unit_id, site_check=check, at=now, kind=CheckEvent.Kind.STATE, state=state,
                    summary=f"{check.get_state_display() if check.state else ''} → {CheckState(state).label}"[:300],
                    evidence={"error": result.error, "detail": result.error_detail, "status": result.status},
                )
            )  # fmt: skip
            check.state, check.state_since = state, now
        counts.by_state[state] += 1
        _update_latest(check, result, detections, now, schedule)
        if not maintenance:
            for item in found:
                records[check.unit.path[: check.unit.steplen]].append(_record(check, item))
        counts.detections += len(found)
        # A kind that has been absent for ``recovery_successes`` probes in a row closes its finding.
        clearing = check.details.setdefault("clearing", {})
        present = {item.kind for item in found}
        for kind in rules.KINDS_OF_CHECK[check.kind]:
            if kind in present or (kind in rules.NEEDS_GRACE and failing):
                clearing.pop(kind, None)
                continue
            clearing[kind] = clearing.get(kind, 0) + 1
            if clearing[kind] == check.recovery_successes:
                to_fix.append((check, kind))
    with transaction.atomic():
        ContentBaseline.objects.bulk_create(new_baselines)
        Check.objects.bulk_update(list(checks.values()), CHECK_FIELDS)
        for event in events:
            if event.snapshot is not None and event.snapshot.pk is None:
                event.snapshot.save()
        CheckEvent.objects.bulk_create(events)
        rollup.save()
        for root_path, batch in records.items():
            root = Unit.objects.get(path=root_path)  # the writer places each record on its website's unit
            counts.findings_written += write_records(batch, unit=root, tool=TOOL).new
        counts.findings_fixed = _fix(to_fix, now)
    counts.events = len(events)
    return counts


def _analyse(check, result, baseline, library, now, events, new_baselines):
    """Content analysis of a changed page; None when there is nothing new to analyse."""
    if check.kind != v.CONTENT or not result.ok or result.body is None:
        return None
    html = result.body.decode("utf-8", "replace")
    host = check.website.host
    if baseline is None:
        # A site's first page is its provisional baseline until someone reviews one.
        baseline = ContentBaseline(
            unit_id=check.unit_id, site_check=check, data=make_baseline([html], url=check.url), samples=1
        )
        new_baselines.append(baseline)
    variants = {"browser": html}
    for name, body in (result.variants or {}).items():
        variants[name] = body.decode("utf-8", "replace")
    analysis = analyse_page(
        html,
        url=check.url,
        baseline=baseline.data,
        keyword_library=library,
        site_domains=(host,),
        variants=variants if len(variants) > 1 else None,
        headers=result.headers,
    )
    check.analysed_hash = (result.body_hash or b"").hex()
    check.content_changed_at = now
    found = [
        Detection(d.kind, d.severity, str(d.summary), d.technique, _clip_evidence(d.evidence))
        for d in analysis.detections
    ]
    if found:
        snapshot = _snapshot(check, result, now)
        for item in found:
            item.evidence["snapshot"] = True
        check._snapshot = snapshot  # attached to this probe's detection events
    check.details["analysed"] = [item.as_dict() for item in found]
    return found


def _record_changes(check, detections, now, events, result) -> None:
    before = {d["kind"]: d for d in check.detections}
    after = {d["kind"]: d for d in detections}
    snapshot = getattr(check, "_snapshot", None)
    for kind, item in after.items():
        if kind not in before:
            events.append(
                CheckEvent(
                    unit_id=check.unit_id, site_check=check, at=now, kind=CheckEvent.Kind.DETECTED, detection=kind,
                    severity=item["severity"], summary=item["summary"][:300], evidence=item["evidence"],
                    snapshot=snapshot if item["evidence"].get("snapshot") else None,
                )
            )  # fmt: skip
    for kind, item in before.items():
        if kind not in after:
            events.append(
                CheckEvent(
                    unit_id=check.unit_id, site_check=check, at=now, kind=CheckEvent.Kind.CLEARED, detection=kind,
                    severity=item["severity"], summary=item["summary"][:300],
                )
            )  # fmt: skip


def _update_latest(check, result, detections, now, schedule) -> None:
    check.last_run_at = now
    if result.ok:
        check.last_ok_at = now
    check.status_code = result.status
    check.latency_ms = result.latency_ms
    check.error = (result.error_detail or result.error)[:300]
    if result.body_hash is not None:
        check.body_hash = result.body_hash.hex()
    check.detections = detections
    if result.tls is not None:
        check.details["tls"] = rules._tls_evidence(result.tls)
    if result.redirects:
        check.details["redirects"] = [list(hop) for hop in result.redirects]
    if schedule:
        check.next_due_at = now + timezone.timedelta(seconds=check.interval)


def _snapshot(check, result, now) -> PageSnapshot:
    body = result.body or b""
    return PageSnapshot(
        unit_id=check.unit_id,
        site_check=check,
        taken_at=now,
        url=result.final_url or check.url,
        status_code=result.status,
        headers=dict(result.headers),
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        body=zlib.compress(body, 6),
    )


def _clip_evidence(evidence: dict) -> dict:
    """Evidence as stored: JSON-safe, and not more than ``EVIDENCE_LIMIT`` characters once serialised."""
    data = json.loads(json.dumps(evidence, default=str, ensure_ascii=False))
    if len(json.dumps(data, ensure_ascii=False)) > EVIDENCE_LIMIT * 4:
        data = {key: data[key] for key in ("techniques", "reasons", "categories", "missing", "matches") if key in data}
    return data


def _record(check: Check, item: Detection) -> Record:
    evidence = json.dumps(item.evidence, ensure_ascii=False, default=str)
    # The finding is written in the installation's language (the analysers' summaries are catalogue strings).
    with translation.override(settings.LANGUAGE_CODE):
        summary = gettext(item.summary)
        title = f"{v.DETECTION_KINDS[item.kind]}: {summary}"[:300]
    return Record(
        tool=TOOL,
        rule_id=rule_id(item.kind),
        title=title,
        severity=item.severity,
        description=summary,
        host=check.website.host,
        url=check.url,
        evidence=evidence[:EVIDENCE_LIMIT],
        source=FindingSource.MONITORING,
    )


def _fix(to_fix: list[tuple[Check, str]], now) -> int:
    """Close the open monitoring findings of these (check, kind) pairs: the problem has been gone long enough."""
    fixed = 0
    for check, kind in to_fix:
        fixed += Finding.objects.filter(
            unit_id=check.unit_id,
            source=FindingSource.MONITORING,
            rule_id=rule_id(kind),
            host=check.website.host,
            status__in=OPEN_STATUSES,
        ).update(status=FindingStatus.FIXED, closed_by_rescan=True, updated_at=now)
    return fixed
