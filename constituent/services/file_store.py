"""Where uploaded files' bytes live, chosen by CONSTITUENT_UPLOAD_STORAGE.

``filesystem`` (the default) keeps each file under UPLOAD_DIR, one server's folder.
``database`` keeps it in the ``stored_file_chunks`` table, in chunks of at most 1 MiB, so
every app server on one PostgreSQL can serve every file and a backup of the database holds
them. Both stores write from a stream and read back chunk by chunk: a file is never held
whole in memory.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from constituent.extensions import db
from constituent.models import StoredFileChunk

CHUNK_BYTES = 1024 * 1024
FILESYSTEM = "filesystem"
DATABASE = "database"
STORAGES = (FILESYSTEM, DATABASE)
# Files written during the session's current transaction: kept when it commits, deleted when
# it rolls back, so a failed save leaves no orphan on disk (filesystem store only; database
# chunks roll back with their transaction).
NEW_FILES_KEY = "constituent.uploads.new_files"


class FileStore(Protocol):
    """Stored files by storage key: written once, never changed."""

    def save(self, key: str, stream: IO[bytes]) -> None:
        """Store the stream's bytes (in the session's transaction, or undone if it rolls back)."""

    def open(self, key: str) -> Generator[bytes, None, None]:
        """The file's bytes, chunk by chunk; FileNotFoundError if it is not stored."""

    def exists(self, key: str) -> bool:
        """Whether the file is stored."""

    def delete(self, key: str) -> None:
        """Remove the file (nothing when it is not stored)."""

    def size(self, key: str) -> int:
        """The file's size in bytes; FileNotFoundError if it is not stored."""


def _copy_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: stream.read(CHUNK_BYTES), b"")


class FilesystemStore:
    """Files under UPLOAD_DIR/<first two characters of the key>/<key>."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def save(self, key: str, stream: IO[bytes]) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        db.session.info.setdefault(NEW_FILES_KEY, []).append(path)
        with open(path, "xb") as fh:
            for chunk in _copy_chunks(stream):
                fh.write(chunk)

    def open(self, key: str) -> Generator[bytes, None, None]:
        fh = self.path(key).open("rb")  # FileNotFoundError now, not at the first chunk
        return _read_and_close(fh)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size


def _read_and_close(fh: IO[bytes]) -> Generator[bytes, None, None]:
    with fh:
        yield from _copy_chunks(fh)


class DatabaseStore:
    """Files as rows of ``stored_file_chunks``, written and read in the session's transaction
    (a rollback leaves none); read back one chunk per query, so a download streamed after the
    view returns (``stream_with_context``) never holds the whole file."""

    def save(self, key: str, stream: IO[bytes]) -> None:
        for number, chunk in enumerate(_copy_chunks(stream)):
            db.session.execute(
                sa.insert(StoredFileChunk).values(storage_key=key, chunk=number, data=chunk)
            )

    def _count(self, key: str) -> tuple[int, int]:
        chunks, size = db.session.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.func.length(StoredFileChunk.data)), 0),
            ).where(StoredFileChunk.storage_key == key)
        ).one()
        if not chunks:
            raise FileNotFoundError(key)
        return int(chunks), int(size)

    def open(self, key: str) -> Generator[bytes, None, None]:
        chunks, _ = self._count(key)
        return self._chunks(key, chunks)

    def _chunks(self, key: str, chunks: int) -> Generator[bytes, None, None]:
        for number in range(chunks):
            data = db.session.scalar(
                sa.select(StoredFileChunk.data).where(
                    StoredFileChunk.storage_key == key, StoredFileChunk.chunk == number
                )
            )
            if data is None:
                raise FileNotFoundError(f"{key} chunk {number}")
            yield bytes(data)

    def exists(self, key: str) -> bool:
        try:
            self._count(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        db.session.execute(sa.delete(StoredFileChunk).where(StoredFileChunk.storage_key == key))

    def size(self, key: str) -> int:
        return self._count(key)[1]


def storage() -> str:
    """The configured storage: ``filesystem`` or ``database``."""
    return str(current_app.config.get("UPLOAD_STORAGE", FILESYSTEM))


def file_store() -> FileStore:
    """The store the app is configured with."""
    if storage() == DATABASE:
        return DatabaseStore()
    return FilesystemStore(Path(current_app.config["UPLOAD_DIR"]))


@event.listens_for(Session, "after_commit")
def _keep_new_files(session: Session) -> None:
    session.info.pop(NEW_FILES_KEY, None)


@event.listens_for(Session, "after_rollback")
def _delete_new_files(session: Session) -> None:
    for path in session.info.pop(NEW_FILES_KEY, []):
        path.unlink(missing_ok=True)
