"""A database that stays busy answers 503 with a message, never a 500, and saves nothing."""

from __future__ import annotations

import sqlalchemy as sa

from constituent import create_app
from constituent.config import TestConfig
from constituent.extensions import db
from constituent.models import AuditEvent
from tests import factories
from tests.conftest import Client


def test_sqlite_write_lock_held_elsewhere_gives_503_not_500(tmp_path):
    path = tmp_path / "busy.db"
    app = create_app({
        **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "x" * 40,
        "SQLITE_BUSY_TIMEOUT_MS": 100,
    })
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
                response = client.post("/login", data={
                    "email": office.admin.email, "password": "wrong password here",
                    "csrf_token": token})
            finally:
                conn.exec_driver_sql("ROLLBACK")
        blocker.dispose()
        assert response.status_code == 503
        assert "busy" in response.get_data(as_text=True).lower()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "sign_in_failed")) == 0
        db.session.remove()
        db.engine.dispose()
