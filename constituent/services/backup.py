"""Backups and restores: SQLite through its online backup API, PostgreSQL through pg_dump.

A restore checks the backup first (integrity, and that its schema is at this code's migration
head) and only then replaces the live database.
"""

from __future__ import annotations

import shutil
import sqlite3

# pg_dump/pg_restore run as fixed programs with argument lists, never through a shell.
import subprocess  # noqa: S404  # nosec B404
import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.engine import make_url

from constituent.extensions import db
from constituent.services.errors import DomainError


def migration_head() -> str:
    """The Alembic head revision of this code."""
    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise DomainError("This code has no migrations.")
    return head


def _sqlite_path() -> Path | None:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise DomainError("An in-memory database cannot be backed up.")
    return Path(url.database)


def _libpq_url() -> str:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def backup(target: Path) -> Path:
    """Write a consistent copy of the live database to ``target`` while the app keeps running."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    db.session.remove()
    source = _sqlite_path()
    if source is not None:
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:6]}.tmp")
        with sqlite3.connect(source) as src, sqlite3.connect(tmp) as dst:
            src.backup(dst)
        tmp.replace(target)
        return target
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise DomainError(
            "pg_dump is not installed. Install the PostgreSQL client, or run: "
            'pg_dump --format=custom --file BACKUP "$CONSTITUENT_DATABASE_URL"'
        )
    subprocess.run(  # noqa: S603  # nosec B603
        [pg_dump, "--format=custom", "--no-owner", "--file", str(target), _libpq_url()],
        check=True,
        capture_output=True,
    )
    return target


def check_sqlite_backup(path: Path) -> str:
    """Integrity-check a SQLite backup and return its migration revision."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
            if result is None or result[0] != "ok":
                raise DomainError(f"The backup failed its integrity check: {result}.")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DomainError(f"{path.name} is not a readable SQLite backup ({exc}).") from exc
    if row is None:
        raise DomainError("The backup has no migration revision.")
    return str(row[0])


def restore(source: Path) -> None:
    """Replace the live database with a checked backup (same migration head required)."""
    source = source.resolve()
    if not source.is_file():
        raise DomainError(f"No backup file at {source}.")
    head = migration_head()
    db.session.remove()
    live = _sqlite_path()
    if live is not None:
        revision = check_sqlite_backup(source)
        if revision != head:
            raise DomainError(
                f"The backup is at migration {revision}, this code at {head}: restore it with "
                "the matching version, then run `flask db upgrade`."
            )
        db.engine.dispose()
        with sqlite3.connect(source) as src, sqlite3.connect(live) as dst:
            src.backup(dst)
        return
    _restore_postgres(source, head)


def _restore_postgres(source: Path, head: str) -> None:
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise DomainError("pg_restore is not installed (PostgreSQL client tools).")
    listing = subprocess.run(  # noqa: S603  # nosec B603
        [pg_restore, "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0 or "alembic_version" not in listing.stdout:
        raise DomainError(f"{source.name} is not a readable backup of this application.")
    # Restore into a scratch database first to read its revision, then into the live one.
    live_url = make_url(_libpq_url())
    scratch = f"constituent_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        live_url.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        scratch_url = live_url.set(database=scratch).render_as_string(hide_password=False)
        subprocess.run(  # noqa: S603  # nosec B603
            [pg_restore, "--no-owner", "--dbname", scratch_url, str(source)],
            check=True,
            capture_output=True,
        )
        engine = sa.create_engine(live_url.set(drivername="postgresql+psycopg", database=scratch))
        with engine.connect() as conn:
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
        if revision != head:
            raise DomainError(f"The backup is at migration {revision}, this code at {head}.")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()
    db.engine.dispose()
    subprocess.run(  # noqa: S603  # nosec B603
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            live_url.render_as_string(hide_password=False),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
