"""CSV exports, streamed: UTF-8 with a header row, no row limit, formulas neutralised.

Rows go through ``csv.writer`` into a small buffer that is handed out every ~64 KB, and
database rows are read in batches (``yield_per``), so memory stays flat however many rows
there are. Text that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or
a carriage return) gets a leading single quote (OWASP "CSV injection"); numbers are written as
numbers, so a change of -3 stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from constituent.extensions import db

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_CHARS = 64 * 1024
BATCH_ROWS = 1000


def neutralise(value: object) -> object:
    """A text cell that would start a spreadsheet formula, prefixed with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = False
) -> Iterator[str]:
    """The CSV text of a header and rows, in chunks of about 64 KB.

    ``bom`` starts the file with a UTF-8 byte-order mark, so that spreadsheets opened by
    double-click read accented names correctly (downloads); scripts get none (the CLI).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(_plain(v)) for v in row])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if buffer.tell():
        yield buffer.getvalue()


def _plain(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def stream_rows(statement: sa.Select[Any], batch: int = BATCH_ROWS) -> Iterator[sa.Row[Any]]:
    """Rows of a SELECT read from the database in batches (a server-side cursor on
    PostgreSQL), never all at once."""
    result = db.session.execute(statement.execution_options(yield_per=batch))
    for partition in result.partitions():
        yield from partition


def local_text(value: datetime | None, tz: ZoneInfo) -> str:
    """An instant as office-local 'YYYY-MM-DD HH:MM' (empty for none)."""
    if value is None:
        return ""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
