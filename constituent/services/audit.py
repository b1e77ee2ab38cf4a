"""Append-only audit trail: one function records an event (with the caller's writes, or on
its own for a request that only reads)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from constituent.database import immediate_writes, is_busy_error
from constituent.extensions import db
from constituent.models import AuditEvent, User

# Attempts at a read request's audit row; each waits up to the database's busy timeout.
READ_AUDIT_ATTEMPTS = 3


@dataclass(frozen=True)
class Actor:
    """Who did it and from where: the request boundary builds one for each request
    (``views/boundary.actor``); a command has none (no user, no address)."""

    user: User | None = None
    address: str | None = None
    # A read request (GET: a download, a confidential case shown): its event is committed
    # at once on its own (``_record_read``) instead of joining the caller's transaction.
    reading: bool = False


NOBODY = Actor()

# Where ``record`` finds the actor when the caller passes none (a service deep inside a
# request): the web app registers the request boundary's ``actor`` here at start-up.
_actor_source: Callable[[], Actor] = lambda: NOBODY  # noqa: E731


def use_actor_source(source: Callable[[], Actor]) -> None:
    """Register how to find the current actor (``create_app`` passes the request boundary's)."""
    global _actor_source
    _actor_source = source


def record(
    action: str,
    record_type: str | None = None,
    record_id: object = None,
    detail: str = "",
    user: User | None = None,
    *,
    actor: Actor | None = None,
) -> AuditEvent:
    """Record an audit event by ``actor`` (or ``user``, who overrides the actor's user).
    ``detail`` must not carry sensitive values (case text, SSNs): say what happened, not what
    was written.

    A writing actor's event joins the caller's transaction and is committed with it. A
    reading actor's event (a download, opening a confidential case or unfiled mail) is written
    at once in a short transaction of its own (see ``_record_read``), so the read itself never
    needs the write lock.
    """
    actor = actor or _actor_source()
    if user is None:
        user = actor.user
    event = AuditEvent(
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        detail=detail[:1000],
        user_id=user.id if user is not None else None,
        user_email=user.email if user is not None else None,
        ip=actor.address,
    )
    if actor.reading:
        _record_read(event)
    else:
        db.session.add(event)
    return event


def activity(
    record_type: str, record_id: object, active: bool, detail: str = "", user: User | None = None
) -> AuditEvent:
    """A record deactivated or reactivated: ``<record_type>_activated`` or ``_deactivated``."""
    done = "activated" if active else "deactivated"
    return record(f"{record_type}_{done}", record_type, record_id, detail=detail, user=user)


def _record_read(event: AuditEvent) -> None:
    """Commit a read request's audit event in its own short write transaction, with retry.

    On SQLite a read request's transaction cannot later turn into a write once another
    connection has committed since its read began ("database is locked" at once, whatever
    the busy timeout): parallel downloads answered 503. This transaction begins IMMEDIATE
    (waiting for the write lock), writes one row and commits; the request's own transaction
    stays a plain read. The event is written before the page or file is sent, so an access
    that the audit log cannot record is not served (the error page says "try again").
    """
    for attempt in range(1, READ_AUDIT_ATTEMPTS + 1):
        with Session(db.engine, expire_on_commit=False) as session, immediate_writes():
            session.add(event)
            try:
                session.commit()
                return
            except sa.exc.DBAPIError as exc:
                session.rollback()
                if not is_busy_error(exc) or attempt == READ_AUDIT_ATTEMPTS:
                    raise
        time.sleep(0.05 * attempt)


@dataclass
class AuditFilters:
    """What the audit page narrows by; empty values mean any."""

    user: str = ""  # part of the email
    action: str = ""
    record_type: str = ""
    record_id: str = ""
    since: datetime | None = None  # inclusive, UTC
    before: datetime | None = None  # exclusive, UTC


def find_events(filters: AuditFilters) -> sa.Select[AuditEvent]:
    """The audit events matching the filters, newest first."""
    query = sa.select(AuditEvent)
    if filters.user:
        query = query.where(AuditEvent.user_email.contains(filters.user.lower(), autoescape=True))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.record_type:
        query = query.where(AuditEvent.record_type == filters.record_type)
    if filters.record_id:
        query = query.where(AuditEvent.record_id == filters.record_id)
    if filters.since:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.before:
        query = query.where(AuditEvent.at < filters.before)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def known_actions() -> list[str]:
    """Every action recorded so far, for the filter's list."""
    return list(
        db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def count_events(filters: AuditFilters) -> int:
    """How many audit events match the filters."""
    query = find_events(filters)
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def event_page(filters: AuditFilters, page: int, per_page: int) -> list[AuditEvent]:
    """One page (numbered from 1) of the audit events matching the filters, newest first."""
    query = find_events(filters).limit(per_page).offset((page - 1) * per_page)
    return list(db.session.scalars(query))
