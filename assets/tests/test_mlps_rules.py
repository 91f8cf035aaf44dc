"""Exhaustive tests of the pure MLPS rules in assets/mlps.py (no database).

Grading against the GB/T 22240-2020 matrix (every pair, every subset of pairs per aspect, the higher-of-two rule, every
floor), the procedure transitions for every state pair and level, the assessment conclusion at its boundaries, and every
due duty at its boundary days (the day before due-soon starts, the first due-soon day, the due day, the day after),
including leap years. Hypothesis covers the large input spaces with invariants.

The expected values below are written out independently of the module (the table of domain.md §2.1, the transition
list of the brief) so that a wrong constant in the module fails here.
"""

import dataclasses
import itertools
import os
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # run with ``-p no:django``: minimal settings for gettext
    import django
    from django.conf import settings as django_settings

    if not django_settings.configured:
        django_settings.configure(USE_I18N=True, LANGUAGE_CODE="en")
        django.setup()

from django.utils import translation  # noqa: E402

from assets import mlps  # noqa: E402
from assets.mlps import (  # noqa: E402
    AppFacts,
    Duty,
    GradingPolicy,
    MLPSPolicy,
    SystemFacts,
    add_months,
    allowed_transitions,
    app_duties,
    assessment_conclusion,
    can_transition,
    duties,
    duty_key,
    duty_state,
    grade,
    worst_state,
)

HYPOTHESIS = settings(max_examples=300, deadline=None, database=None)

# ---- the matrix, written out from domain.md §2.1 ---------------------------------------------------------------------

EXPECTED_MATRIX = {
    ("citizen", "general"): 1,
    ("citizen", "serious"): 2,
    ("citizen", "special"): 2,
    ("society", "general"): 2,
    ("society", "serious"): 3,
    ("society", "special"): 4,
    ("state", "general"): 3,
    ("state", "serious"): 4,
    ("state", "special"): 5,
}
ROW_ORDER = ["citizen", "society", "state"]
COLUMN_ORDER = ["general", "serious", "special"]
ALL_PAIRS = [(o, d) for o in ROW_ORDER for d in COLUMN_ORDER]
ALL_SUBSETS = [subset for r in range(1, 10) for subset in itertools.combinations(ALL_PAIRS, r)]
# one single pair per level, for combining aspects
PAIR_FOR_LEVEL = {
    1: ("citizen", "general"),
    2: ("citizen", "serious"),
    3: ("society", "serious"),
    4: ("state", "serious"),
    5: ("state", "special"),
}
DATA_LEVELS = ["core", "important", "general4", "general3", "general2", "general1"]


def expected_aspect(pairs):
    """(level, deciding pair) computed independently: the maximum, ties to the first pair in matrix order."""
    level = max(EXPECTED_MATRIX[p] for p in pairs)
    deciding = next(p for p in ALL_PAIRS if p in pairs and EXPECTED_MATRIX[p] == level)
    return level, deciding


def test_constants_match_the_domain_reference():
    assert mlps.OBJECT_CITIZEN == "citizen"
    assert mlps.OBJECT_SOCIETY == "society"
    assert mlps.OBJECT_STATE == "state"
    assert mlps.DEGREE_GENERAL == "general"
    assert mlps.DEGREE_SERIOUS == "serious"
    assert mlps.DEGREE_SPECIAL == "special"
    assert mlps.OBJECT_CODES == tuple(ROW_ORDER)
    assert mlps.DEGREE_CODES == tuple(COLUMN_ORDER)
    assert dict(mlps.MATRIX) == EXPECTED_MATRIX
    assert list(mlps.PAIRS) == ALL_PAIRS
    assert sorted(mlps.LEVEL_NAMES) == [1, 2, 3, 4, 5]
    assert [level for level, _label in mlps.LEVEL_CHOICES] == [1, 2, 3, 4, 5]
    assert (mlps.DATA_CORE, mlps.DATA_IMPORTANT) == ("core", "important")
    assert (mlps.DATA_GENERAL_1, mlps.DATA_GENERAL_2, mlps.DATA_GENERAL_3, mlps.DATA_GENERAL_4) == (
        "general1",
        "general2",
        "general3",
        "general4",
    )
    assert list(mlps.DATA_LEVEL_CODES) == DATA_LEVELS
    assert len(ALL_SUBSETS) == 511


def test_level_names_in_chinese_and_english():
    with translation.override("en"):
        assert [str(mlps.LEVEL_NAMES[n]) for n in range(1, 6)] == [
            "Self-protection",
            "Guided protection",
            "Supervised protection",
            "Mandatory protection",
            "Specially controlled protection",
        ]


# ---- grading: single pairs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pair", "level"), sorted(EXPECTED_MATRIX.items()))
def test_every_pair_against_the_matrix(pair, level):
    assert mlps.matrix_level(*pair) == level
    as_business = grade([pair], [("citizen", "general")])
    assert as_business.business_level == level
    assert as_business.business_pair == pair
    assert as_business.service_level == 1
    assert as_business.computed_level == as_business.level == level
    as_service = grade([("citizen", "general")], [pair])
    assert as_service.service_level == level
    assert as_service.service_pair == pair
    assert as_service.computed_level == as_service.level == level
    both = grade([pair], [pair])
    assert both.level == level
    assert both.deciding_aspect == "both"
    assert both.requires_filing is (level >= 2)
    assert both.requires_expert_review is (level >= 2)
    assert both.floor_applied is None


# ---- grading: every subset of pairs for each aspect ------------------------------------------------------------------


def test_every_subset_of_pairs_for_the_business_aspect():
    for subset in ALL_SUBSETS:
        level, deciding = expected_aspect(subset)
        for other_level, other_pair in PAIR_FOR_LEVEL.items():
            # order and duplicates of the ticked pairs do not matter
            result = grade(list(reversed(subset)) + [subset[0]], [other_pair])
            assert result.business_level == level, subset
            assert result.business_pair == deciding, subset
            assert result.business_pairs == subset, subset
            assert result.service_level == other_level
            assert result.service_pair == other_pair
            assert result.computed_level == result.level == max(level, other_level), (subset, other_pair)


def test_every_subset_of_pairs_for_the_service_aspect():
    for subset in ALL_SUBSETS:
        level, deciding = expected_aspect(subset)
        for other_level, other_pair in PAIR_FOR_LEVEL.items():
            result = grade(iter([other_pair]), iter(subset))  # any iterable, generators included
            assert result.service_level == level, subset
            assert result.service_pair == deciding, subset
            assert result.service_pairs == subset, subset
            assert result.business_level == other_level
            assert result.computed_level == result.level == max(level, other_level), (subset, other_pair)


def test_ties_pick_the_first_pair_in_matrix_order():
    assert grade([("society", "general"), ("citizen", "special"), ("citizen", "serious")], [PAIR_FOR_LEVEL[1]]) == (
        mlps.GradingResult(
            business_level=2,
            service_level=1,
            computed_level=2,
            level=2,
            business_pair=("citizen", "serious"),
            service_pair=("citizen", "general"),
            floor_applied=None,
            business_pairs=(("citizen", "serious"), ("citizen", "special"), ("society", "general")),
            service_pairs=(("citizen", "general"),),
            data_level=None,
            floor_level=None,
        )
    )
    assert grade([("state", "serious"), ("society", "special")], [PAIR_FOR_LEVEL[1]]).business_pair == (
        "society",
        "special",
    )
    assert grade([("state", "general"), ("society", "serious")], [PAIR_FOR_LEVEL[1]]).business_pair == (
        "society",
        "serious",
    )


# ---- grading: the higher of the two aspects --------------------------------------------------------------------------


@pytest.mark.parametrize(("business", "service"), list(itertools.product(range(1, 6), repeat=2)))
def test_higher_of_two_aspects_for_every_level_combination(business, service):
    result = grade([PAIR_FOR_LEVEL[business]], [PAIR_FOR_LEVEL[service]])
    assert (result.business_level, result.service_level) == (business, service)
    assert result.computed_level == result.level == max(business, service)
    expected = "business" if business > service else "service" if service > business else "both"
    assert result.deciding_aspect == expected
    assert result.level_name == mlps.LEVEL_NAMES[max(business, service)]


# ---- grading: floors -------------------------------------------------------------------------------------------------

POLICIES = [
    GradingPolicy(),
    GradingPolicy(important_data_floor=None),
    GradingPolicy(core_data_floor=None),
    GradingPolicy(important_data_floor=None, core_data_floor=None),
    GradingPolicy(important_data_floor=2, core_data_floor=5),
    GradingPolicy(important_data_floor=4, core_data_floor=3),
]


def expected_floor(policy, data_level):
    if data_level == "core":
        floors = [f for f in (policy.core_data_floor, policy.important_data_floor) if f is not None]
    elif data_level == "important":
        floors = [policy.important_data_floor] if policy.important_data_floor is not None else []
    else:
        floors = []
    return max(floors) if floors else None


def test_default_floors():
    assert GradingPolicy() == GradingPolicy(important_data_floor=3, core_data_floor=4)
    low = ([PAIR_FOR_LEVEL[1]], [PAIR_FOR_LEVEL[2]])
    important = grade(*low, data_level="important")
    assert (important.computed_level, important.level, important.floor_applied) == (2, 3, "important")
    core = grade(*low, data_level="core")
    assert (core.computed_level, core.level, core.floor_applied) == (2, 4, "core")
    # floors never lower a level
    high = grade([PAIR_FOR_LEVEL[5]], [PAIR_FOR_LEVEL[1]], data_level="important")
    assert (high.level, high.floor_applied, high.floor_level) == (5, None, 3)
    # equal: the floor is met, not applied
    met = grade([PAIR_FOR_LEVEL[3]], [PAIR_FOR_LEVEL[1]], data_level="important")
    assert (met.level, met.floor_applied, met.floor_level) == (3, None, 3)
    # general data has no floor; "" means not recorded
    for data_level in ("general4", "general1", None, ""):
        result = grade(*low, data_level=data_level)
        assert (result.level, result.floor_applied, result.floor_level) == (2, None, None)


@pytest.mark.parametrize("policy", POLICIES, ids=repr)
@pytest.mark.parametrize("data_level", DATA_LEVELS + [None])
@pytest.mark.parametrize("computed", [1, 2, 3, 4, 5])
def test_every_floor_on_and_off(policy, data_level, computed):
    result = grade([PAIR_FOR_LEVEL[computed]], [PAIR_FOR_LEVEL[1]], data_level=data_level, policy=policy)
    floor = expected_floor(policy, data_level)
    assert result.computed_level == computed
    assert result.floor_level == floor
    assert result.level == (computed if floor is None else max(computed, floor))
    assert result.level >= computed
    assert result.floor_applied == (data_level if floor is not None and floor > computed else None)
    assert result.data_level == data_level


def test_core_data_with_the_core_floor_disabled_still_gets_the_important_floor():
    result = grade([PAIR_FOR_LEVEL[1]], [PAIR_FOR_LEVEL[1]], "core", GradingPolicy(core_data_floor=None))
    assert (result.level, result.floor_applied) == (3, "core")
    off = grade([PAIR_FOR_LEVEL[1]], [PAIR_FOR_LEVEL[1]], "core", GradingPolicy(None, None))
    assert (off.level, off.floor_applied, off.floor_level) == (1, None, None)


@pytest.mark.parametrize("bad", [0, 6, -1, True, "3", 3.0])
def test_grading_policy_rejects_bad_floors(bad):
    with pytest.raises(ValueError, match="important_data_floor"):
        GradingPolicy(important_data_floor=bad)
    with pytest.raises(ValueError, match="core_data_floor"):
        GradingPolicy(core_data_floor=bad)


def test_highest_data_level():
    assert mlps.highest_data_level([]) is None
    assert mlps.highest_data_level([None, ""]) is None
    assert mlps.highest_data_level(["general1", "general4", "general2"]) == "general4"
    assert mlps.highest_data_level(["general4", "important", None]) == "important"
    assert mlps.highest_data_level(["important", "core", "general1"]) == "core"
    with pytest.raises(ValueError, match="secret"):
        mlps.highest_data_level(["general1", "secret"])


# ---- grading: reasoning ----------------------------------------------------------------------------------------------


def test_reasoning_names_the_deciding_pairs_the_aspect_and_the_floor():
    with translation.override("en"):
        result = grade(
            [("citizen", "special"), ("society", "serious")],
            [("society", "general")],
            data_level="core",
        )
        lines = result.reasoning()
        assert len(lines) == 5
        business, service, decision, floor, final = lines
        assert "Business information security" in business
        assert str(mlps.OBJECT_LABELS["society"]) in business and str(mlps.DEGREE_LABELS["serious"]) in business
        assert "level 3" in business and "2 ticked" in business
        assert "System service security" in service
        assert str(mlps.OBJECT_LABELS["society"]) in service and str(mlps.DEGREE_LABELS["general"]) in service
        assert "level 2" in service and "ticked" not in service
        assert "Business information security (level 3) is higher" in decision
        assert "computed level 3" in decision
        assert str(mlps.DATA_LEVEL_LABELS["core"]) in floor
        assert "raised from 3 to 4" in floor
        assert "4" in final and str(mlps.LEVEL_NAMES[4]) in final


def test_reasoning_when_service_decides_and_floor_is_already_met():
    with translation.override("en"):
        lines = grade([("citizen", "general")], [("state", "general")], data_level="important").reasoning()
        assert "System service security (level 3) is higher" in lines[2]
        assert str(mlps.DATA_LEVEL_LABELS["important"]) in lines[3]
        assert "already meets it" in lines[3]
        assert str(mlps.LEVEL_NAMES[3]) in lines[-1]


def test_reasoning_when_both_aspects_tie_and_no_floor():
    with translation.override("en"):
        lines = grade([("citizen", "serious")], [("society", "general")], data_level="general2").reasoning()
        assert len(lines) == 4
        assert "Both aspects are at level 2" in lines[2]
        assert str(mlps.OBJECT_LABELS["citizen"]) in lines[0]
        assert str(mlps.OBJECT_LABELS["society"]) in lines[1]


def test_reasoning_is_translated_in_the_active_language():
    # whatever the catalogue holds, each line is a plain str built in the active language
    with translation.override("zh-hans"):
        lines = grade([("state", "special")], [("citizen", "general")], "important").reasoning()
    assert all(isinstance(line, str) and line for line in lines)


# ---- grading: invalid input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("business", "service", "data_level", "message"),
    [
        ([], [("citizen", "general")], None, "business"),
        ([("citizen", "general")], [], None, "service"),
        ([], [], None, "business"),
        ([("nation", "general")], [("citizen", "general")], None, "nation"),
        ([("citizen", "general")], [("citizen", "catastrophic")], None, "catastrophic"),
        ([("citizen", "general")], [("citizen", "general")], "secret", "secret"),
        ([("citizen", "general")], [("citizen", "general")], "General1", "General1"),
        ([("citizen",)], [("citizen", "general")], None, "pair"),
        ([("citizen", "general", "x")], [("citizen", "general")], None, "pair"),
        (["citizen"], [("citizen", "general")], None, "pair"),
        ("citizen", [("citizen", "general")], None, "pairs"),
        ([("citizen", "general")], None, None, "pairs"),
        ([(["citizen"], "general")], [("citizen", "general")], None, "harmed object"),
        ([("citizen", "general")], [("citizen", "general")], 3, "data level"),
    ],
)
def test_invalid_grading_input_raises(business, service, data_level, message):
    with pytest.raises(ValueError, match=message):
        grade(business, service, data_level)


def test_invalid_pair_error_names_the_aspect():
    with pytest.raises(ValueError, match=r"^service: unknown harmed object 'nation'"):
        grade([("citizen", "general")], [("nation", "general")])
    with pytest.raises(ValueError, match=r"^business: unknown degree of harm 'mild'"):
        grade([("citizen", "mild")], [("citizen", "general")])
    with pytest.raises(ValueError, match="unknown harmed object"):
        mlps.matrix_level("nation", "general")


# ---- grading: invariants over random input ---------------------------------------------------------------------------

pair_sets = st.sets(st.sampled_from(ALL_PAIRS), min_size=1)
floors = st.one_of(st.none(), st.integers(min_value=1, max_value=5))


@HYPOTHESIS
@given(
    business=pair_sets,
    service=pair_sets,
    data_level=st.one_of(st.none(), st.sampled_from(DATA_LEVELS)),
    important=floors,
    core=floors,
)
def test_grading_invariants(business, service, data_level, important, core):
    policy = GradingPolicy(important_data_floor=important, core_data_floor=core)
    result = grade(business, service, data_level, policy)
    assert 1 <= result.level <= 5
    assert result.business_level == max(EXPECTED_MATRIX[p] for p in business)
    assert result.service_level == max(EXPECTED_MATRIX[p] for p in service)
    assert result.computed_level == max(result.business_level, result.service_level)
    assert result.level >= result.computed_level  # floors never lower
    assert result.business_pair in business and EXPECTED_MATRIX[result.business_pair] == result.business_level
    assert result.service_pair in service and EXPECTED_MATRIX[result.service_pair] == result.service_level
    if result.level > result.computed_level:
        assert data_level in ("important", "core")
        assert result.floor_applied == data_level
        assert result.level == result.floor_level
    else:
        assert result.floor_applied is None
    # without floors the level is the matrix result
    assert grade(business, service, data_level, GradingPolicy(None, None)).level == result.computed_level
    # more data sensitivity never lowers the level
    if data_level is not None:
        assert grade(business, service, "core", policy).level >= result.level
    assert len(result.reasoning()) in (4, 5)


# ---- procedure transitions -------------------------------------------------------------------------------------------

ALL_STATES = [
    "draft",
    "expert_review",
    "regulator_approval",
    "filed",
    "assessed",
    "rectifying",
    "compliant",
    "graded_final",
]
CONCLUSION_CODES = ["compliant", "basically_compliant", "non_compliant"]


def expected_targets(state, level, conclusion):
    """The transitions of the brief, written out by hand."""
    if level is None:
        return set()
    if level == 1:
        if state == "draft":
            return {"graded_final"}
        if state in ("graded_final", "compliant"):
            return set()
        return {"draft"}
    table = {
        "draft": {"expert_review"},
        "expert_review": {"regulator_approval", "draft"},
        "regulator_approval": {"filed", "draft"},
        "filed": {"assessed", "draft"},
        "assessed": {"rectifying", "draft"} | ({"compliant"} if conclusion == "compliant" else set()),
        "rectifying": {"compliant", "assessed", "draft"},
        "compliant": {"assessed"},
        "graded_final": set(),
    }
    return table[state]


def test_state_constants():
    assert [code for code, _label in mlps.STATES] == ALL_STATES
    assert mlps.FILED_STATES == {"filed", "assessed", "rectifying", "compliant"}


@pytest.mark.parametrize("level", [None, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("conclusion", [None, *CONCLUSION_CODES])
def test_every_transition_for_every_level(level, conclusion):
    for from_state in ALL_STATES:
        expected = expected_targets(from_state, level, conclusion)
        assert allowed_transitions(from_state, level, conclusion=conclusion) == expected, from_state
        for to_state in ALL_STATES:
            allowed = can_transition(from_state, to_state, level, conclusion=conclusion)
            assert allowed is (to_state in expected), (from_state, to_state, level, conclusion)
            if from_state == to_state:
                assert not allowed


def test_main_path_and_level_one_path():
    path = ["draft", "expert_review", "regulator_approval", "filed", "assessed", "rectifying", "compliant"]
    for level in (2, 3, 4, 5):
        for a, b in itertools.pairwise(path):
            assert can_transition(a, b, level), (a, b, level)
        assert not can_transition("draft", "graded_final", level)
        assert not can_transition("assessed", "compliant", level)
        assert can_transition("assessed", "compliant", level, conclusion="compliant")
        assert not can_transition("assessed", "compliant", level, conclusion="basically_compliant")
        assert can_transition("rectifying", "assessed", level)
        assert can_transition("expert_review", "draft", level)
        assert not can_transition("draft", "filed", level)  # no skipping review and approval
    assert can_transition("draft", "graded_final", 1)
    assert not can_transition("draft", "expert_review", 1)
    assert allowed_transitions("graded_final", 1) == set()


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("filing", "filed", 3), {}, "filing"),
        (("draft", "approved", 3), {}, "approved"),
        (("draft", "expert_review", 0), {}, "level"),
        (("draft", "expert_review", 6), {}, "level"),
        (("draft", "expert_review", "3"), {}, "level"),
        (("assessed", "compliant", 3), {"conclusion": "good"}, "good"),
    ],
)
def test_invalid_transition_input_raises(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        can_transition(*args, **kwargs)


# ---- assessment conclusion -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "without_major", "with_major"),
    [
        (0, "non_compliant", "non_compliant"),
        (59.99, "non_compliant", "non_compliant"),
        (60, "basically_compliant", "basically_compliant"),
        (60.0, "basically_compliant", "basically_compliant"),
        (60.01, "basically_compliant", "basically_compliant"),
        (75, "basically_compliant", "basically_compliant"),
        (89.99, "basically_compliant", "basically_compliant"),
        (90, "basically_compliant", "basically_compliant"),
        (90.0, "basically_compliant", "basically_compliant"),
        (90.01, "compliant", "basically_compliant"),
        (100, "compliant", "basically_compliant"),
        (100.0, "compliant", "basically_compliant"),
    ],
)
def test_conclusion_boundaries(rate, without_major, with_major):
    assert assessment_conclusion(rate, 0) == without_major
    assert assessment_conclusion(rate, 1) == with_major
    assert assessment_conclusion(rate, 7) == with_major


@pytest.mark.parametrize(
    ("rate", "count"),
    [(-0.01, 0), (100.01, 0), (float("nan"), 0), (float("inf"), 0), ("95", 0), (None, 0), (True, 0), (95, -1)]
    + [(95, 1.0), (95, True), (95, None)],
)
def test_conclusion_rejects_bad_input(rate, count):
    with pytest.raises(ValueError):
        assessment_conclusion(rate, count)


@HYPOTHESIS
@given(rate=st.floats(min_value=0, max_value=100), count=st.integers(min_value=0, max_value=50))
def test_conclusion_invariants(rate, count):
    conclusion = assessment_conclusion(rate, count)
    assert conclusion in mlps.CONCLUSION_LABELS
    assert (conclusion == "compliant") == (rate > 90 and count == 0)
    assert (conclusion == "non_compliant") == (rate < 60)
    # more risks never improve a conclusion
    order = {"non_compliant": 0, "basically_compliant": 1, "compliant": 2}
    assert order[assessment_conclusion(rate, count + 1)] <= order[conclusion]


# ---- month arithmetic ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2027, 2, 28), 12, date(2028, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2028, 2, 29), 6, date(2028, 8, 29)),
        (date(2028, 2, 29), 24, date(2030, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),
        (date(2027, 12, 31), 2, date(2028, 2, 29)),
        (date(2028, 3, 31), -1, date(2028, 2, 29)),
        (date(2028, 1, 15), -1, date(2027, 12, 15)),
        (date(2028, 5, 31), 0, date(2028, 5, 31)),
        (date(2100, 1, 31), 1, date(2100, 2, 28)),  # 2100 is not a leap year
        (date(2000, 1, 31), 1, date(2000, 2, 29)),  # 2000 is
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_add_months_outside_the_calendar_raises():
    with pytest.raises(ValueError):
        add_months(date(9999, 12, 1), 1)
    with pytest.raises(ValueError):
        add_months(date(1, 1, 1), -1)


@HYPOTHESIS
@given(start=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), n=st.integers(-600, 600))
def test_add_months_invariants(start, n):
    result = add_months(start, n)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == n
    assert result.day <= start.day
    if result.day < start.day:  # clamped: it is the last day of its month
        assert (result + timedelta(days=1)).day == 1
    # stepping one month at a time from a day that exists in every month gives the same answer
    if start.day <= 28:
        assert result.day == start.day


# ---- duty states -----------------------------------------------------------------------------------------------------


def boundary_days(due, window):
    """(today, expected state): the day before due-soon starts, the first due-soon day, the due day, the day after."""
    return [
        (due - timedelta(days=window + 1), "ok"),
        (due - timedelta(days=window), "due_soon"),
        (due, "due_soon"),
        (due + timedelta(days=1), "overdue"),
    ]


def only(duty_list, kind):
    found = [d for d in duty_list if d.kind == kind]
    assert len(found) == 1, (kind, duty_list)
    return found[0]


def kinds(duty_list):
    return [d.kind for d in duty_list]


def test_duty_state_rule():
    due = date(2028, 3, 1)
    for today, state in boundary_days(due, 30):
        assert duty_state(due, today, 30) == state
    assert duty_state(due, due, 0) == "due_soon"
    assert duty_state(due, due - timedelta(days=1), 0) == "ok"


@HYPOTHESIS
@given(
    due=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    offset=st.integers(-400, 400),
    window=st.integers(0, 120),
)
def test_duty_state_is_monotonic_in_time(due, offset, window):
    today = due + timedelta(days=offset)
    order = mlps.DUTY_STATE_ORDER
    assert order[duty_state(due, today, window)] <= order[duty_state(due, today + timedelta(days=1), window)]
    assert order[duty_state(due, today, window)] <= order[duty_state(due, today, window + 1)]


# ---- duties: grading and internet-facing -----------------------------------------------------------------------------


def test_ungraded_running_system_is_overdue_immediately():
    for went_live in (None, date(2026, 1, 1), date(2030, 1, 1)):
        facts = SystemFacts("running", went_live_on=went_live)
        with translation.override("en"):
            result = duties(facts, date(2026, 1, 1))
        assert kinds(result) == ["grading"]
        assert result[0].state == "overdue"
        assert result[0].due_on == went_live
        assert "ungraded running system" in result[0].detail.lower()


def test_ungraded_building_system_is_due_at_go_live():
    went_live = date(2028, 3, 1)
    facts = SystemFacts("building", went_live_on=went_live)
    for today, state in boundary_days(went_live, 30):
        duty = only(duties(facts, today), "grading")
        assert (duty.due_on, duty.state) == (went_live, state)
    # no planned go-live date: nothing to measure yet
    assert duties(SystemFacts("building"), date(2028, 3, 1)) == []


def test_internet_facing_without_level():
    today = date(2028, 3, 1)
    running = duties(SystemFacts("running", internet_facing=True), today)
    assert kinds(running) == ["grading", "internet_facing_ungraded"]
    assert all(d.state == "overdue" for d in running)
    # a building system counts once its go-live date has passed
    assert kinds(duties(SystemFacts("building", went_live_on=today, internet_facing=True), today)) == [
        "grading",
        "internet_facing_ungraded",
    ]
    not_live = duties(SystemFacts("building", went_live_on=today + timedelta(days=1), internet_facing=True), today)
    assert kinds(not_live) == ["grading"]
    # graded: neither duty
    graded = duties(SystemFacts("running", internet_facing=True, level=1, state="graded_final"), today)
    assert graded == []


# ---- duties: filing --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level_fixed_on", "due"),
    [
        (date(2028, 2, 10), date(2028, 3, 11)),  # leap year: February has 29 days
        (date(2027, 2, 10), date(2027, 3, 12)),
        (date(2028, 1, 30), date(2028, 2, 29)),  # due on the leap day itself
        (date(2027, 12, 15), date(2028, 1, 14)),
    ],
)
def test_filing_within_30_days_of_the_level_being_fixed(level_fixed_on, due):
    facts = SystemFacts("running", went_live_on=date(2020, 1, 1), level=3, level_fixed_on=level_fixed_on)
    for today, state in boundary_days(due, 30):
        duty = only(duties(facts, today), "filing")
        assert (duty.due_on, duty.state) == (due, state)


def test_filing_counts_from_the_later_of_level_fixed_and_went_live():
    # a new system graded before going live: 30 days from going live
    new = SystemFacts("running", went_live_on=date(2028, 2, 1), level=2, level_fixed_on=date(2027, 12, 1))
    assert only(duties(new, date(2028, 2, 1)), "filing").due_on == date(2028, 3, 2)
    only_live = SystemFacts("running", went_live_on=date(2028, 2, 1), level=2)
    assert only(duties(only_live, date(2028, 2, 1)), "filing").due_on == date(2028, 3, 2)
    only_fixed = SystemFacts("running", level=2, level_fixed_on=date(2028, 2, 1))
    assert only(duties(only_fixed, date(2028, 2, 1)), "filing").due_on == date(2028, 3, 2)


def test_filing_without_any_date():
    running = only(duties(SystemFacts("running", level=3), date(2028, 2, 1)), "filing")
    assert (running.due_on, running.state) == (None, "overdue")
    building = duties(SystemFacts("building", level=3, level_fixed_on=date(2028, 1, 1)), date(2028, 6, 1))
    assert [(d.kind, d.due_on, d.state) for d in building] == [("filing", None, "ok")]


def test_filing_of_a_building_system_counts_from_going_live():
    facts = SystemFacts("building", level=3, level_fixed_on=date(2027, 1, 1), went_live_on=date(2028, 2, 15))
    due = date(2028, 3, 16)
    for today, state in boundary_days(due, 30):
        assert [(d.kind, d.due_on, d.state) for d in duties(facts, today)][0] == ("filing", due, state)


def test_no_filing_duty_for_level_one_or_a_filed_system():
    today = date(2028, 2, 1)
    assert duties(SystemFacts("running", level=1, level_fixed_on=date(2020, 1, 1)), today) == []
    by_date = SystemFacts("running", level=3, level_fixed_on=date(2027, 1, 1), filed_on=date(2027, 1, 20))
    assert "filing" not in kinds(duties(by_date, today))
    by_state = SystemFacts("running", level=3, level_fixed_on=date(2027, 1, 1), state="filed")
    assert "filing" not in kinds(duties(by_state, today))
    for state in ("draft", "expert_review", "regulator_approval"):
        pending = SystemFacts("running", level=3, level_fixed_on=date(2027, 1, 1), state=state)
        assert "filing" in kinds(duties(pending, today))


def test_custom_filing_days_and_window():
    policy = MLPSPolicy(filing_days=15, due_soon_days=5)
    facts = SystemFacts("running", level=2, level_fixed_on=date(2028, 2, 20))
    due = date(2028, 3, 6)
    for today, state in boundary_days(due, 5):
        assert only(duties(facts, today, policy), "filing").state == state


# ---- duties: certificate renewal -------------------------------------------------------------------------------------


def test_certificate_expiring_on_a_leap_day():
    facts = SystemFacts(
        "running",
        level=2,
        level_fixed_on=date(2025, 2, 1),
        filed_on=date(2025, 2, 20),
        certificate_valid_until=date(2028, 2, 29),
        last_assessed_on=date(2027, 12, 1),
    )
    expected = [
        (date(2027, 11, 30), "ok"),
        (date(2027, 12, 1), "due_soon"),  # 90 days before 2028-02-29
        (date(2028, 2, 29), "due_soon"),
        (date(2028, 3, 1), "overdue"),
    ]
    assert [today for today, _state in boundary_days(date(2028, 2, 29), 90)] == [today for today, _ in expected]
    for today, state in expected:
        duty = only(duties(facts, today), "certificate_renewal")
        assert (duty.due_on, duty.state) == (date(2028, 2, 29), state)


def test_certificate_validity_defaults_to_three_years_from_filing():
    assert mlps.default_certificate_valid_until(date(2025, 2, 28)) == date(2028, 2, 28)
    assert mlps.default_certificate_valid_until(date(2024, 2, 29)) == date(2027, 2, 28)
    assert mlps.default_certificate_valid_until(date(2025, 3, 1), MLPSPolicy(certificate_years=5)) == date(2030, 3, 1)
    facts = SystemFacts("running", level=3, filed_on=date(2025, 3, 1))
    duty = only(duties(facts, date(2028, 1, 1)), "certificate_renewal")
    assert (duty.due_on, duty.state) == (date(2028, 3, 1), "due_soon")
    # filed by state without a date or a recorded validity: nothing to renew from
    assert "certificate_renewal" not in kinds(duties(SystemFacts("running", level=3, state="filed"), date(2028, 1, 1)))


def test_certificate_renewal_window_is_configurable():
    facts = SystemFacts("running", level=2, state="filed", certificate_valid_until=date(2028, 6, 30))
    for today, state in boundary_days(date(2028, 6, 30), 60):
        assert only(duties(facts, today, MLPSPolicy(renewal_notice_days=60)), "certificate_renewal").state == state


# ---- duties: assessment ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "anchor", "due"),
    [
        (2, date(2026, 2, 28), date(2028, 2, 28)),
        (2, date(2028, 2, 29), date(2030, 2, 28)),
        (3, date(2027, 1, 31), date(2028, 1, 31)),
        (3, date(2028, 2, 29), date(2029, 2, 28)),
        (3, date(2027, 2, 28), date(2028, 2, 28)),
        (4, date(2027, 8, 31), date(2028, 2, 29)),
        (4, date(2028, 2, 29), date(2028, 8, 29)),
        (4, date(2028, 1, 31), date(2028, 7, 31)),
        (5, date(2027, 12, 31), date(2028, 6, 30)),
    ],
)
def test_assessment_interval_by_level(level, anchor, due):
    facts = SystemFacts(
        "running",
        level=level,
        level_fixed_on=date(2020, 1, 1),
        state="assessed",
        filed_on=date(2020, 2, 1),
        last_assessed_on=anchor,
    )
    for today, state in boundary_days(due, 30):
        duty = only(duties(facts, today), "assessment")
        assert (duty.due_on, duty.state) == (due, state)


def test_assessment_from_jan_31_every_month_length():
    policy = MLPSPolicy(assessment_months={3: 1})
    facts = SystemFacts("running", level=3, filed_on=date(2028, 1, 31))
    assert only(duties(facts, date(2028, 1, 31), policy), "assessment").due_on == date(2028, 2, 29)
    facts = SystemFacts("running", level=3, filed_on=date(2027, 1, 31))
    assert only(duties(facts, date(2027, 1, 31), policy), "assessment").due_on == date(2027, 2, 28)


def test_assessment_anchor_falls_back_from_last_assessment_to_filing_to_level_fixed():
    today = date(2028, 1, 1)
    base = {"lifecycle_status": "running", "level": 3}
    fixed = SystemFacts(**base, level_fixed_on=date(2027, 3, 1), state="regulator_approval")
    assert only(duties(fixed, today), "assessment").due_on == date(2028, 3, 1)
    filed = SystemFacts(**base, level_fixed_on=date(2027, 3, 1), filed_on=date(2027, 4, 1))
    assert only(duties(filed, today), "assessment").due_on == date(2028, 4, 1)
    assessed = SystemFacts(**base, filed_on=date(2027, 4, 1), last_assessed_on=date(2027, 6, 1))
    assert only(duties(assessed, today), "assessment").due_on == date(2028, 6, 1)
    # a running graded system without any date: only the filing duty (overdue) shows
    assert kinds(duties(SystemFacts(**base), today)) == ["filing"]


def test_no_assessment_for_level_one_or_a_building_system():
    today = date(2028, 1, 1)
    assert duties(SystemFacts("running", level=1, level_fixed_on=date(2020, 1, 1)), today) == []
    building = SystemFacts("building", level=3, filed_on=date(2020, 1, 1), went_live_on=date(2028, 6, 1))
    assert kinds(duties(building, today)) == ["certificate_renewal"]
    # once its go-live date passes it is live
    assert "assessment" in kinds(duties(building, date(2028, 6, 1)))


def test_overdue_assessment_with_open_high_risk_items():
    facts = SystemFacts(
        "running", level=3, filed_on=date(2026, 1, 1), last_assessed_on=date(2027, 2, 28), open_high_risk_count=2
    )
    due = date(2028, 2, 28)
    for today, state in boundary_days(due, 30):
        with translation.override("en"):
            result = duties(facts, today)
        assert only(result, "assessment").state == state
        if state == "overdue":
            extra = only(result, "assessment_with_high_risk")
            assert (extra.due_on, extra.state) == (due, "overdue")
            assert "high-risk finding" in extra.detail
            assert kinds(result).index("assessment_with_high_risk") == kinds(result).index("assessment") + 1
        else:
            assert "assessment_with_high_risk" not in kinds(result)
    # no open high-risk item: no extra duty
    clean = dataclasses.replace(facts, open_high_risk_count=0)
    assert "assessment_with_high_risk" not in kinds(duties(clean, due + timedelta(days=1)))


# ---- duties: self-inspection -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "anchor", "due"),
    [
        (3, date(2027, 2, 28), date(2028, 2, 28)),
        (3, date(2028, 2, 29), date(2029, 2, 28)),
        (4, date(2027, 8, 31), date(2028, 2, 29)),
        (5, date(2028, 2, 29), date(2028, 8, 29)),
    ],
)
def test_self_inspection_interval_by_level(level, anchor, due):
    facts = SystemFacts(
        "running",
        level=level,
        filed_on=date(2020, 1, 1),
        last_assessed_on=due,  # keeps the assessment duty out of the way
        last_self_inspection_on=anchor,
    )
    for today, state in boundary_days(due, 30):
        duty = only(duties(facts, today), "self_inspection")
        assert (duty.due_on, duty.state) == (due, state)


def test_self_inspection_anchor_fallbacks_and_level_two_default():
    today = date(2028, 1, 1)
    base = {"lifecycle_status": "running", "level": 3}
    assert only(duties(SystemFacts(**base, level_fixed_on=date(2027, 5, 1)), today), "self_inspection").due_on == (
        date(2028, 5, 1)
    )
    filed = SystemFacts(**base, level_fixed_on=date(2027, 5, 1), filed_on=date(2027, 6, 1))
    assert only(duties(filed, today), "self_inspection").due_on == date(2028, 6, 1)
    assessed = SystemFacts(**base, filed_on=date(2027, 6, 1), last_assessed_on=date(2027, 7, 1))
    assert only(duties(assessed, today), "self_inspection").due_on == date(2028, 7, 1)
    inspected = SystemFacts(
        **base, filed_on=date(2027, 6, 1), last_assessed_on=date(2027, 7, 1), last_self_inspection_on=date(2027, 3, 1)
    )
    assert only(duties(inspected, today), "self_inspection").due_on == date(2028, 3, 1)
    # level 2: an assessment every 24 months, no self-inspection unless configured
    level2 = SystemFacts("running", level=2, filed_on=date(2027, 6, 1))
    assert "self_inspection" not in kinds(duties(level2, today))
    configured = duties(level2, today, MLPSPolicy(self_inspection_months={2: 12}))
    assert only(configured, "self_inspection").due_on == date(2028, 6, 1)


# ---- duties: the whole list ------------------------------------------------------------------------------------------


def test_full_duty_list_of_a_filed_level_three_system():
    facts = SystemFacts(
        "running",
        went_live_on=date(2019, 9, 1),
        internet_facing=True,
        level=3,
        level_fixed_on=date(2025, 3, 1),
        state="compliant",
        filed_on=date(2025, 3, 20),
        certificate_valid_until=date(2028, 3, 19),
        last_assessed_on=date(2027, 4, 10),
        last_self_inspection_on=date(2027, 10, 1),
    )
    result = duties(facts, date(2028, 3, 15))
    assert [(d.kind, d.due_on, d.state) for d in result] == [
        ("certificate_renewal", date(2028, 3, 19), "due_soon"),
        ("assessment", date(2028, 4, 10), "due_soon"),
        ("self_inspection", date(2028, 10, 1), "ok"),
    ]
    assert worst_state(result) == "due_soon"
    assert all(isinstance(d, Duty) and d.detail for d in result)


@pytest.mark.parametrize("status", ["stopped", "retired"])
def test_stopped_and_retired_systems_have_no_duties(status):
    facts = SystemFacts(
        status,
        went_live_on=date(2010, 1, 1),
        internet_facing=True,
        level=4,
        level_fixed_on=date(2010, 1, 1),
        certificate_valid_until=date(2013, 1, 1),
        last_assessed_on=date(2011, 1, 1),
        open_high_risk_count=9,
    )
    assert duties(facts, date(2028, 1, 1)) == []
    assert duties(SystemFacts(status, internet_facing=True), date(2028, 1, 1)) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lifecycle_status": "live"},
        {"lifecycle_status": "running", "level": 0},
        {"lifecycle_status": "running", "level": 6},
        {"lifecycle_status": "running", "state": "approved"},
        {"lifecycle_status": "running", "open_high_risk_count": -1},
    ],
)
def test_invalid_system_facts_raise(kwargs):
    with pytest.raises(ValueError):
        SystemFacts(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filing_days": -1},
        {"due_soon_days": -1},
        {"renewal_notice_days": "90"},
        {"assessment_months": {6: 12}},
        {"assessment_months": {3: 0}},
        {"self_inspection_months": {0: 12}},
    ],
)
def test_invalid_policy_raises(kwargs):
    with pytest.raises(ValueError):
        MLPSPolicy(**kwargs)


def test_policy_defaults_and_read_only_mappings():
    policy = MLPSPolicy()
    assert (policy.filing_days, policy.certificate_years, policy.renewal_notice_days, policy.due_soon_days) == (
        30,
        3,
        90,
        30,
    )
    assert dict(policy.assessment_months) == {2: 24, 3: 12, 4: 6, 5: 6}
    assert dict(policy.self_inspection_months) == {3: 12, 4: 6, 5: 6}
    with pytest.raises(TypeError):
        policy.assessment_months[3] = 1  # type: ignore[index]
    source = {3: 6}
    custom = MLPSPolicy(assessment_months=source)
    source[3] = 1
    assert custom.assessment_months[3] == 6
    assert MLPSPolicy() == MLPSPolicy()
    hash(MLPSPolicy())


facts_strategy = st.builds(
    SystemFacts,
    lifecycle_status=st.sampled_from(mlps.LIFECYCLE_STATUSES),
    went_live_on=st.one_of(st.none(), st.dates(date(2015, 1, 1), date(2030, 12, 31))),
    internet_facing=st.booleans(),
    level=st.one_of(st.none(), st.integers(1, 5)),
    level_fixed_on=st.one_of(st.none(), st.dates(date(2015, 1, 1), date(2030, 12, 31))),
    state=st.one_of(st.none(), st.sampled_from(ALL_STATES)),
    filed_on=st.one_of(st.none(), st.dates(date(2015, 1, 1), date(2030, 12, 31))),
    certificate_valid_until=st.one_of(st.none(), st.dates(date(2015, 1, 1), date(2033, 12, 31))),
    last_assessed_on=st.one_of(st.none(), st.dates(date(2015, 1, 1), date(2030, 12, 31))),
    last_self_inspection_on=st.one_of(st.none(), st.dates(date(2015, 1, 1), date(2030, 12, 31))),
    open_high_risk_count=st.integers(0, 5),
)


@HYPOTHESIS
@given(facts=facts_strategy, today=st.dates(date(2015, 1, 1), date(2035, 12, 31)))
def test_duty_invariants(facts, today):
    result = duties(facts, today)
    kind_order = list(mlps.DUTY_KIND_CODES)
    assert kinds(result) == sorted(kinds(result), key=kind_order.index)
    assert len(set(kinds(result))) == len(result)
    for duty in result:
        assert duty.state in mlps.DUTY_STATE_ORDER
        assert duty.detail
        if duty.due_on is not None and duty.kind not in ("grading", "internet_facing_ungraded"):
            window = 90 if duty.kind == "certificate_renewal" else 30
            if duty.kind != "assessment_with_high_risk":
                assert duty.state == duty_state(duty.due_on, today, window)
    if facts.lifecycle_status in ("stopped", "retired"):
        assert result == []
    if facts.level is None:
        assert set(kinds(result)) <= {"grading", "internet_facing_ungraded"}
    else:
        assert "grading" not in kinds(result)
    if (facts.level is not None and facts.level < 2) or facts.is_filed:
        assert "filing" not in kinds(result)
    if "assessment_with_high_risk" in kinds(result):
        assert only(result, "assessment").state == "overdue" and facts.open_high_risk_count > 0
    assert worst_state(result) == max((d.state for d in result), key=mlps.DUTY_STATE_ORDER.get, default="ok")
    # the same facts a day later are never in a better state, kind by kind
    later = {d.kind: d.state for d in duties(facts, today + timedelta(days=1))}
    for duty in result:
        if duty.kind in later:
            assert mlps.DUTY_STATE_ORDER[later[duty.kind]] >= mlps.DUTY_STATE_ORDER[duty.state]


# ---- app duties ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_filed", "user_filed", "blacklisted", "in_use"), list(itertools.product([True, False], repeat=4))
)
def test_app_duties_for_every_combination(provider_filed, user_filed, blacklisted, in_use):
    result = app_duties(AppFacts(provider_filed, user_filed, blacklisted, in_use), date(2028, 2, 29))
    expected = []
    if in_use:
        if not provider_filed:
            expected.append("app_provider_filing")
        if not user_filed:
            expected.append("app_user_filing")
        if blacklisted:
            expected.append("app_blacklisted")
    assert kinds(result) == expected
    assert all(d.state == "overdue" and d.due_on is None and d.detail for d in result)


def test_app_prerequisites_when_recorded():
    today = date(2028, 1, 1)
    ok = AppFacts(provider_filed=True, user_filed=True, blacklisted=False, in_use=True)
    assert app_duties(ok, today) == []
    missing = AppFacts(True, True, False, True, icp_filed=False, mlps_filed=False)
    assert kinds(app_duties(missing, today)) == ["app_icp_filing", "app_mlps_filing"]
    assert app_duties(AppFacts(True, True, False, False, icp_filed=False, mlps_filed=False), today) == []
    with translation.override("en"):
        blacklisted = app_duties(AppFacts(True, True, True, True), today)
    assert "cleared" in blacklisted[0].detail


# ---- helpers ---------------------------------------------------------------------------------------------------------


def test_worst_state():
    def d(state):
        return Duty("filing", None, state, "x")

    assert worst_state([]) == "ok"
    assert worst_state([d("ok"), d("ok")]) == "ok"
    assert worst_state([d("ok"), d("due_soon")]) == "due_soon"
    assert worst_state([d("due_soon"), d("overdue"), d("ok")]) == "overdue"
    assert worst_state(iter([d("overdue")])) == "overdue"


def test_duty_key_is_stable_and_validated():
    assert duty_key(42, "filing") == "mlps:42:filing"
    assert duty_key("42", "filing") == duty_key(42, "filing")
    assert duty_key(7, "app_blacklisted") == "mlps:7:app_blacklisted"
    assert len({duty_key(1, kind) for kind in mlps.DUTY_KIND_CODES}) == len(mlps.DUTY_KIND_CODES)
    with pytest.raises(ValueError, match="kind"):
        duty_key(1, "paperwork")
    for bad in ("", "1:2", True):
        with pytest.raises(ValueError, match="id"):
            duty_key(bad, "filing")


def test_duty_labels():
    with translation.override("en"):
        assert str(Duty("filing", None, "ok", "").label) == "Filing with public security"
    assert set(mlps.DUTY_STATE_LABELS) == {"ok", "due_soon", "overdue"}
