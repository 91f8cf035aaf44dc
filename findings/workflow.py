"""The rules of a finding's exceptions and of unattributed findings, as plain functions used by the pages and the API.

False positives and accepted risks are never set directly (the edit form, bulk edit and the API refuse them):

- :func:`request`: someone who may change the finding asks for ``false_positive`` or ``risk_accepted`` with a reason
  (an accepted risk also with the date it is accepted until: after today, at most one year ahead). Only an open,
  confirmed or reopened finding without a pending request can be asked for; the status does not change yet.
- :func:`approve` / :func:`reject`: a holder of ``approve_finding`` who sees the finding, is not the requester and
  belongs to a unit strictly above the finding's unit decides, exactly like the MLPS grading approval
  (``assets.mlps_views``): a unit never approves its own exceptions, except the installation's top unit (no parent),
  which has no supervising unit on the platform. Approving sets the status, its reason, who approved it and when, and
  for an accepted risk ``accepted_until``. Rejecting clears the request and keeps the status; the rejection reason is
  kept in an audit entry of its own (``changes["workflow"] == "reject"``), which the finding's page lists.
- :func:`expire_risk_acceptances` (daily task): an accepted risk past ``accepted_until`` is reopened.

Unattributed findings (matched to no registered asset, parked on the importing unit):

- :func:`assign`: a holder of ``assign_finding`` who sees the finding moves it to a unit of their own subtree; it is
  then attributed. When that unit already has a finding with the same fingerprint, the two are merged into the one
  already there (times seen added, the later last sighting and the worse severity kept) and the moved one is deleted.

Every function raises ``PermissionDenied`` (not allowed) or ``ValidationError`` (not possible now, or bad input, keyed
by the input's name where there is one: ``requested_status``, ``reason``, ``until``, ``unit`` — the field names of the
page forms and the API) with a sentence for people. Saves go through ``Model.save``, so the normal
model audit records each change as a diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.mlps import add_months
from core import audit
from core.models import AuditAction, AuditEntry
from core.scoping import permission_name
from orgs.models import Unit

from .models import OPEN_STATUSES, SEVERITY_ORDER, Finding, FindingStatus
from .scoring import risk_score

EXCEPTION_STATUSES = (FindingStatus.FALSE_POSITIVE, FindingStatus.RISK_ACCEPTED)
MAX_ACCEPT_MONTHS = 12

# Where the acting user stands relative to the finding's unit (the MLPS approval's positions).
OWN, ABOVE, TOP = "own", "above", "top"

REQUEST_FIELDS = ("requested_status", "request_reason", "requested_by", "requested_at", "requested_until")


# ---- who may act -----------------------------------------------------------------------------------------------------


def has(user, action: str) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_perm(permission_name(Finding, action)))


def _sees(user, finding, action: str) -> bool:
    return Finding.objects.restrict(user, action).filter(pk=finding.pk).exists()


def _require(user, finding, action: str) -> None:
    if not has(user, action):
        raise PermissionDenied(_("Your roles do not allow this on findings."))
    if not _sees(user, finding, action):
        raise PermissionDenied(_("This finding belongs to a unit outside your own."))


def position(user, finding) -> str | None:
    """``"above"`` when the user belongs to a unit strictly above the finding's unit, ``"top"`` when to the finding's
    own unit and that unit is a top unit (no parent), ``"own"`` when to the finding's own (other) unit, else None."""
    if user.is_superuser:
        return ABOVE
    unit = getattr(user, "unit", None)
    if unit is None or not finding.unit_id:
        return None
    if unit.pk == finding.unit_id:
        return TOP if unit.is_root() else OWN
    if finding.unit.path.startswith(unit.path):
        return ABOVE
    return None


def _check_decider(user, finding) -> None:
    """May ``user`` approve or reject the pending request of ``finding``? Raises when not."""
    _require(user, finding, "approve")
    if not finding.requested_status:
        raise ValidationError(_("There is no pending request on this finding."))
    if finding.requested_by_id is not None and finding.requested_by_id == user.pk:
        raise PermissionDenied(_("You made this request: someone else must approve or reject it."))
    if position(user, finding) not in (ABOVE, TOP):
        raise PermissionDenied(
            _("Only a unit above the finding's unit approves its false positives and accepted risks.")
        )


def can_request(user, finding) -> bool:
    return (
        has(user, "change")
        and finding.status in OPEN_STATUSES
        and not finding.requested_status
        and _sees(user, finding, "change")
    )


def can_decide(user, finding) -> bool:
    try:
        _check_decider(user, finding)
    except (PermissionDenied, ValidationError):
        return False
    return True


def can_assign(user, finding) -> bool:
    return not finding.attributed and has(user, "assign") and _sees(user, finding, "assign")


def risk_of(finding):
    """The risk score of ``finding`` from its severity and linked system (``findings.scoring``), with its parts.

    Raises ``ValueError`` for a severity or level the scoring does not know."""
    system = finding.system
    return risk_score(
        finding.severity,
        system.mlps_level if system is not None else None,
        bool(system and system.internet_facing),
        bool(system and system.critical_infrastructure),
        bool(system and system.holds_child_pi),
    )


def latest_accept_date(today: date) -> date:
    """The last day a risk may be accepted until when requested on ``today``: one year ahead."""
    return add_months(today, MAX_ACCEPT_MONTHS)


def _locked(finding) -> Finding:
    return Finding.objects.select_for_update().select_related("unit").get(pk=finding.pk)


def _clear_request(finding) -> None:
    finding.requested_status = ""
    finding.request_reason = ""
    finding.requested_by = None
    finding.requested_at = None
    finding.requested_until = None


# ---- false positive / accepted risk ----------------------------------------------------------------------------------


def request(finding, user, status, reason, until=None) -> Finding:
    """Ask for ``status`` (false positive or accepted risk) on ``finding``; see the module docstring."""
    _require(user, finding, "change")
    if status not in EXCEPTION_STATUSES:
        raise ValidationError({"requested_status": _("Ask for a false positive or an accepted risk.")})
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Say why.")
    today = timezone.localdate()
    if status == FindingStatus.RISK_ACCEPTED:
        if until is None:
            errors["until"] = _("Say until when the risk is accepted.")
        elif until <= today:
            errors["until"] = _("The date must be after today.")
        elif until > latest_accept_date(today):
            errors["until"] = _("A risk is accepted for at most one year (until %(date)s).") % {
                "date": latest_accept_date(today).isoformat()
            }
    else:
        until = None
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _locked(finding)
        if locked.requested_status:
            raise ValidationError(_("A request is already waiting for approval on this finding."))
        if locked.status not in OPEN_STATUSES:
            raise ValidationError(
                _("Only an open, confirmed or reopened finding can be declared a false positive or an accepted risk.")
            )
        locked.requested_status = status
        locked.request_reason = reason
        locked.requested_by = user
        locked.requested_at = timezone.now()
        locked.requested_until = until
        locked.updated_by = user
        locked.save(update_fields=[*REQUEST_FIELDS, "updated_by", "updated_at"])
    finding.refresh_from_db()
    return finding


def approve(finding, user) -> Finding:
    """Grant the pending request: the finding takes the requested status; see the module docstring."""
    with transaction.atomic():
        locked = _locked(finding)
        _check_decider(user, locked)
        if locked.status not in OPEN_STATUSES:
            raise ValidationError(
                _("The finding is no longer open (%(status)s): reject the request instead.")
                % {"status": locked.get_status_display()}
            )
        accepting = locked.requested_status == FindingStatus.RISK_ACCEPTED
        if accepting and (locked.requested_until is None or locked.requested_until <= timezone.localdate()):
            raise ValidationError(_("The requested date has passed: reject the request so that it can be asked again."))
        locked.status = locked.requested_status
        locked.status_reason = locked.request_reason
        locked.status_approved_by = user
        locked.status_approved_at = timezone.now()
        locked.accepted_until = locked.requested_until if accepting else None
        locked.closed_by_rescan = False
        _clear_request(locked)
        locked.updated_by = user
        locked.save(
            update_fields=[
                "status",
                "status_reason",
                "status_approved_by",
                "status_approved_at",
                "accepted_until",
                "closed_by_rescan",
                *REQUEST_FIELDS,
                "updated_by",
                "updated_at",
            ]
        )
    finding.refresh_from_db()
    return finding


def reject(finding, user, reason) -> Finding:
    """Refuse the pending request with ``reason``; the status stays. The reason is kept in an audit entry."""
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _locked(finding)
        _check_decider(user, locked)
        if not reason:
            raise ValidationError({"reason": _("Say why the request is rejected.")})
        requested = {
            "requested_status": locked.requested_status,
            "request_reason": locked.request_reason,
            "requested_by": locked.requested_by.get_username() if locked.requested_by else "",
            "requested_until": locked.requested_until,
        }
        _clear_request(locked)
        locked.updated_by = user
        locked.save(update_fields=[*REQUEST_FIELDS, "updated_by", "updated_at"])
        audit.record(
            AuditAction.UPDATE,
            obj=locked,
            user=user,
            changes={"workflow": "reject", **requested, "rejection_reason": reason},
        )
    finding.refresh_from_db()
    return finding


def rejections(finding, limit: int = 5) -> list[dict]:
    """The latest rejected requests of ``finding`` (newest first), read from their audit entries.

    The caller has already found ``finding`` through ``restrict``: these entries are about that one visible record."""
    entries = AuditEntry.objects.filter(
        object_type=Finding._meta.label_lower, object_id=str(finding.pk), changes__workflow="reject"
    ).order_by("-seq")[:limit]
    result = []
    for entry in entries:
        changes = entry.changes
        status = changes.get("requested_status") or ""
        result.append(
            {
                "at": entry.timestamp,
                "by": entry.username,
                "reason": changes.get("rejection_reason", ""),
                "requested_status": FindingStatus(status).label if status in FindingStatus.values else status,
                "request_reason": changes.get("request_reason", ""),
                "requested_by": changes.get("requested_by", ""),
            }
        )
    return result


def expire_risk_acceptances(today: date | None = None) -> int:
    """Reopen every accepted risk whose ``accepted_until`` lies before ``today``; returns how many."""
    today = today or timezone.localdate()
    count = 0
    due = Finding.objects.filter(status=FindingStatus.RISK_ACCEPTED, accepted_until__lt=today).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        with transaction.atomic():
            finding = Finding.objects.select_for_update().filter(pk=pk, status=FindingStatus.RISK_ACCEPTED).first()
            if finding is None or finding.accepted_until is None or finding.accepted_until >= today:
                continue
            finding.status = FindingStatus.REOPENED
            finding.status_reason = _("The risk was accepted until %(date)s; the acceptance has expired.") % {
                "date": finding.accepted_until.isoformat()
            }
            finding.accepted_until = None
            finding.status_approved_by = None
            finding.status_approved_at = None
            finding.save(
                update_fields=[
                    "status",
                    "status_reason",
                    "accepted_until",
                    "status_approved_by",
                    "status_approved_at",
                    "updated_at",
                ]
            )
            count += 1
    return count


# ---- unattributed findings -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignResult:
    finding: Finding  # the finding that now stands for the problem in the target unit
    merged: bool
    message: str


def assignable_units(user):
    """The units ``user`` may assign findings to: their own subtree."""
    return Unit.objects.restrict(user, "view")


def assign(finding, user, unit) -> AssignResult:
    """Move the unattributed ``finding`` to ``unit`` (merging on a fingerprint clash); see the module docstring."""
    _require(user, finding, "assign")
    if unit is None:
        raise ValidationError({"unit": _("Choose a unit.")})
    if not assignable_units(user).filter(pk=unit.pk).exists():
        raise ValidationError({"unit": _("You can only assign findings to your own unit or a unit below it.")})
    with transaction.atomic():
        moved = _locked(finding)
        if moved.attributed:
            raise ValidationError(_("This finding is already matched to an asset of its unit."))
        clash = (
            Finding.objects.restrict(user, "view")
            .select_for_update()
            .filter(unit_id=unit.pk, fingerprint=moved.fingerprint)
            .exclude(pk=moved.pk)
            .first()
        )
        if clash is None:
            moved.unit = unit
            moved.attributed = True
            moved.candidate_unit = None
            moved.updated_by = user
            moved.save(update_fields=["unit", "attributed", "candidate_unit", "updated_by", "updated_at"])
            result = AssignResult(moved, False, _("Assigned to %(unit)s.") % {"unit": unit})
        else:
            _merge(moved, clash, user)
            result = AssignResult(
                clash,
                True,
                _(
                    "%(unit)s already had this finding: merged into it (seen %(n)d times in all); "
                    "the unattributed copy was removed."
                )
                % {"unit": unit, "n": clash.times_seen},
            )
    if not result.merged:
        finding.refresh_from_db()
    return result


def _merge(moved: Finding, kept: Finding, user) -> None:
    """Fold ``moved`` into ``kept`` (same problem, same unit) and delete ``moved``."""
    before_status = kept.status
    kept.times_seen += moved.times_seen
    kept.first_seen = min(kept.first_seen, moved.first_seen)
    if moved.last_seen > kept.last_seen:
        kept.last_seen = moved.last_seen
        kept.last_import = moved.last_import or kept.last_import
        kept.evidence = moved.evidence or kept.evidence
        if kept.status == FindingStatus.FIXED and moved.status in OPEN_STATUSES:
            # Seen again after it was fixed: the problem is back.
            kept.status = FindingStatus.REOPENED
            kept.closed_by_rescan = False
    if SEVERITY_ORDER.get(moved.severity, 0) > SEVERITY_ORDER.get(kept.severity, 0):
        kept.severity = moved.severity
    kept.risk_score = risk_of(kept).score
    kept.updated_by = user
    moved_pk, moved_unit = moved.pk, str(moved.unit)
    moved.delete()
    kept.save()
    audit.record(
        AuditAction.MOVE,
        obj=kept,
        user=user,
        changes={
            "workflow": "merge",
            "merged_finding": moved_pk,
            "from_unit": moved_unit,
            "times_seen_added": moved.times_seen,
            "status": [before_status, kept.status],
        },
    )
