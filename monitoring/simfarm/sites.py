"""The site table of the farm: what a virtual school site is, how a mix of many is generated, how the table is saved.

Nothing here needs Django settings; the names of scenarios and TLS variants come from ``monitoring.vocabulary`` so that
the farm, the probe engine and the analysers can never disagree about them.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from monitoring.vocabulary import FARM_CHARSETS, FARM_SCENARIOS, FARM_TLS_VARIANTS

SITES_FILE = "sites.json"

# Names that route to the control API instead of a site (see docs/simfarm.md).
CONTROL_HOST = "farm.control.test"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "[::1]", "localhost"})

_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")

# A sensible default mix for ``--sites N``: mostly healthy, every detection present. "hidden" and "cloaking" are
# groups spread evenly over their scenarios.
DEFAULT_MIX = (
    "healthy=58,dynamic=10,missing_icp=4,stale=4,slow=2,error=2,timeout=1,refused=1,defaced=2,"
    "malicious_script=2,keywords=2,id_leak=2,hidden=7,cloaking=3"
)
DEFAULT_TLS_MIX = "valid=80,none=8,expiring=4,expired=3,self_signed=3,wrong_host=1,null_prefix=1"
DEFAULT_IPV6_SHARE = 0.8

GROUPS = {
    "hidden": [s for s in FARM_SCENARIOS if s.startswith("hidden_")],
    "cloaking": [s for s in FARM_SCENARIOS if s.startswith("cloaking_")],
}


class SiteError(ValueError):
    """A site description that the farm cannot serve (unknown scenario, bad host name, …)."""


def normalise_host(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host in LOOPBACK_NAMES or host == CONTROL_HOST:
        raise SiteError(f"{host!r} is reserved for the control API")
    if not _HOST_RE.match(host):
        raise SiteError(f"{host!r} is not a valid host name")
    return host


@dataclass(frozen=True, slots=True)
class Site:
    """One virtual school site. Frozen: a scenario switch replaces the object, so a request in flight sees one state."""

    host: str
    scenario: str = "healthy"
    tls: str = "valid"
    ipv6: bool = True
    school: str = ""
    seed: int = 0
    charset: str = "utf-8"

    def __post_init__(self):
        object.__setattr__(self, "host", normalise_host(self.host))
        if self.scenario not in FARM_SCENARIOS:
            raise SiteError(f"unknown scenario {self.scenario!r}; choose one of: {', '.join(FARM_SCENARIOS)}")
        if self.tls not in FARM_TLS_VARIANTS:
            raise SiteError(f"unknown TLS variant {self.tls!r}; choose one of: {', '.join(FARM_TLS_VARIANTS)}")
        if self.charset not in FARM_CHARSETS:
            raise SiteError(f"unknown charset {self.charset!r}; choose one of: {', '.join(FARM_CHARSETS)}")
        if not isinstance(self.ipv6, bool):
            raise SiteError("ipv6 must be true or false")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise SiteError("seed must be an integer")
        if not self.school:
            # Imported lazily: pages.py is the heavier module and only needed to invent a name.
            from monitoring.simfarm.pages import invent_school_name

            object.__setattr__(self, "school", invent_school_name(self.host, self.seed))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Site:
        if not isinstance(data, dict) or "host" not in data:
            raise SiteError("a site needs at least a host")
        known = {"host", "scenario", "tls", "ipv6", "school", "seed", "charset"}
        unknown = set(data) - known
        if unknown:
            raise SiteError(f"unknown site field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def changed(self, **changes) -> Site:
        """A copy with some fields changed (None means unchanged), validated like a new site."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "host" in changes:
            raise SiteError("the host of a site cannot change")
        return replace(self, **changes)


def parse_mix(text: str, choices: list[str], groups: dict[str, list[str]] | None = None) -> dict[str, float]:
    """Parse "name=weight,…" into weights per choice; a group name spreads its weight evenly over its members."""
    groups = groups or {}
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value) if sep else 1.0
        except ValueError:
            raise SiteError(f"bad weight in mix item {part!r}") from None
        if weight < 0:
            raise SiteError(f"negative weight in mix item {part!r}")
        members = groups.get(name) or ([name] if name in choices else None)
        if members is None:
            raise SiteError(f"unknown name {name!r} in mix; choose from: {', '.join(list(groups) + choices)}")
        for member in members:
            weights[member] = weights.get(member, 0.0) + weight / len(members)
    if not weights or sum(weights.values()) <= 0:
        raise SiteError("the mix has no positive weight")
    return weights


def allocate(count: int, weights: dict[str, float]) -> list[str]:
    """Exactly ``count`` names in proportion to the weights (largest remainder), so a mix is reproducible."""
    total = sum(weights.values())
    exact = {name: count * w / total for name, w in weights.items()}
    counts = {name: int(x) for name, x in exact.items()}
    leftover = count - sum(counts.values())
    for name in sorted(exact, key=lambda n: (counts[n] - exact[n], list(weights).index(n)))[:leftover]:
        counts[name] += 1
    return [name for name in weights for _ in range(counts[name])]


def generate_sites(
    count: int,
    *,
    mix: str = DEFAULT_MIX,
    tls_mix: str = DEFAULT_TLS_MIX,
    ipv6_share: float = DEFAULT_IPV6_SHARE,
    seed: int = 0,
    domain: str = "farm.test",
) -> list[Site]:
    """``count`` sites named s00001.farm.test …, with a deterministic, shuffled mix of scenarios and TLS variants."""
    if count < 0:
        raise SiteError("the number of sites cannot be negative")
    rng = random.Random(f"simfarm-mix#{seed}")
    scenarios = allocate(count, parse_mix(mix, FARM_SCENARIOS, GROUPS))
    tls_variants = allocate(count, parse_mix(tls_mix, FARM_TLS_VARIANTS))
    with_ipv6 = round(count * ipv6_share)
    ipv6_flags = [True] * with_ipv6 + [False] * (count - with_ipv6)
    for column in (scenarios, tls_variants, ipv6_flags):
        rng.shuffle(column)
    width = max(5, len(str(count)))
    return [
        Site(host=f"s{i + 1:0{width}d}.{domain}", scenario=scenario, tls=tls, ipv6=ipv6, seed=seed)
        for i, (scenario, tls, ipv6) in enumerate(zip(scenarios, tls_variants, ipv6_flags, strict=True))
    ]


def load_sites(path: str | os.PathLike) -> list[Site]:
    """Read a JSON list of site objects (the format of a manifest and of ``sites.json``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SiteError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("sites"), list):
        data = data["sites"]
    if not isinstance(data, list):
        raise SiteError(f"{path}: expected a JSON list of sites")
    sites = []
    for index, item in enumerate(data):
        try:
            sites.append(Site.from_dict(item))
        except (SiteError, TypeError) as exc:
            raise SiteError(f"{path}: site #{index + 1}: {exc}") from None
    return sites


def save_sites(path: str | os.PathLike, sites) -> None:
    """Write the table atomically, so a reader (the CLI, a restart) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # One site per line: readable and diff-friendly even for thousands of sites.
    lines = ",\n".join(json.dumps(site.to_dict(), ensure_ascii=False) for site in sites)
    tmp.write_text(f"[\n{lines}\n]\n" if lines else "[]\n", encoding="utf-8")
    os.replace(tmp, path)
