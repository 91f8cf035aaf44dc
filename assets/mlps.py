"""MLPS 2.0 (网络安全等级保护) rules as pure functions: grading, procedure states, assessment conclusion, due duties.

Nothing here touches the ORM or imports a model: the ledger, the grading wizard, the workflow views, the daily duty
task and (later) the findings engine all call these functions with plain values, so the rules live in one place and are
tested exhaustively and fast (assets/tests/test_mlps_rules.py). Sources: domain.md §2 (GB/T 22240-2020 grading,
procedure, deadlines, conclusions), §4 (data levels) and §8 (education apps).

Human-readable texts use English msgids translated through gettext. Labels are lazy (safe at import without Django
settings); the sentences built by :meth:`GradingResult.reasoning` and the ``detail`` of a :class:`Duty` are translated
when they are built, in the active language, so building them needs configured settings (always the case inside Django).

Public API (see each docstring):

- grading: :func:`grade` → :class:`GradingResult`, :class:`GradingPolicy`, :data:`MATRIX`, :func:`matrix_level`,
  :data:`OBJECTS`, :data:`DEGREES`, :data:`LEVEL_NAMES`, :data:`DATA_LEVELS`, :func:`highest_data_level`;
- procedure: :data:`STATES`, :func:`allowed_transitions`, :func:`can_transition`, :data:`FILED_STATES`;
- conclusion: :func:`assessment_conclusion`, :data:`CONCLUSIONS`;
- duties: :class:`MLPSPolicy`, :class:`SystemFacts`, :class:`AppFacts`, :class:`Duty`, :func:`duties`,
  :func:`app_duties`, :func:`duty_state`, :func:`worst_state`, :func:`duty_key`, :func:`add_months`,
  :func:`default_certificate_valid_until`.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# ---- grading (GB/T 22240-2020, domain.md §2.1) -----------------------------------------------------------------------

#: 受侵害的客体 — the harmed objects, in matrix (row) order.
OBJECT_CITIZEN = "citizen"  # 公民、法人和其他组织的合法权益
OBJECT_SOCIETY = "society"  # 社会秩序、公共利益
OBJECT_STATE = "state"  # 国家安全

OBJECTS: tuple[tuple[str, str], ...] = (
    (OBJECT_CITIZEN, _("Legitimate rights and interests of citizens, legal persons and other organisations")),
    (OBJECT_SOCIETY, _("Social order and public interest")),
    (OBJECT_STATE, _("National security")),
)
OBJECT_CODES: tuple[str, ...] = tuple(code for code, _label in OBJECTS)
OBJECT_LABELS: Mapping[str, str] = MappingProxyType(dict(OBJECTS))

#: 侵害程度 — the degrees of harm, in matrix (column) order.
DEGREE_GENERAL = "general"  # 一般损害
DEGREE_SERIOUS = "serious"  # 严重损害
DEGREE_SPECIAL = "special"  # 特别严重损害

DEGREES: tuple[tuple[str, str], ...] = (
    (DEGREE_GENERAL, _("General harm")),
    (DEGREE_SERIOUS, _("Serious harm")),
    (DEGREE_SPECIAL, _("Especially serious harm")),
)
DEGREE_CODES: tuple[str, ...] = tuple(code for code, _label in DEGREES)
DEGREE_LABELS: Mapping[str, str] = MappingProxyType(dict(DEGREES))

#: The GB/T 22240-2020 matrix, keyed by (object, degree); iteration order is matrix order (row by row).
MATRIX: Mapping[tuple[str, str], int] = MappingProxyType(
    {
        (OBJECT_CITIZEN, DEGREE_GENERAL): 1,
        (OBJECT_CITIZEN, DEGREE_SERIOUS): 2,
        (OBJECT_CITIZEN, DEGREE_SPECIAL): 2,
        (OBJECT_SOCIETY, DEGREE_GENERAL): 2,
        (OBJECT_SOCIETY, DEGREE_SERIOUS): 3,
        (OBJECT_SOCIETY, DEGREE_SPECIAL): 4,
        (OBJECT_STATE, DEGREE_GENERAL): 3,
        (OBJECT_STATE, DEGREE_SERIOUS): 4,
        (OBJECT_STATE, DEGREE_SPECIAL): 5,
    }
)
#: Every (object, degree) pair in matrix order; the position is the tie-break when two pairs give the same level.
PAIRS: tuple[tuple[str, str], ...] = tuple(MATRIX)
_PAIR_ORDER: Mapping[tuple[str, str], int] = MappingProxyType({pair: i for i, pair in enumerate(PAIRS)})

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)
#: 1 自主保护级, 2 指导保护级, 3 监督保护级, 4 强制保护级, 5 专控保护级.
LEVEL_NAMES: Mapping[int, str] = MappingProxyType(
    {
        1: _("Self-protection"),
        2: _("Guided protection"),
        3: _("Supervised protection"),
        4: _("Mandatory protection"),
        5: _("Specially controlled protection"),
    }
)
#: Ready for a model field's ``choices``.
LEVEL_CHOICES: tuple[tuple[int, str], ...] = tuple(LEVEL_NAMES.items())

#: The two aspects graded with the same matrix.
ASPECT_BUSINESS = "business"  # 业务信息安全
ASPECT_SERVICE = "service"  # 系统服务安全
ASPECT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        ASPECT_BUSINESS: _("Business information security"),
        ASPECT_SERVICE: _("System service security"),
    }
)

#: Data levels (GB/T 43697-2024, domain.md §4), highest first. "general4" is the most sensitive general level.
DATA_CORE = "core"
DATA_IMPORTANT = "important"
DATA_GENERAL_4 = "general4"
DATA_GENERAL_3 = "general3"
DATA_GENERAL_2 = "general2"
DATA_GENERAL_1 = "general1"

DATA_LEVELS: tuple[tuple[str, str], ...] = (
    (DATA_CORE, _("Core data")),
    (DATA_IMPORTANT, _("Important data")),
    (DATA_GENERAL_4, _("General data, level 4")),
    (DATA_GENERAL_3, _("General data, level 3")),
    (DATA_GENERAL_2, _("General data, level 2")),
    (DATA_GENERAL_1, _("General data, level 1")),
)
DATA_LEVEL_CODES: tuple[str, ...] = tuple(code for code, _label in DATA_LEVELS)
DATA_LEVEL_LABELS: Mapping[str, str] = MappingProxyType(dict(DATA_LEVELS))
#: Sensitivity rank: higher is more sensitive (core 6 … general1 1).
DATA_LEVEL_RANK: Mapping[str, int] = MappingProxyType(
    {code: len(DATA_LEVEL_CODES) - i for i, code in enumerate(DATA_LEVEL_CODES)}
)


def highest_data_level(levels: Iterable[str | None]) -> str | None:
    """The most sensitive of ``levels`` (就高从严), ignoring ``None``/empty; ``None`` when nothing is given.

    Raises ``ValueError`` on an unknown data level.
    """
    best: str | None = None
    for level in levels:
        if not level:
            continue
        _check_data_level(level)
        if best is None or DATA_LEVEL_RANK[level] > DATA_LEVEL_RANK[best]:
            best = level
    return best


def _check_data_level(data_level: str) -> None:
    if not isinstance(data_level, str) or data_level not in DATA_LEVEL_RANK:
        raise ValueError(f"unknown data level {data_level!r}; expected one of {', '.join(DATA_LEVEL_CODES)}")


def _check_level(level: object, what: str = "level") -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise ValueError(f"{what} must be an MLPS level 1..5, got {level!r}")
    return level


@dataclass(frozen=True)
class GradingPolicy:
    """Data-level floors of the 2025 filing templates (configurable, on by default; ``None`` disables a floor).

    A floor only ever raises a level. Core data is also "at least important" (就高从严), so a system holding core data
    gets the higher of both enabled floors: with ``core_data_floor=None`` it still gets the important-data floor.
    """

    important_data_floor: int | None = 3
    core_data_floor: int | None = 4

    def __post_init__(self) -> None:
        for name in ("important_data_floor", "core_data_floor"):
            value = getattr(self, name)
            if value is not None:
                _check_level(value, name)

    def floor_for(self, data_level: str | None) -> int | None:
        """The minimum level for a system holding ``data_level``, or ``None`` when no floor applies."""
        if data_level == DATA_CORE:
            floors = [f for f in (self.core_data_floor, self.important_data_floor) if f is not None]
        elif data_level == DATA_IMPORTANT:
            floors = [self.important_data_floor] if self.important_data_floor is not None else []
        else:
            floors = []
        return max(floors) if floors else None


def matrix_level(obj: str, degree: str) -> int:
    """The level the GB/T 22240-2020 matrix gives to harm of ``degree`` to ``obj``; ``ValueError`` on unknown codes."""
    if not isinstance(obj, str) or obj not in OBJECT_LABELS:
        raise ValueError(f"unknown harmed object {obj!r}; expected one of {', '.join(OBJECT_CODES)}")
    if not isinstance(degree, str) or degree not in DEGREE_LABELS:
        raise ValueError(f"unknown degree of harm {degree!r}; expected one of {', '.join(DEGREE_CODES)}")
    return MATRIX[(obj, degree)]


@dataclass(frozen=True)
class GradingResult:
    """The outcome of :func:`grade`: the three numbers of the filing form, what set them, and the floor if any.

    ``business_pairs``/``service_pairs`` are the ticked pairs, deduplicated, in matrix order. ``business_pair`` and
    ``service_pair`` are the pairs that set each aspect's level (on a tie, the first in matrix order).
    ``computed_level`` is the higher of the two aspects; ``level`` is the final level after the data-level floor;
    ``floor_applied`` is the data level whose floor raised it (``None`` when no floor raised anything) and
    ``floor_level`` the floor that applied to ``data_level`` (raising or not).
    """

    business_level: int
    service_level: int
    computed_level: int
    level: int
    business_pair: tuple[str, str]
    service_pair: tuple[str, str]
    floor_applied: str | None
    business_pairs: tuple[tuple[str, str], ...] = ()
    service_pairs: tuple[tuple[str, str], ...] = ()
    data_level: str | None = None
    floor_level: int | None = None

    @property
    def deciding_aspect(self) -> str:
        """``"business"``, ``"service"``, or ``"both"`` when the two aspects have the same level."""
        if self.business_level > self.service_level:
            return ASPECT_BUSINESS
        if self.service_level > self.business_level:
            return ASPECT_SERVICE
        return "both"

    @property
    def level_name(self) -> str:
        """The name of the final level (lazy translation), e.g. 监督保护级 for 3."""
        return LEVEL_NAMES[self.level]

    @property
    def requires_filing(self) -> bool:
        """Level 2 and above must be filed with public security; level 1 stops after grading."""
        return self.level >= 2

    @property
    def requires_expert_review(self) -> bool:
        """Expert review and regulator approval are required for level 2 and above."""
        return self.level >= 2

    def reasoning(self) -> list[str]:
        """The wizard's explanation, one sentence per step, in the active language.

        Lines: the pair that set the business level, the pair that set the service level, which aspect decided the
        computed level, the data-level floor (raising, or already met) when one applies, and the final level.
        """
        lines = [
            _aspect_line(ASPECT_BUSINESS, self.business_level, self.business_pair, len(self.business_pairs)),
            _aspect_line(ASPECT_SERVICE, self.service_level, self.service_pair, len(self.service_pairs)),
        ]
        numbers = {"business": self.business_level, "service": self.service_level, "level": self.computed_level}
        if self.deciding_aspect == ASPECT_BUSINESS:
            lines.append(
                gettext(
                    "Business information security (level %(business)d) is higher than system service security "
                    "(level %(service)d), so it decides: computed level %(level)d."
                )
                % numbers
            )
        elif self.deciding_aspect == ASPECT_SERVICE:
            lines.append(
                gettext(
                    "System service security (level %(service)d) is higher than business information security "
                    "(level %(business)d), so it decides: computed level %(level)d."
                )
                % numbers
            )
        else:
            lines.append(gettext("Both aspects are at level %(level)d: computed level %(level)d.") % numbers)
        if self.floor_level is not None and self.data_level is not None:
            params = {
                "data": DATA_LEVEL_LABELS[self.data_level],
                "floor": self.floor_level,
                "computed": self.computed_level,
                "level": self.level,
            }
            if self.floor_applied is not None:
                lines.append(
                    gettext(
                        "The system holds %(data)s, which requires at least level %(floor)d: the level is raised "
                        "from %(computed)d to %(level)d."
                    )
                    % params
                )
            else:
                lines.append(
                    gettext(
                        "The system holds %(data)s, which requires at least level %(floor)d: level %(computed)d "
                        "already meets it."
                    )
                    % params
                )
        lines.append(
            gettext("Final level: %(level)d (%(name)s).") % {"level": self.level, "name": LEVEL_NAMES[self.level]}
        )
        return lines


def _aspect_line(aspect: str, level: int, pair: tuple[str, str], ticked: int) -> str:
    params = {
        "aspect": ASPECT_LABELS[aspect],
        "level": level,
        "object": OBJECT_LABELS[pair[0]],
        "degree": DEGREE_LABELS[pair[1]],
        "n": ticked,
    }
    if ticked > 1:
        return (
            gettext(
                "%(aspect)s: level %(level)d, set by %(degree)s to “%(object)s” "
                "(the highest of %(n)d ticked harmed objects and degrees)."
            )
            % params
        )
    return gettext("%(aspect)s: level %(level)d, set by %(degree)s to “%(object)s”.") % params


def _aspect(aspect: str, pairs: Iterable[tuple[str, str]]) -> tuple[int, tuple[str, str], tuple[tuple[str, str], ...]]:
    """Level, deciding pair and the sorted distinct pairs of one aspect."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
        raise ValueError(f"{aspect}: expected (harmed object, degree) pairs, got {pairs!r}")
    seen: set[tuple[str, str]] = set()
    for item in pairs:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            raise ValueError(f"{aspect}: expected a (harmed object, degree) pair, got {item!r}")
        obj, degree = item
        try:
            matrix_level(obj, degree)
        except ValueError as exc:
            raise ValueError(f"{aspect}: {exc}") from None
        seen.add((obj, degree))
    if not seen:
        raise ValueError(f"{aspect}: tick at least one harmed object with a degree of harm")
    ordered = tuple(sorted(seen, key=_PAIR_ORDER.__getitem__))
    # max() keeps the first maximal element, and ``ordered`` is in matrix order: the tie-break is deterministic.
    deciding = max(ordered, key=MATRIX.__getitem__)
    return MATRIX[deciding], deciding, ordered


def grade(
    business: Iterable[tuple[str, str]],
    service: Iterable[tuple[str, str]],
    data_level: str | None = None,
    policy: GradingPolicy = GradingPolicy(),  # noqa: B008 - frozen, so one shared default is safe
) -> GradingResult:
    """Grade a system by GB/T 22240-2020 (domain.md §2.1).

    ``business`` and ``service`` are the (harmed object, degree) pairs the grader ticked for business-information
    security and system-service security (codes from :data:`OBJECTS` and :data:`DEGREES`; duplicates are ignored).
    Each aspect's level is the maximum over its pairs; the computed level is the higher of the two aspects; then the
    floor for ``data_level`` (the highest data level the system holds; ``None`` or ``""`` = not recorded) raises it
    if it is lower. Floors never lower a level.

    Raises ``ValueError`` naming the problem for an aspect without any pair, an unknown object, degree or data level.
    """
    business_level, business_pair, business_pairs = _aspect(ASPECT_BUSINESS, business)
    service_level, service_pair, service_pairs = _aspect(ASPECT_SERVICE, service)
    if data_level == "":
        data_level = None
    if data_level is not None:
        _check_data_level(data_level)
    computed = max(business_level, service_level)
    floor = policy.floor_for(data_level)
    level = computed if floor is None else max(computed, floor)
    return GradingResult(
        business_level=business_level,
        service_level=service_level,
        computed_level=computed,
        level=level,
        business_pair=business_pair,
        service_pair=service_pair,
        floor_applied=data_level if level > computed else None,
        business_pairs=business_pairs,
        service_pairs=service_pairs,
        data_level=data_level,
        floor_level=floor,
    )


# ---- procedure (domain.md §2.2) --------------------------------------------------------------------------------------

STATE_DRAFT = "draft"  # 定级中
STATE_EXPERT_REVIEW = "expert_review"  # 专家评审
STATE_REGULATOR_APPROVAL = "regulator_approval"  # 主管部门审核
STATE_FILED = "filed"  # 已备案
STATE_ASSESSED = "assessed"  # 已测评
STATE_RECTIFYING = "rectifying"  # 整改中
STATE_COMPLIANT = "compliant"  # 符合
STATE_GRADED_FINAL = "graded_final"  # 已定级(第一级, 无备案义务)

STATES: tuple[tuple[str, str], ...] = (
    (STATE_DRAFT, _("Grading in progress")),
    (STATE_EXPERT_REVIEW, _("Expert review")),
    (STATE_REGULATOR_APPROVAL, _("Regulator approval")),
    (STATE_FILED, _("Filed")),
    (STATE_ASSESSED, _("Assessed")),
    (STATE_RECTIFYING, _("Rectifying")),
    (STATE_COMPLIANT, _("Compliant")),
    (STATE_GRADED_FINAL, _("Graded (no filing duty)")),
)
STATE_CODES: tuple[str, ...] = tuple(code for code, _label in STATES)
STATE_LABELS: Mapping[str, str] = MappingProxyType(dict(STATES))
#: States in which the system counts as filed with public security.
FILED_STATES: frozenset[str] = frozenset({STATE_FILED, STATE_ASSESSED, STATE_RECTIFYING, STATE_COMPLIANT})
#: States a record is never "returned" from: the level-1 end state and a compliant system.
FINAL_STATES: frozenset[str] = frozenset({STATE_GRADED_FINAL, STATE_COMPLIANT})

# Forward moves for levels 2..5; "returned to draft" is added from every non-final state other than draft.
_FORWARD: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        STATE_DRAFT: frozenset({STATE_EXPERT_REVIEW}),
        STATE_EXPERT_REVIEW: frozenset({STATE_REGULATOR_APPROVAL}),
        STATE_REGULATOR_APPROVAL: frozenset({STATE_FILED}),
        STATE_FILED: frozenset({STATE_ASSESSED}),
        # assessed → compliant only with a 符合 conclusion (checked in allowed_transitions)
        STATE_ASSESSED: frozenset({STATE_RECTIFYING, STATE_COMPLIANT}),
        # rectifying → compliant when rectification is accepted; → assessed after a re-assessment
        STATE_RECTIFYING: frozenset({STATE_COMPLIANT, STATE_ASSESSED}),
        # the next periodic assessment of a compliant system is recorded on the same record
        STATE_COMPLIANT: frozenset({STATE_ASSESSED}),
        STATE_GRADED_FINAL: frozenset(),
    }
)


def allowed_transitions(state: str, level: int | None, *, conclusion: str | None = None) -> set[str]:
    """The states a record in ``state`` for a system graded at ``level`` may move to (domain.md §2.2).

    Levels 2..5: draft → expert_review → regulator_approval → filed → assessed → rectifying → compliant;
    assessed → compliant only when ``conclusion`` (of the latest assessment) is ``"compliant"`` (符合);
    rectifying → assessed after a re-assessment; compliant → assessed for the next periodic assessment; any
    non-final state except draft → draft when returned. Level 1: draft → graded_final (terminal, no filing duty), and
    a level-1 record found in a level-2+ state can only be returned to draft. ``level=None`` (not graded yet) allows
    nothing: grade first. A material change or re-grade starts a new record, so it is not a transition.

    Raises ``ValueError`` for an unknown state, level or conclusion.
    """
    if not isinstance(state, str) or state not in STATE_LABELS:
        raise ValueError(f"unknown MLPS procedure state {state!r}; expected one of {', '.join(STATE_CODES)}")
    if conclusion is not None and (not isinstance(conclusion, str) or conclusion not in CONCLUSION_LABELS):
        raise ValueError(f"unknown assessment conclusion {conclusion!r}; expected one of {', '.join(CONCLUSION_CODES)}")
    if level is None:
        return set()
    _check_level(level)
    if level == 1:
        if state == STATE_DRAFT:
            return {STATE_GRADED_FINAL}
        if state in FINAL_STATES:
            return set()
        return {STATE_DRAFT}
    targets = set(_FORWARD[state])
    if state == STATE_ASSESSED and conclusion != CONCLUSION_COMPLIANT:
        targets.discard(STATE_COMPLIANT)
    if state not in FINAL_STATES and state != STATE_DRAFT:
        targets.add(STATE_DRAFT)
    return targets


def can_transition(from_state: str, to_state: str, level: int | None, *, conclusion: str | None = None) -> bool:
    """Whether ``from_state`` → ``to_state`` is allowed at ``level`` (see :func:`allowed_transitions`).

    Raises ``ValueError`` for an unknown state (either one), level or conclusion.
    """
    if not isinstance(to_state, str) or to_state not in STATE_LABELS:
        raise ValueError(f"unknown MLPS procedure state {to_state!r}; expected one of {', '.join(STATE_CODES)}")
    return to_state in allowed_transitions(from_state, level, conclusion=conclusion)


# ---- assessment conclusion (domain.md §2.3) --------------------------------------------------------------------------

CONCLUSION_COMPLIANT = "compliant"  # 符合
CONCLUSION_BASICALLY_COMPLIANT = "basically_compliant"  # 基本符合
CONCLUSION_NON_COMPLIANT = "non_compliant"  # 不符合

CONCLUSIONS: tuple[tuple[str, str], ...] = (
    (CONCLUSION_COMPLIANT, _("Compliant")),
    (CONCLUSION_BASICALLY_COMPLIANT, _("Basically compliant")),
    (CONCLUSION_NON_COMPLIANT, _("Non-compliant")),
)
CONCLUSION_CODES: tuple[str, ...] = tuple(code for code, _label in CONCLUSIONS)
CONCLUSION_LABELS: Mapping[str, str] = MappingProxyType(dict(CONCLUSIONS))


def assessment_conclusion(compliance_rate: float, major_risk_count: int) -> str:
    """The conclusion of an assessment (等级测评结论) from its compliance rate in percent and its major-risk items.

    - ``"compliant"`` (符合): rate > 90 and no major-risk item;
    - ``"non_compliant"`` (不符合): rate < 60;
    - ``"basically_compliant"`` (基本符合): otherwise — 60 ≤ rate ≤ 90, or rate > 90 with major-risk items.

    Exactly 90 and exactly 60 are basically compliant. Raises ``ValueError`` for a rate outside 0..100 (or NaN) and a
    negative or non-integer risk count.
    """
    if isinstance(compliance_rate, bool) or not isinstance(compliance_rate, (int, float)):
        raise ValueError(f"compliance rate must be a number of percent, got {compliance_rate!r}")
    if math.isnan(compliance_rate) or not 0 <= compliance_rate <= 100:
        raise ValueError(f"compliance rate must be between 0 and 100 percent, got {compliance_rate!r}")
    if isinstance(major_risk_count, bool) or not isinstance(major_risk_count, int) or major_risk_count < 0:
        raise ValueError(f"major-risk item count must be an integer ≥ 0, got {major_risk_count!r}")
    if compliance_rate < 60:
        return CONCLUSION_NON_COMPLIANT
    if compliance_rate > 90 and major_risk_count == 0:
        return CONCLUSION_COMPLIANT
    return CONCLUSION_BASICALLY_COMPLIANT


# ---- due duties (domain.md §2.3, §8) ---------------------------------------------------------------------------------

LIFECYCLE_BUILDING = "building"  # 建设中
LIFECYCLE_RUNNING = "running"  # 运行
LIFECYCLE_STOPPED = "stopped"  # 停用
LIFECYCLE_RETIRED = "retired"  # 下线
LIFECYCLE_STATUSES: tuple[str, ...] = (LIFECYCLE_BUILDING, LIFECYCLE_RUNNING, LIFECYCLE_STOPPED, LIFECYCLE_RETIRED)

DUTY_OK = "ok"
DUTY_DUE_SOON = "due_soon"
DUTY_OVERDUE = "overdue"
DUTY_STATES: tuple[tuple[str, str], ...] = (
    (DUTY_OK, _("OK")),
    (DUTY_DUE_SOON, _("Due soon")),
    (DUTY_OVERDUE, _("Overdue")),
)
DUTY_STATE_LABELS: Mapping[str, str] = MappingProxyType(dict(DUTY_STATES))
#: Severity order of duty states: a higher number is worse.
DUTY_STATE_ORDER: Mapping[str, int] = MappingProxyType({DUTY_OK: 0, DUTY_DUE_SOON: 1, DUTY_OVERDUE: 2})

DUTY_GRADING = "grading"
DUTY_INTERNET_FACING_UNGRADED = "internet_facing_ungraded"
DUTY_FILING = "filing"
DUTY_CERTIFICATE_RENEWAL = "certificate_renewal"
DUTY_ASSESSMENT = "assessment"
DUTY_ASSESSMENT_WITH_HIGH_RISK = "assessment_with_high_risk"
DUTY_SELF_INSPECTION = "self_inspection"
DUTY_APP_PROVIDER_FILING = "app_provider_filing"
DUTY_APP_USER_FILING = "app_user_filing"
DUTY_APP_ICP_FILING = "app_icp_filing"
DUTY_APP_MLPS_FILING = "app_mlps_filing"
DUTY_APP_BLACKLISTED = "app_blacklisted"

#: Every duty kind with its label, in the order :func:`duties` and :func:`app_duties` list them.
DUTY_KINDS: tuple[tuple[str, str], ...] = (
    (DUTY_GRADING, _("MLPS grading")),
    (DUTY_INTERNET_FACING_UNGRADED, _("Internet-facing system without MLPS level")),
    (DUTY_FILING, _("Filing with public security")),
    (DUTY_CERTIFICATE_RENEWAL, _("Filing certificate renewal")),
    (DUTY_ASSESSMENT, _("MLPS assessment")),
    (DUTY_ASSESSMENT_WITH_HIGH_RISK, _("Assessment overdue with open high-risk items")),
    (DUTY_SELF_INSPECTION, _("Self-inspection")),
    (DUTY_APP_PROVIDER_FILING, _("Education app provider filing")),
    (DUTY_APP_USER_FILING, _("Education app user filing")),
    (DUTY_APP_ICP_FILING, _("Education app ICP filing")),
    (DUTY_APP_MLPS_FILING, _("Education app MLPS filing")),
    (DUTY_APP_BLACKLISTED, _("Blacklisted education app in use")),
)
DUTY_KIND_CODES: tuple[str, ...] = tuple(code for code, _label in DUTY_KINDS)
DUTY_KIND_LABELS: Mapping[str, str] = MappingProxyType(dict(DUTY_KINDS))


def _mapping(value: Mapping[int, int]) -> Mapping[int, int]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class MLPSPolicy:
    """Configurable deadlines of domain.md §2.3 (defaults are what EduSec ships).

    ``assessment_months`` and ``self_inspection_months`` map a level to its interval in calendar months; a level
    without an entry has no such duty. By default level 2 has an assessment every 24 months but **no**
    self-inspection (no national rule), and level 1 has neither. ``renewal_notice_days`` is the due-soon window of the
    certificate renewal; ``due_soon_days`` that of every other dated duty. The mappings are copied read-only.
    """

    filing_days: int = 30
    certificate_years: int = 3
    renewal_notice_days: int = 90
    assessment_months: Mapping[int, int] = field(
        default_factory=lambda: _mapping({2: 24, 3: 12, 4: 6, 5: 6}), hash=False
    )
    self_inspection_months: Mapping[int, int] = field(default_factory=lambda: _mapping({3: 12, 4: 6, 5: 6}), hash=False)
    due_soon_days: int = 30

    def __post_init__(self) -> None:
        for name in ("filing_days", "certificate_years", "renewal_notice_days", "due_soon_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer ≥ 0, got {value!r}")
        for name in ("assessment_months", "self_inspection_months"):
            intervals = getattr(self, name)
            for level, months in intervals.items():
                _check_level(level, f"{name} key")
                if isinstance(months, bool) or not isinstance(months, int) or months < 1:
                    raise ValueError(f"{name}[{level}] must be a number of months ≥ 1, got {months!r}")
            object.__setattr__(self, name, _mapping(intervals))


@dataclass(frozen=True)
class SystemFacts:
    """One information system as :func:`duties` needs it, on one date, without the ORM.

    ``level`` is the level fixed for the system (``None`` while ungraded) and ``level_fixed_on`` the date it was
    approved; ``state`` the MLPS procedure state of the current record (``None`` if there is none); ``filed_on`` the
    filing date; the system counts as filed when ``filed_on`` is set or ``state`` is in :data:`FILED_STATES`.
    """

    lifecycle_status: str
    went_live_on: date | None = None
    internet_facing: bool = False
    level: int | None = None
    level_fixed_on: date | None = None
    state: str | None = None
    filed_on: date | None = None
    certificate_valid_until: date | None = None
    last_assessed_on: date | None = None
    last_self_inspection_on: date | None = None
    open_high_risk_count: int = 0

    def __post_init__(self) -> None:
        if self.lifecycle_status not in LIFECYCLE_STATUSES:
            raise ValueError(
                f"unknown lifecycle status {self.lifecycle_status!r}; expected one of {', '.join(LIFECYCLE_STATUSES)}"
            )
        if self.level is not None:
            _check_level(self.level)
        if self.state is not None and self.state not in STATE_LABELS:
            raise ValueError(f"unknown MLPS procedure state {self.state!r}; expected one of {', '.join(STATE_CODES)}")
        count = self.open_high_risk_count
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"open_high_risk_count must be an integer ≥ 0, got {count!r}")

    @property
    def is_filed(self) -> bool:
        """Filed with public security: a filing date is recorded or the record is in a filed-or-later state."""
        return self.filed_on is not None or self.state in FILED_STATES


@dataclass(frozen=True)
class AppFacts:
    """One education app or mini-program (domain.md §8) as :func:`app_duties` needs it.

    ``icp_filed``/``mlps_filed`` are the prerequisites of the provider filing; ``None`` means not recorded (no duty).
    """

    provider_filed: bool
    user_filed: bool
    blacklisted: bool
    in_use: bool
    icp_filed: bool | None = None
    mlps_filed: bool | None = None


@dataclass(frozen=True)
class Duty:
    """One duty of a system or app: ``kind`` (a code of :data:`DUTY_KINDS`), ``due_on`` (``None`` when there is no
    date, e.g. an ungraded running system or an app without filing), ``state`` (``"ok"``, ``"due_soon"`` or
    ``"overdue"``) and ``detail``, a sentence in the active language for people."""

    kind: str
    due_on: date | None
    state: str
    detail: str

    @property
    def label(self) -> str:
        """The kind's name (lazy translation)."""
        return DUTY_KIND_LABELS[self.kind]


def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar months (``n`` may be negative), clamped to the end of the target month.

    2027-01-31 + 1 month = 2027-02-28; 2028-02-29 + 12 months = 2029-02-28. Hand-written on the standard library (the
    rules module takes no third-party dependency); ``dateutil.relativedelta`` computes the same.
    """
    index = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ValueError(f"{d.isoformat()} + {n} months is outside the supported calendar")
    month = month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def default_certificate_valid_until(filed_on: date, policy: MLPSPolicy = MLPSPolicy()) -> date:  # noqa: B008
    """The validity end of a filing certificate when none is recorded: ``filed_on`` + ``certificate_years``."""
    return add_months(filed_on, 12 * policy.certificate_years)


def duty_state(due_on: date, today: date, window_days: int) -> str:
    """``"overdue"`` when ``today`` > ``due_on``; ``"due_soon"`` when ``due_on`` − ``window_days`` ≤ ``today`` ≤
    ``due_on``; otherwise ``"ok"``."""
    if today > due_on:
        return DUTY_OVERDUE
    if today >= due_on - timedelta(days=window_days):
        return DUTY_DUE_SOON
    return DUTY_OK


def _dated(kind: str, due_on: date, today: date, window_days: int, detail: str) -> Duty:
    return Duty(kind=kind, due_on=due_on, state=duty_state(due_on, today, window_days), detail=detail)


def duties(facts: SystemFacts, today: date, policy: MLPSPolicy = MLPSPolicy()) -> list[Duty]:  # noqa: B008
    """The MLPS duties of one system on ``today`` (domain.md §2.3), in :data:`DUTY_KINDS` order.

    Stopped and retired systems have none. A system is *live* when it is running, or building with a ``went_live_on``
    that has passed.

    - ``grading``: no level and running → overdue at once (``due_on`` = ``went_live_on`` if known); no level, building,
      with a planned ``went_live_on`` → due on that date (grade before going live).
    - ``internet_facing_ungraded``: live, internet-facing and no level → overdue.
    - ``filing``: level ≥ 2, not filed → due ``filing_days`` after the later of ``level_fixed_on`` and
      ``went_live_on`` (whichever exists). A building system counts only from ``went_live_on`` (30 days of going live);
      without it the duty is listed as ok with no date. A running system with neither date is overdue (it runs
      unfiled for an unknown time).
    - ``certificate_renewal``: filed → due on ``certificate_valid_until`` (or ``filed_on`` + ``certificate_years`` when
      not recorded), due soon from ``renewal_notice_days`` before it.
    - ``assessment`` (live systems whose level has an interval): due ``assessment_months[level]`` after
      ``last_assessed_on``, else ``filed_on``, else ``level_fixed_on``; no duty without any of them (the filing duty
      already flags it).
    - ``assessment_with_high_risk``: the assessment is overdue while ``open_high_risk_count`` > 0 → overdue; missing an
      assessment with open high-risk items is itself a high-risk finding.
    - ``self_inspection`` (live systems whose level has an interval): due ``self_inspection_months[level]`` after
      ``last_self_inspection_on``, else ``last_assessed_on``, else ``filed_on``, else ``level_fixed_on``.

    Dated duties use :func:`duty_state` with ``due_soon_days`` (the certificate with ``renewal_notice_days``).
    """
    status = facts.lifecycle_status
    if status in (LIFECYCLE_STOPPED, LIFECYCLE_RETIRED):
        return []
    live = status == LIFECYCLE_RUNNING or (facts.went_live_on is not None and facts.went_live_on <= today)
    level = facts.level
    result: list[Duty] = []

    # Grading and the internet-facing rule.
    if level is None:
        if status == LIFECYCLE_RUNNING:
            result.append(
                Duty(
                    DUTY_GRADING,
                    facts.went_live_on,
                    DUTY_OVERDUE,
                    gettext("Ungraded running system: grade it by GB/T 22240-2020 now."),
                )
            )
        elif facts.went_live_on is not None:
            result.append(
                _dated(
                    DUTY_GRADING,
                    facts.went_live_on,
                    today,
                    policy.due_soon_days,
                    gettext("Grade the system before it goes live on %(date)s.")
                    % {"date": facts.went_live_on.isoformat()},
                )
            )
        if facts.internet_facing and live:
            result.append(
                Duty(
                    DUTY_INTERNET_FACING_UNGRADED,
                    facts.went_live_on,
                    DUTY_OVERDUE,
                    gettext("Internet-facing system without an MLPS level: grade it now."),
                )
            )
        return result

    # Filing (level 2 and above).
    filed = facts.is_filed
    if level >= 2 and not filed:
        result.append(_filing_duty(facts, level, today, policy))

    # Certificate renewal.
    if filed:
        valid_until = facts.certificate_valid_until
        if valid_until is None and facts.filed_on is not None:
            valid_until = default_certificate_valid_until(facts.filed_on, policy)
        if valid_until is not None:
            result.append(
                _dated(
                    DUTY_CERTIFICATE_RENEWAL,
                    valid_until,
                    today,
                    policy.renewal_notice_days,
                    gettext("The filing certificate is valid until %(date)s; renew it in its last %(days)d days.")
                    % {"date": valid_until.isoformat(), "days": policy.renewal_notice_days},
                )
            )

    if not live:
        return result

    # Assessment, and the high-risk rule.
    months = policy.assessment_months.get(level)
    anchor = facts.last_assessed_on or facts.filed_on or facts.level_fixed_on
    if months is not None and anchor is not None:
        due = add_months(anchor, months)
        assessment = _dated(
            DUTY_ASSESSMENT,
            due,
            today,
            policy.due_soon_days,
            gettext("Level %(level)d: an MLPS assessment every %(months)d months; the next is due on %(date)s.")
            % {"level": level, "months": months, "date": due.isoformat()},
        )
        result.append(assessment)
        if assessment.state == DUTY_OVERDUE and facts.open_high_risk_count > 0:
            result.append(
                Duty(
                    DUTY_ASSESSMENT_WITH_HIGH_RISK,
                    due,
                    DUTY_OVERDUE,
                    gettext(
                        "The assessment due on %(date)s is overdue while %(count)d high-risk items are open: this is "
                        "itself a high-risk finding."
                    )
                    % {"date": due.isoformat(), "count": facts.open_high_risk_count},
                )
            )

    # Self-inspection.
    months = policy.self_inspection_months.get(level)
    anchor = facts.last_self_inspection_on or facts.last_assessed_on or facts.filed_on or facts.level_fixed_on
    if months is not None and anchor is not None:
        due = add_months(anchor, months)
        result.append(
            _dated(
                DUTY_SELF_INSPECTION,
                due,
                today,
                policy.due_soon_days,
                gettext("Level %(level)d: a self-inspection every %(months)d months; the next is due on %(date)s.")
                % {"level": level, "months": months, "date": due.isoformat()},
            )
        )
    return result


def _filing_duty(facts: SystemFacts, level: int, today: date, policy: MLPSPolicy) -> Duty:
    if facts.lifecycle_status == LIFECYCLE_BUILDING:
        anchors = [facts.went_live_on] if facts.went_live_on is not None else []
    else:
        anchors = [d for d in (facts.level_fixed_on, facts.went_live_on) if d is not None]
    params: dict[str, object] = {"level": level, "days": policy.filing_days}
    if anchors:
        due = max(anchors) + timedelta(days=policy.filing_days)
        params["date"] = due.isoformat()
        return _dated(
            DUTY_FILING,
            due,
            today,
            policy.due_soon_days,
            gettext("Level %(level)d system not filed with public security: file it by %(date)s.") % params,
        )
    if facts.lifecycle_status == LIFECYCLE_RUNNING:
        return Duty(
            DUTY_FILING,
            None,
            DUTY_OVERDUE,
            gettext("Level %(level)d system running without filing with public security: file it now.") % params,
        )
    return Duty(
        DUTY_FILING,
        None,
        DUTY_OK,
        gettext("Level %(level)d system: file it with public security within %(days)d days of going live.") % params,
    )


def app_duties(facts: AppFacts, today: date) -> list[Duty]:
    """The duties of one education app or mini-program (domain.md §8); an app not in use has none.

    An app in use must be provider-filed (教育APP备案) and user-filed with the supervising bureau, its ICP and MLPS
    prerequisites must be met when recorded, and a blacklisted app must be cleared: each failure is an overdue duty
    without a date. ``today`` is accepted for symmetry with :func:`duties` (these duties have no dates).
    """
    del today  # undated duties; kept in the signature so every duty function is called the same way
    if not facts.in_use:
        return []
    result: list[Duty] = []
    if not facts.provider_filed:
        result.append(
            Duty(DUTY_APP_PROVIDER_FILING, None, DUTY_OVERDUE, gettext("The app in use has no provider filing."))
        )
    if not facts.user_filed:
        result.append(
            Duty(
                DUTY_APP_USER_FILING,
                None,
                DUTY_OVERDUE,
                gettext("The app in use is not filed with the supervising education bureau."),
            )
        )
    if facts.icp_filed is False:
        result.append(Duty(DUTY_APP_ICP_FILING, None, DUTY_OVERDUE, gettext("The app in use has no ICP filing.")))
    if facts.mlps_filed is False:
        result.append(Duty(DUTY_APP_MLPS_FILING, None, DUTY_OVERDUE, gettext("The app in use has no MLPS filing.")))
    if facts.blacklisted:
        result.append(
            Duty(
                DUTY_APP_BLACKLISTED,
                None,
                DUTY_OVERDUE,
                gettext("The app is blacklisted but still in use: it must be cleared."),
            )
        )
    return result


def worst_state(duty_list: Iterable[Duty]) -> str:
    """The worst state among ``duty_list`` (overdue > due_soon > ok); ``"ok"`` when there are none."""
    worst = DUTY_OK
    for duty in duty_list:
        if DUTY_STATE_ORDER[duty.state] > DUTY_STATE_ORDER[worst]:
            worst = duty.state
    return worst


def duty_key(system_id: int | str, kind: str) -> str:
    """A stable key for one duty of one system or app, e.g. ``"mlps:42:filing"``, for recording state changes.

    Raises ``ValueError`` for an unknown kind or an id that is empty or contains ``":"``.
    """
    if kind not in DUTY_KIND_LABELS:
        raise ValueError(f"unknown duty kind {kind!r}; expected one of {', '.join(DUTY_KIND_CODES)}")
    text = str(system_id)
    if isinstance(system_id, bool) or not text or ":" in text:
        raise ValueError(f"invalid system id {system_id!r} for a duty key")
    return f"mlps:{text}:{kind}"
