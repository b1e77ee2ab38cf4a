"""Append-only audit trail: one function adds an event to the current transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from constituent.extensions import db
from constituent.models import AuditEvent, User


def record(
    action: str,
    record_type: str | None = None,
    record_id: object = None,
    detail: str = "",
    user: User | None = None,
) -> AuditEvent:
    """Add an audit event (flushed with the caller's transaction; never commits).

    ``detail`` must not carry sensitive values (case text, SSNs): say what happened, not what
    was written.
    """
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()  # type: ignore[attr-defined]
    event = AuditEvent(
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        detail=detail[:1000],
        user_id=user.id if user is not None else None,
        user_email=user.email if user is not None else None,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


@dataclass
class AuditFilters:
    """What the audit page narrows by; empty values mean any."""

    user: str = ""  # part of the email
    action: str = ""
    record_type: str = ""
    record_id: str = ""
    since: datetime | None = None  # inclusive, UTC
    before: datetime | None = None  # exclusive, UTC


def find_events(filters: AuditFilters) -> sa.Select[tuple[AuditEvent]]:
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
