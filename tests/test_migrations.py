"""`flask db upgrade` yields exactly the models' schema, and every revision downgrades."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from constituent import create_app
from constituent.extensions import db
from tests.dbutil import fresh_database

pytestmark = pytest.mark.migrations


@pytest.fixture()
def empty_app(tmp_path):
    with fresh_database(tmp_path, "mig") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 40, "TESTING": True})
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()


def _diff(app) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_head_matches_the_models(empty_app):
    upgrade()
    assert _diff(empty_app) == []


def test_every_revision_downgrades_to_base(empty_app):
    upgrade()
    script = ScriptDirectory.from_config(empty_app.extensions["migrate"].migrate.get_config())
    revisions = list(script.walk_revisions())
    assert revisions, "no migration revisions found"
    for _ in revisions:
        downgrade(revision="-1")
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert _diff(empty_app) == []


def test_audit_events_are_append_only_on_postgresql(empty_app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    upgrade()
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO audit_events (at, action, detail) VALUES (now(), 'sign_in', '')")
        )
    for statement in (
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1
