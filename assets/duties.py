"""MLPS and education-app duties of the ledger: the ORM side of ``assets.mlps.duties``.

The rules live in ``assets.mlps`` (pure functions). This module only gathers each system's facts efficiently, applies
the installation's policy, and records the daily state of every duty in ``DutyStatus`` so that changes are kept (and
audited) and later issues can turn overdue duties into findings from one place.
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Max, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from . import mlps
from .models import Assessment, DutyStatus, Grading, InformationSystem, MobileApp
from .policy import mlps_policy
from .signals import duties_recorded

ASSESSMENT = "assessment"
SELF_INSPECTION = "self_inspection"


@dataclass(frozen=True)
class DutyRow:
    """One outstanding duty of one system or app, ready for a page, an export or the recorder."""

    key: str
    unit: object
    subject: object  # the InformationSystem or MobileApp
    duty: mlps.Duty

    @property
    def kind_label(self):
        return mlps.DUTY_KIND_LABELS[self.duty.kind]

    @property
    def state_label(self):
        return mlps.DUTY_STATE_LABELS[self.duty.state]


def systems_with_facts(queryset):
    """Annotate systems with what ``system_facts`` reads, in a fixed number of queries."""
    latest_assessment = Assessment.objects.filter(system=OuterRef("pk"), kind=ASSESSMENT).order_by("-assessed_on")
    return (
        queryset.select_related("unit")
        .annotate(
            last_assessed_on=Max("assessments__assessed_on", filter=Q(assessments__kind=ASSESSMENT)),
            last_self_inspection_on=Max("assessments__assessed_on", filter=Q(assessments__kind=SELF_INSPECTION)),
            latest_high_risk_count=Subquery(latest_assessment.values("high_risk_count")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "gradings",
                queryset=Grading.objects.filter(is_current=True).select_related("filing"),
                to_attr="current_gradings",
            )
        )
    )


def system_facts(system) -> mlps.SystemFacts:
    """The facts of a system annotated by ``systems_with_facts``. A level counts once it is fixed (approved)."""
    grading = system.current_gradings[0] if getattr(system, "current_gradings", None) else None
    fixed = grading is not None and grading.level_fixed_on is not None
    filing = getattr(grading, "filing", None) if grading is not None else None
    return mlps.SystemFacts(
        lifecycle_status=system.status,
        went_live_on=system.went_live_on,
        internet_facing=system.internet_facing,
        level=grading.level if fixed else None,
        level_fixed_on=grading.level_fixed_on if fixed else None,
        state=grading.state if grading is not None else None,
        filed_on=filing.filed_on if filing is not None else None,
        certificate_valid_until=filing.valid_until if filing is not None else None,
        last_assessed_on=system.last_assessed_on,
        last_self_inspection_on=system.last_self_inspection_on,
        open_high_risk_count=system.latest_high_risk_count or 0,
    )


def app_facts(app) -> mlps.AppFacts:
    return mlps.AppFacts(
        provider_filed=bool(app.provider_filing_number),
        user_filed=app.user_filing_state == "filed",
        blacklisted=app.blacklisted,
        in_use=app.in_use,
        icp_filed=app.icp_filed,
        mlps_filed=app.mlps_filed,
    )


def app_key(app_id) -> str:
    return f"app-{app_id}"


def duty_rows(systems, apps, today: date | None = None, policy: mlps.MLPSPolicy | None = None) -> list[DutyRow]:
    """Every outstanding duty of the given systems and apps (querysets, already scoped by the caller)."""
    today = today or timezone.localdate()
    policy = policy or mlps_policy()
    rows = []
    for system in systems_with_facts(systems):
        for duty in mlps.duties(system_facts(system), today, policy):
            rows.append(DutyRow(mlps.duty_key(system.pk, duty.kind), system.unit, system, duty))
    for app in apps.select_related("unit"):
        for duty in mlps.app_duties(app_facts(app), today):
            rows.append(DutyRow(mlps.duty_key(app_key(app.pk), duty.kind), app.unit, app, duty))
    return rows


def record_duty_states(today: date | None = None) -> dict[str, int]:
    """Write today's state of every duty in the installation to ``DutyStatus``; only changes are written (and
    audited). Duties that are no longer outstanding are marked resolved. Returns counts of what changed."""
    today = today or timezone.localdate()
    rows = duty_rows(InformationSystem.objects.all(), MobileApp.objects.all(), today)
    counts = {"opened": 0, "changed": 0, "resolved": 0, "unchanged": 0}
    with transaction.atomic():
        existing = {s.key: s for s in DutyStatus.objects.filter(resolved_on__isnull=True)}
        seen = set()
        for row in rows:
            seen.add(row.key)
            status = existing.get(row.key)
            is_system = isinstance(row.subject, InformationSystem)
            if status is None:
                DutyStatus.objects.create(
                    key=row.key,
                    unit=row.unit,
                    kind=row.duty.kind,
                    state=row.duty.state,
                    due_on=row.duty.due_on,
                    detail=row.duty.detail[:300],
                    since=today,
                    checked_on=today,
                    system=row.subject if is_system else None,
                    app=None if is_system else row.subject,
                )
                counts["opened"] += 1
            elif (status.state, status.due_on, status.unit_id) != (row.duty.state, row.duty.due_on, row.unit.pk):
                status.state, status.due_on, status.unit = row.duty.state, row.duty.due_on, row.unit
                status.detail, status.since, status.checked_on = row.duty.detail[:300], today, today
                status.save()
                counts["changed"] += 1
            else:
                DutyStatus.objects.filter(pk=status.pk).update(checked_on=today)  # not a change: no audit entry
                counts["unchanged"] += 1
        for key, status in existing.items():
            if key not in seen:
                status.resolved_on = today
                status.save()
                counts["resolved"] += 1
    duties_recorded.send(sender=DutyStatus, today=today)
    return counts


def coverage(systems, units) -> list[dict]:
    """MLPS coverage per unit subtree: systems in service, graded, filed (level ≥ 2), assessment on time, by level.

    ``units`` are the rows of the table (each counts the systems of its whole subtree); ``systems`` is the scoped
    queryset to count from.
    """
    today = timezone.localdate()
    policy = mlps_policy()
    facts = []
    for system in systems_with_facts(systems.exclude(status=mlps.LIFECYCLE_RETIRED)):
        f = system_facts(system)
        overdue_kinds = {d.kind for d in mlps.duties(f, today, policy) if d.state == mlps.DUTY_OVERDUE}
        facts.append((system.unit.path, f, overdue_kinds))
    table = []
    for unit in units:
        rows = [(f, k) for path, f, k in facts if path.startswith(unit.path)]
        needs_filing = [f for f, _k in rows if f.level is not None and f.level >= 2]
        entry = {
            "unit": unit,
            "systems": len(rows),
            "graded": sum(1 for f, _k in rows if f.level is not None),
            "needs_filing": len(needs_filing),
            "filed": sum(1 for f in needs_filing if f.is_filed),
            "assessed_on_time": sum(
                1
                for f, k in rows
                if f.level is not None
                and f.level >= 2
                and f.is_filed
                and not k & {mlps.DUTY_ASSESSMENT, mlps.DUTY_ASSESSMENT_WITH_HIGH_RISK}
            ),
            "by_level": {level: sum(1 for f, _k in rows if f.level == level) for level in range(1, 6)},
        }
        entry["graded_pct"] = round(100 * entry["graded"] / entry["systems"]) if entry["systems"] else None
        entry["filed_pct"] = round(100 * entry["filed"] / entry["needs_filing"]) if entry["needs_filing"] else None
        table.append(entry)
    return table
