"""The one writer behind every scanner import: fingerprint, deduplicate, match to assets, score, bulk-upsert.

Importers yield normalised ``Record``s; ``write_records`` consumes them in batches inside ONE transaction, so an import
is all or nothing. Per batch it costs a handful of queries (look up existing fingerprints, bulk insert, bulk update),
whatever the batch size. Row-level audit entries are replaced by one import entry with the counts (a 50k-finding scan
would otherwise write 50k chained entries).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from assets.models import Domain, InformationSystem, IPRange, Website
from assets.models.ledger import address_hex

from .fingerprints import fingerprint
from .importers.base import Record
from .models import OPEN_STATUSES, Finding, FindingSource, FindingStatus
from .scoring import risk_score

BATCH = 2000
UPDATE_FIELDS = [
    "last_seen",
    "times_seen",
    "status",
    "closed_by_rescan",
    "last_import",
    "severity",
    "risk_score",
    "evidence",
    "updated_at",
]


@dataclass
class Match:
    unit_id: int
    system_id: int | None = None
    website_id: int | None = None
    domain_id: int | None = None
    ip_range_id: int | None = None
    attributed: bool = True


@dataclass
class AssetMatcher:
    """Registered assets of one unit's subtree, loaded once, matched in memory."""

    unit: object
    websites: dict = field(default_factory=dict)  # host → (website id, unit id, system id)
    domains: list = field(default_factory=list)  # (name, domain id, unit id, system id), longest first
    ranges: list = field(default_factory=list)  # (version, start_hex, end_hex, size, id, unit id, system id)

    @classmethod
    def for_unit(cls, unit) -> AssetMatcher:
        subtree = {"unit__path__startswith": unit.path}
        matcher = cls(unit)
        for pk, host, unit_id, system_id in Website.objects.filter(**subtree).values_list(
            "pk", "host", "unit_id", "system_id"
        ):
            matcher.websites.setdefault(host.lower(), (pk, unit_id, system_id))
        matcher.domains = sorted(
            Domain.objects.filter(**subtree).values_list("name", "pk", "unit_id", "system_id"),
            key=lambda d: -len(d[0]),
        )
        matcher.ranges = sorted(
            (
                (
                    r.version,
                    r.start_hex,
                    r.end_hex,
                    int(r.end_hex, 16) - int(r.start_hex, 16),
                    r.pk,
                    r.unit_id,
                    r.system_id,
                )
                for r in IPRange.objects.filter(**subtree).only(
                    "version", "start_hex", "end_hex", "unit_id", "system_id"
                )
            ),
            key=lambda r: r[3],  # narrowest range first
        )
        return matcher

    def match(self, record: Record) -> Match:
        host = (record.host or (urlsplit(record.url).hostname if record.url else "") or "").lower()
        if host and host in self.websites:
            pk, unit_id, system_id = self.websites[host]
            return Match(unit_id, system_id, website_id=pk)
        if host:
            for name, pk, unit_id, system_id in self.domains:
                if host == name or host.endswith("." + name):
                    return Match(unit_id, system_id, domain_id=pk)
        address = record.ip or host
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if ip is not None:
            value = address_hex(ip)
            for version, start, end, _size, pk, unit_id, system_id in self.ranges:
                if version == ip.version and start <= value <= end:
                    return Match(unit_id, system_id, ip_range_id=pk)
        return Match(self.unit.pk, attributed=False)


@dataclass
class Counts:
    records: int = 0
    new: int = 0
    updated: int = 0
    reopened: int = 0
    closed: int = 0
    unattributed: int = 0


def _batches(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _system_facts() -> dict:
    return {
        pk: (level, internet, cii, child)
        for pk, level, internet, cii, child in InformationSystem.objects.values_list(
            "pk", "mlps_level", "internet_facing", "critical_infrastructure", "holds_child_pi"
        )
    }


def write_records(
    records: Iterable[Record], *, unit, scan_import=None, close_missing: bool = False, tool: str = ""
) -> Counts:
    """Upsert ``records`` as findings of ``unit``'s subtree. All or nothing."""
    now = timezone.now()
    matcher = AssetMatcher.for_unit(unit)
    systems = _system_facts()
    counts = Counts()
    with transaction.atomic():
        for chunk in _batches(records, BATCH):
            counts.records += len(chunk)
            prepared: dict[tuple[int, str], tuple[Record, Match]] = {}
            for record in chunk:
                match = matcher.match(record)
                prepared.setdefault((match.unit_id, fingerprint(record)), (record, match))
            existing = {
                (f.unit_id, f.fingerprint): f
                for f in Finding.objects.filter(
                    unit_id__in={k[0] for k in prepared}, fingerprint__in={k[1] for k in prepared}
                ).only("pk", "unit_id", "fingerprint", "status", "times_seen", "closed_by_rescan")
            }
            to_create, to_update = [], []
            for key, (record, match) in prepared.items():
                level, internet, cii, child = systems.get(match.system_id, (None, False, False, False))
                score = risk_score(record.severity, level, internet, cii, child).score
                finding = existing.get(key)
                if finding is None:
                    to_create.append(
                        Finding(
                            unit_id=match.unit_id,
                            fingerprint=key[1],
                            source=FindingSource.SCANNER,
                            tool=record.tool,
                            rule_id=record.rule_id[:200],
                            title=record.title[:300],
                            description=record.description,
                            solution=record.solution,
                            severity=record.severity,
                            cve=record.cve,
                            cwe=record.cwe,
                            cvss_score=record.cvss_score,
                            cvss_vector=record.cvss_vector[:200],
                            host=record.host[:255],
                            ip=record.ip[:45],
                            port=record.port,
                            protocol=record.protocol[:20],
                            url=record.url,
                            parameter=record.parameter[:200],
                            evidence=record.evidence,
                            system_id=match.system_id,
                            website_id=match.website_id,
                            domain_id=match.domain_id,
                            ip_range_id=match.ip_range_id,
                            attributed=match.attributed,
                            first_seen=now,
                            last_seen=now,
                            risk_score=score,
                            last_import=scan_import,
                        )
                    )
                    counts.new += 1
                    counts.unattributed += 0 if match.attributed else 1
                    continue
                finding.last_seen, finding.times_seen = now, finding.times_seen + 1
                finding.severity, finding.risk_score, finding.evidence = record.severity, score, record.evidence
                finding.last_import, finding.updated_at = scan_import, now
                if finding.status == FindingStatus.FIXED or finding.closed_by_rescan:
                    finding.status, finding.closed_by_rescan = FindingStatus.REOPENED, False
                    counts.reopened += 1
                else:
                    counts.updated += 1
                to_update.append(finding)
            Finding.objects.bulk_create(to_create, batch_size=BATCH)
            if to_update:
                Finding.objects.bulk_update(to_update, UPDATE_FIELDS, batch_size=BATCH)
        if close_missing:
            stale = Finding.objects.filter(
                unit__path__startswith=unit.path,
                source=FindingSource.SCANNER,
                status__in=OPEN_STATUSES,
                last_seen__lt=now,
            )
            if tool:
                stale = stale.filter(tool=tool)
            # Everything seen in this import has last_seen == now; what was not seen is older.
            counts.closed = stale.update(status=FindingStatus.FIXED, closed_by_rescan=True, updated_at=now)
    return counts
