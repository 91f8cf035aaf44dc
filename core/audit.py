"""Writing and verifying the audit chain.

Each entry's hash is ``SM3(prev_hash ‖ canonical JSON of the entry)``; the canonical JSON is the entry's fields (all but
``hash``) serialised with sorted keys and no whitespace, so any later change to any stored field, a removed entry, or a
removed tail (checked against ``AuditChainHead``) breaks the chain at a nameable place.
"""

import datetime
import json
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from .context import client_ip, get_request
from .crypto import mask_value, sm3_hex
from .models import AuditAction, AuditChainHead, AuditEntry

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "timestamp",
    "user_id",
    "username",
    "ip",
    "user_agent",
    "action",
    "result",
    "object_type",
    "object_id",
    "object_repr",
    "unit_path",
    "changes",
    "prev_hash",
)


def canonical(entry: AuditEntry) -> bytes:
    data = {}
    for name in HASHED_FIELDS:
        value = getattr(entry, name)
        if isinstance(value, datetime.datetime):
            value = value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        data[name] = value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def compute_hash(entry: AuditEntry) -> str:
    return sm3_hex(entry.prev_hash.encode("ascii") + canonical(entry))


def _scope_path(obj) -> str:
    getter = getattr(obj, "get_scope_path", None)
    return getter() if getter else ""


def record(
    action,
    *,
    obj=None,
    user=None,
    changes=None,
    result="success",
    object_repr=None,
    unit_path=None,
    request=None,
    username=None,
    object_type=None,
) -> AuditEntry:
    """Append one entry. Call inside or outside a transaction; the append is atomic and serialised."""
    request = request or get_request()
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    if unit_path is None:
        unit_path = _scope_path(obj) if obj is not None else ""
        if not unit_path and user is not None:
            unit = getattr(user, "unit", None)
            unit_path = unit.path if unit is not None else ""
    entry = AuditEntry(
        timestamp=timezone.now(),
        user=user,
        username=username or (user.get_username() if user is not None else ""),
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else ""),
        action=str(action),
        result=result,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=(object_repr if object_repr is not None else (str(obj) if obj is not None else ""))[:255],
        unit_path=unit_path or "",
        changes=json.loads(json.dumps(changes or {}, default=str)),
    )
    with transaction.atomic():
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        entry.seq = head.seq + 1
        entry.prev_hash = head.hash
        entry.hash = compute_hash(entry)
        entry.save()
        head.seq, head.hash = entry.seq, entry.hash
        head.save(update_fields=["seq", "hash"])
    return entry


# ---- field snapshots and diffs -------------------------------------------------------------------------------------


def field_value(obj, field):
    """The value of one concrete field as the audit log shows it (sensitive fields masked)."""
    value = getattr(obj, field.attname)
    if getattr(field, "sensitive", False):
        return mask_value(value or "")
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict, int, float, bool)) or value is None:
        return value
    return str(value)


def snapshot(obj) -> dict:
    skip = {"created_at", "updated_at", "created_by", "updated_by", "password", "last_login"}
    return {
        f.name: field_value(obj, f)
        for f in obj._meta.concrete_fields
        if f.name not in skip and not isinstance(f, models.AutoField) and not f.name.endswith("_ptr")
    }


def diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


# ---- verification ---------------------------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 2000) -> VerifyResult:
    """Walk the chain in order. Returns the first broken link, if any."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    last_pk = 0
    while True:
        batch = list(AuditEntry.objects.filter(seq__gt=last_pk).order_by("seq")[:batch_size])
        if not batch:
            break
        for entry in batch:
            if entry.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"entry #{expected_seq} is missing")
            if entry.prev_hash != expected_prev:
                return VerifyResult(False, checked, entry.seq, f"entry #{entry.seq} does not link to its predecessor")
            if compute_hash(entry) != entry.hash:
                return VerifyResult(False, checked, entry.seq, f"entry #{entry.seq} was altered after it was written")
            expected_prev = entry.hash
            expected_seq += 1
            checked += 1
            last_pk = entry.seq
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != checked or head.hash != expected_prev):
        return VerifyResult(False, checked, checked + 1, f"entries after #{checked} up to #{head.seq} are missing")
    return VerifyResult(True, checked)


__all__ = ["AuditAction", "record", "snapshot", "diff", "verify_chain", "VerifyResult"]
