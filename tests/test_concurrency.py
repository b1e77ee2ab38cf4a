"""A database that stays busy answers 503 with a message, never a 500, and saves nothing."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from constituent import create_app
from constituent.config import TestConfig
from constituent.database import immediate_writes
from constituent.extensions import db
from constituent.models import AuditEvent
from tests import factories
from tests.conftest import Client


def test_sqlite_write_lock_held_elsewhere_gives_503_not_500(tmp_path):
    path = tmp_path / "busy.db"
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": "x" * 40,
            "SQLITE_BUSY_TIMEOUT_MS": 100,
        }
    )
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
        office = factories.make_office()
        client = app.test_client()
        token = client.csrf_token("/login")
        blocker = sa.create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")
        with blocker.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the lock
            try:
                response = client.post(
                    "/login",
                    data={
                        "email": office.admin.email,
                        "password": "wrong password here",
                        "csrf_token": token,
                    },
                )
            finally:
                conn.exec_driver_sql("ROLLBACK")
        blocker.dispose()
        assert response.status_code == 503
        assert "busy" in response.get_data(as_text=True).lower()
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "sign_in_failed")
            )
            == 0
        )
        db.session.remove()
        db.engine.dispose()


def _sqlite_app(path):  # type: ignore[no-untyped-def]
    return create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": "x" * 40,
            "SQLITE_BUSY_TIMEOUT_MS": 2000,
        }
    )


def _other_save(path) -> None:  # type: ignore[no-untyped-def]
    """Another process's save, committed while our transaction is open."""
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE users SET full_name = full_name || '.'")
        other.execute("COMMIT")
    finally:
        other.close()


def test_an_import_that_reads_then_writes_survives_a_save_committed_meanwhile(tmp_path):
    """Outside a request a SQLite transaction begins DEFERRED; once it has read, a commit by
    another connection makes its first write fail at once ("database is locked"), whatever the
    busy timeout. Commands that import (mail, agencies, ZIPs) begin IMMEDIATE instead: the
    other save waits for them, and both succeed."""
    path = tmp_path / "cli.db"
    app = _sqlite_app(path)
    with app.app_context():
        db.create_all()
        office = factories.make_office()
        db.session.commit()

        # Deferred (the default outside a request): the write after the other save fails.
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        _other_save(path)
        office.admin.full_name = "Deferred write"
        with pytest.raises(sa.exc.OperationalError, match="database is locked"):
            db.session.commit()
        db.session.rollback()

        # Immediate (what `writes` commands use): the other save has to wait its turn.
        with immediate_writes():
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                _other_save(path)
            office.admin.full_name = "Immediate write"
            db.session.commit()
        _other_save(path)  # and it goes through once the import's transaction has ended
        db.session.expire_all()
        assert office.admin.full_name == "Immediate write."
        db.session.remove()
        db.engine.dispose()


def test_only_the_thread_inside_immediate_writes_is_affected(tmp_path):
    """The search indexer's reads in another thread must not take the write lock."""
    path = tmp_path / "threads.db"
    app = _sqlite_app(path)
    seen: list[str] = []
    with app.app_context():
        db.create_all()
        factories.make_office()
        db.session.commit()

        def reader() -> None:
            with app.app_context(), db.engine.connect() as conn:
                conn.execute(sa.text("SELECT count(*) FROM users"))
                seen.append("read")
                _other_save(path)  # a deferred reader does not block writers
                seen.append("other saved")

        with immediate_writes():
            thread = threading.Thread(target=reader)
            thread.start()
            thread.join(10)
        assert seen == ["read", "other saved"]
        db.session.remove()
        db.engine.dispose()
