"""Opening cases, case numbers, the case header, assignment, timeline entries and the case list."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from constituent.extensions import db
from constituent.models import (
    Case,
    CaseInterval,
    CaseStatus,
    Category,
    Channel,
    Constituent,
    Counter,
    District,
    EventKind,
    Priority,
    ReleaseState,
    TimelineEvent,
    User,
    utcnow,
)
from constituent.models.users import user_districts
from constituent.services import audit, notifications, permissions, timeline
from constituent.services.errors import Conflict, DomainError
from constituent.services.permissions import Capability

FIRST_CASE_NUMBER = 1001


def next_case_number(count: int = 1) -> int:
    """The next case number, or the first of ``count`` consecutive ones (an import, the demo),
    handed out under the counter row's lock (no duplicates).

    On a fresh database two transactions may both find no counter row; the loser of the
    insert race rolls back its savepoint and takes the numbers from the winner's row.
    """
    for _ in range(3):
        bumped = db.session.execute(
            sa.update(Counter)
            .where(Counter.name == "case")
            .values(value=Counter.value + count)
            .returning(Counter.value)
        ).scalar()
        if bumped is not None:
            return int(bumped) - count + 1
        highest = db.session.scalar(sa.select(sa.func.max(Case.number))) or FIRST_CASE_NUMBER - 1
        try:
            with db.session.begin_nested():
                db.session.add(Counter(name="case", value=highest + count))
        except IntegrityError:
            continue  # another transaction created the counter first: bump theirs
        return highest + 1
    raise RuntimeError("could not allocate a case number")


# The case header -------------------------------------------------------------------------------

SUBJECT_LIMIT = 200
DESCRIPTION_LIMIT = 20_000
ENTRY_LIMIT = 20_000
ENTRY_KINDS = (EventKind.NOTE, EventKind.CALL, EventKind.EMAIL, EventKind.LETTER, EventKind.MEETING)


def _label(text: str) -> Any:
    return field(metadata={"label": text})


@dataclass(frozen=True)
class CaseHeader:
    """The case header: the one list of the fields that say what a case is about. Intake
    (and mail-to-case, which is intake) opens a case with one, the edit form changes one, and
    ``open_case``, ``header_changes`` and ``update_case_header`` read the list from here. Each
    field is a ``Case`` column of the same name; its label names it in changes and conflicts."""

    subject: str = _label("Subject")
    description: str = _label("Description")
    category: Category = _label("Category")
    priority: Priority = _label("Priority")
    confidential: bool = _label("Confidential")
    district: District = _label("District")

    @classmethod
    def of(cls, case: Case) -> CaseHeader:
        """The header saved on ``case``."""
        saved = cls(**{f.name: getattr(case, f.name) for f in fields(cls)})
        return replace(saved, description=case.description or "")

    def cleaned(self) -> CaseHeader:
        """Text without surrounding blanks."""
        return replace(self, subject=self.subject.strip(), description=self.description.strip())

    def values(self) -> dict[str, Any]:
        """Field name → value, as ``Case`` columns take them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def shown(self) -> list[tuple[str, str, Any]]:
        """(label, shown value, comparable value) of each field."""
        return [
            (f.metadata["label"], _shown(getattr(self, f.name)), _comparable(getattr(self, f.name)))
            for f in fields(self)
        ]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, District):
        return value.code
    if isinstance(value, Category):
        return value.name
    if isinstance(value, Priority):
        return value.label
    return _shorten(str(value or ""))


def _comparable(value: Any) -> Any:
    return value.id if isinstance(value, Category | District) else value


def open_case(
    *,
    constituent: Constituent,
    header: CaseHeader,
    channel: Channel,
    release_needed: bool,
    opened_by: User,
    assignee: User | None = None,
) -> Case:
    """Open a case with its first open interval and its first timeline event (flushes)."""
    now = utcnow()
    case = Case(
        number=next_case_number(),
        constituent=constituent,
        **header.cleaned().values(),
        channel=channel,
        release_state=ReleaseState.NEEDED if release_needed else ReleaseState.NOT_NEEDED,
        opened_by=opened_by,
        assignee=assignee,
        opened_at=now,
        last_activity_at=now,
    )
    db.session.add(case)
    db.session.add(CaseInterval(case=case, opened_at=now))
    timeline.add_event(
        case,
        EventKind.INTAKE,
        f"{channel.label} intake by {opened_by.full_name}: {case.description}".strip(),
        author=opened_by,
        occurred_at=now,
    )
    db.session.flush()
    audit.record("case_opened", "case", case.number, user=opened_by)
    return case


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_changes(case: Case, header: CaseHeader) -> list[tuple[str, str, str]]:
    """(field, value now saved, value entered) for every header field that differs."""
    saved = CaseHeader.of(case).shown()
    entered = header.cleaned().shown()
    return [
        (label, now_shown, yours_shown)
        for (label, now_shown, now), (_, yours_shown, yours) in zip(saved, entered, strict=True)
        if now != yours
    ]


def update_case_header(
    case: Case, header: CaseHeader, *, expected_version: int | None, by: User
) -> list[str]:
    """Save the header fields unless someone saved the case since the form was loaded.

    Raises Conflict (409) with (field, value now saved, value entered) for every field that
    differs, and changes nothing. Returns the labels of the fields that changed.
    """
    header = header.cleaned()
    changes = header_changes(case, header)
    if expected_version is None or expected_version != case.version:
        raise Conflict(
            "Someone else saved this case after you opened the form. Nothing you entered was "
            "saved: compare the values below, reload the case and make your change again.",
            changes=changes,
        )
    _check_header(case, header, by)
    if not changes:
        return []
    for name, value in header.values().items():
        setattr(case, name, value)
    changed = [label for label, _, _ in changes]
    details = [f"{label}: {yours}" for label, _, yours in changes if label != "Description"]
    if "Description" in changed:
        details.append("description edited")
    timeline.add_event(
        case,
        EventKind.SYSTEM,
        "Case details changed. " + "; ".join(details) + ".",
        author=by,
        data={"fields": changed},
    )
    audit.record("case_header_edited", "case", case.number, detail=", ".join(changed), user=by)
    return changed


def _check_header(case: Case, header: CaseHeader, by: User) -> None:
    if not header.subject:
        raise DomainError("Enter a subject.", field="subject")
    if len(header.subject) > SUBJECT_LIMIT:
        raise DomainError(
            f"Keep the subject to at most {SUBJECT_LIMIT} characters.", field="subject"
        )
    if len(header.description) > DESCRIPTION_LIMIT:
        raise DomainError(
            f"Keep the description to at most {DESCRIPTION_LIMIT:,} characters.",
            field="description",
        )
    if header.district.id != case.district_id and header.district.id not in by.district_ids:
        raise DomainError("Choose one of your own districts.", field="district")
    if header.district.id != case.district_id and not header.district.active:
        raise DomainError(
            f"{header.district.code} is deactivated: choose a district the office serves.",
            field="district",
        )


# Assignment ------------------------------------------------------------------------------------


def eligible_assignees(case: Case) -> list[User]:
    """Active caseworkers and supervisors of the case's district, by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(user_districts, user_districts.c.user_id == User.id)
            .where(
                user_districts.c.district_id == case.district_id,
                User.role.in_(permissions.roles_that_may(Capability.WORK_CASES)),
                User.active.is_(True),
            )
            .order_by(User.full_name, User.id)
        )
    )


def assign_case(case: Case, assignee: User | None, by: User) -> None:
    """Assign (or unassign) the case; the new assignee is notified, the timeline records it."""
    if assignee is not None and assignee.id not in {u.id for u in eligible_assignees(case)}:
        raise DomainError(
            "Choose a caseworker or supervisor of the case's district.", field="assignee"
        )
    if (assignee.id if assignee else None) == case.assignee_id:
        who = assignee.full_name if assignee else "nobody"
        raise DomainError(f"The case is already assigned to {who}.", field="assignee")
    previous = case.assignee
    case.assignee = assignee
    if assignee is None:
        body = f"Unassigned (was {previous.full_name})." if previous else "Unassigned."
    elif previous is None:
        body = f"Assigned to {assignee.full_name}."
    else:
        body = f"Reassigned from {previous.full_name} to {assignee.full_name}."
    timeline.add_event(
        case,
        EventKind.ASSIGNMENT,
        body,
        author=by,
        data={
            "assignee_id": assignee.id if assignee else None,
            "previous_assignee_id": previous.id if previous else None,
        },
    )
    audit.record(
        "case_assigned",
        "case",
        case.number,
        detail=f"assignee user {assignee.id if assignee else 'none'}",
        user=by,
    )
    if assignee is not None and assignee.id != by.id:
        notifications.notify_assignment(case, assignee, by)


# Timeline entries ------------------------------------------------------------------------------


def add_entry(case: Case, kind: EventKind, body: str, by: User) -> TimelineEvent:
    """Add a note, call, email, letter or meeting to the timeline (corrections are new entries)."""
    if kind not in ENTRY_KINDS:
        raise DomainError("Choose what kind of entry this is.", field="kind")
    text = (body or "").strip()
    if not text:
        raise DomainError("Write what happened.", field="body")
    if len(text) > ENTRY_LIMIT:
        raise DomainError(f"Keep the entry to at most {ENTRY_LIMIT:,} characters.", field="body")
    return timeline.add_event(case, kind, text, author=by)


def timeline_for(case: Case) -> list[TimelineEvent]:
    """The case's timeline, newest first."""
    return list(
        db.session.scalars(
            sa.select(TimelineEvent)
            .where(TimelineEvent.case_id == case.id)
            .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
        )
    )


# The case list ---------------------------------------------------------------------------------

# Age brackets (days open, summed over intervals), as the district summaries bucket them.
AGE_BRACKETS: dict[str, tuple[str, int | None, int | None]] = {
    "0-30": ("Up to 30 days", None, 31),
    "31-90": ("31 to 90 days", 31, 91),
    "91-180": ("91 to 180 days", 91, 181),
    "181+": ("Over 180 days", 181, None),
}
SORTS: dict[str, str] = {
    "priority": "Priority, then oldest",
    "age": "Oldest first",
    "newest": "Newest first",
    "activity": "Recent activity",
    "number": "Case number",
}
ACTIVE = "active"  # every status but closed
# What a row of a case table shows, loaded in a few queries instead of one per row.
LIST_LOADS = (
    selectinload(Case.constituent),
    selectinload(Case.category),
    selectinload(Case.assignee),
    selectinload(Case.district),
)
PER_PAGE = 25


def _seconds_between(start: Any, end: Any) -> ColumnElement[float]:
    if db.session.get_bind().dialect.name == "sqlite":
        return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0
    return sa.type_coerce(sa.func.extract("epoch", end - start), sa.Float)


def _now_literal(now: datetime) -> Any:
    if db.session.get_bind().dialect.name == "sqlite":
        # Stored as naive UTC text; julianday() reads the same format.
        return sa.literal(now.replace(tzinfo=None).isoformat(sep=" "))
    return sa.literal(now, type_=sa.DateTime(timezone=True))


def age_seconds_expr(now: datetime | None = None) -> ColumnElement[float]:
    """SQL: seconds a case has been open, summed over its intervals (as workflow.open_days)."""
    now_value = _now_literal(now or utcnow())
    summed = (
        sa.select(
            sa.func.sum(
                _seconds_between(
                    CaseInterval.opened_at, sa.func.coalesce(CaseInterval.closed_at, now_value)
                )
            )
        )
        .where(CaseInterval.case_id == Case.id)
        .scalar_subquery()
    )
    without_intervals = _seconds_between(
        Case.opened_at, sa.func.coalesce(Case.closed_at, now_value)
    )
    return sa.func.coalesce(summed, without_intervals)


def priority_rank_expr() -> ColumnElement[int]:
    """SQL: 0 for emergency, 1 for expedite, 2 for routine."""
    return sa.case(
        (Case.priority == Priority.EMERGENCY, 0),
        (Case.priority == Priority.EXPEDITE, 1),
        else_=2,
    )


@dataclass
class CaseFilters:
    """What the case list is narrowed to; empty values mean 'any'."""

    status: str = ACTIVE
    district_id: int | None = None
    category_id: int | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    priority: str = ""
    age: str = ""
    confidential: str = ""  # "", "yes", "no"
    sort: str = "priority"
    page: int = 1


@dataclass
class CaseRow:
    case: Case
    age_days: int


@dataclass
class CasePage:
    rows: list[CaseRow]
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)


def find_cases(user: User, filters: CaseFilters, per_page: int = PER_PAGE) -> CasePage:
    """The page of cases the user may see that match the filters, sorted and counted."""
    age = age_seconds_expr()
    query = permissions.visible_cases(user)
    if filters.status == ACTIVE:
        query = query.where(Case.status != CaseStatus.CLOSED)
    elif filters.status in CaseStatus.__members__.values():
        query = query.where(Case.status == CaseStatus(filters.status))
    if filters.district_id:
        query = query.where(Case.district_id == filters.district_id)
    if filters.category_id:
        query = query.where(Case.category_id == filters.category_id)
    if filters.assignee == "me":
        query = query.where(Case.assignee_id == user.id)
    elif filters.assignee == "none":
        query = query.where(Case.assignee_id.is_(None))
    elif re.fullmatch(r"[0-9]{1,9}", filters.assignee):
        query = query.where(Case.assignee_id == int(filters.assignee))
    if filters.priority in Priority.__members__.values():
        query = query.where(Case.priority == Priority(filters.priority))
    if filters.age in AGE_BRACKETS:
        _, low, high = AGE_BRACKETS[filters.age]
        if low is not None:
            query = query.where(age >= low * 86400)
        if high is not None:
            query = query.where(age < high * 86400)
    if filters.confidential == "yes":
        query = query.where(Case.confidential.is_(True))
    elif filters.confidential == "no":
        query = query.where(Case.confidential.is_(False))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    order = {
        "priority": (priority_rank_expr(), age.desc(), Case.number),
        "age": (age.desc(), Case.number),
        "newest": (Case.opened_at.desc(), Case.number.desc()),
        "activity": (Case.last_activity_at.desc(), Case.number.desc()),
        "number": (Case.number,),
    }.get(filters.sort) or (priority_rank_expr(), age.desc(), Case.number)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(filters.page, 1), pages)
    rows = db.session.execute(
        query.add_columns(age.label("age_seconds"))
        .options(*LIST_LOADS)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return CasePage(
        rows=[CaseRow(case=c, age_days=int((secs or 0) // 86400)) for c, secs in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def parse_case_number(text: str, prefix: str) -> int | None:
    """'1042', 'C-1042', 'c1042', '#1042', 'Case #1042', '[Case #1042]' (with or without the
    prefix) → 1042; None when it is not a case number. The one parser of the app: the header
    box, search, mail filing and the mail tags all read numbers with it."""
    value = re.sub(r"\s+", "", text or "").lower()
    if len(value) > 40:
        return None
    value = value.removeprefix("[").removesuffix("]")
    value = value.removeprefix("case").removeprefix("no.").lstrip("#")
    for candidate in (prefix.lower(), prefix.lower().rstrip("-_#/. "), "c-", "c"):
        if candidate and value.startswith(candidate):
            value = value[len(candidate) :]
            break
    value = value.lstrip("#")
    # ASCII digits only: str.isdigit() also accepts '²' and other digits int() refuses.
    if not re.fullmatch(r"[0-9]{1,9}", value):
        return None
    return int(value)
