"""The steps of notices and rectifications, used by the pages, the API and the scheduled tasks alike.

Every function checks who may act and in which state (``notices.rules``), changes the rows in one transaction,
writes the rectification's timeline, an audit entry and the notifications, and raises ``PermissionDenied`` (not
allowed) or ``ValidationError`` (not possible now, or bad input, keyed by the form field's name) with a sentence for
people.

Who acts:

- **issuer side**: users of the notice's unit or a unit above it. Holders of ``issue_notice`` issue, withdraw and
  close notices; holders of ``review_rectification`` review, re-probe, close (销号) and return rectifications.
- **recipient side**: users of the rectification's own unit holding ``change_rectification`` (school CIO and network
  administrator by default). A unit above the recipient does not rectify on its behalf; it sees, reviews and is told
  when the recipient runs late.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit, workdays
from core.attachments import attach, attachments_of
from core.models import AuditAction
from findings.models import OPEN_STATUSES, SEVERITY_ORDER, Finding, FindingSource, FindingStatus
from orgs.models import Unit

from . import rules
from .models import (
    DeadlinePolicy,
    Notice,
    NoticeOrigin,
    NoticeState,
    NumberCounter,
    Rectification,
    RectificationEvent,
    RectificationItem,
    RectificationState,
)
from .notify import tell

Kind = RectificationEvent.Kind
Review = RectificationItem.Review


# ---- policy, numbers, deadlines --------------------------------------------------------------------------------------


def policy_for(unit: Unit) -> DeadlinePolicy:
    """The unit's own policy, else its nearest ancestor's, else the defaults (an unsaved policy)."""
    paths = [unit.path[:n] for n in range(len(unit.path), 0, -unit.steplen)]
    policies = {p.unit.path: p for p in DeadlinePolicy.objects.filter(unit__path__in=paths).select_related("unit")}
    for path in paths:
        if path in policies:
            return policies[path]
    return DeadlinePolicy(unit=unit)


def deadline_for(unit: Unit, severity: str, issued_at) -> timezone.datetime:
    return workdays.deadline_after(issued_at, policy_for(unit).workdays_for(severity))


def _take_number(notice: Notice, now) -> None:
    year = timezone.localtime(now).year
    counter, _created = NumberCounter.objects.select_for_update().get_or_create(unit=notice.unit, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    issuer = notice.unit.short_name or notice.unit.name
    notice.year, notice.sequence = year, counter.last
    notice.number = rules.format_number(
        policy_for(notice.unit).number_pattern, issuer=issuer, year=year, n=counter.last
    )


# ---- who may act -----------------------------------------------------------------------------------------------------


def _user_unit(user):
    return getattr(user, "unit", None)


def is_issuer_side(user, notice: Notice) -> bool:
    """The user belongs to the notice's unit or a unit above it."""
    if user.is_superuser:
        return True
    unit = _user_unit(user)
    return unit is not None and notice.unit.path.startswith(unit.path)


def can_issue(user, notice: Notice) -> bool:
    return (
        user.has_perm("notices.issue_notice")
        and is_issuer_side(user, notice)
        and Notice.objects.restrict(user, "view").filter(pk=notice.pk).exists()
    )


def can_act(user, rectification: Rectification, step: str) -> bool:
    try:
        _check(user, rectification, step)
    except (PermissionDenied, ValidationError):
        return False
    return True


def _check(user, rectification: Rectification, step: str) -> None:
    """Raise unless ``user`` may take ``step`` on ``rectification`` now."""
    if not Rectification.objects.restrict(user, "view").filter(pk=rectification.pk).exists():
        raise PermissionDenied(_("This rectification belongs to a unit outside your own."))
    side = rules.side_of(step)
    if side == rules.RECIPIENT:
        if not user.has_perm("notices.change_rectification"):
            raise PermissionDenied(_("Your roles do not allow you to work on rectifications."))
        if not user.is_superuser and _user_unit(user) != rectification.unit:
            raise PermissionDenied(_("Only the recipient unit itself carries out the rectification."))
    else:
        if not user.has_perm("notices.review_rectification"):
            raise PermissionDenied(_("Your roles do not allow you to review rectifications."))
        if not is_issuer_side(user, rectification.notice):
            raise PermissionDenied(_("Only the issuing unit or a unit above it reviews this rectification."))
    if rectification.notice.state != NoticeState.ISSUED:
        raise ValidationError(_("The notice is %(state)s.") % {"state": rectification.notice.get_state_display()})
    try:
        rules.next_state(step, rectification.state)
    except rules.StepRefused:
        raise ValidationError(
            _("Not possible while the rectification is “%(state)s”.") % {"state": rectification.get_state_display()}
        ) from None


def _event(rectification, kind, user, message="", findings=(), at=None) -> RectificationEvent:
    event = RectificationEvent.objects.create(
        unit_id=rectification.unit_id,
        rectification=rectification,
        kind=kind,
        at=at or timezone.now(),
        actor=user if user is not None and user.is_authenticated else None,
        message=message,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    if findings:
        event.findings.set(findings)
    return event


def _audit(obj, user, step: str, **details) -> None:
    audit.record(AuditAction.UPDATE, obj=obj, user=user, changes={"workflow": step, **details})


def _step(rectification: Rectification, step: str) -> None:
    rectification.state = rules.next_state(step, rectification.state)


# ---- drafting --------------------------------------------------------------------------------------------------------


@dataclass
class DraftInput:
    """What the issuer writes when drafting from findings (the form's and the API's fields)."""

    title: str
    body: str
    severity: str = ""  # "": the worst severity among the findings
    required_evidence: str = ""
    signer: str = ""
    kind: str = "rectification"
    deadline: timezone.datetime | None = None
    origin: str = NoticeOrigin.FINDINGS
    upstream_number: str = ""


def _location(finding: Finding) -> str:
    """Where the problem is, as the annex prints it: the URL, host or address, else the asset it belongs to."""
    if finding.url:
        return finding.url[:300]
    where = finding.host or finding.ip
    if where:
        return f"{where}:{finding.port}" if finding.port else where
    asset = finding.system or finding.website or finding.domain
    return str(asset)[:300] if asset is not None else ""


def _item(rectification, finding) -> RectificationItem:
    return RectificationItem(
        rectification=rectification,
        finding=finding,
        title=finding.title[:300],
        location=_location(finding),
        severity=finding.severity,
    )


def draft_from_findings(user, issuer: Unit, findings, data: DraftInput, *, one_per_unit: bool) -> list[Notice]:
    """Draft notices listing ``findings``: one per recipient unit, or one to all their units with a per-unit annex.

    The findings must be open and attributed, in the user's view, and strictly below ``issuer`` or in it (a unit
    notifies its own subtree; a school's own findings are notified to the school by its district)."""
    if not user.has_perm("notices.add_notice"):
        raise PermissionDenied(_("Your roles do not allow you to draft notices."))
    if not Unit.objects.restrict(user, "view").filter(pk=issuer.pk).exists():
        raise PermissionDenied(_("You may only issue notices in the name of your own unit or a unit below it."))
    findings = list(findings)
    if not findings:
        raise ValidationError({"findings": _("Select at least one finding.")})
    visible = set(
        Finding.objects.restrict(user, "view").filter(pk__in=[f.pk for f in findings]).values_list("pk", flat=True)
    )
    by_unit: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.pk not in visible:
            raise PermissionDenied(_("A selected finding belongs to a unit outside your own."))
        if finding.status not in OPEN_STATUSES:
            raise ValidationError(
                {
                    "findings": _("Finding #%(id)d is “%(status)s”: only open findings are notified.")
                    % {"id": finding.pk, "status": finding.get_status_display()}
                }
            )
        if not finding.unit.path.startswith(issuer.path):
            raise ValidationError(
                {
                    "findings": _("Finding #%(id)d belongs to %(unit)s, outside %(issuer)s.")
                    % {"id": finding.pk, "unit": finding.unit, "issuer": issuer}
                }
            )
        by_unit[finding.unit_id].append(finding)
    units = {u.pk: u for u in Unit.objects.filter(pk__in=by_unit)}
    groups = [[uid] for uid in by_unit] if one_per_unit else [list(by_unit)]
    notices = []
    with transaction.atomic():
        for unit_ids in groups:
            group_findings = [f for uid in unit_ids for f in by_unit[uid]]
            severity = data.severity or max((f.severity for f in group_findings), key=lambda s: SEVERITY_ORDER[s])
            title = data.title
            if one_per_unit and len(groups) > 1 and "{unit}" in title:
                title = title.replace("{unit}", units[unit_ids[0]].name)
            notice = Notice.objects.create(
                unit=issuer,
                kind=data.kind,
                title=title.replace("{unit}", "")[:200],
                body=data.body,
                severity=severity,
                deadline=data.deadline,
                required_evidence=data.required_evidence,
                signer=data.signer,
                origin=data.origin,
                upstream_number=data.upstream_number,
                created_by=user,
                updated_by=user,
            )
            for uid in sorted(unit_ids, key=lambda pk: units[pk].path):
                rectification = Rectification.objects.create(
                    unit=units[uid], notice=notice, created_by=user, updated_by=user
                )
                RectificationItem.objects.bulk_create(_item(rectification, f) for f in by_unit[uid])
            notices.append(notice)
    return notices


def set_recipients(notice: Notice, user, units) -> None:
    """A hand-written draft's recipients: one rectification per unit (without findings), kept or removed to match."""
    _require_draft_editor(user, notice)
    units = list(units)
    for unit in units:
        if not unit.path.startswith(notice.unit.path) or unit.pk == notice.unit_id:
            raise ValidationError(
                {"recipients": _("%(unit)s is not below %(issuer)s.") % {"unit": unit, "issuer": notice.unit}}
            )
    wanted = {u.pk for u in units}
    with transaction.atomic():
        notice.rectifications.exclude(unit_id__in=wanted).delete()
        have = set(notice.rectifications.values_list("unit_id", flat=True))
        for unit in units:
            if unit.pk not in have:
                Rectification.objects.create(unit=unit, notice=notice, created_by=user, updated_by=user)


def _require_draft_editor(user, notice: Notice) -> None:
    if not (
        user.has_perm("notices.change_notice") and Notice.objects.restrict(user, "change").filter(pk=notice.pk).exists()
    ):
        raise PermissionDenied(_("You may not change this notice."))
    if notice.state != NoticeState.DRAFT:
        raise ValidationError(
            _("Only a draft can be changed; this notice is %(state)s.") % {"state": notice.get_state_display()}
        )


# ---- the notice's steps ----------------------------------------------------------------------------------------------


def issue(notice: Notice, user, *, now=None) -> Notice:
    """Number the notice, fix its deadline (from the severity in working days unless one was set), open every
    recipient's rectification and tell the recipients."""
    now = now or timezone.now()
    if not can_issue(user, notice):
        raise PermissionDenied(_("You may not issue notices of this unit."))
    try:
        rules.next_notice_state("issue", notice.state)
    except rules.StepRefused:
        raise ValidationError(_("This notice is already %(state)s.") % {"state": notice.get_state_display()}) from None
    rectifications = list(notice.rectifications.select_related("unit"))
    if not rectifications:
        raise ValidationError({"recipients": _("A notice needs at least one recipient unit.")})
    if not notice.body.strip():
        raise ValidationError({"body": _("The body is empty.")})
    if notice.deadline is not None and notice.deadline <= now:
        raise ValidationError({"deadline": _("The deadline has already passed.")})
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)  # two issuers clicking at once: one wins
        if locked.state != NoticeState.DRAFT:
            raise ValidationError(_("This notice is already %(state)s.") % {"state": locked.get_state_display()})
        _take_number(notice, now)
        if notice.deadline is None:
            notice.deadline = deadline_for(notice.unit, notice.severity, now)
        notice.state = NoticeState.ISSUED
        notice.issued_at, notice.issued_by, notice.updated_by = now, user, user
        if not notice.signer:
            notice.signer = notice.unit.name
        notice.save()
        for rectification in rectifications:
            rectification.deadline = notice.deadline
            rectification.state = RectificationState.RECEIVED
            rectification.save(update_fields=["deadline", "state", "updated_at"])
            _event(rectification, Kind.ISSUED, user, notice.number, findings=_findings_of(rectification), at=now)
        _audit(notice, user, "issue", number=notice.number, deadline=notice.deadline)
        for rectification in rectifications:
            tell(
                "notices.issued",
                rectification,
                units=[rectification.unit],
                title=_("Notice %(number)s: %(title)s") % {"number": notice.number, "title": notice.title},
                body=_("Rectify by %(deadline)s.") % {"deadline": _when(notice.deadline)},
            )
    return notice


def withdraw(notice: Notice, user, reason: str) -> Notice:
    if not can_issue(user, notice):
        raise PermissionDenied(_("You may not withdraw notices of this unit."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the withdrawal.")})
    try:
        notice.state = rules.next_notice_state("withdraw", notice.state)
    except rules.StepRefused:
        raise ValidationError(_("Only an issued notice can be withdrawn.")) from None
    with transaction.atomic():
        notice.withdrawn_reason, notice.updated_by = reason, user
        notice.save()
        for rectification in notice.rectifications.exclude(state__in=rules.FINISHED):
            rectification.state = RectificationState.WITHDRAWN
            rectification.save(update_fields=["state", "updated_at"])
            _event(rectification, Kind.WITHDRAWN, user, reason)
            tell(
                "notices.withdrawn",
                rectification,
                units=[rectification.unit],
                title=_("Notice %(number)s withdrawn") % {"number": notice.number},
                body=reason,
            )
        _audit(notice, user, "withdraw", reason=reason)
    return notice


def close_notice_if_done(notice: Notice, now=None) -> bool:
    """Close an issued notice once every rectification is closed (or withdrawn)."""
    if notice.state != NoticeState.ISSUED or notice.rectifications.exclude(state__in=rules.FINISHED).exists():
        return False
    notice.state, notice.closed_at = NoticeState.CLOSED, now or timezone.now()
    notice.save(update_fields=["state", "closed_at", "updated_at"])
    return True


# ---- the recipient's steps -------------------------------------------------------------------------------------------


def acknowledge(rectification: Rectification, user) -> Rectification:
    _check(user, rectification, "acknowledge")
    with transaction.atomic():
        _step(rectification, "acknowledge")
        rectification.acknowledged_at, rectification.updated_by = timezone.now(), user
        rectification.save()
        _event(rectification, Kind.ACKNOWLEDGED, user)
    return rectification


def assign(rectification: Rectification, user, *, assignee=None, contractor: str = "") -> Rectification:
    """Give the work to a person of the unit, or to the contractor of the asset (by name)."""
    _check(user, rectification, "assign")
    if assignee is not None and assignee.unit_id != rectification.unit_id:
        raise ValidationError(
            {"assignee": _("%(user)s is not a member of %(unit)s.") % {"user": assignee, "unit": rectification.unit}}
        )
    if assignee is None and not contractor.strip():
        raise ValidationError({"assignee": _("Choose a person or name the contractor.")})
    with transaction.atomic():
        if rectification.state == RectificationState.RECEIVED:
            rectification.state = RectificationState.IN_PROGRESS
            rectification.acknowledged_at = rectification.acknowledged_at or timezone.now()
        rectification.assignee, rectification.contractor, rectification.updated_by = assignee, contractor.strip(), user
        rectification.save()
        who = str(assignee) if assignee is not None else contractor.strip()
        _event(rectification, Kind.ASSIGNED, user, who)
        if assignee is not None:
            tell(
                "notices.assigned",
                rectification,
                users=[assignee],
                title=_("Rectification assigned to you: %(notice)s") % {"notice": rectification.notice},
                body=_("Deadline %(deadline)s.") % {"deadline": _when(rectification.deadline)},
            )
    return rectification


def save_report(
    rectification: Rectification,
    user,
    *,
    report: str,
    responsible: str = "",
    contact: str = "",
    actions: dict[int, str] | None = None,
) -> Rectification:
    """The rectification report and, per item, what was done. Possible until submitted."""
    _check(user, rectification, "edit_report")
    items = {item.pk: item for item in rectification.items.all()}
    for pk in actions or {}:
        if pk not in items:
            raise ValidationError({"actions": _("Item #%(id)d is not part of this rectification.") % {"id": pk}})
    with transaction.atomic():
        if rectification.state == RectificationState.RECEIVED:
            rectification.state = RectificationState.IN_PROGRESS
            rectification.acknowledged_at = rectification.acknowledged_at or timezone.now()
        rectification.report, rectification.responsible, rectification.contact = report, responsible, contact
        rectification.updated_by = user
        rectification.save()
        for pk, text in (actions or {}).items():
            items[pk].action_taken = text
            items[pk].save(update_fields=["action_taken"])
    return rectification


def add_evidence(rectification: Rectification, user, upload, *, item: RectificationItem | None = None):
    """Attach an evidence file (checked by content) to the rectification or one of its items."""
    _check(user, rectification, "edit_report")
    if item is not None and item.rectification_id != rectification.pk:
        raise ValidationError({"item": _("Item #%(id)d is not part of this rectification.") % {"id": item.pk}})
    with transaction.atomic():
        attachment = attach(rectification, upload, kind=f"item:{item.pk}" if item else "report", user=user)
        _event(
            rectification,
            Kind.EVIDENCE,
            user,
            attachment.name,
            findings=[item.finding] if item and item.finding else (),
        )
    return attachment


def evidence_by_item(rectification: Rectification) -> dict:
    """The rectification's evidence files keyed by item pk (None: for the whole report)."""
    grouped = defaultdict(list)
    for attachment in attachments_of(rectification).order_by("created_at"):
        key = int(attachment.kind[5:]) if attachment.kind.startswith("item:") else None
        grouped[key].append(attachment)
    return grouped


def submit(rectification: Rectification, user) -> Rectification:
    """Send the report for review: it needs the report text, what was done for every item, and at least one
    evidence file when the notice requires evidence."""
    _check(user, rectification, "submit")
    errors = {}
    if not rectification.report.strip():
        errors["report"] = _("Write the rectification report first.")
    missing = [item.title for item in rectification.items.all() if not item.action_taken.strip()]
    if missing:
        errors["actions"] = _("Say what was done for: %(items)s.") % {"items": "；".join(missing[:5])}
    if rectification.notice.required_evidence.strip() and not attachments_of(rectification).exists():
        errors["evidence"] = _("The notice requires evidence: attach at least one file.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        _step(rectification, "submit")
        rectification.submitted_at, rectification.submitted_by = now, user
        rectification.rounds += 1
        rectification.updated_by = user
        rectification.items.filter(review=Review.REJECTED).update(review=Review.PENDING)
        rectification.save()
        _event(rectification, Kind.SUBMITTED, user, findings=_findings_of(rectification))
        _audit(rectification, user, "submit", round=rectification.rounds)
        tell(
            "notices.submitted",
            rectification,
            units=[rectification.notice.unit],
            title=_("%(unit)s submitted its rectification of %(number)s")
            % {"unit": rectification.unit, "number": rectification.notice.number},
            body=rectification.report[:500],
        )
    return rectification


# ---- the reviewer's steps --------------------------------------------------------------------------------------------


def start_review(rectification: Rectification, user) -> Rectification:
    _check(user, rectification, "start_review")
    with transaction.atomic():
        _step(rectification, "start_review")
        rectification.reviewer, rectification.updated_by = user, user
        rectification.save()
        _event(rectification, Kind.REVIEW, user)
    return rectification


def reprobe(rectification: Rectification, user) -> list[dict]:
    """Probe again, now, the websites of the items that came from monitoring, and record per item whether the problem
    is gone (green) or still there. Scanner findings cannot be re-probed here: they are verified by evidence or at the
    next scan."""
    from monitoring.models import Check, CheckState
    from monitoring.store import rule_id
    from monitoring.sweep import probe_checks

    _check(user, rectification, "reprobe")
    items = [i for i in rectification.items.select_related("finding", "finding__website") if _is_monitoring(i)]
    if not items:
        raise ValidationError(_("None of the items came from monitoring: review the evidence instead."))
    website_ids = {i.finding.website_id for i in items if i.finding.website_id}
    check_ids = list(Check.objects.filter(website_id__in=website_ids, enabled=True).values_list("pk", flat=True))
    if check_ids:
        probe_checks(check_ids)
    checks = defaultdict(list)
    for check in Check.objects.filter(pk__in=check_ids):
        checks[check.website_id].append(check)
    now = timezone.now()
    results = []
    with transaction.atomic():
        if rectification.state == RectificationState.SUBMITTED:
            _step(rectification, "reprobe")
            rectification.reviewer = user
            rectification.save()
        for item in items:
            site_checks = checks.get(item.finding.website_id, [])
            kinds = {d.get("kind") if isinstance(d, dict) else d for c in site_checks for d in c.detections}
            kind = next((k for k in kinds if rule_id(k) == item.finding.rule_id), None)
            states = {c.kind: c.state for c in site_checks}
            # Green: the detection is gone and the site answers (a site that is down shows no content problems).
            answering = all(s in (CheckState.OK, CheckState.WARNING) for s in states.values())
            green = bool(site_checks) and kind is None and answering
            item.reprobe = {"at": now.isoformat(), "green": green, "states": states, "still": kind or ""}
            item.save(update_fields=["reprobe"])
            results.append({"item": item.pk, "green": green, "states": states})
        message = ", ".join(f"{i.title}: {'OK' if i.reprobe['green'] else 'FAIL'}" for i in items)
        _event(rectification, Kind.REPROBE, user, message, findings=[i.finding for i in items])
    return results


def _is_monitoring(item: RectificationItem) -> bool:
    return item.finding is not None and item.finding.source == FindingSource.MONITORING


def close(rectification: Rectification, user, decisions: dict[int, str] | None = None, note: str = "") -> Rectification:
    """销号: accept the rectification. Per item the reviewer says how it was verified — ``verified`` (re-probed green),
    ``evidence`` (evidence accepted) or ``next_scan`` (the next scan will confirm). Monitoring items default to
    ``verified`` when their last re-probe was green, other items to ``evidence``. Verified and evidence-accepted
    findings are marked fixed; ``next_scan`` leaves the finding for the next scan to close."""
    _check(user, rectification, "close")
    decisions = dict(decisions or {})
    items = list(rectification.items.select_related("finding"))
    allowed = {Review.VERIFIED, Review.EVIDENCE_ACCEPTED, Review.NEXT_SCAN}
    for item in items:
        choice = decisions.get(item.pk)
        if choice is None:
            choice = Review.VERIFIED if item.reprobe.get("green") else Review.EVIDENCE_ACCEPTED
        if choice not in allowed:
            raise ValidationError(
                {
                    "decisions": _("“%(choice)s” is not a way to close an item; return the rectification instead.")
                    % {"choice": choice}
                }
            )
        if choice == Review.VERIFIED and _is_monitoring(item) and not item.reprobe.get("green"):
            raise ValidationError(
                {"decisions": _("%(item)s: the last re-probe did not come back green.") % {"item": item.title}}
            )
        decisions[item.pk] = choice
    now = timezone.now()
    with transaction.atomic():
        _step(rectification, "close")
        rectification.closed_at, rectification.reviewer, rectification.updated_by = now, user, user
        rectification.save()
        fixed = []
        for item in items:
            item.review, item.review_note = decisions[item.pk], note
            item.save(update_fields=["review", "review_note"])
            if item.finding is not None and item.review != Review.NEXT_SCAN and item.finding.status in OPEN_STATUSES:
                item.finding.status = FindingStatus.FIXED
                item.finding.status_reason = _("Closed by review of %(number)s") % {
                    "number": rectification.notice.number
                }
                item.finding.updated_by = user
                item.finding.save()
                fixed.append(item.finding)
        _event(rectification, Kind.CLOSED, user, note, findings=[i.finding for i in items if i.finding])
        _audit(rectification, user, "close", decisions={str(k): v for k, v in decisions.items()})
        close_notice_if_done(rectification.notice, now)
        tell(
            "notices.closed",
            rectification,
            units=[rectification.unit],
            title=_("Rectification of %(number)s closed (销号)") % {"number": rectification.notice.number},
            body=note,
        )
    return rectification


def return_(rectification: Rectification, user, reason: str, rejected: list[int] | None = None) -> Rectification:
    """Send the rectification back with reasons; the listed items are marked not fixed."""
    _check(user, rectification, "return")
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the rectification is returned.")})
    with transaction.atomic():
        _step(rectification, "return")
        rectification.return_reason, rectification.reviewer, rectification.updated_by = reason, user, user
        if rules.is_overdue(rectification.state, rectification.deadline, timezone.now()):
            rectification.was_overdue = True
        rectification.save()
        if rejected:
            rectification.items.filter(pk__in=rejected).update(review=Review.REJECTED, review_note=reason)
        _event(rectification, Kind.RETURNED, user, reason)
        _audit(rectification, user, "return", reason=reason)
        tell(
            "notices.returned",
            rectification,
            units=[rectification.unit],
            title=_("Rectification of %(number)s returned") % {"number": rectification.notice.number},
            body=reason,
        )
    return rectification


def change_deadline(rectification: Rectification, user, deadline) -> Rectification:
    """The issuer extends (or shortens) one recipient's deadline; the reminder and escalation start again."""
    if not (user.has_perm("notices.issue_notice") and is_issuer_side(user, rectification.notice)):
        raise PermissionDenied(_("Only the issuing unit changes deadlines."))
    if rectification.state in rules.FINISHED:
        raise ValidationError(_("The rectification is finished."))
    if deadline <= timezone.now():
        raise ValidationError({"deadline": _("The new deadline has already passed.")})
    with transaction.atomic():
        old = rectification.deadline
        rectification.deadline, rectification.reminded_at, rectification.escalated_at = deadline, None, None
        rectification.updated_by = user
        rectification.save()
        _event(rectification, Kind.DEADLINE, user, f"{_when(old)} → {_when(deadline)}")
    return rectification


# ---- scheduled: reminders and escalation -----------------------------------------------------------------------------


def send_reminders(now=None) -> int:
    """Remind each recipient that still owes work once, ``reminder_days`` working days before its deadline."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    sent = 0
    candidates = Rectification.objects.filter(
        state__in=rules.OWING, reminded_at__isnull=True, deadline__gt=now, notice__state=NoticeState.ISSUED
    ).select_related("unit", "notice", "notice__unit")
    overrides = workdays.load_overrides(today, today + timedelta(days=90))
    for rectification in candidates:
        due = timezone.localtime(rectification.deadline).date()
        days_left = workdays.workdays_between(today, due, overrides)
        if days_left > policy_for(rectification.notice.unit).reminder_days:
            continue
        with transaction.atomic():
            rectification.reminded_at = now
            rectification.save(update_fields=["reminded_at", "updated_at"])
            _event(rectification, Kind.REMINDED, None, _when(rectification.deadline), at=now)
            tell(
                "notices.reminder",
                rectification,
                units=[rectification.unit],
                title=_("Deadline %(deadline)s: %(notice)s")
                % {"deadline": _when(rectification.deadline), "notice": rectification.notice},
                body=_("The rectification is due; submit it before the deadline."),
            )
        sent += 1
    return sent


def escalate_overdue(now=None) -> int:
    """Mark rectifications past their deadline as overdue (once) and tell the recipient's parent unit and the issuer."""
    now = now or timezone.now()
    escalated = 0
    overdue = Rectification.objects.filter(
        state__in=rules.OWING, deadline__lt=now, escalated_at__isnull=True, notice__state=NoticeState.ISSUED
    ).select_related("unit", "notice", "notice__unit")
    for rectification in overdue:
        parent = Unit.objects.get_parent(rectification.unit) if rectification.unit.depth > 1 else None
        with transaction.atomic():
            rectification.escalated_at, rectification.was_overdue = now, True
            rectification.save(update_fields=["escalated_at", "was_overdue", "updated_at"])
            _event(rectification, Kind.OVERDUE, None, str(parent) if parent else "", at=now)
            title = _("Overdue: %(unit)s has not rectified %(number)s") % {
                "unit": rectification.unit,
                "number": rectification.notice.number,
            }
            body = _("Deadline was %(deadline)s.") % {"deadline": _when(rectification.deadline)}
            units = [u for u in (parent, rectification.notice.unit) if u is not None]
            tell(
                "notices.overdue", rectification, units=list({u.pk: u for u in units}.values()), title=title, body=body
            )
            tell("notices.overdue", rectification, units=[rectification.unit], title=title, body=body)
        escalated += 1
    return escalated


# ---- helpers ---------------------------------------------------------------------------------------------------------


def _findings_of(rectification) -> list[Finding]:
    return [item.finding for item in rectification.items.select_related("finding") if item.finding is not None]


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"
