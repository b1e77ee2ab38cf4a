"""Backups and restores of the whole office: the database and every stored file it refers to.

A backup is one tar archive: the database (SQLite through its online backup API, PostgreSQL
through pg_dump on an exported snapshot, or without pg_dump as a logical dump of every table
read in one REPEATABLE READ transaction), each stored file the database refers to (signed
privacy releases, case and mail attachments) and ``manifest.json`` with their SHA-256
checksums. Both are taken from one consistent view of the database while the app keeps
running. With CONSTITUENT_UPLOAD_STORAGE=database the files are rows of the database and travel
in its dump (each is read back against its checksum first; the manifest lists no files).
A restore checks everything first (the archive, the database's integrity and
migration revision, and that every file the database refers to is there with the right
checksum) and only then replaces the live files and database.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3

# pg_dump/pg_restore run as fixed programs with argument lists, never through a shell.
import subprocess  # noqa: S404  # nosec B404
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.engine import make_url

from constituent.extensions import db
from constituent.services import file_store, uploads
from constituent.services.errors import DomainError

ARCHIVE_FORMAT = "constituent-backup"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PGDUMP_MEMBER = "database.pgdump"
# PostgreSQL without pg_dump: every table's rows as JSON lines, read in one snapshot.
LOGICAL_MEMBER = "database.jsonl.gz"
LOGICAL_FORMAT = "constituent-logical-dump"
_BATCH = 1000
_DATABASE_MEMBERS = {SQLITE_MEMBER, PGDUMP_MEMBER, LOGICAL_MEMBER}
UPLOADS_PREFIX = "uploads/"
# A stored file's place in the archive: uploads/<first two characters of its key>/<key>.
_MEMBER_RE = re.compile(r"uploads/([A-Za-z0-9_-]{2})/([A-Za-z0-9_-]{2,255})")
_CHUNK = 1024 * 1024
# How many problems a refusal lists before "and N more".
_LISTED = 10

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class StoredFile:
    """A file the database refers to: an ``attachments`` row."""

    storage_key: str
    sha256: str
    size: int

    @property
    def member(self) -> str:
        return f"{UPLOADS_PREFIX}{self.storage_key[:2]}/{self.storage_key}"


@dataclass(frozen=True)
class BackupResult:
    """What ``backup`` wrote."""

    path: Path
    revision: str
    files: int
    file_bytes: int


@dataclass(frozen=True)
class RestoreResult:
    """What ``restore`` put back."""

    revision: str
    files: int
    files_written: int


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


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DomainError(
            f"{name} is not installed: install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client) of the server's version or newer."
        )
    return path


def _run(args: list[str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DomainError(f"{what} failed: {detail[-1] if detail else done.returncode}")
    return done


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _listing(problems: list[str]) -> str:
    shown = "; ".join(problems[:_LISTED])
    more = len(problems) - _LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


def _noop(stage: str, done: int, total: int) -> None:
    return None


# ---------------------------------------------------------------------------------------
# Backup
# ---------------------------------------------------------------------------------------


def backup(target: Path, progress: Progress | None = None) -> BackupResult:
    """Write one archive with the database and every stored file it refers to.

    The database copy is consistent while the app keeps saving, and the files are exactly
    those that copy refers to (a file is written before its row commits and never changed).
    A referenced file missing or damaged on disk stops the backup with the list, since a
    restore of that archive would be refused.
    """
    progress = progress or _noop
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    db.session.remove()
    with tempfile.TemporaryDirectory(prefix=".constituent-backup-", dir=target.parent) as tmp:
        work = Path(tmp)
        progress("database", 0, 1)
        if (source := _sqlite_path()) is not None:
            member, dump = SQLITE_MEMBER, work / SQLITE_MEMBER
            with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(dump)) as dst:
                src.backup(dst)  # one step: a single read transaction, a consistent copy
                # One self-contained file (no -wal beside it) in the archive.
                dst.execute("PRAGMA journal_mode=DELETE")
            revision = check_sqlite_backup(dump)
            files = _sqlite_references(dump)
        elif (pg_dump := pg_dump_program()) is not None:
            member, dump = PGDUMP_MEMBER, work / PGDUMP_MEMBER
            revision, files = _dump_postgres(dump, pg_dump)
        else:
            member, dump = LOGICAL_MEMBER, work / LOGICAL_MEMBER
            revision, files = _dump_logical(dump)
        progress("database", 1, 1)
        archive = work / "archive.tar"
        with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(dump, arcname=member)
            in_database = file_store.storage() == file_store.DATABASE
            manifest_files: list[dict[str, Any]]
            if in_database:  # the files travel inside the database dump
                manifest_files, problems = [], _check_chunks(files, progress)
            else:
                manifest_files, problems = _add_files(tar, files, progress)
            if problems:
                where = "the database" if in_database else uploads.upload_dir()
                raise DomainError(
                    f"Not backed up: {len(problems)} stored file(s) the database refers to "
                    f"are missing or damaged in {where}: {_listing(problems)}. "
                    "Put them back from an earlier backup, then back up again."
                )
            manifest = {
                "format": ARCHIVE_FORMAT,
                "version": ARCHIVE_VERSION,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "revision": revision,
                "database": {
                    "member": member,
                    "dialect": "sqlite" if member == SQLITE_MEMBER else "postgresql",
                    "sha256": _sha256_file(dump),
                    "size": dump.stat().st_size,
                },
                "files": manifest_files,
                "upload_storage": file_store.storage(),
            }
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        archive.chmod(0o600)  # residents' details: readable by the office's service account only
        archive.replace(target)
    return BackupResult(
        path=target,
        revision=revision,
        files=len(files),
        file_bytes=sum(f["size"] for f in manifest_files),
    )


def _sqlite_references(path: Path) -> list[StoredFile]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT storage_key, sha256, size FROM attachments ORDER BY storage_key"
        ).fetchall()
    return [StoredFile(str(k), str(s), int(n)) for k, s, n in rows]


def _references_query() -> sa.TextClause:
    return sa.text("SELECT storage_key, sha256, size FROM attachments ORDER BY storage_key")


def pg_dump_program() -> str | None:
    """pg_dump on the PATH, or None: then PostgreSQL is backed up as a logical dump."""
    return shutil.which("pg_dump")


def _dump_postgres(target: Path, pg_dump: str) -> tuple[str, list[StoredFile]]:
    """pg_dump of an exported snapshot, and the file list and revision read in that snapshot."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            rows = conn.execute(_references_query()).all()
            # The snapshot stays importable while this transaction is open.
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(target),
                    _libpq_url(),
                ],
                "pg_dump",
            )
    return str(revision), [StoredFile(str(k), str(s), int(n)) for k, s, n in rows]


class _HashingReader(io.RawIOBase):
    """A file read once: into the archive and through SHA-256 at the same time."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self.fh.read(-1 if size is None else size)
        self.digest.update(data)
        return data


def _add_files(
    tar: tarfile.TarFile, files: list[StoredFile], progress: Progress
) -> tuple[list[dict[str, Any]], list[str]]:
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    total = len(files)
    progress("files", 0, total)
    for done, stored in enumerate(files, start=1):
        path = uploads.upload_dir() / stored.storage_key[:2] / stored.storage_key
        try:
            with path.open("rb") as fh:
                info = tar.gettarinfo(arcname=stored.member, fileobj=fh)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                reader = _HashingReader(fh)
                tar.addfile(info, reader)
        except FileNotFoundError:
            problems.append(f"{stored.member} is missing")
        else:
            digest = reader.digest.hexdigest()
            if digest != stored.sha256:
                problems.append(f"{stored.member} does not match its checksum")
            entries.append({"path": stored.member, "sha256": digest, "size": info.size})
        progress("files", done, total)
    return entries, problems


def _check_chunks(files: list[StoredFile], progress: Progress) -> list[str]:
    """Database storage: every referenced file's chunks are there and match its checksum
    (read chunk by chunk; chunks are written before their row commits and never changed)."""
    problems: list[str] = []
    total = len(files)
    progress("files", 0, total)
    store = file_store.DatabaseStore()
    for done, stored in enumerate(files, start=1):
        digest = hashlib.sha256()
        try:
            for chunk in store.open(stored.storage_key):
                digest.update(chunk)
        except FileNotFoundError:
            problems.append(f"{stored.storage_key} is missing")
        else:
            if digest.hexdigest() != stored.sha256:
                problems.append(f"{stored.storage_key} does not match its checksum")
        progress("files", done, total)
    db.session.remove()
    return problems


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------------------------------
# Restore
# ---------------------------------------------------------------------------------------


def check_sqlite_backup(path: Path) -> str:
    """Integrity-check a SQLite database file and return its migration revision."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
            if result is None or result[0] != "ok":
                raise DomainError(f"The backup failed its integrity check: {result}.")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DomainError(f"{path.name} is not a readable SQLite backup ({exc}).") from exc
    if row is None:
        raise DomainError("The backup has no migration revision.")
    return str(row[0])


def restore(source: Path, progress: Progress | None = None) -> RestoreResult:
    """Replace the live database and stored files with a checked backup archive.

    Nothing is changed unless the archive is whole (every member matches the manifest), its
    database is readable and at this code's migration head, and every file that database
    refers to is in the archive with the checksum the database records.
    """
    progress = progress or _noop
    source = source.resolve()
    if not source.is_file():
        raise DomainError(f"No backup file at {source}.")
    head = migration_head()
    live_uploads = uploads.upload_dir()
    live_uploads.mkdir(parents=True, exist_ok=True)
    db.session.remove()
    # Unpacked beside the live files, so each one is moved into place with a rename.
    with tempfile.TemporaryDirectory(prefix=".constituent-restore-", dir=live_uploads) as tmp:
        work = Path(tmp)
        manifest = _unpack(source, work, progress)
        dump = work / manifest["database"]["member"]
        live_sqlite = _sqlite_path()
        if live_sqlite is not None:
            if manifest["database"]["member"] != SQLITE_MEMBER:
                raise DomainError(
                    "This is a backup of a PostgreSQL database; this app uses SQLite. Restore "
                    "it on a server configured with CONSTITUENT_DATABASE_URL=postgresql://…"
                )
            revision = check_sqlite_backup(dump)
            _require_head(revision, head)
            files = _sqlite_references(dump)
        else:
            member = manifest["database"]["member"]
            if member == SQLITE_MEMBER:
                raise DomainError(
                    "This is a backup of a SQLite database; this app uses PostgreSQL."
                )
            if member == PGDUMP_MEMBER:
                revision, files = _read_postgres_dump(dump)
            else:
                revision, files = _read_logical_dump(dump)
                _require_live_head(head)
            _require_head(revision, head)
        on_disk = _files_on_disk(files, manifest, work)
        # Every check passed: from here on, replace.
        written = _install_files(on_disk, work, live_uploads, progress)
        progress("database", 0, 1)
        if live_sqlite is not None:
            db.engine.dispose()
            with (
                closing(sqlite3.connect(dump)) as src,
                closing(sqlite3.connect(live_sqlite)) as dst,
            ):
                src.backup(dst)
        elif dump.name == PGDUMP_MEMBER:
            _restore_postgres(dump)
        else:
            _restore_logical(dump, progress)
        progress("database", 1, 1)
    return RestoreResult(revision=revision, files=len(files), files_written=written)


def _not_an_archive(source: Path, why: str) -> DomainError:
    return DomainError(
        f"{source.name} is not a readable backup of this application ({why}). Use an "
        "archive written by `flask backup`."
    )


def _unpack(source: Path, work: Path, progress: Progress) -> dict[str, Any]:
    """Read the manifest, and extract every member it lists, each checked against it."""
    try:
        tar = tarfile.open(source, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise _not_an_archive(source, "not a tar archive") from exc
    with tar:
        try:
            members = {m.name: m for m in tar.getmembers()}
            manifest = _read_manifest(source, tar, members)
            expected = {manifest["database"]["member"]: manifest["database"]}
            expected.update({entry["path"]: entry for entry in manifest["files"]})
            problems = []
            total = len(expected)
            progress("checking", 0, total)
            for done, (name, entry) in enumerate(expected.items(), start=1):
                member = members.get(name)
                if member is None or not member.isfile():
                    problems.append(f"{name} is missing")
                elif _extract(tar, member, work / name) != entry["sha256"]:
                    problems.append(f"{name} does not match its checksum")
                progress("checking", done, total)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise _not_an_archive(source, f"damaged: {exc}") from exc
    if problems:
        raise DomainError(
            f"Not restored: the archive is damaged or was changed: {_listing(problems)}. "
            "Nothing was changed."
        )
    return manifest


def _read_manifest(
    source: Path, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo]
) -> dict[str, Any]:
    member = members.get(MANIFEST)
    fh = tar.extractfile(member) if member is not None else None
    if fh is None:
        raise _not_an_archive(source, f"it has no {MANIFEST}")
    try:
        manifest: dict[str, Any] = json.loads(fh.read(16 * _CHUNK))
        ok = (
            manifest.get("format") == ARCHIVE_FORMAT
            and manifest.get("database", {}).get("member") in _DATABASE_MEMBERS
            and isinstance(manifest.get("files"), list)
            and all(_MEMBER_RE.fullmatch(str(e.get("path", ""))) for e in manifest["files"])
        )
    except (ValueError, AttributeError, TypeError) as exc:
        raise _not_an_archive(source, f"its {MANIFEST} is unreadable") from exc
    if not ok:
        raise _not_an_archive(source, f"its {MANIFEST} is not one this version writes")
    if manifest.get("version", 0) > ARCHIVE_VERSION:
        raise DomainError("This backup was written by a newer version; restore it with that one.")
    return manifest


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> str:
    """Copy one member to ``dest`` (a path the manifest's pattern allowed); its SHA-256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fh = tar.extractfile(member)
    if fh is None:
        raise tarfile.TarError(f"{member.name} cannot be read")
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _require_head(revision: str, head: str) -> None:
    if revision != head:
        raise DomainError(
            f"The backup is at migration {revision}, this code at {head}: restore it with "
            "the matching version, then run `flask db upgrade`."
        )


def _files_on_disk(
    files: list[StoredFile], manifest: dict[str, Any], work: Path
) -> list[StoredFile]:
    """The files to put in the uploads folder: all of them, checked against the archive, or
    none when the backup kept them in its database (the dump's checksum covers them)."""
    kept = manifest.get("upload_storage", file_store.FILESYSTEM)
    live = file_store.storage()
    if kept != live:
        raise DomainError(
            f"This backup keeps uploaded files in the {kept}; this app keeps them in the "
            f"{live}. Restore it with CONSTITUENT_UPLOAD_STORAGE={kept}. Nothing was changed."
        )
    if kept == file_store.DATABASE:
        return []
    _require_files(files, manifest, work)
    return files


def _require_files(files: Iterable[StoredFile], manifest: dict[str, Any], work: Path) -> None:
    """Every file the backed-up database refers to is in the archive, with its checksum."""
    in_archive = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    problems = []
    for stored in files:
        found = in_archive.get(stored.member)
        if found is None or not (work / stored.member).is_file():
            problems.append(f"{stored.member} is missing")
        elif found != stored.sha256:
            problems.append(f"{stored.member} does not match the checksum the database records")
    if problems:
        raise DomainError(
            f"Not restored: {len(problems)} stored file(s) the backed-up database refers to "
            f"are not in the archive as recorded: {_listing(problems)}. Nothing was changed."
        )


def _install_files(files: list[StoredFile], work: Path, live: Path, progress: Progress) -> int:
    """Move each checked file into the live uploads folder (a rename each); how many moved."""
    written = 0
    total = len(files)
    progress("files", 0, total)
    for done, stored in enumerate(files, start=1):
        dest = live / stored.storage_key[:2] / stored.storage_key
        if not (dest.is_file() and _sha256_file(dest) == stored.sha256):
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work / stored.member, dest)
            written += 1
        progress("files", done, total)
    return written


def _admin_engine() -> sa.Engine:
    live_url = make_url(_libpq_url())
    return sa.create_engine(
        live_url.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )


def _read_postgres_dump(dump: Path) -> tuple[str, list[StoredFile]]:
    """The revision and file list of a pg_dump archive, read from a scratch database."""
    pg_restore = _program("pg_restore")
    listing = subprocess.run(  # noqa: S603  # nosec B603
        [pg_restore, "--list", str(dump)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0 or "alembic_version" not in listing.stdout:
        raise DomainError(f"{dump.name} in the archive is not a readable PostgreSQL dump.")
    live_url = make_url(_libpq_url())
    scratch = f"constituent_restore_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        scratch_url = live_url.set(database=scratch).render_as_string(hide_password=False)
        _run([pg_restore, "--no-owner", "--dbname", scratch_url, str(dump)], "pg_restore")
        engine = sa.create_engine(live_url.set(drivername="postgresql+psycopg", database=scratch))
        try:
            with engine.connect() as conn:
                revision = str(
                    conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                )
                rows = conn.execute(_references_query()).all()
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()
    return revision, [StoredFile(str(k), str(s), int(n)) for k, s, n in rows]


def _restore_postgres(dump: Path) -> None:
    db.engine.dispose()
    _run(
        [
            _program("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            _libpq_url(),
            str(dump),
        ],
        "pg_restore",
    )


# ---------------------------------------------------------------------------------------
# PostgreSQL without pg_dump: a logical dump of every table, in one REPEATABLE READ snapshot
# ---------------------------------------------------------------------------------------


def _json_columns(table: sa.Table) -> set[str]:
    return {c.name for c in table.columns if isinstance(c.type, sa.JSON)}


def _encode(value: Any) -> Any:
    """A column value as JSON: tagged where JSON has no such type."""
    if isinstance(value, datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {"$": "time", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, bytes | memoryview):
        return {"$": "bytes", "v": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


_DECODERS: dict[str, Callable[[str], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "decimal": Decimal,
    "bytes": base64.b64decode,
}


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$", "v"}:
        return _DECODERS[value["$"]](value["v"])
    return value


def _raw_table(table: sa.Table) -> sa.TableClause:
    """The table with untyped columns (values as the driver gives them), JSON kept as JSON."""
    json_columns = _json_columns(table)
    return sa.table(
        table.name,
        *[
            sa.column(c.name, sa.JSON(none_as_null=True) if c.name in json_columns else None)
            for c in table.columns
        ],
    )


def _dump_logical(target: Path) -> tuple[str, list[StoredFile]]:
    """Every table's rows as JSON lines, all read in one REPEATABLE READ transaction."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            revision = str(
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            )
            rows = conn.execute(_references_query()).all()
            with gzip.open(target, "wt", encoding="utf-8") as out:
                out.write(json.dumps({"format": LOGICAL_FORMAT, "revision": revision}) + "\n")
                for table in db.metadata.sorted_tables:
                    json_columns = _json_columns(table)
                    names = [c.name for c in table.columns]
                    out.write(json.dumps({"table": table.name, "columns": names}) + "\n")
                    raw = _raw_table(table)
                    result = conn.execution_options(yield_per=_BATCH).execute(sa.select(raw))
                    for row in result:
                        values = [
                            v if name in json_columns else _encode(v)
                            for name, v in zip(names, row, strict=True)
                        ]
                        out.write(json.dumps(values) + "\n")
    return revision, [StoredFile(str(k), str(s), int(n)) for k, s, n in rows]


def _logical_lines(dump: Path) -> Iterator[tuple[str, list[str], list[Any]]]:
    """(table, columns, row) for every row of a logical dump (after its header line)."""
    with gzip.open(dump, "rt", encoding="utf-8") as fh:
        fh.readline()
        table, columns = "", []
        for line in fh:
            item = json.loads(line)
            if isinstance(item, dict):
                table, columns = item["table"], item["columns"]
            else:
                yield table, columns, item


def _read_logical_dump(dump: Path) -> tuple[str, list[StoredFile]]:
    """The revision and the file list of a logical dump."""
    try:
        with gzip.open(dump, "rt", encoding="utf-8") as fh:
            header = json.loads(fh.readline())
        if header.get("format") != LOGICAL_FORMAT:
            raise ValueError(header.get("format"))
        files = []
        for table, columns, row in _logical_lines(dump):
            if table == "attachments":
                values = dict(zip(columns, row, strict=True))
                files.append(
                    StoredFile(
                        str(values["storage_key"]), str(values["sha256"]), int(values["size"])
                    )
                )
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DomainError(f"{dump.name} in the archive is not a readable logical dump.") from exc
    return str(header["revision"]), files


def _require_live_head(head: str) -> None:
    """A logical dump fills the tables of a database already migrated to this code's head."""
    try:
        with db.engine.connect() as conn:
            live = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        live = None
    if live != head:
        raise DomainError(
            f"This database is at migration {live or 'none'}, this code at {head}: run "
            "`flask db upgrade` first, then restore."
        )


_SETVAL = (
    "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
    'COALESCE((SELECT MAX("{column}") FROM "{table}"), 1), '
    '(SELECT MAX("{column}") FROM "{table}") IS NOT NULL)'
)


def _restore_logical(dump: Path, progress: Progress) -> None:
    """Replace every table's rows in one transaction, then move the id sequences past them."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    names = ", ".join(f'"{name}"' for name in tables)
    db.session.remove()
    with db.engine.begin() as conn:
        # The audit log refuses TRUNCATE by a trigger: a restore replaces it whole, atomically.
        for name in tables:
            conn.execute(sa.text(f'ALTER TABLE "{name}" DISABLE TRIGGER USER'))
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        batch: list[dict[str, Any]] = []
        current = ""
        insert: Any = None

        def flush() -> None:
            if batch:
                conn.execute(insert, batch)
                batch.clear()

        for table, columns, row in _logical_lines(dump):
            if table != current:
                flush()
                progress("tables", list(tables).index(table), len(tables))
                current = table
                json_columns = _json_columns(tables[table])
                insert = sa.insert(_raw_table(tables[table]))
            batch.append(
                {
                    c: (v if c in json_columns else _decode(v))
                    for c, v in zip(columns, row, strict=True)
                }
            )
            if len(batch) >= _BATCH:
                flush()
        flush()
        for name, model_table in tables.items():
            conn.execute(sa.text(f'ALTER TABLE "{name}" ENABLE TRIGGER USER'))
            key = list(model_table.primary_key.columns)
            if len(key) == 1 and isinstance(key[0].type, sa.Integer):
                column = key[0].name
                # Names from the models' metadata, never from the archive or a user.
                conn.execute(sa.text(_SETVAL.format(table=name, column=column)))
