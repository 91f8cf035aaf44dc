"""The pure rules of notices and rectifications: which step is allowed from which state and by which side, when a
rectification is overdue, and how a document number is written. No database access here (see ``notices.workflow``).

The two sides:

- the **recipient** (the rectification's own unit) acknowledges, assigns, writes the report, attaches evidence and
  submits;
- the **reviewer** (the issuing unit, or a unit above it) starts the review, re-probes, closes (销号) or returns.
"""

from datetime import datetime

RECIPIENT, REVIEWER = "recipient", "reviewer"

# step → (side, states it may start from, state it leads to)
STEPS: dict[str, tuple[str, frozenset[str], str]] = {
    "acknowledge": (RECIPIENT, frozenset({"received"}), "in_progress"),
    "assign": (RECIPIENT, frozenset({"received", "in_progress", "returned"}), ""),  # "": the state stays
    "edit_report": (RECIPIENT, frozenset({"received", "in_progress", "returned"}), ""),
    "submit": (RECIPIENT, frozenset({"received", "in_progress", "returned"}), "submitted"),
    "start_review": (REVIEWER, frozenset({"submitted"}), "under_review"),
    "reprobe": (REVIEWER, frozenset({"submitted", "under_review"}), "under_review"),
    "close": (REVIEWER, frozenset({"submitted", "under_review"}), "closed"),
    "return": (REVIEWER, frozenset({"submitted", "under_review"}), "returned"),
}

# States in which the recipient still owes work: only these can run over the deadline.
OWING = frozenset({"received", "in_progress", "returned"})
FINISHED = frozenset({"closed", "withdrawn"})

NOTICE_STEPS: dict[str, tuple[frozenset[str], str]] = {
    "issue": (frozenset({"draft"}), "issued"),
    "withdraw": (frozenset({"issued"}), "withdrawn"),
    "close": (frozenset({"issued"}), "closed"),
}


class StepRefused(Exception):
    """A step that is not possible from the current state."""


def next_state(step: str, state: str) -> str:
    """The state after ``step`` from ``state``; raises ``StepRefused`` when the step is not allowed there."""
    try:
        _side, sources, target = STEPS[step]
    except KeyError:
        raise StepRefused(f"unknown step {step!r}") from None
    if state not in sources:
        raise StepRefused(f"{step} is not possible from {state}")
    return target or state


def side_of(step: str) -> str:
    return STEPS[step][0]


def allowed_steps(state: str) -> list[str]:
    return [step for step, (_side, sources, _target) in STEPS.items() if state in sources]


def next_notice_state(step: str, state: str) -> str:
    try:
        sources, target = NOTICE_STEPS[step]
    except KeyError:
        raise StepRefused(f"unknown step {step!r}") from None
    if state not in sources:
        raise StepRefused(f"{step} is not possible from {state}")
    return target


def is_overdue(state: str, deadline: datetime | None, now: datetime) -> bool:
    """Overdue: the recipient still owes work (received, in progress or returned) and the deadline has passed.

    A submission before the deadline stops the clock; a return after the deadline makes it overdue at once."""
    return deadline is not None and state in OWING and now > deadline


def format_number(pattern: str, *, issuer: str, year: int, n: int) -> str:
    """The document number (文号) from the issuer's pattern, e.g. ``{issuer}教信通〔{year}〕{n}号``."""
    return pattern.format(issuer=issuer, year=year, n=n)


def check_pattern(pattern: str) -> str | None:
    """Why ``pattern`` cannot number documents, or None when it can. It must contain ``{n}`` and nothing but the
    known placeholders."""
    try:
        sample = pattern.format(issuer="X", year=2026, n=1)
        other = pattern.format(issuer="X", year=2026, n=2)
    except (KeyError, IndexError, ValueError):
        return "unknown placeholder"
    if sample == other:
        return "no {n}"
    return None


def on_time_rate(closed_on_time: int, finished_or_due: int) -> float | None:
    """Share of rectifications that met their deadline among those closed or already due; None when none."""
    return None if finished_or_due == 0 else closed_on_time / finished_or_due
