"""Uploaded files: checked by content (PDF, PNG, JPEG), stored outside static/, random keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from constituent.extensions import db
from constituent.models import Attachment, Case, User
from constituent.services.errors import DomainError, NotFound

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_LABEL = "10 MB"
ACCEPTED_LABEL = "PDF, PNG or JPEG"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_SIGNATURE = b"%PDF-"
# Files written during the session's current transaction: kept when it commits, deleted when
# it rolls back, so a failed save leaves no orphan on disk.
NEW_FILES_KEY = "constituent.uploads.new_files"


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str


PDF = FileKind("application/pdf", "pdf")
PNG = FileKind("image/png", "png")
JPEG = FileKind("image/jpeg", "jpg")


def sniff(data: bytes) -> FileKind | None:
    """What the bytes are (PDF, PNG or JPEG), judged by their structure, never by their name."""
    if data.startswith(PDF_SIGNATURE):
        # A PDF ends with an %%EOF marker (scanners may pad a little after it).
        return PDF if b"%%EOF" in data[-2048:] else None
    if data.startswith(PNG_SIGNATURE):
        # The first chunk must be IHDR (length 13) and the last IEND.
        header_ok = data[8:16] == b"\x00\x00\x00\x0dIHDR"
        return PNG if header_ok and b"IEND" in data[-32:] else None
    if data.startswith(JPEG_SIGNATURE) and len(data) > 4:
        # SOI then a marker segment (APPn, DQT, SOF, DHT ...).
        return JPEG if data[3] in range(0xC0, 0xFF) else None
    return None


def _read_limited(stream: BinaryIO) -> bytes:
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(
            f"The file is larger than {MAX_UPLOAD_LABEL}. Scan it at a lower resolution or "
            f"save it as a smaller PDF, then upload it again.",
            field="file",
        )
    return data


def upload_dir() -> Path:
    """Where stored files live (outside static/, never served directly)."""
    return Path(current_app.config["UPLOAD_DIR"])


def _path_for(storage_key: str) -> Path:
    return upload_dir() / storage_key[:2] / storage_key


def store_upload(
    stream: BinaryIO, filename: str | None, *, case: Case | None, uploaded_by: User | None
) -> Attachment:
    """Check and store an uploaded file; add its Attachment row (flushes, never commits).

    ``uploaded_by`` is None for files that arrive without a signed-in user (`flask mail import`).
    """
    data = _read_limited(stream)
    if not data:
        raise DomainError("The file is empty. Choose the scanned form again.", field="file")
    kind = sniff(data)
    if kind is None:
        raise DomainError(
            f"Only {ACCEPTED_LABEL} files are accepted, and this file is not one of them "
            f"(it is checked by its content, not its name).",
            field="file",
        )
    storage_key = secrets.token_hex(20)
    path = _path_for(storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as fh:
        fh.write(data)
    db.session.info.setdefault(NEW_FILES_KEY, []).append(path)
    stem = Path(secure_filename(filename or "")).stem[:100] or "upload"
    attachment = Attachment(
        case_id=case.id if case is not None else None,
        filename=f"{stem}.{kind.extension}",
        content_type=kind.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=storage_key,
        uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def stored_path(attachment: Attachment) -> Path:
    """The stored file of an attachment; NotFound if it is missing on disk."""
    path = _path_for(attachment.storage_key)
    if not path.is_file():
        raise NotFound("The stored file is missing. Tell the office IT staff.")
    return path


@event.listens_for(Session, "after_commit")
def _keep_new_files(session: Session) -> None:
    session.info.pop(NEW_FILES_KEY, None)


@event.listens_for(Session, "after_rollback")
def _delete_new_files(session: Session) -> None:
    for path in session.info.pop(NEW_FILES_KEY, []):
        path.unlink(missing_ok=True)
