"""Who may do what: the capability map, and the one scope every read of a case goes through."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from constituent.extensions import db
from constituent.models import Case, Role, User
from constituent.services.errors import NotFound


class Capability(enum.StrEnum):
    """What a user may do regardless of any one record; ``may(user, Capability.X)`` decides."""

    LOG_CALLS = "log_calls"  # the log-a-call page and its constituent look-up
    READ_CASES = "read_cases"  # case list, case pages in scope, case numbers, search, letters
    WORK_CASES = "work_cases"  # My work, referrals and responses, the overdue queue
    WRITE_LETTERS = "write_letters"
    READ_FILED_MAIL = "read_filed_mail"  # an email filed on a case the user may see
    TRIAGE_MAIL = "triage_mail"  # the unfiled queue (residents' PII): upload, open, file
    VIEW_CONSTITUENTS = "view_constituents"
    EDIT_CONSTITUENTS = "edit_constituents"
    MERGE_CONSTITUENTS = "merge_constituents"
    LEAD_TEAM = "lead_team"  # team workload, release override on cases they manage
    VIEW_AGENCIES = "view_agencies"
    MANAGE_DIRECTORY = "manage_directory"  # agencies, contacts, routing rules, letter templates
    RESPONSE_TIMES = "response_times"
    READ_SUMMARIES = "read_summaries"
    SUMMARY_DETAILS = "summary_details"  # staff table and drill-down to the cases behind a number
    ADMINISTER = "administer"  # users, districts, the ZIP table, the audit log
    # The Online requests queue (residents' own words and identifiers): read, decline, reveal.
    # Accepting one also needs LOG_CALLS: it opens a case as logging a call does.
    REVIEW_ONLINE_REQUESTS = "review_online_requests"


# The capability map: the one place that says which role may do what. Legislators see district
# summaries only; admins run the office, not its casework.
_CASEWORK = frozenset(
    {
        Capability.LOG_CALLS,
        Capability.READ_CASES,
        Capability.WORK_CASES,
        Capability.WRITE_LETTERS,
        Capability.READ_FILED_MAIL,
        Capability.VIEW_CONSTITUENTS,
        Capability.EDIT_CONSTITUENTS,
        Capability.VIEW_AGENCIES,
    }
)
ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.INTAKE: frozenset(
        {
            Capability.LOG_CALLS,
            Capability.READ_CASES,
            Capability.VIEW_CONSTITUENTS,
            Capability.REVIEW_ONLINE_REQUESTS,
        }
    ),
    Role.CASEWORKER: _CASEWORK | {Capability.REVIEW_ONLINE_REQUESTS},
    Role.SUPERVISOR: _CASEWORK
    | {
        Capability.REVIEW_ONLINE_REQUESTS,
        Capability.TRIAGE_MAIL,
        Capability.MERGE_CONSTITUENTS,
        Capability.LEAD_TEAM,
        Capability.RESPONSE_TIMES,
        Capability.READ_SUMMARIES,
        Capability.SUMMARY_DETAILS,
    },
    Role.LEGISLATOR: frozenset({Capability.READ_SUMMARIES}),
    Role.ADMIN: frozenset(
        {
            Capability.READ_CASES,
            Capability.VIEW_AGENCIES,
            Capability.MANAGE_DIRECTORY,
            Capability.RESPONSE_TIMES,
            Capability.READ_SUMMARIES,
            Capability.SUMMARY_DETAILS,
            Capability.ADMINISTER,
            Capability.REVIEW_ONLINE_REQUESTS,
        }
    ),
}
# Capabilities an admin grants to one person on top of their role (the grant is a user flag).
GRANTS: dict[Capability, tuple[frozenset[Role], str]] = {
    Capability.TRIAGE_MAIL: (frozenset({Role.CASEWORKER}), "mail_triage"),
}


# The office's first account, created by `flask office init`: it sets up everything else.
FIRST_ACCOUNT_ROLE = Role.ADMIN


def needs_district(role: Role) -> bool:
    """Whether an account of this role must belong to a district: everyone's work is a
    district's, except the administrators who run the office."""
    return Capability.ADMINISTER not in ROLE_CAPABILITIES.get(role, frozenset())


class Action(enum.StrEnum):
    VIEW = "view"  # open the case page, see it in lists, search, exports
    EDIT = "edit"  # add timeline entries, follow-ups, releases, referrals, change status
    MANAGE = "manage"  # reassign, edit the header, override the release gate


def may(user: User | None, what: Capability | Action, case: Case | None = None) -> bool:
    """Whether ``user`` may do ``what``: a capability, or an action on one case (``can``)."""
    if isinstance(what, Action):
        return case is not None and can(user, what, case)
    if user is None or not user.is_authenticated or not user.active:
        return False
    if what in ROLE_CAPABILITIES.get(user.role, frozenset()):
        return True
    roles, flag = GRANTS.get(what, (frozenset(), ""))
    return user.role in roles and bool(getattr(user, flag, False))


def roles_that_may(what: Capability) -> list[Role]:
    """The roles whose members may do ``what`` by role alone (for queries over users)."""
    return [role for role in Role if what in ROLE_CAPABILITIES.get(role, frozenset())]


def may_grant(user: User, what: Capability) -> bool:
    """Whether ``what`` can be granted to this user on top of their role."""
    roles, _ = GRANTS.get(what, (frozenset(), ""))
    return user.role in roles


def sees_only_own_cases(user: User) -> bool:
    """Intake's case list holds only the cases they opened (see case_scope)."""
    return user.role == Role.INTAKE


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


class Confidential(enum.StrEnum):
    """Which confidential cases a search scope admits."""

    ALL = "all"  # every confidential case of the districts
    NONE = "none"  # none
    ASSIGNED = "assigned"  # those assigned to the scope's assignee


@dataclass(frozen=True)
class CaseSearchScope:
    """case_scope's rule as plain data, for a search engine to compile over its documents.

    A case is in scope when its district is one of ``districts``, it is not confidential
    unless ``confidential`` admits it, and (when ``opened_by_id`` is set) that user opened
    it. No districts: nothing is in scope.
    """

    districts: tuple[int, ...] = ()
    confidential: Confidential = Confidential.NONE
    assignee_id: int | None = None
    opened_by_id: int | None = None

    @property
    def empty(self) -> bool:
        return not self.districts


NOTHING = CaseSearchScope()


def case_search_scope(user: User | None, action: Action = Action.VIEW) -> CaseSearchScope:
    """case_scope's rules as a plain description the search engine compiles. Deny by default.

    Keep in step with case_scope above: each branch mirrors one of its branches.
    tests/test_search_permissions.py checks on random users and cases that the compiled
    filter and case_scope select exactly the same cases.
    """
    if user is None or not user.is_authenticated or not user.active:
        return NOTHING
    districts = tuple(sorted(user.district_ids))
    if not districts:
        return NOTHING
    role = user.role
    if role == Role.SUPERVISOR:
        return CaseSearchScope(districts, Confidential.ALL)
    if role == Role.CASEWORKER:
        if action == Action.MANAGE:
            return CaseSearchScope(districts, Confidential.NONE)
        return CaseSearchScope(districts, Confidential.ASSIGNED, assignee_id=user.id)
    if role == Role.INTAKE and action == Action.VIEW:
        return CaseSearchScope(districts, Confidential.NONE, opened_by_id=user.id)
    if role == Role.ADMIN and action == Action.VIEW:
        return CaseSearchScope(districts, Confidential.NONE)
    return NOTHING


def visible_cases(user: User | None, action: Action = Action.VIEW) -> sa.Select[Case]:
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
