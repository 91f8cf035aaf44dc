"""How findings follow the ledger: overdue duties become findings; a newly registered asset claims unattributed ones."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from assets.models import Domain, IPRange, Website
from assets.signals import duties_recorded
from core import audit
from core.models import AuditAction
from orgs.models import Unit

from .duties import sync_duty_findings
from .importers.base import Record
from .models import Finding
from .writer import Placer, move_to


@receiver(duties_recorded)
def duties_to_findings(sender, today=None, **kwargs):
    sync_duty_findings(today)


@receiver(post_save, sender=Website)
@receiver(post_save, sender=Domain)
@receiver(post_save, sender=IPRange)
def claim_unattributed(sender, instance, raw=False, **kwargs):
    """Registering the missing asset is one of the two ways to settle an unattributed finding (assigning is the other):
    findings left unattributed on the asset's unit or one of its ancestors are placed again, and move if they now
    belong to a registered asset."""
    if raw:
        return
    ancestors = [unit.pk for unit in Unit.objects.get_ancestors(instance.unit)] + [instance.unit_id]
    waiting = Finding.objects.filter(attributed=False, unit_id__in=ancestors)
    if not waiting.exists():
        return
    reattribute(waiting.select_related("unit"))


def reattribute(findings) -> int:
    """Place unattributed ``findings`` again; move those that now match an asset. Returns how many moved."""
    placers: dict[int, Placer] = {}
    moved = []
    with transaction.atomic():
        for finding in findings:
            placer = placers.get(finding.unit_id)
            if placer is None:
                placer = placers[finding.unit_id] = Placer(
                    finding.unit, index=next(iter(placers.values())).index if placers else None
                )
            placement = placer.place(
                Record(
                    tool="", rule_id="", title="", severity="info", host=finding.host, ip=finding.ip, url=finding.url
                )
            )
            if placement is None or not placement.attributed:
                continue
            clash = Finding.objects.filter(unit_id=placement.unit_id, fingerprint=finding.fingerprint).first()
            if clash is not None:  # the asset's unit already has it (e.g. from its own scan): keep one
                clash.times_seen += finding.times_seen
                clash.last_seen = max(clash.last_seen, finding.last_seen)
                clash.save(update_fields=["times_seen", "last_seen", "updated_at"])
                Finding.objects.filter(pk=finding.pk).delete()
            else:
                move_to(finding.pk, placement)
            moved.append(finding.pk)
        if moved:
            audit.record(
                AuditAction.UPDATE,
                object_repr="unattributed findings placed on a newly registered asset",
                object_type="findings.finding",
                changes={"findings": moved},
            )
    return len(moved)
