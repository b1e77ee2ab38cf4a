"""Follow-ups (dated tasks on cases) and the My Work page's queues."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from constituent.extensions import db
from constituent.models import (
    Case,
    CaseStatus,
    Constituent,
    EventKind,
    FollowUp,
    Notification,
    Priority,
    User,
    utcnow,
)
from constituent.services import cases as case_service
from constituent.services import notifications, permissions, timeline
from constituent.services.errors import DomainError, NotFound
from constituent.services.permissions import Action, Capability

DESCRIPTION_LIMIT = 500
NOTE_LIMIT = 2000
UPCOMING_DAYS = 7


def _format(day: date) -> str:
    return day.strftime("%b %-d, %Y")


def follow_up_assignees(case: Case) -> list[User]:
    """Staff who may be given a follow-up on this case (they must be able to work on it)."""
    return [
        u for u in case_service.eligible_assignees(case) if permissions.can(u, Action.EDIT, case)
    ]


def add_follow_up(
    case: Case,
    *,
    due_on: date,
    assignee: User,
    description: str,
    by: User,
    today: date,
) -> FollowUp:
    """Add a dated task on the case for a member of staff."""
    text = (description or "").strip()
    if not text:
        raise DomainError("Say what needs doing.", field="description")
    if len(text) > DESCRIPTION_LIMIT:
        raise DomainError(
            f"Keep it to at most {DESCRIPTION_LIMIT} characters.", field="description"
        )
    if due_on < today:
        raise DomainError("The due date cannot be in the past.", field="due_on")
    if due_on > today + timedelta(days=3 * 365):
        raise DomainError("Choose a due date within the next three years.", field="due_on")
    if assignee.id not in {u.id for u in follow_up_assignees(case)}:
        raise DomainError("Choose someone who works on this case.", field="assignee")
    follow_up = FollowUp(
        case=case,
        due_on=due_on,
        assignee=assignee,
        description=text,
        created_by_id=by.id,
    )
    db.session.add(follow_up)
    db.session.flush()
    timeline.add_event(
        case,
        EventKind.FOLLOW_UP,
        f"Follow-up for {assignee.full_name} due {_format(due_on)}: {text}",
        author=by,
        data={"follow_up_id": follow_up.id, "action": "added"},
    )
    if assignee.id != by.id:
        notifications.notify(
            assignee,
            f"A follow-up due {_format(due_on)} was added for you.",
            kind="follow_up_added",
            case=case,
        )
    return follow_up


def get_follow_up(case: Case, follow_up_id: int) -> FollowUp:
    """A follow-up of this case, or NotFound."""
    follow_up = db.session.scalar(
        sa.select(FollowUp).where(FollowUp.id == follow_up_id, FollowUp.case_id == case.id)
    )
    if follow_up is None:
        raise NotFound("That follow-up is not on this case.")
    return follow_up


def complete_follow_up(follow_up: FollowUp, *, by: User, note: str | None = None) -> None:
    """Mark a follow-up done, with an optional note, on the case's timeline."""
    if follow_up.completed_at is not None:
        raise DomainError("This follow-up is already done.", field="note")
    text = (note or "").strip()
    if len(text) > NOTE_LIMIT:
        raise DomainError(f"Keep the note to at most {NOTE_LIMIT:,} characters.", field="note")
    follow_up.completed_at = utcnow()
    follow_up.completed_by_id = by.id
    follow_up.completion_note = text or None
    body = f"Follow-up done: {follow_up.description}"
    if text:
        body += f"\n{text}"
    timeline.add_event(
        follow_up.case,
        EventKind.FOLLOW_UP,
        body,
        author=by,
        data={"follow_up_id": follow_up.id, "action": "completed"},
    )


def open_follow_ups(case: Case) -> list[FollowUp]:
    """The case's follow-ups not yet done, soonest first."""
    return [f for f in case.follow_ups if f.completed_at is None]


def next_follow_up(case: Case) -> FollowUp | None:
    """The earliest open follow-up of the case."""
    pending = open_follow_ups(case)
    return min(pending, key=lambda f: (f.due_on, f.id)) if pending else None


# My Work ---------------------------------------------------------------------------------------


@dataclass
class MyWork:
    """Everything on a caseworker's or supervisor's plate today."""

    today: date
    cases: list[case_service.CaseRow]
    overdue: list[FollowUp]
    due_today: list[FollowUp]
    upcoming: list[FollowUp]
    notifications: list[Notification]
    unassigned: list[case_service.CaseRow] = field(default_factory=list)
    team_overdue: list[FollowUp] = field(default_factory=list)
    unassigned_total: int = 0
    cases_total: int = 0
    emergencies: list[case_service.CaseRow] = field(default_factory=list)
    emergencies_total: int = 0


def _follow_up_query(user: User) -> sa.Select[FollowUp]:
    return (
        sa.select(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(FollowUp.completed_at.is_(None), permissions.case_scope(user))
        .options(
            selectinload(FollowUp.case)
            .selectinload(Case.constituent)
            .selectinload(Constituent.contact_points),
            selectinload(FollowUp.assignee),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )


def _case_rows(query: sa.Select[Case], limit: int) -> list[case_service.CaseRow]:
    age = case_service.age_seconds_expr()
    rows = db.session.execute(
        query.add_columns(age.label("age_seconds"))
        .options(
            *case_service.LIST_LOADS,
            selectinload(Case.constituent).selectinload(Constituent.contact_points),
        )
        .order_by(case_service.priority_rank_expr(), age.desc(), Case.number)
        .limit(limit)
    ).all()
    return [case_service.CaseRow(case=c, age_days=int((s or 0) // 86400)) for c, s in rows]


def _count(query: sa.Select[Case]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def my_work(user: User, today: date, limit: int = 200, case_limit: int = 50) -> MyWork:
    """My open cases by priority and age, my follow-ups by due date, my unread notices, and
    the open emergencies (mine; a supervisor's: every one in their scope); for supervisors
    also unassigned open cases and the team's overdue follow-ups."""
    open_cases = permissions.visible_cases(user).where(Case.status != CaseStatus.CLOSED)
    leads = permissions.may(user, Capability.LEAD_TEAM)
    mine = _follow_up_query(user).where(
        FollowUp.assignee_id == user.id, FollowUp.due_on <= today + timedelta(days=UPCOMING_DAYS)
    )
    follow_ups = list(db.session.scalars(mine.limit(3 * limit)))
    my_cases = open_cases.where(Case.assignee_id == user.id)
    work = MyWork(
        today=today,
        cases=_case_rows(my_cases, case_limit),
        cases_total=_count(my_cases),
        overdue=[f for f in follow_ups if f.due_on < today],
        due_today=[f for f in follow_ups if f.due_on == today],
        upcoming=[f for f in follow_ups if f.due_on > today],
        notifications=notifications.unread_for(user),
    )
    emergencies = open_cases.where(Case.priority == Priority.EMERGENCY)
    if not leads:
        emergencies = emergencies.where(Case.assignee_id == user.id)
    work.emergencies = _case_rows(emergencies, case_limit)
    work.emergencies_total = _count(emergencies)
    if leads:
        unassigned = open_cases.where(Case.assignee_id.is_(None))
        work.unassigned = _case_rows(unassigned, case_limit)
        work.unassigned_total = _count(unassigned)
        work.team_overdue = list(
            db.session.scalars(
                _follow_up_query(user)
                .where(
                    FollowUp.due_on < today,
                    sa.or_(FollowUp.assignee_id.is_(None), FollowUp.assignee_id != user.id),
                )
                .limit(limit)
            )
        )
    return work
