"""Append-only audit events."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, utcnow


class AuditEvent(Base):
    """Who did what to which record, and when. Never updated or deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_record", "record_type", "record_id"),
        sa.Index("ix_audit_events_user_at", "user_id", "at"),
        sa.Index("ix_audit_events_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # No foreign key: the trail must outlive the rows it talks about.
    user_id: Mapped[int | None]
    user_email: Mapped[str | None] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(60))
    record_type: Mapped[str | None] = mapped_column(sa.String(40))
    record_id: Mapped[str | None] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.String(1000), default="")
    ip: Mapped[str | None] = mapped_column(sa.String(45))
