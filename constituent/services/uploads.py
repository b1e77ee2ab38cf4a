"""Uploaded files: checked by content (PDF, PNG, JPEG; mail attachments also GIF, TIFF, HEIC,
text, .docx, .xlsx), stored outside static/, random keys."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import sqlalchemy as sa
from flask import current_app
from werkzeug.utils import secure_filename

from constituent.extensions import db
from constituent.models import Attachment, Case, User
from constituent.services import file_store
from constituent.services.errors import DomainError, NotFound

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_LABEL = "10 MB"
ACCEPTED_LABEL = "PDF, PNG or JPEG"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_SIGNATURE = b"%PDF-"
# The content checks read at most this much from each end of a large file.
SAMPLE_BYTES = 1024 * 1024


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


# Mail attachments: the formats agencies and constituents send, all recognised by content.
GIF = FileKind("image/gif", "gif")
TIFF = FileKind("image/tiff", "tif")
HEIC = FileKind("image/heic", "heic")
TEXT = FileKind("text/plain", "txt")
DOCX = FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
DOCUMENTS_LABEL = "PDF, PNG, JPEG, GIF, TIFF, HEIC, plain text, Word (.docx) or Excel (.xlsx)"
HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis")
_MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|script|iframe|svg)\b", re.I)
EXECUTABLE_SIGNATURES = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xcf\xfa\xed\xfe", b"#!")
EXECUTABLE_NAMES = frozenset(
    "exe com bat cmd scr pif msi msp dll js jse vbs vbe wsf wsh ps1 sh jar app apk lnk hta "
    "cpl reg".split()
)


def _zip_names(data: bytes) -> set[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return set(archive.namelist()[:10_000])
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return set()


def refusal(data: bytes, content_type: str, filename: str) -> str:
    """Why a mail attachment is never kept ('' when nothing forbids it): web pages and SVG
    pictures can run code in a browser, programs run on the computer."""
    ext = Path(filename or "").suffix.lower().lstrip(".")
    head = data[:4096]
    if head.startswith(EXECUTABLE_SIGNATURES) or ext in EXECUTABLE_NAMES:
        return "a program or script is never kept: opening it could run it on the office's computer"
    if content_type == "image/svg+xml" or ext == "svg" or re.search(rb"<\s*svg\b", head, re.I):
        return "an SVG picture is never kept: it can carry code that runs in a browser"
    if content_type in ("text/html", "application/xhtml+xml") or ext in ("html", "htm", "xhtml"):
        return "a web page (HTML) is never kept: it can run code in a browser"
    if head.lstrip()[:1] == b"<" and _MARKUP.search(head):
        return "a web page (HTML) is never kept: it can run code in a browser"
    if data.startswith(b"PK\x03\x04") and any(
        n.endswith("vbaProject.bin") for n in _zip_names(data)
    ):
        return "an Office file with macros is never kept: its macros could run on opening"
    return ""


def sniff_document(data: bytes) -> FileKind | None:
    """What a mail attachment is, by content: the case-file kinds (PDF, PNG, JPEG) and GIF,
    TIFF, HEIC, plain text, .docx and .xlsx; None for anything else."""
    kind = sniff(data)
    if kind is not None:
        return kind
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) > 13:
        return GIF
    if data.startswith((b"II*\x00", b"MM\x00*")) and len(data) > 8:
        return TIFF
    if data[4:8] == b"ftyp" and (
        data[8:12] in HEIC_BRANDS or any(b in data[16:64] for b in HEIC_BRANDS)
    ):
        return HEIC
    if data.startswith(b"PK\x03\x04"):
        names = _zip_names(data)
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX
        if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            return XLSX
        return None
    if b"\x00" not in data[:65536] and not _MARKUP.search(data[:4096]):
        try:
            data[:65536].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < 65530:  # not a character cut at the sample's end
                try:
                    data[:65536].decode("cp1252")
                except UnicodeDecodeError:
                    return None
        return TEXT
    return None


def _too_large() -> DomainError:
    return DomainError(
        f"The file is larger than {MAX_UPLOAD_LABEL}. Scan it at a lower resolution or "
        f"save it as a smaller PDF, then upload it again.",
        field="file",
    )


@dataclass(frozen=True)
class _Spooled:
    """An upload copied off its stream: in memory up to one chunk, on disk beyond."""

    file: IO[bytes]
    size: int
    sha256: str

    def sample(self) -> bytes:
        """What the content checks read: the whole file when small, else its first and last
        SAMPLE_BYTES (signatures at the start, end markers and a zip's directory at the end)."""
        self.file.seek(0)
        if self.size <= 2 * SAMPLE_BYTES:
            data = self.file.read()
        else:
            head = self.file.read(SAMPLE_BYTES)
            self.file.seek(self.size - SAMPLE_BYTES)
            data = head + self.file.read()
        self.file.seek(0)
        return data


def _spool(stream: BinaryIO) -> _Spooled:
    """Copy the upload chunk by chunk, counting and hashing it; refused past the size limit."""
    spooled = tempfile.SpooledTemporaryFile(max_size=file_store.CHUNK_BYTES)  # noqa: SIM115
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in iter(lambda: stream.read(file_store.CHUNK_BYTES), b""):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise _too_large()
            digest.update(chunk)
            spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    return _Spooled(spooled, size, digest.hexdigest())


def upload_dir() -> Path:
    """Where stored files live (outside static/, never served directly)."""
    return Path(current_app.config["UPLOAD_DIR"])


def _path_for(storage_key: str) -> Path:
    return upload_dir() / storage_key[:2] / storage_key


def store_upload(
    stream: BinaryIO,
    filename: str | None,
    *,
    case: Case | None,
    uploaded_by: User | None,
    recognise: Callable[[bytes], FileKind | None] = sniff,
    accepted: str = ACCEPTED_LABEL,
) -> Attachment:
    """Check and store an uploaded file; add its Attachment row (flushes, never commits).

    ``uploaded_by`` is None for files that arrive without a signed-in user (`flask mail import`).
    """
    spooled = _spool(stream)
    with spooled.file:
        if not spooled.size:
            raise DomainError("The file is empty. Choose the scanned form again.", field="file")
        kind = recognise(spooled.sample())
        if kind is None:
            raise DomainError(
                f"Only {accepted} files are accepted, and this file is not one of them "
                f"(it is checked by its content, not its name).",
                field="file",
            )
        storage_key = secrets.token_hex(20)
        file_store.file_store().save(storage_key, spooled.file)
    stem = Path(secure_filename(filename or "")).stem[:100] or "upload"
    attachment = Attachment(
        case_id=case.id if case is not None else None,
        filename=f"{stem}.{kind.extension}",
        content_type=kind.content_type,
        size=spooled.size,
        sha256=spooled.sha256,
        storage_key=storage_key,
        uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def get_attachment(case: Case, attachment_id: int) -> Attachment:
    """A file attached to ``case`` (the caller has checked the case's scope)."""
    found = db.session.scalar(
        sa.select(Attachment).where(Attachment.id == attachment_id, Attachment.case_id == case.id)
    )
    if found is None:
        raise NotFound("That file is not attached to this case.")
    return found


def stored_path(attachment: Attachment) -> Path | None:
    """The file of an attachment on disk; NotFound if it is missing there. None when files
    are kept in the database (CONSTITUENT_UPLOAD_STORAGE=database)."""
    if file_store.storage() == file_store.DATABASE:
        return None
    path = _path_for(attachment.storage_key)
    if not path.is_file():
        raise _missing()
    return path


def stored_content(attachment: Attachment) -> Path | Generator[bytes, None, None]:
    """An attachment's file to send: its path on disk, or (database storage) its bytes chunk
    by chunk, read as they are sent; NotFound if it is missing."""
    path = stored_path(attachment)
    if path is not None:
        return path
    try:
        return file_store.DatabaseStore().open(attachment.storage_key)
    except FileNotFoundError:
        raise _missing() from None


def _missing() -> NotFound:
    return NotFound("The stored file is missing. Tell the office IT staff.")
