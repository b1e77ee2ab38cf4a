"""The append-only case timeline: one function adds an entry and touches the case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from constituent.extensions import db
from constituent.models import Case, EventKind, TimelineEvent, User, utcnow


def add_event(
    case: Case,
    kind: EventKind,
    body: str = "",
    author: User | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEvent:
    """Append an entry to the case's timeline and bump its last activity (never edits one).

    Last activity is written with a plain UPDATE that leaves the case's version alone: a note
    added by a colleague must not make an open edit form of the case header stale.
    """
    now = utcnow()
    event = TimelineEvent(
        case=case,
        kind=kind,
        body=body,
        author=author,
        data=data,
        occurred_at=occurred_at or now,
        created_at=now,
    )
    db.session.add(event)
    if case.id is None or sa.inspect(case).pending:
        case.last_activity_at = now
    else:
        db.session.execute(
            sa.update(Case)
            .where(Case.id == case.id)
            .values(last_activity_at=now)
            .execution_options(synchronize_session=False)
        )
        set_committed_value(case, "last_activity_at", now)
    return event
