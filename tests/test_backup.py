"""flask backup / flask restore: a round trip, and refusals that replace nothing."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from constituent import create_app
from constituent.extensions import db
from constituent.models import User
from tests import factories
from tests.dbutil import fresh_database


@pytest.fixture()
def migrated_app(tmp_path):
    with fresh_database(tmp_path, "bak") as url:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "x" * 40,
                "TESTING": True,
                "ARGON2_TIME_COST": 1,
                "ARGON2_MEMORY_COST": 1024,
                "ARGON2_PARALLELISM": 1,
            }
        )
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()


def _emails():
    return sorted(db.session.scalars(sa.select(User.email)))


def test_backup_and_restore_round_trip(migrated_app, tmp_path):
    if db.engine.dialect.name == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump not installed")
    factories.make_office()
    before = _emails()
    runner = migrated_app.test_cli_runner()
    target = tmp_path / "office.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0
    db.session.execute(sa.delete(User).where(User.email == "admin@test.example"))
    db.session.commit()
    assert "admin@test.example" not in _emails()
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert _emails() == before


def test_restore_refuses_a_corrupt_file_and_changes_nothing(migrated_app, tmp_path):
    factories.make_office()
    before = _emails()
    bad = tmp_path / "garbage.backup"
    bad.write_bytes(b"this is not a database backup" * 100)
    result = migrated_app.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0
    assert "not a readable" in result.output
    db.session.remove()
    assert _emails() == before


def test_restore_refuses_a_backup_from_another_migration(migrated_app, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("revision check exercised on SQLite; PostgreSQL reads it the same way")
    factories.make_office()
    runner = migrated_app.test_cli_runner()
    target = tmp_path / "old.backup"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    import sqlite3

    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'deadbeef0000'")
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code != 0 and "deadbeef0000" in result.output
