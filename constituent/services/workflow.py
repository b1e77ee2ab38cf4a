"""The case status workflow: allowed transitions, closing with an outcome, reopening, durations.

DESIGN.md: ``open → waiting_on_constituent ⇄ waiting_on_agency → resolved → closed``, reopen
allowed. Work moves back and forth while a case is open (an answer from the constituent puts it
back to ``open``); a case may be closed from any open status, because withdrawn or unreachable
constituents do not wait for a resolution. Every open period is one ``CaseInterval`` row, so a
case reopened twice counts three intervals towards its duration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from constituent.extensions import db
from constituent.models import (
    Case,
    CaseInterval,
    CaseStatus,
    EventKind,
    Outcome,
    User,
    utcnow,
)
from constituent.services import audit, timeline
from constituent.services.errors import DomainError

TRANSITIONS: dict[CaseStatus, tuple[CaseStatus, ...]] = {
    CaseStatus.OPEN: (
        CaseStatus.WAITING_ON_CONSTITUENT,
        CaseStatus.WAITING_ON_AGENCY,
        CaseStatus.RESOLVED,
        CaseStatus.CLOSED,
    ),
    CaseStatus.WAITING_ON_CONSTITUENT: (
        CaseStatus.OPEN,
        CaseStatus.WAITING_ON_AGENCY,
        CaseStatus.RESOLVED,
        CaseStatus.CLOSED,
    ),
    CaseStatus.WAITING_ON_AGENCY: (
        CaseStatus.OPEN,
        CaseStatus.WAITING_ON_CONSTITUENT,
        CaseStatus.RESOLVED,
        CaseStatus.CLOSED,
    ),
    CaseStatus.RESOLVED: (CaseStatus.CLOSED, CaseStatus.OPEN),
    CaseStatus.CLOSED: (CaseStatus.OPEN,),
}

NOTE_LIMIT = 2000


def allowed_next(case: Case) -> tuple[CaseStatus, ...]:
    """The statuses this case may move to from where it stands."""
    return TRANSITIONS[case.status]


def _current_interval(case: Case) -> CaseInterval:
    """The open interval of an open case (created from ``opened_at`` for older rows)."""
    for interval in reversed(case.intervals):
        if interval.closed_at is None:
            return interval
    interval = CaseInterval(case=case, opened_at=case.opened_at)
    db.session.add(interval)
    return interval


def _clean_note(note: str | None, field: str) -> str:
    text = (note or "").strip()
    if len(text) > NOTE_LIMIT:
        raise DomainError(f"Keep the note to at most {NOTE_LIMIT:,} characters.", field=field)
    return text


def _status_event(
    case: Case,
    what: str,
    note: str,
    by: User,
    *,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> None:
    """The timeline's status-change event: what happened, then the staffer's note if any."""
    timeline.add_event(
        case,
        EventKind.STATUS_CHANGE,
        f"{what}\n{note}" if note else what,
        author=by,
        occurred_at=occurred_at,
        data=data,
    )


def change_status(
    case: Case,
    to: CaseStatus,
    by: User,
    *,
    outcome: Outcome | None = None,
    note: str | None = None,
) -> None:
    """Move the case to ``to``: closing needs an outcome, reopening needs a reason (``note``)."""
    if to == CaseStatus.CLOSED:
        close_case(case, outcome, by, note=note)
        return
    if case.status == CaseStatus.CLOSED and to == CaseStatus.OPEN:
        reopen_case(case, note or "", by)
        return
    if to == case.status:
        raise DomainError(f"The case is already {to.label.lower()}.", field="status")
    if to not in allowed_next(case):
        raise DomainError(
            f"A {case.status.label.lower()} case cannot move to {to.label.lower()}.",
            field="status",
        )
    text = _clean_note(note, "note")
    previous = case.status
    case.status = to
    _status_event(
        case,
        f"Status changed from {previous.label.lower()} to {to.label.lower()}.",
        text,
        by,
        data={"from": previous.value, "to": to.value},
    )


def close_case(case: Case, outcome: Outcome | None, by: User, *, note: str | None = None) -> None:
    """Close the case with an outcome; its open interval ends now."""
    if case.status == CaseStatus.CLOSED:
        raise DomainError("The case is already closed.", field="status")
    if outcome is None:
        raise DomainError("Choose the outcome to close the case.", field="outcome")
    text = _clean_note(note, "note")
    now = utcnow()
    previous = case.status
    _current_interval(case).closed_at = now
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.outcome = outcome
    case.outcome_note = text or None
    _status_event(
        case,
        f"Closed with outcome: {outcome.label}.",
        text,
        by,
        occurred_at=now,
        data={"from": previous.value, "to": CaseStatus.CLOSED.value, "outcome": outcome.value},
    )
    audit.record("case_closed", "case", case.number, detail=f"outcome {outcome.value}", user=by)


def reopen_case(case: Case, reason: str, by: User) -> None:
    """Reopen a closed case for a stated reason: a new open interval starts now."""
    if case.status != CaseStatus.CLOSED:
        raise DomainError("Only a closed case can be reopened.", field="reason")
    text = _clean_note(reason, "reason")
    if not text:
        raise DomainError("Say why the case is being reopened.", field="reason")
    now = utcnow()
    db.session.add(CaseInterval(case=case, opened_at=now))
    previous_outcome = case.outcome
    case.status = CaseStatus.OPEN
    case.closed_at = None
    case.outcome = None
    case.outcome_note = None
    _status_event(
        case,
        f"Reopened: {text}",
        "",
        by,
        occurred_at=now,
        data={
            "from": CaseStatus.CLOSED.value,
            "to": CaseStatus.OPEN.value,
            "previous_outcome": previous_outcome.value if previous_outcome else None,
        },
    )
    audit.record("case_reopened", "case", case.number, user=by)


def open_seconds(case: Case, now: datetime | None = None) -> float:
    """Seconds the case has been open, summed over every open interval."""
    now = now or utcnow()
    intervals = case.intervals
    if not intervals:  # rows made without intervals: one span from opening
        end = case.closed_at or now
        return max((end - case.opened_at).total_seconds(), 0.0)
    total = 0.0
    for interval in intervals:
        end = interval.closed_at or now
        total += max((end - interval.opened_at).total_seconds(), 0.0)
    return total


def open_days(case: Case, now: datetime | None = None) -> int:
    """Whole days the case has been open, summed over every open interval (its age)."""
    return int(open_seconds(case, now) // 86400)
