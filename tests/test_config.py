"""Settings: secrets, the database URL and SQLite pragmas."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from constituent import create_app
from constituent.config import ConfigurationError
from constituent.extensions import db


def test_production_without_secret_fails_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSTITUENT_ENV", "production")
    monkeypatch.delenv("CONSTITUENT_SECRET_KEY", raising=False)
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="CONSTITUENT_SECRET_KEY must be set"):
        create_app()


def test_embedded_secret_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("CONSTITUENT_SECRET_KEY", raising=False)
    monkeypatch.delenv("CONSTITUENT_ENV", raising=False)
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_live_in_the_instance_folder(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "SEARCH_INDEX_DIR"):
        monkeypatch.delenv(f"CONSTITUENT_{name}", raising=False)
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'constituent.db'}"
    assert app.config["SEARCH_INDEX_DIR"] == str(tmp_path / "search-index")


def test_sqlite_connections_get_wal_busy_timeout_and_foreign_keys(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CONSTITUENT_DATABASE_URL", raising=False)
    app = create_app()
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 5000
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()
