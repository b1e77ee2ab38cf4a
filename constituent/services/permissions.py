"""Who may see and change which case: the one scoping function every read goes through."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from constituent.extensions import db
from constituent.models import Case, Role, User
from constituent.services.errors import NotFound

if TYPE_CHECKING:
    from whoosh.query import Query as WhooshQuery


class Action(enum.StrEnum):
    VIEW = "view"  # open the case page, see it in lists, search, exports
    EDIT = "edit"  # add timeline entries, follow-ups, releases, referrals, change status
    MANAGE = "manage"  # reassign, edit the header, override the release gate


def case_scope(user: User | None, action: Action = Action.VIEW) -> ColumnElement[bool]:
    """The SQL condition selecting the cases ``user`` may ``action``. Deny by default.

    - intake: view the non-confidential cases they opened;
    - caseworker: view and edit non-confidential cases of their districts, and confidential
      ones assigned to them;
    - supervisor: every case of their districts, including managing them;
    - admin: view non-confidential cases of their districts (summaries' drill-down);
    - legislator, anonymous, disabled: nothing.
    """
    if user is None or not user.is_authenticated or not user.active:
        return sa.false()
    districts = user.district_ids
    in_districts = Case.district_id.in_(districts) if districts else sa.false()
    role = user.role
    if role == Role.SUPERVISOR:
        return in_districts
    if role == Role.CASEWORKER:
        if action == Action.MANAGE:
            return sa.and_(in_districts, sa.not_(Case.confidential))
        return sa.and_(
            in_districts,
            sa.or_(sa.not_(Case.confidential), Case.assignee_id == user.id),
        )
    if role == Role.INTAKE and action == Action.VIEW:
        return sa.and_(Case.opened_by_id == user.id, sa.not_(Case.confidential), in_districts)
    if role == Role.ADMIN and action == Action.VIEW:
        return sa.and_(in_districts, sa.not_(Case.confidential))
    return sa.false()


def case_search_filter(user: User | None, action: Action = Action.VIEW) -> WhooshQuery:
    """case_scope's rules as a Whoosh filter over case documents. Deny by default.

    Keep in step with case_scope above: each branch mirrors one of its branches, over the
    fields the index stores per case (district_id, confidential, assignee_id, opened_by_id).
    tests/test_search_permissions.py checks on random users and cases that both select
    exactly the same cases.
    """
    from whoosh import query as wq

    if user is None or not user.is_authenticated or not user.active:
        return wq.NullQuery
    districts = sorted(user.district_ids)
    if not districts:
        return wq.NullQuery
    in_districts = wq.Or([wq.Term("district_id", str(d)) for d in districts])
    not_confidential = wq.Term("confidential", "n")
    role = user.role
    if role == Role.SUPERVISOR:
        return in_districts
    if role == Role.CASEWORKER:
        if action == Action.MANAGE:
            return wq.And([in_districts, not_confidential])
        return wq.And(
            [in_districts, wq.Or([not_confidential, wq.Term("assignee_id", str(user.id))])]
        )
    if role == Role.INTAKE and action == Action.VIEW:
        return wq.And([wq.Term("opened_by_id", str(user.id)), not_confidential, in_districts])
    if role == Role.ADMIN and action == Action.VIEW:
        return wq.And([in_districts, not_confidential])
    return wq.NullQuery


def visible_cases(user: User | None, action: Action = Action.VIEW) -> sa.Select[tuple[Case]]:
    """A SELECT of the cases the user may act on; list pages add filters to it."""
    return sa.select(Case).where(case_scope(user, action))


def can(user: User | None, action: Action, case: Case) -> bool:
    """Whether ``user`` may ``action`` this case, decided by the same SQL condition."""
    if case.id is None:
        return False
    found = db.session.scalar(
        sa.select(Case.id).where(Case.id == case.id, case_scope(user, action))
    )
    return found is not None


def get_case(user: User | None, case_id: int, action: Action = Action.VIEW) -> Case:
    """Load a case the user may act on, or raise NotFound (404: no hint that it exists)."""
    case = db.session.scalar(visible_cases(user, action).where(Case.id == case_id))
    if case is None:
        raise NotFound("No case with that number is available to you.")
    return case


def get_case_by_number(user: User | None, number: int, action: Action = Action.VIEW) -> Case:
    """Load a case by its human-readable number through the same scope."""
    case = db.session.scalar(visible_cases(user, action).where(Case.number == number))
    if case is None:
        raise NotFound("No case with that number is available to you.")
    return case
