"""The pure rules: every step from every state, overdue, document numbers."""

from datetime import UTC, datetime, timedelta

import pytest

from notices import rules
from notices.models import RectificationState

STATES = [code for code, _label in RectificationState.choices]

# The allowed (step, from) pairs and where they lead; everything else is refused.
EXPECTED = {
    ("acknowledge", "received"): "in_progress",
    ("assign", "received"): "received",
    ("assign", "in_progress"): "in_progress",
    ("assign", "returned"): "returned",
    ("edit_report", "received"): "received",
    ("edit_report", "in_progress"): "in_progress",
    ("edit_report", "returned"): "returned",
    ("submit", "received"): "submitted",
    ("submit", "in_progress"): "submitted",
    ("submit", "returned"): "submitted",
    ("start_review", "submitted"): "under_review",
    ("reprobe", "submitted"): "under_review",
    ("reprobe", "under_review"): "under_review",
    ("close", "submitted"): "closed",
    ("close", "under_review"): "closed",
    ("return", "submitted"): "returned",
    ("return", "under_review"): "returned",
}


@pytest.mark.parametrize("step", list(rules.STEPS))
@pytest.mark.parametrize("state", STATES)
def test_every_step_from_every_state(step, state):
    expected = EXPECTED.get((step, state))
    if expected is None:
        with pytest.raises(rules.StepRefused):
            rules.next_state(step, state)
    else:
        assert rules.next_state(step, state) == expected


def test_finished_rectifications_allow_nothing():
    assert rules.allowed_steps("closed") == []
    assert rules.allowed_steps("withdrawn") == []


def test_sides():
    assert {s for s in rules.STEPS if rules.side_of(s) == rules.RECIPIENT} == {
        "acknowledge", "assign", "edit_report", "submit",
    }  # fmt: skip
    assert {s for s in rules.STEPS if rules.side_of(s) == rules.REVIEWER} == {
        "start_review",
        "reprobe",
        "close",
        "return",
    }


@pytest.mark.parametrize(
    ("step", "state", "ok"),
    [
        ("issue", "draft", "issued"),
        ("issue", "issued", None),
        ("withdraw", "draft", None),
        ("withdraw", "issued", "withdrawn"),
        ("withdraw", "closed", None),
        ("close", "issued", "closed"),
        ("close", "withdrawn", None),
    ],
)
def test_notice_steps(step, state, ok):
    if ok is None:
        with pytest.raises(rules.StepRefused):
            rules.next_notice_state(step, state)
    else:
        assert rules.next_notice_state(step, state) == ok


def test_overdue_only_while_the_recipient_owes_work():
    deadline = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)
    later = deadline + timedelta(seconds=1)
    assert not rules.is_overdue("in_progress", deadline, deadline)
    assert rules.is_overdue("in_progress", deadline, later)
    assert rules.is_overdue("received", deadline, later)
    assert rules.is_overdue("returned", deadline, later)
    assert not rules.is_overdue("submitted", deadline, later)  # submitted in time: the clock stopped
    assert not rules.is_overdue("under_review", deadline, later)
    assert not rules.is_overdue("closed", deadline, later)
    assert not rules.is_overdue("in_progress", None, later)


def test_document_numbers():
    assert (
        rules.format_number("{issuer}教信通〔{year}〕{n}号", issuer="测试市", year=2026, n=12)
        == "测试市教信通〔2026〕12号"
    )
    assert rules.check_pattern("{issuer}教信通〔{year}〕{n}号") is None
    assert rules.check_pattern("{issuer}教信通〔{year}〕号") == "no {n}"
    assert rules.check_pattern("{issuer}{month}{n}") == "unknown placeholder"
    assert rules.check_pattern("{n}{") == "unknown placeholder"


def test_on_time_rate():
    assert rules.on_time_rate(0, 0) is None
    assert rules.on_time_rate(3, 4) == 0.75
