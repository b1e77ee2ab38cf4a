"""Engine-level settings: SQLite pragmas, immediate write transactions, and what a lost race
becomes for the user (409 or 503, never a 500)."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from constituent.extensions import db

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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
    """BEGIN IMMEDIATE for requests that write (waits up to busy_timeout), BEGIN otherwise."""
    if has_request_context() and request.method not in SAFE_METHODS:
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


def is_busy_error(exc: BaseException) -> bool:
    """True for a database that stayed locked, a serialization failure or a deadlock."""
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return sqlstate in {"40001", "40P01", "55P03"}  # serialization, deadlock, lock n/a
    return False
