"""Reading saved mail: .eml files, mbox files and folders as messages, and each message's
bytes as what the office needs (sender, subject, date, the whole text in order, the files),
refused with a reason a person can act on when it is not a whole message."""

from __future__ import annotations

import logging
import mailbox
import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

from constituent.services import (
    mime,
)
from constituent.services.errors import DomainError

log = logging.getLogger(__name__)

# One saved message, attachments included: a 10 MB scan, base64-encoded, fits; a 20 MB message
# does not (it is refused at once, before parsing).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_TEXT_CHARS = 100_000  # text kept per message (long quoted threads are cut, and say so)


class MessageRefused(Exception):
    """The bytes are not a whole email message; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{math.ceil(n / 1024)} KB"
    return f"{n} bytes"


# Sources: .eml files, mbox files, folders ------------------------------------------------------


@dataclass
class MailSource:
    """One message to import: a name for the report and a way to read its bytes."""

    name: str
    load: Callable[[], bytes]


def is_mbox(head: bytes) -> bool:
    """Whether the bytes start like an mbox (a "From " envelope line; some mail programs'
    saved .eml files start so too, and read as an mbox of one message)."""
    return head.startswith(b"From ")


def split_mbox_file(path: Path) -> list[MailSource]:
    """The messages of an mbox file, each read when imported."""
    box = mailbox.mbox(str(path), create=False)
    keys = list(box.keys())
    if len(keys) == 1:
        return [MailSource(path.name, partial(box.get_bytes, keys[0]))]
    return [
        MailSource(f"{path.name}, message {n} of {len(keys)}", partial(box.get_bytes, key))
        for n, key in enumerate(keys, start=1)
    ]


def split_upload(data: bytes, filename: str) -> list[MailSource]:
    """An uploaded file as messages: one .eml, or every message of an mbox."""
    name = filename or "uploaded file"
    if not is_mbox(data[:5]):
        return [MailSource(name, lambda: data)]
    with tempfile.TemporaryDirectory(prefix="constituent-mbox-") as tmp:
        path = Path(tmp) / "upload.mbox"
        path.write_bytes(data)
        sources = split_mbox_file(path)
        loaded = [(s.name.replace("upload.mbox", name, 1), s.load()) for s in sources]
    return [MailSource(label, partial(bytes, raw)) for label, raw in loaded]


def sources_in_path(path: Path) -> list[MailSource]:
    """`flask mail import PATH`: every .eml file of a folder (by name), or an mbox / .eml file."""
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".eml"),
            key=lambda p: p.name,
        )
        if not files:
            raise DomainError(f"There are no .eml files in {path}.")
        return [MailSource(p.name, p.read_bytes) for p in files]
    if not path.is_file():
        raise DomainError(f"{path} is neither a folder nor a file.")
    with path.open("rb") as fh:
        head = fh.read(5)
    if is_mbox(head):
        return split_mbox_file(path)
    return [MailSource(path.name, path.read_bytes)]


# Parsing -----------------------------------------------------------------------------------------


html_to_text = mime.html_to_text
_tidy = mime.tidy


def _cut(text: str, limit: int, what: str = "message") -> str:
    if len(text) <= limit:
        return text
    return (
        text[:limit].rstrip() + f"\n\n[… the rest of the {what} is not kept here: it has "
        f"{len(text):,} characters]"
    )


def _one_line(value: object, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


@dataclass
class RawAttachment:
    """An attachment as found in the message."""

    filename: str
    content_type: str
    data: bytes
    inline_picture: bool = False


@dataclass
class ParsedMessage:
    """What the office needs from a message."""

    message_id: str | None
    sender_name: str
    sender_address: str
    subject: str
    sent_at: datetime | None
    text: str
    attachments: list[RawAttachment]
    notes: list[str] = field(default_factory=list)  # parts shown/skipped, charsets, damage

    @property
    def sender(self) -> str:
        """'Dana Whitfield <liaison@ssa.example.gov>' (or whichever part is known)."""
        if self.sender_name and self.sender_address:
            return f"{self.sender_name} <{self.sender_address}>"[:320]
        return (self.sender_address or self.sender_name)[:320]


def _salvaged(raw: bytes, msg: EmailMessage) -> tuple[EmailMessage, str]:
    """A multipart whose declared boundary is missing or wrong, read with the boundary its
    body uses (the message is still marked damaged); else the message as parsed."""
    if msg.get_content_maintype() != "multipart" or isinstance(msg.get_payload(), list):
        return msg, ""
    used = mime.boundary_used(raw, msg.get_param("boundary"))  # type: ignore[arg-type]
    if used is None:
        return msg, ""
    again = mime.parse_bytes(mime.with_boundary(raw, used))
    if not isinstance(again.get_payload(), list):
        return msg, ""
    return again, (
        "The boundary its header names is missing or is not the one its parts use: the parts "
        "were read with the boundary they use."
    )


def _screen(raw: bytes) -> re.Match[bytes] | None:
    """Refuse what is no message before parsing it (empty, too big, binary, a mail bomb);
    the end of its headers, if they end."""
    if not raw.strip():
        raise MessageRefused("The file is empty.")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageRefused(
            f"The message is {_size(len(raw))}, more than the {_size(MAX_MESSAGE_BYTES)} "
            "a message may be. Save its attachments separately and add them to the case."
        )
    header_end = re.search(rb"\r?\n\r?\n", raw)
    head = raw[: header_end.start()] if header_end else raw
    if b"\x00" in head[:65536]:
        raise MessageRefused(
            "This is binary data, not an email message (is it another kind "
            "of file renamed to .eml?)."
        )
    if mime.too_deep(raw):
        raise MessageRefused(
            f"The message has more than {mime.MAX_CONTAINERS} nested parts: no mail program writes "
            "such a message, so it was not imported."
        )
    return header_end


def _from_header(raw: bytes, msg: EmailMessage) -> Any:
    """The From header of a parsed message, refusing one with no headers, no sender or cut off."""
    if not msg.keys():
        raise MessageRefused(
            "This is not an email message: no mail headers (From, Subject, "
            "Date) were found at its start."
        )
    from_header = msg.get("From")
    if from_header is None:
        raise MessageRefused(
            "The message has no sender (From header): it is damaged or not an email message."
        )
    if mime.cut_off(raw, msg):
        raise MessageRefused(
            "The message is cut off: the file ends in the middle of a part (it was "
            "probably truncated while saving or copying). Save it again from the mail program."
        )
    return from_header


def _sender(from_header: Any) -> tuple[str, str]:
    """The sender's name and address; the whole header as the name when it has neither."""
    addresses = getattr(from_header, "addresses", ()) or ()
    name, address = "", ""
    if addresses:
        name = mime.no_c1(_one_line(addresses[0].display_name, 200))
        address = addresses[0].addr_spec.lower() if addresses[0].domain else ""
    if not name and not address:
        name = mime.no_c1(_one_line(from_header, 200))
    return name, address


def _sent_at(msg: EmailMessage) -> datetime | None:
    """When the Date header says it was sent (UTC when it names no zone)."""
    date_header = msg.get("Date")
    sent_at = getattr(date_header, "datetime", None) if date_header is not None else None
    if sent_at is not None and sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    return sent_at


def parse_message(raw: bytes) -> ParsedMessage:
    """Read a saved message (.eml bytes); MessageRefused when it is not a whole message.

    Refused: empty files, binary data, files with no mail headers, a message that truly ends
    in the middle of a part, a message with headers but no body, and mail bombs (over the
    size limit, or nested deeper than any letter). Damaged structure is salvaged and marked.
    """
    header_end = _screen(raw)
    try:
        msg = mime.parse_bytes(raw)
        from_header = _from_header(raw, msg)
        msg, salvage = _salvaged(raw, msg)
        reading = mime.read_message(msg)
        if salvage:
            reading.damaged = True
            reading.notices.insert(0, salvage)
        text = reading.text
        if header_end is None or (not text and not reading.attachments):
            raise MessageRefused(
                "The message has headers but no body (no text and no attachments): the file "
                "is probably cut off. Save it again from the mail program."
            )
        name, address = _sender(from_header)
        message_id = _one_line(msg.get("Message-ID", ""), 998).strip("<> ") or None
        return ParsedMessage(
            message_id=message_id,
            sender_name=name,
            sender_address=address[:320],
            subject=mime.no_c1(_one_line(msg.get("Subject", ""), 998)),
            sent_at=_sent_at(msg),
            text=_cut(text, MAX_TEXT_CHARS),
            attachments=[
                RawAttachment(a.filename, a.content_type, a.data, a.inline_picture)
                for a in reading.attachments
            ],
            notes=reading.summary(),
        )
    except (MessageRefused, mime.Unreadable) as exc:
        raise MessageRefused(exc.reason) from None
    except RecursionError:
        raise MessageRefused(
            "The message nests parts deeper than any mail program writes: it was not imported."
        ) from None
    except Exception as exc:  # the parser on damaged input: refuse the message, keep the batch
        log.info("unreadable message: %r", exc)
        raise MessageRefused(
            "The message could not be read: its headers or structure are "
            "damaged. Save it again from the mail program."
        ) from exc
