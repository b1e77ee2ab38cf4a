"""The search queue: ids of records a transaction changed, written in that same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
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


# The text search configuration of search_documents: PostgreSQL's English (Snowball stemmer)
# without its stop list, as Whoosh's analyzer has none: "after" alone finds what it finds there,
# and "pension after death" is not "pension death". Created with the table (and by migration
# c8d2e4f6a1b3) on PostgreSQL only.
TEXT_SEARCH_CONFIG = "constituent_english"
CREATE_TEXT_SEARCH_CONFIG = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'constituent_english_stem') THEN
    CREATE TEXT SEARCH DICTIONARY constituent_english_stem
      (TEMPLATE = snowball, Language = english);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'constituent_english') THEN
    CREATE TEXT SEARCH CONFIGURATION constituent_english (COPY = english);
    ALTER TEXT SEARCH CONFIGURATION constituent_english
      ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
      WITH constituent_english_stem;
  END IF;
END
$$;
"""

# PostgreSQL types with a plain stand-in on SQLite, where the table exists but stays empty
# (the postgres search backend refuses to start on SQLite).
_TSVECTOR = postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite")
_IDS = postgresql.ARRAY(sa.Integer()).with_variant(sa.Text(), "sqlite")


class SearchDocument(Base):
    """One searchable record for the postgres search backend (``kind`` as in SearchQueue).

    Written in the same transaction as the change that it follows (search/postgres.py):
    ``words`` holds the English-stemmed text, the same text unstemmed (prefixes, spelling
    suggestions) and the filter values as ``name=value`` lexemes, behind one GIN index. The
    other columns are what permissions, facets, dates and sorting need.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        sa.Index("ix_search_documents_words", "words", postgresql_using="gin"),
        sa.Index("ix_search_documents_kind_opened", "kind", "opened_ts"),
    )

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    words: Mapped[str] = mapped_column(_TSVECTOR)
    subject: Mapped[str] = mapped_column(sa.Text(), default="")
    body: Mapped[str] = mapped_column(sa.Text(), default="")
    district_id: Mapped[int | None]
    confidential: Mapped[bool] = mapped_column(default=False)
    assignee_id: Mapped[int | None]
    opened_by_id: Mapped[int | None]
    district: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str | None] = mapped_column(sa.String(32))
    category: Mapped[str | None] = mapped_column(sa.String(120))
    agencies: Mapped[Any] = mapped_column(_IDS, nullable=True)
    opened: Mapped[int | None]
    closed: Mapped[int | None]
    opened_ts: Mapped[int] = mapped_column(sa.BigInteger(), default=0)
    activity_ts: Mapped[int] = mapped_column(sa.BigInteger(), default=0)
    stamp: Mapped[str] = mapped_column(sa.String(40), default="")


# Long values (the tsvector, the text shown in passages) are stored out of line, so that the
# rows counted and grouped for facets are narrow: counting 1,000 matches reads a few pages
# instead of one page per row (measured: 3 ms → 0.8 ms at 8,000 cases).
NARROW_ROWS = "ALTER TABLE search_documents SET (toast_tuple_target = 128)"

sa.event.listen(
    SearchDocument.__table__,
    "after_create",
    sa.DDL(NARROW_ROWS).execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]
)
sa.event.listen(
    SearchDocument.__table__,
    "before_create",
    sa.DDL(CREATE_TEXT_SEARCH_CONFIG).execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]
)
