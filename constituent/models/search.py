"""The search queue: ids of records a transaction changed, written in that same transaction."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, utcnow


class SearchQueue(Base):
    """One record to (re)index: ``kind`` is ``case``, ``constituent`` or ``agency``.

    Rows are inserted by the session's after_flush hook on the saving transaction's own
    connection (a rollback leaves none) and deleted by the indexer only after Whoosh committed
    the documents. The same record may be queued many times; the indexer reads it once.
    """

    __tablename__ = "search_queue"
    __table_args__ = (sa.Index("ix_search_queue_kind_record", "kind", "record_id"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    record_id: Mapped[int]
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
