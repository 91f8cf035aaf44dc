"""The risk score of a finding: a documented pure function of what makes a problem urgent in a school network.

score = severity base × MLPS factor × exposure factor × critical-infrastructure factor × children's-PI factor,
rounded and capped at 100. The parts are returned with the score so the page can show why.

| part | values |
|---|---|
| severity base | critical 40, high 25, medium 12, low 5, info 1 |
| MLPS level of the asset's system | none/1 ×1.0, 2 ×1.2, 3 ×1.5, 4–5 ×2.0 |
| internet-facing | ×1.5 (otherwise ×1.0) |
| critical information infrastructure | ×1.5 |
| holds children's personal information | ×1.3 |
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITY_BASE = {"critical": 40, "high": 25, "medium": 12, "low": 5, "info": 1}
LEVEL_FACTOR = {None: 1.0, 1: 1.0, 2: 1.2, 3: 1.5, 4: 2.0, 5: 2.0}
EXPOSURE_FACTOR = 1.5
CII_FACTOR = 1.5
CHILD_PI_FACTOR = 1.3
MAX_SCORE = 100


@dataclass(frozen=True)
class RiskScore:
    score: int
    parts: tuple[tuple[str, float], ...]  # (part name, value) in the order applied


def risk_score(
    severity: str,
    mlps_level: int | None = None,
    internet_facing: bool = False,
    critical_infrastructure: bool = False,
    holds_child_pi: bool = False,
) -> RiskScore:
    if severity not in SEVERITY_BASE:
        raise ValueError(f"unknown severity {severity!r}")
    if mlps_level not in LEVEL_FACTOR:
        raise ValueError(f"unknown MLPS level {mlps_level!r}")
    parts = [("severity", float(SEVERITY_BASE[severity])), ("mlps_level", LEVEL_FACTOR[mlps_level])]
    parts.append(("internet_facing", EXPOSURE_FACTOR if internet_facing else 1.0))
    parts.append(("critical_infrastructure", CII_FACTOR if critical_infrastructure else 1.0))
    parts.append(("children_pi", CHILD_PI_FACTOR if holds_child_pi else 1.0))
    value = 1.0
    for _name, factor in parts:
        value *= factor
    return RiskScore(min(MAX_SCORE, round(value)), tuple(parts))
