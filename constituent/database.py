"""Engine-level settings: SQLite pragmas, immediate write transactions, and what a lost race
becomes for the user (409 or 503, never a 500)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.exc import DBAPIError, OperationalError

from constituent.extensions import db

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Set by ``immediate_writes()``: work outside a request that reads and then writes.
_immediate: ContextVar[bool] = ContextVar("constituent_immediate_writes", default=False)


@contextmanager
def immediate_writes() -> Iterator[None]:
    """Begin this thread's SQLite transactions IMMEDIATE while inside (CLI commands that write).

    A DEFERRED transaction that has read cannot become a write transaction once another
    connection has committed since its read began: SQLite answers "database is locked" at
    once, without waiting for busy_timeout. Write requests already begin IMMEDIATE; this
    does the same for an import that runs beside the web app. Other threads (the search
    indexer, whose reads must not hold the write lock) are not affected.
    """
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def _sqlite_connect(dbapi_connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (the pysqlite recipe), so that write
    # requests can take the write lock up front instead of failing halfway through.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """BEGIN IMMEDIATE for requests that write and inside ``immediate_writes()`` (waits up to
    busy_timeout for the write lock), BEGIN otherwise."""
    if _immediate.get() or (has_request_context() and request.method not in SAFE_METHODS):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def configure_engine_events(app: Flask) -> None:
    """Turn on WAL, busy_timeout, foreign keys and immediate write transactions for SQLite."""
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            timeout = int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", 5000))
            event.listen(engine, "connect", lambda conn, _rec: _sqlite_connect(conn, timeout))
            event.listen(engine, "begin", _sqlite_begin)


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (SQLAlchemy types ``execute()`` as a plain
    Result; a DML statement's result is always the cursor's)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


def is_busy_error(exc: BaseException) -> bool:
    """True for a database that stayed locked, a serialization failure or a deadlock."""
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return sqlstate in {"40001", "40P01", "55P03"}  # serialization, deadlock, lock n/a
    return False


def schema_problem() -> str | None:
    """Why the database cannot be used yet (not migrated, or migrated to an older revision),
    as a message naming the command that fixes it; None when it is ready."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask import current_app

    where = db.engine.url.render_as_string(hide_password=True)
    with db.engine.connect() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        current = (
            set(MigrationContext.configure(conn).get_current_heads())
            if "alembic_version" in existing
            else None
        )
    if current is not None:
        migrate = current_app.extensions["migrate"]
        heads = set(ScriptDirectory.from_config(migrate.migrate.get_config()).get_heads())
        if current != heads:
            return (
                f"The database {where} is at revision {', '.join(sorted(current)) or 'none'}; "
                f"this version of the app needs {', '.join(sorted(heads))}. "
                "Run `flask --app constituent db upgrade` first."
            )
    missing = sorted(t for t in db.metadata.tables if t not in existing)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        return (
            f"The database {where} is not set up (no table {shown}). "
            "Run `flask --app constituent db upgrade` first."
        )
    return None
