"""Overdue MLPS and education-app duties of the ledger as findings, so the notice loop treats them like any problem.

``assets.duties.record_duty_states`` (daily) records the state of every duty in ``DutyStatus`` and then sends
``assets.signals.duties_recorded``; ``sync_duty_findings`` answers it: every overdue duty has one open finding (created,
or reopened if it had been closed), refreshed each day; a duty no longer overdue closes its finding as fixed. A finding
a unit has had approved as a false positive or an accepted risk keeps that status.

Severity of a duty finding (a system of MLPS level 3 or above raises medium to high — its duties are the regulator's
first check):

| duty | severity |
|---|---|
| blacklisted education app still in use | critical |
| internet-facing system without an MLPS level; assessment overdue with open high-risk items | high |
| grading, filing, certificate renewal, assessment; app provider / ICP / MLPS filing | medium |
| self-inspection; app user filing | low |
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from assets import mlps
from assets.models import DutyStatus
from core import audit
from core.crypto import sm3_hex
from core.models import AuditAction

from .models import OPEN_STATUSES, Finding, FindingSource, FindingStatus
from .scoring import risk_score

TOOL = "mlps"
SEVERITY = {
    mlps.DUTY_APP_BLACKLISTED: "critical",
    mlps.DUTY_INTERNET_FACING_UNGRADED: "high",
    mlps.DUTY_ASSESSMENT_WITH_HIGH_RISK: "high",
    mlps.DUTY_GRADING: "medium",
    mlps.DUTY_FILING: "medium",
    mlps.DUTY_CERTIFICATE_RENEWAL: "medium",
    mlps.DUTY_ASSESSMENT: "medium",
    mlps.DUTY_APP_PROVIDER_FILING: "medium",
    mlps.DUTY_APP_ICP_FILING: "medium",
    mlps.DUTY_APP_MLPS_FILING: "medium",
    mlps.DUTY_SELF_INSPECTION: "low",
    mlps.DUTY_APP_USER_FILING: "low",
}
HIGH_LEVEL = 3


def duty_severity(kind: str, level: int | None) -> str:
    severity = SEVERITY[kind]
    if severity == "medium" and level is not None and level >= HIGH_LEVEL:
        return "high"
    return severity


def duty_fingerprint(key: str) -> str:
    """One finding per duty of one system or app, whichever unit the system belongs to today."""
    return sm3_hex(f"mlps_duty|{key}".encode())


def _title(status: DutyStatus) -> str:
    subject = status.system or status.app
    # Stored text: written in the installation's language, like a scanner's titles.
    with translation.override(settings.LANGUAGE_CODE):
        return gettext("%(duty)s: %(subject)s") % {"duty": mlps.DUTY_KIND_LABELS[status.kind], "subject": subject}


def sync_duty_findings(today: date | None = None) -> dict[str, int]:
    """Create, refresh, reopen and close MLPS-duty findings from today's ``DutyStatus``; returns the counts.

    Written in bulk, with ONE audit entry naming the findings created, reopened and closed (a daily job over a
    province's ledger would otherwise write thousands of chained entries about itself).
    """
    now = timezone.now()
    overdue = {
        duty_fingerprint(status.key): status
        for status in DutyStatus.objects.filter(resolved_on__isnull=True, state=mlps.DUTY_OVERDUE).select_related(
            "unit", "system", "app"
        )
    }
    created, changed, reopened, closed = [], [], [], []
    with transaction.atomic():
        existing = {f.fingerprint: f for f in Finding.objects.filter(source=FindingSource.MLPS_DUTY)}
        for fp, status in overdue.items():
            system = status.system
            level = system.mlps_level if system is not None else None
            severity = duty_severity(status.kind, level)
            score = risk_score(
                severity,
                level,
                bool(system and system.internet_facing),
                bool(system and system.critical_infrastructure),
                bool(system and system.holds_child_pi),
            ).score
            finding = existing.get(fp)
            if finding is None:
                created.append(
                    Finding(
                        unit=status.unit,
                        fingerprint=fp,
                        source=FindingSource.MLPS_DUTY,
                        tool=TOOL,
                        rule_id=f"mlps_duty:{status.kind}",
                        title=_title(status)[:300],
                        description=status.detail,
                        severity=severity,
                        system=system,
                        app=status.app,
                        due_date=status.due_on,
                        risk_score=score,
                        first_seen=now,
                        last_seen=now,
                    )
                )
                continue
            finding.unit, finding.severity, finding.risk_score = status.unit, severity, score
            finding.due_date, finding.description, finding.last_seen = status.due_on, status.detail, now
            if finding.status == FindingStatus.FIXED:
                finding.status, finding.closed_by_rescan = FindingStatus.REOPENED, False
                finding.times_seen += 1
                reopened.append(finding)
            changed.append(finding)
        for fp, finding in existing.items():
            if fp not in overdue and finding.status in OPEN_STATUSES:
                finding.status, finding.closed_by_rescan, finding.last_seen = FindingStatus.FIXED, True, now
                with translation.override(settings.LANGUAGE_CODE):
                    finding.status_reason = gettext("The duty is no longer overdue.")
                closed.append(finding)
        Finding.objects.bulk_create(created, batch_size=500)
        Finding.objects.bulk_update(
            changed + closed,
            [
                "unit",
                "severity",
                "risk_score",
                "due_date",
                "description",
                "last_seen",
                "status",
                "closed_by_rescan",
                "times_seen",
                "status_reason",
            ],
            batch_size=500,
        )
        counts = {
            "created": len(created),
            "refreshed": len(changed) - len(reopened),
            "reopened": len(reopened),
            "closed": len(closed),
        }
        if created or reopened or closed:
            audit.record(
                AuditAction.UPDATE,
                object_repr="MLPS duty findings",
                object_type="findings.finding",
                changes={
                    **counts,
                    "created_ids": [f.pk for f in created],
                    "reopened_ids": [f.pk for f in reopened],
                    "closed_ids": [f.pk for f in closed],
                },
            )
    return counts
