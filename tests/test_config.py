"""Settings: secrets, the database URL and SQLite pragmas."""

from __future__ import annotations

import subprocess  # noqa: S404
import sys
import time

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


def test_production_without_a_data_key_fails_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSTITUENT_ENV", "production")
    monkeypatch.setenv("CONSTITUENT_SECRET_KEY", "s" * 48)
    monkeypatch.delenv("CONSTITUENT_DATA_KEY", raising=False)
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="CONSTITUENT_DATA_KEY must be set"):
        create_app()


def test_embedded_data_key_is_generated_once_and_kept_private(monkeypatch, tmp_path):
    monkeypatch.delenv("CONSTITUENT_DATA_KEY", raising=False)
    monkeypatch.delenv("CONSTITUENT_ENV", raising=False)
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    first = create_app().config["DATA_KEY"]
    assert create_app().config["DATA_KEY"] == first
    assert (tmp_path / "data_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("CONSTITUENT_DATA_KEY", "not-a-fernet-key")
    with pytest.raises(RuntimeError, match="CONSTITUENT_DATA_KEY is not a Fernet key"):
        create_app()


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


def test_processes_starting_together_share_one_whole_secret(tmp_path):
    """Gunicorn workers and commands may all start on a fresh instance folder at once: each
    must read the same complete key (none fails because another created the file first).
    The processes import first and then wait for one signal, so their first starts overlap."""
    instance, signals = tmp_path / "instance", tmp_path / "signals"
    signals.mkdir()
    script = (
        "import sys, time; from pathlib import Path; from constituent.config import _instance_secret\n"
        "signals = Path(sys.argv[2]); (signals / sys.argv[3]).touch()\n"
        "while not (signals / 'go').exists(): time.sleep(0.001)\n"
        "print(_instance_secret(Path(sys.argv[1])))"
    )
    runs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", script, str(instance), str(signals), f"ready{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    deadline = time.monotonic() + 60
    while len(list(signals.iterdir())) < len(runs) and time.monotonic() < deadline:
        time.sleep(0.01)
    (signals / "go").touch()
    answers = [run.communicate(timeout=60) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in answers]
    keys = {out.strip() for out, _ in answers}
    assert len(keys) == 1 and len(keys.pop()) >= 64
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary file left
