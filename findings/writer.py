"""The one writer behind every import: place each record on a unit and asset, fingerprint, deduplicate, score, upsert.

Importers yield normalised ``Record``s; ``write_records`` consumes them in batches inside ONE transaction, so an import
is all or nothing. Each batch of ``BATCH`` records costs three statements whatever its size: one SELECT of the
fingerprints already known, one ``executemany`` INSERT, one ``executemany`` UPDATE. Rows are written with plain SQL
rather than ``bulk_create``/``bulk_update`` because building 50,000 model instances and CASE expressions costs more
than parsing the file (see bench/import_bench.py). Row-level audit entries are replaced by one import entry with the
counts (a 50k-finding scan would otherwise write 50k chained entries).

Placement of a record (``Placer``), from the most specific evidence to the least:

1. a registered website whose host is the record's host;
2. a registered domain the host belongs to (longest suffix wins);
3. the narrowest registered IP range containing the address.

A record placed on an asset of the importing unit's subtree becomes that asset's unit's finding. A record whose asset
belongs to a unit OUTSIDE the subtree (a sibling district, say) is **rejected**: not written, counted, and listed (first
100) on the import — a unit cannot write findings into units it cannot see. An asset of an ancestor unit (the city's
metro range) says nothing about which subordinate owns the address, so such a record stays **unattributed** on the
importing unit, as does a record matching nothing. An unattributed finding gets a **candidate unit** when the subtree
gives a unique hint: the longest parent domain of its host under which only one unit registered names, else the /24
(IPv4) or /48 (IPv6) block in which only one unit registered ranges.

Templates that name the responsible unit (``Record.unit_ref``: the generic template, 上级通报) put the record on that
unit — resolved by code or exact name inside the importing subtree, or the import fails naming the row — and link the
asset only if it belongs to that unit's subtree.
"""

from __future__ import annotations

import ipaddress
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import islice
from operator import itemgetter
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.models import Domain, InformationSystem, IPRange, Website
from core.idn import ascii_host
from orgs.models import Unit

from .fingerprints import fingerprint
from .importers.base import ImportFormatError, Record
from .models import OPEN_STATUSES, Finding, FindingSource, FindingStatus
from .scoring import risk_score

BATCH = 2000
# SQLite's page cache during an import (negative: KiB). Counted with the parser process, 64 MB put the peak RSS of
# the importing side at 299–308 MB (target < 300) once the platform had grown by the notices and channels apps.
IMPORT_CACHE_KIB = -48 * 1024
REJECTED_SAMPLE = 100
# Second-level public suffixes under which a shared parent domain says nothing about ownership.
PUBLIC_SECOND_LEVEL = frozenset({"edu.cn", "gov.cn", "com.cn", "net.cn", "org.cn", "ac.cn"})
NEIGHBOUR_PREFIX = {4: 24, 6: 48}
AMBIGUOUS = -1


@dataclass(frozen=True)
class Owner:
    """A registered asset a record may belong to."""

    kind: str  # website / domain / ip_range
    asset_id: int
    unit_id: int
    unit_path: str
    system_id: int | None


@dataclass(frozen=True)
class Placement:
    unit_id: int
    system_id: int | None = None
    website_id: int | None = None
    domain_id: int | None = None
    ip_range_id: int | None = None
    attributed: bool = True
    candidate_unit_id: int | None = None


REJECTED = None  # what ``Placer.place`` returns for a record outside the importer's scope


def record_host(record: Record) -> str:
    """The record's host name as the ledger stores it (lower case, punycode), from its URL when it names none."""
    return ascii_host(record.host or (urlsplit(record.url).hostname if record.url else "") or "")


def _parse_ip(value: str):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class AssetIndex:
    """Every registered website host, domain and IP range of the installation, indexed for constant-time lookups.

    Ranges are CIDR blocks (``IPRange`` normalises them), so "narrowest range containing an address" is a lookup per
    prefix length present, longest first.
    """

    def __init__(self):
        self.websites: dict[str, list[Owner]] = {}
        self.domains: dict[str, list[Owner]] = {}
        self.ranges: dict[int, dict[int, dict[int, list[Owner]]]] = {4: {}, 6: {}}  # version → prefix → network
        self.prefixes: dict[int, list[int]] = {4: [], 6: []}  # prefix lengths present, longest first

    @classmethod
    def load(cls) -> AssetIndex:
        index = cls()
        index._add_websites(Website.objects.all())
        for pk, name, unit_id, path, system_id in Domain.objects.values_list(
            "pk", "name", "unit_id", "unit__path", "system_id"
        ):
            index.domains.setdefault(name.lower().rstrip("."), []).append(Owner("domain", pk, unit_id, path, system_id))
        for pk, cidr, unit_id, path, system_id in IPRange.objects.values_list(
            "pk", "cidr", "unit_id", "unit__path", "system_id"
        ):
            try:
                network = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                continue
            by_prefix = index.ranges[network.version].setdefault(network.prefixlen, {})
            by_prefix.setdefault(int(network.network_address), []).append(
                Owner("ip_range", pk, unit_id, path, system_id)
            )
        for version in (4, 6):
            index.prefixes[version] = sorted(index.ranges[version], reverse=True)
        return index

    @classmethod
    def of_websites(cls, website_ids) -> AssetIndex:
        """Only these websites: for records that name their website's host (monitoring), which the full index would
        place the same way at the cost of reading every asset of the installation (about 40 ms for 5,000 sites)."""
        index = cls()
        index._add_websites(Website.objects.filter(pk__in=list(website_ids)))
        return index

    def _add_websites(self, websites) -> None:
        for pk, host, unit_id, path, system_id in websites.values_list(
            "pk", "host", "unit_id", "unit__path", "system_id"
        ):
            self.websites.setdefault(host.lower(), []).append(Owner("website", pk, unit_id, path, system_id))

    def by_name(self, host: str) -> list[Owner]:
        """Owners of the most specific registration of a host name: the website with that host, else the longest
        registered domain it belongs to (several owners when shared); [] if none."""
        if not host:
            return []
        if host in self.websites:
            return self.websites[host]
        labels = host.split(".")
        for start in range(len(labels)):
            owners = self.domains.get(".".join(labels[start:]))
            if owners:
                return owners
        return []

    def by_address(self, ip) -> list[Owner]:
        """Owners of the narrowest registered range containing ``ip``; [] if none."""
        if ip is None:
            return []
        bits = ip.max_prefixlen
        value = int(ip)
        for prefix in self.prefixes[ip.version]:
            owners = self.ranges[ip.version][prefix].get(value >> (bits - prefix) << (bits - prefix))
            if owners:
                return owners
        return []


class Placer:
    """Decides, for one import into ``unit``'s subtree, where each record goes (cached per distinct location)."""

    def __init__(self, unit, index: AssetIndex | None = None):
        self.unit = unit
        self.path = unit.path
        self.index = index or AssetIndex.load()
        self._cache: dict[tuple[str, str, str, str], Placement | None] = {}
        self._suffix_units: dict[str, int] | None = None
        self._block_units: dict[tuple[int, int], int] | None = None
        self._units: dict[str, list[tuple[int, str]]] | None = None

    def in_scope(self, path: str) -> bool:
        return path.startswith(self.path)

    def place(self, record: Record) -> Placement | None:
        key = (record.host, record.ip, record.url if not record.host else "", record.unit_ref)
        if key in self._cache:
            return self._cache[key]
        placement = self._place(record)
        self._cache[key] = placement
        return placement

    def _place(self, record: Record) -> Placement | None:
        host = record_host(record)
        ip = _parse_ip(record.ip or host)
        name = "" if _parse_ip(host) else host  # a host given as an address is looked up as one
        scope = self.path
        if record.unit_ref:
            unit_id, scope = self.resolve_unit(record)
        # The most specific registration of the name and that of the address each say who owns the record; the name
        # is asked first, and either one inside the scope places it (the city's domain must not hide a school's
        # range). Only when neither is inside does an outside owner that is not an ancestor reject the record.
        verdicts = [owners for owners in (self.index.by_name(name), self.index.by_address(ip)) if owners]
        for owners in verdicts:
            for owner in owners:
                if owner.unit_path.startswith(scope):
                    return self._on(owner)
        if record.unit_ref:
            return Placement(unit_id, attributed=True)  # the notice names the unit; no asset of it matches
        if any(not any(self.path.startswith(o.unit_path) for o in owners) for owners in verdicts):
            return REJECTED  # registered to a unit outside the importer's subtree (and not an ancestor)
        return Placement(self.unit.pk, attributed=False, candidate_unit_id=self.candidate(name, ip))

    @staticmethod
    def _on(owner: Owner) -> Placement:
        return Placement(
            owner.unit_id,
            owner.system_id,
            website_id=owner.asset_id if owner.kind == "website" else None,
            domain_id=owner.asset_id if owner.kind == "domain" else None,
            ip_range_id=owner.asset_id if owner.kind == "ip_range" else None,
        )

    # ---- candidate unit of an unattributed record

    def candidate(self, host: str, ip) -> int | None:
        """``host`` is a name (not an address) or ""."""
        if self._suffix_units is None:
            self._build_hints()
        if host:
            labels = host.split(".")
            for start in range(1, len(labels) - 1):
                suffix = ".".join(labels[start:])
                if suffix in PUBLIC_SECOND_LEVEL:
                    break
                unit_id = self._suffix_units.get(suffix)
                if unit_id is not None:
                    return None if unit_id == AMBIGUOUS else unit_id
        if ip is not None:
            prefix = NEIGHBOUR_PREFIX[ip.version]
            shift = ip.max_prefixlen - prefix
            unit_id = self._block_units.get((ip.version, int(ip) >> shift))
            if unit_id is not None and unit_id != AMBIGUOUS:
                return unit_id
        return None

    def _build_hints(self) -> None:
        suffixes: dict[str, int] = {}
        blocks: dict[tuple[int, int], int] = {}

        def note(table, key, unit_id):
            table[key] = unit_id if table.get(key, unit_id) == unit_id else AMBIGUOUS

        for name, owners in [*self.index.websites.items(), *self.index.domains.items()]:
            for owner in owners:
                if not self.in_scope(owner.unit_path):
                    continue
                labels = name.split(".")
                # parents of the name with at least two labels (never a bare TLD)
                for start in range(0 if owner.kind == "domain" else 1, len(labels) - 1):
                    note(suffixes, ".".join(labels[start:]), owner.unit_id)
        for version, by_prefix in self.index.ranges.items():
            prefix = NEIGHBOUR_PREFIX[version]
            bits = 32 if version == 4 else 128
            for length, networks in by_prefix.items():
                if length < prefix:
                    continue  # a range wider than the block would have matched the address itself
                for network, owners in networks.items():
                    for owner in owners:
                        if self.in_scope(owner.unit_path):
                            note(blocks, (version, network >> (bits - prefix)), owner.unit_id)
        self._suffix_units, self._block_units = suffixes, blocks

    # ---- units named by the record

    def resolve_unit(self, record: Record) -> tuple[int, str]:
        """The unit ``record.unit_ref`` names (code or exact name) inside the subtree, or an ``ImportFormatError``."""
        if self._units is None:
            self._units = {}
            for pk, code, name, path in Unit.objects.filter(path__startswith=self.path).values_list(
                "pk", "code", "name", "path"
            ):
                for ref in {code, name}:
                    if ref:
                        self._units.setdefault(ref.strip(), []).append((pk, path))
        matches = self._units.get(record.unit_ref.strip(), [])
        if not matches:
            raise ImportFormatError(
                _("unit %(unit)s is not %(scope)s or one of its subordinate units"),
                record.where,
                unit=record.unit_ref,
                scope=self.unit.name,
            )
        if len(matches) > 1:
            raise ImportFormatError(
                _("several units are named %(unit)s; give the unit code instead"), record.where, unit=record.unit_ref
            )
        return matches[0]


@dataclass
class Counts:
    records: int = 0
    new: int = 0
    updated: int = 0
    reopened: int = 0
    closed: int = 0
    unattributed: int = 0
    rejected: int = 0
    rejected_sample: list = field(default_factory=list)


@lru_cache(maxsize=1024)
def _score(severity: str, level, internet: bool, cii: bool, child: bool) -> int:
    return risk_score(severity, level, internet, cii, child).score  # pure: a handful of distinct inputs per import


def _batches(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


_END = object()


def read_ahead(records: Iterable, size: int, depth: int = 2) -> Iterator[list]:
    """Batches of ``records``, parsed by a second thread while this one writes the previous batch.

    Parsing is Python work; writing is mostly the database's own code (SQLite's B-trees, a PostgreSQL server behind a
    socket), which runs without the GIL. On two cores the two overlap. At most ``depth`` batches wait, so memory stays
    flat. An error raised by the parser (a malformed file) is raised here, in the writing thread, so the transaction
    rolls back as if there were one thread.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for chunk in _batches(records, size):
                if not put(chunk):
                    return
            put(_END)
        except BaseException as exc:  # handed to the writing thread, which raises it
            put(exc)
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=produce, name="import-reader", daemon=True)
    reader.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _system_facts(unit) -> dict:
    return {
        pk: (level, internet, cii, child)
        for pk, level, internet, cii, child in InformationSystem.objects.filter(
            unit__path__startswith=unit.path
        ).values_list("pk", "mlps_level", "internet_facing", "critical_infrastructure", "holds_child_pi")
    }


def _pg_int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers: built here, it costs a fraction of psycopg's adaptation of a list."""
    return "{" + ",".join(map(str, values)) + "}"


def _pg_text_array(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of strings, every element quoted (so "NULL" and empty strings stay strings)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _array_element_type(field) -> str:
    """The PostgreSQL type of a column, for casting an array of its values (``bigint``, ``varchar(20)`` …)."""
    return field.target_field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


class _FindingTable:
    """Plain-SQL INSERT/UPDATE of findings, with Django's own value preparation for the non-trivial columns."""

    UPDATE_COLUMNS = (
        "last_seen",
        "times_seen",
        "status",
        "closed_by_rescan",
        "last_import_id",
        "severity",
        "risk_score",
        "evidence",
        "updated_at",
    )
    # What ``known`` reads of each finding already there, after its pk, unit and fingerprint ("seen now" is whether
    # this import wrote it already, i.e. a duplicate inside the file).
    KNOWN_COLUMNS = ("status", "times_seen", "closed_by_rescan", "seen now", "attributed", "severity", "risk_score")

    # What a new row sets, in this order (``_new_row``); every other column takes its default.
    NEW_COLUMNS = (
        "unit_id", "fingerprint", "source", "tool", "rule_id", "title", "description", "solution", "severity", "cve",
        "cwe", "cvss_score", "cvss_vector", "host", "ip", "port", "protocol", "url", "parameter", "evidence",
        "system_id", "website_id", "domain_id", "ip_range_id", "attributed", "candidate_unit_id", "due_date",
        "first_seen", "last_seen", "risk_score", "last_import_id", "created_at", "updated_at", "created_by_id",
        "updated_by_id",
    )  # fmt: skip

    def __init__(self):
        meta = Finding._meta
        by_attname = {f.attname: f for f in meta.concrete_fields}
        others = [f for f in meta.concrete_fields if not f.primary_key and f.attname not in self.NEW_COLUMNS]
        self.fields = [by_attname[name] for name in self.NEW_COLUMNS] + others
        self.columns = [f.column for f in self.fields]
        # The other columns' defaults, prepared once and appended to every new row.
        self.other_defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        self.insert_sql = "INSERT INTO {} ({}) VALUES ({})".format(
            table, ", ".join(quote(c) for c in self.columns), ", ".join(["%s"] * len(self.columns))
        )
        self.update_sql = "UPDATE {} SET {} WHERE {} = %s".format(
            table, ", ".join(f"{quote(c)} = %s" for c in self.UPDATE_COLUMNS), quote(meta.pk.column)
        )
        # Most re-seen findings keep their status, severity and score, and only their evidence differs from one
        # row to the next. They get a statement that leaves the indexed columns alone (SQLite rewrites the index
        # entries of every column named in SET, changed or not) and takes the values common to all as one parameter.
        pk, times_seen = quote(meta.pk.column), quote("times_seen")
        common = f"{quote('last_seen')} = %s, {times_seen} = {times_seen} + 1, {quote('last_import_id')} = %s, " + (
            f"{quote('updated_at')} = %s"
        )
        self.seen_sql = f"UPDATE {table} SET {common}, {quote('evidence')} = %s WHERE {pk} = %s"
        self.seen_arrays_sql = (
            f"UPDATE {table} AS f SET {common.replace(f'{times_seen} + 1', f'f.{times_seen} + 1')}, "
            f"{quote('evidence')} = s.evidence FROM unnest(%s::bigint[], %s::text[]) AS s(id, evidence) "
            f"WHERE f.{pk} = s.id"
        )
        self._field = {f.attname: f for f in self.fields}
        self._cache: dict = {}
        # PostgreSQL takes rows fastest through COPY (executemany is one round of parse/bind/execute per row).
        self.postgres = connection.vendor == "postgresql"
        self.copy_insert_sql = "COPY {} ({}) FROM STDIN".format(table, ", ".join(quote(c) for c in self.columns))
        # Updates on PostgreSQL: one statement per batch, each column's new values as an array.
        update_fields = [meta.get_field(name) for name in self.UPDATE_COLUMNS] + [meta.pk]
        self.update_arrays_sql = (
            "UPDATE {table} AS f SET {sets} FROM unnest({arrays}) AS s({columns}) WHERE f.{pk} = s.{pk}".format(
                table=table,
                sets=", ".join(f"{quote(f.column)} = s.{quote(f.column)}" for f in update_fields[:-1]),
                arrays=", ".join(f"%s::{_array_element_type(f)}[]" for f in update_fields),
                columns=", ".join(quote(f.column) for f in update_fields),
                pk=quote(meta.pk.column),
            )
        )
        known_columns = ", ".join(
            f"{quote('last_seen')} = %s" if c == "seen now" else quote(c)
            for c in (meta.pk.column, "unit_id", "fingerprint", *self.KNOWN_COLUMNS)
        )
        # PostgreSQL: the fingerprints as one array (psycopg spends more on 2,000 separate parameters than the
        # server spends on the lookup); SQLite binds parameters at no cost.
        where = f"{quote('fingerprint')} = ANY(%s::varchar[])" if self.postgres else f"{quote('fingerprint')} IN ({{}})"
        self.known_sql = f"SELECT {known_columns} FROM {table} WHERE {where}"

    def prep(self, attname: str, value):
        return self._field[attname].get_db_prep_save(value, connection)

    def json(self, attname: str, values: list):
        """A JSON list column's database value, prepared once per distinct list (CVE lists repeat across a scan).

        On PostgreSQL, the JSON text: COPY hands it to the server as it is, whereas the adapter Django prepares would
        be serialised again for every row.
        """
        key = (attname, tuple(values))
        prepared = self._cache.get(key)
        if prepared is None:
            plain = list(values)
            prepared = self._cache[key] = json.dumps(plain) if self.postgres else self.prep(attname, plain)
        return prepared

    def cached(self, attname: str, value):
        """``prep`` once per distinct value of a column whose values repeat (CVSS scores, CVE lists)."""
        key = (attname, value)
        prepared = self._cache.get(key)
        if prepared is None:
            plain = list(value) if isinstance(value, tuple) else value
            prepared = self._cache[key] = self.prep(attname, plain)
        return prepared

    def known(self, unit_ids: set[int], fingerprints: set[str], now_db) -> dict:
        """(unit id, fingerprint) → (pk, status, times seen, closed by re-scan, seen now, attributed, severity, risk
        score), where "seen now" is whether its last sighting is ``now_db`` (this import's)."""
        if not fingerprints:
            return {}
        # By fingerprint only (the unique index leads with it); the units are filtered here. Asking for both in SQL
        # makes the planners probe every unit × fingerprint pair or scan whole units.
        if self.postgres:
            sql, params = self.known_sql, [now_db, _pg_text_array(fingerprints)]
        else:
            sql, params = self.known_sql.format(", ".join(["%s"] * len(fingerprints))), [now_db, *fingerprints]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {(row[1], row[2]): (row[0], *row[3:]) for row in cursor.fetchall() if row[1] in unit_ids}

    def insert(self, rows: list[list]) -> None:
        if not rows:
            return
        if self.postgres:
            self._copy(self.copy_insert_sql, rows)
        else:
            with connection.cursor() as cursor:
                cursor.executemany(self.insert_sql, rows)

    def update(self, rows: list[tuple], seen: list[tuple[int, str]], now_db, import_id: int | None) -> None:
        """``rows``: values of UPDATE_COLUMNS then the pk; ``seen``: (pk, evidence) of findings seen again whose
        status, severity and score stay as they are (last seen, times seen, last import and evidence change)."""
        rows.sort(key=itemgetter(-1))  # in primary-key order: neighbouring rows share pages
        seen.sort(key=itemgetter(0))
        with connection.cursor() as cursor:
            if self.postgres:
                # One statement per kind and batch, the values as arrays (PostgreSQL keeps an update in place when
                # no indexed value changes).
                if rows:
                    cursor.execute(self.update_arrays_sql, [list(column) for column in zip(*rows, strict=True)])
                if seen:
                    pks, evidence = zip(*seen, strict=True)
                    cursor.execute(
                        self.seen_arrays_sql,
                        [now_db, import_id, now_db, _pg_int_array(pks), _pg_text_array(evidence)],
                    )
                return
            if rows:
                cursor.executemany(self.update_sql, rows)
            if seen:
                cursor.executemany(self.seen_sql, [(now_db, import_id, now_db, text, pk) for pk, text in seen])

    def _copy(self, sql: str, rows: list) -> None:
        """``COPY … FROM STDIN`` through psycopg, passed through the connection's execute wrappers like any other
        statement (so that query logging and counting see it)."""

        def run(sql, params, many, context):
            with context["cursor"].cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

        with connection.cursor() as cursor:
            execute = run
            for wrapper in reversed(connection.execute_wrappers):
                execute = partial(wrapper, execute)
            execute(sql, None, True, {"connection": connection, "cursor": cursor})


def write_records(
    records: Iterable[Record],
    *,
    unit,
    scan_import=None,
    close_missing: bool = False,
    tool: str = "",
    user=None,
    index: AssetIndex | None = None,
) -> Counts:
    """Upsert ``records`` as findings of ``unit``'s subtree. All or nothing; see the module docstring.

    ``index``: the assets records are placed on (default: every asset, ``AssetIndex.load``)."""
    now = timezone.now()
    placer = Placer(unit, index)
    systems = _system_facts(unit)
    counts = Counts()
    table = _FindingTable()
    prep = table.prep
    now_db = prep("last_seen", now)
    import_id = scan_import.pk if scan_import is not None else None
    user_id = user.pk if user is not None else None
    batch_writer = _BatchWriter(unit, placer, systems, table, counts, now_db, import_id, user_id)
    with transaction.atomic():
        with _bulk_settings():
            for chunk in read_ahead(records, BATCH):
                batch_writer.write(chunk)
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


@dataclass
class _BatchWriter:
    """One import's state while its batches are written (the statements are ``_FindingTable``'s)."""

    unit: Unit
    placer: Placer
    systems: dict
    table: _FindingTable
    counts: Counts
    now_db: object
    import_id: int | None
    user_id: int | None

    def write(self, chunk: list[Record]) -> None:
        unit, placer, systems, table, counts = self.unit, self.placer, self.systems, self.table, self.counts
        now_db, import_id, user_id = self.now_db, self.import_id, self.user_id
        counts.records += len(chunk)
        prepared: dict[tuple[int, str], tuple[Record, Placement]] = {}
        for record in chunk:
            placement = placer.place(record)
            if placement is REJECTED:
                counts.rejected += 1
                if len(counts.rejected_sample) < REJECTED_SAMPLE:
                    counts.rejected_sample.append(
                        {"host": record.host, "ip": record.ip, "port": record.port, "rule": record.rule_id}
                    )
                continue
            prepared.setdefault((placement.unit_id, record.fingerprint or fingerprint(record)), (record, placement))
        if not prepared:
            return
        existing = table.known({key[0] for key in prepared} | {unit.pk}, {key[1] for key in prepared}, now_db)
        inserts, updates, seen = [], [], []
        for key, (record, placement) in prepared.items():
            level, internet, cii, child = systems.get(placement.system_id, (None, False, False, False))
            score = _score(record.severity, level, internet, cii, child)
            found = existing.get(key)
            if found is None and placement.attributed:
                found = existing.get((unit.pk, key[1]))
                if found is not None and not found[5]:
                    # Left unattributed by an earlier import; an asset registered since places it now.
                    move_to(found[0], placement)
                else:
                    found = None
            if found is None:
                inserts.append(_new_row(table, key, record, placement, score, now_db, import_id, user_id))
                counts.new += 1
                counts.unattributed += 0 if placement.attributed else 1
                continue
            pk, status, times_seen, closed_by_rescan, seen_now, _attributed, old_severity, old_score = found
            if seen_now:
                continue  # already written by an earlier batch of this same import: a duplicate in the file
            counts.unattributed += 0 if placement.attributed else 1
            if status == FindingStatus.FIXED or closed_by_rescan:
                status, closed_by_rescan = FindingStatus.REOPENED, False
                counts.reopened += 1
            else:
                counts.updated += 1
                if record.severity == old_severity and score == old_score:
                    seen.append((pk, record.evidence))
                    continue
            updates.append(
                (now_db, times_seen + 1, status, closed_by_rescan, import_id, record.severity, score,
                 record.evidence, now_db, pk)
            )  # fmt: skip
        table.insert(inserts)
        table.update(updates, seen, now_db, import_id)


@contextmanager
def _bulk_settings():
    """Database settings for the length of an import's batches.

    PostgreSQL: no sequential scans. Inside the import's transaction the table's statistics are those from before it
    (none at all for the first import), so the planner takes a lookup of 2,000 fingerprints for a match of most of the
    table and scans it whole, every batch. The unique index answers it in a fraction of the time.
    SQLite: a larger page cache (64 MB instead of 32 MB), so that the fingerprint index of a table of half a million
    findings stays in memory instead of being read back page by page.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            try:
                yield
            finally:
                cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size")
            (previous,) = cursor.fetchone()
            cursor.execute(f"PRAGMA cache_size = {IMPORT_CACHE_KIB}")
            try:
                yield
            finally:
                cursor.execute(f"PRAGMA cache_size = {int(previous)}")
        else:
            yield


def move_to(pk: int, placement: Placement) -> None:
    """Put the finding ``pk`` where ``placement`` says (the caller has checked there is no fingerprint clash)."""
    Finding.objects.filter(pk=pk).update(
        unit_id=placement.unit_id,
        system_id=placement.system_id,
        website_id=placement.website_id,
        domain_id=placement.domain_id,
        ip_range_id=placement.ip_range_id,
        attributed=True,
        candidate_unit_id=None,
    )


def _new_row(table, key, record, placement, score, now_db, import_id, user_id) -> tuple:
    """A new finding's row: the values of ``_FindingTable.NEW_COLUMNS`` in order, then the other columns' defaults."""
    return (
        key[0],
        key[1],
        record.source,
        record.tool[:30],
        record.rule_id[:200],
        record.title[:300],
        record.description,
        record.solution,
        record.severity,
        table.json("cve", record.cve),
        table.json("cwe", record.cwe),
        table.cached("cvss_score", record.cvss_score) if record.cvss_score is not None else None,
        record.cvss_vector[:200],
        record.host[:255],
        record.ip[:45],
        record.port,
        record.protocol[:20],
        record.url,
        record.parameter[:200],
        record.evidence,
        placement.system_id,
        placement.website_id,
        placement.domain_id,
        placement.ip_range_id,
        placement.attributed,
        placement.candidate_unit_id,
        table.prep("due_date", record.due_date) if record.due_date is not None else None,
        now_db,
        now_db,
        score,
        import_id,
        now_db,
        now_db,
        user_id,
        user_id,
    ) + table.other_defaults
