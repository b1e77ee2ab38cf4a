"""A caseload import run from the admin Import page: its progress and what it found."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, str_enum, utcnow


class ImportStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(Base):
    """One upload imported in the background: rows read of about how many, the counts, the
    refused rows (line, column, reason) and why it stopped, if it did."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "constituents" or "cases"
    dry_run: Mapped[bool] = mapped_column(default=False)  # checks every row, saves none
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, 16), default=ImportStatus.RUNNING
    )
    total_rows: Mapped[int] = mapped_column(default=0)  # counted before the import, about
    processed_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    matched: Mapped[int] = mapped_column(default=0)
    refused_count: Mapped[int] = mapped_column(default=0)
    # [[line, column, reason], ...] (the first MAX_LISTED) and the reading notes, when done.
    refusals: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    notes: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    started_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.kind} {self.status.value}>"
