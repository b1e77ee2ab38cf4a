"""Agency email filed onto its case: .eml and mbox parsing, the [Case #N] tag, the agency's
response, attachments through the upload checks, the unfiled queue and filing from it."""

from __future__ import annotations

import enum
import hashlib
import io
import logging
import mailbox
import math
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import errors as email_errors
from email.message import EmailMessage
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyResponse,
    Case,
    CaseStatus,
    Channel,
    Constituent,
    ContactKind,
    ContactPoint,
    EventKind,
    InboundMessage,
    InboundStatus,
    Referral,
    ReferralMethod,
    ResponseOutcome,
    User,
    utcnow,
)
from constituent.models.mail import AttachmentOutcome, InboundAttachment
from constituent.services import (
    audit,
    cases,
    intake,
    mime,
    normalize,
    permissions,
    referrals,
    tags,
    timeline,
    uploads,
)
from constituent.services.clock import office_date as _office_date
from constituent.services.errors import DomainError, Forbidden, NotFound
from constituent.services.permissions import Action, Capability

log = logging.getLogger(__name__)

# One saved message, attachments included: a 10 MB scan, base64-encoded, fits; a 20 MB message
# does not (it is refused at once, before parsing).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_TEXT_CHARS = 100_000  # text kept per message (long quoted threads are cut, and say so)
MAX_DESCRIPTION_CHARS = 2_000  # the description of a case opened from a message
PER_PAGE = 25
MAX_SUGGESTIONS = 3

# Webmail domains: a contact who writes from one of these is matched by exact address only,
# never by domain (everyone at gmail.com is not the food bank).
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "fastmail.com",
    }
)

# Defects that mean the file was cut off or mangled: filing what is left would half-file it.
TRUNCATION_DEFECTS = (
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
)

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class ImportOutcome(enum.StrEnum):
    """What became of one message of a batch."""

    FILED = "filed"
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        """How the report names the outcome."""
        return {
            "filed": "Filed",
            "queued": "Waiting in the queue",
            "duplicate": "Duplicate",
            "refused": "Refused",
        }[self.value]


class MessageRefused(Exception):
    """The bytes are not a whole email message; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Reports --------------------------------------------------------------------------------------


@dataclass
class AttachmentNote:
    """One attachment's line of the report."""

    filename: str
    outcome: AttachmentOutcome
    reason: str
    size: int


@dataclass
class MessageReport:
    """What became of one message, in words a staffer can act on."""

    source: str
    outcome: ImportOutcome
    detail: str
    subject: str = ""
    sender: str = ""
    message: InboundMessage | None = None
    case: Case | None = None  # the case it is filed on (only when the importer may see it)
    response_id: int | None = None
    referral_id: int | None = None
    attachments: list[AttachmentNote] = field(default_factory=list)


@dataclass
class ImportReport:
    """The per-message report of a batch, in the order the messages came."""

    messages: list[MessageReport] = field(default_factory=list)

    def count(self, outcome: ImportOutcome) -> int:
        """How many messages ended so."""
        return sum(1 for m in self.messages if m.outcome == outcome)

    @property
    def counts(self) -> dict[ImportOutcome, int]:
        """Messages per outcome."""
        return {o: self.count(o) for o in ImportOutcome}

    @property
    def refused(self) -> int:
        """How many messages were refused."""
        return self.count(ImportOutcome.REFUSED)

    @property
    def level(self) -> str:
        """How the outcome looks: 'success' when everything was filed (or was already in),
        'error' when nothing was imported, 'warning' for anything in between (messages
        waiting in the queue, or some refused)."""
        c = self.counts
        if not self.messages or c[ImportOutcome.REFUSED] == len(self.messages):
            return "error"
        if c[ImportOutcome.QUEUED] or c[ImportOutcome.REFUSED]:
            return "warning"
        return "success"

    def headline(self) -> str:
        """The alert's first words, in line with its colour."""
        c = self.counts
        if self.level == "error":
            return "Nothing was imported: every message was refused (the reasons are below)."
        if self.level == "success":
            return "Every message is on its case."
        needs = []
        if c[ImportOutcome.QUEUED]:
            needs.append(
                f"{c[ImportOutcome.QUEUED]} waiting in the queue below for someone to file"
            )
        if c[ImportOutcome.REFUSED]:
            needs.append(f"{c[ImportOutcome.REFUSED]} refused (the reasons are below)")
        return "Imported in part: " + " and ".join(needs) + "."

    def summary(self) -> str:
        """'3 messages: 1 filed, 1 queued, 0 duplicate, 1 refused.'"""
        c = self.counts
        total = len(self.messages)
        return (
            f"{total} {'message' if total == 1 else 'messages'}: "
            f"{c[ImportOutcome.FILED]} filed, {c[ImportOutcome.QUEUED]} queued, "
            f"{c[ImportOutcome.DUPLICATE]} duplicate, {c[ImportOutcome.REFUSED]} refused."
        )


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


def parse_message(raw: bytes) -> ParsedMessage:
    """Read a saved message (.eml bytes); MessageRefused when it is not a whole message.

    Refused: empty files, binary data, files with no mail headers, a message that truly ends
    in the middle of a part, a message with headers but no body, and mail bombs (over the
    size limit, or nested deeper than any letter). Damaged structure is salvaged and marked.
    """
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
    try:
        msg = mime.parse_bytes(raw)
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
        addresses = getattr(from_header, "addresses", ()) or ()
        name, address = "", ""
        if addresses:
            name = _one_line(addresses[0].display_name, 200)
            address = addresses[0].addr_spec.lower() if addresses[0].domain else ""
        if not name and not address:
            name = _one_line(from_header, 200)
        date_header = msg.get("Date")
        sent_at = getattr(date_header, "datetime", None) if date_header is not None else None
        if sent_at is not None and sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        message_id = _one_line(msg.get("Message-ID", ""), 998).strip("<> ") or None
        return ParsedMessage(
            message_id=message_id,
            sender_name=name,
            sender_address=address[:320],
            subject=_one_line(msg.get("Subject", ""), 998),
            sent_at=sent_at,
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


# The case tag ------------------------------------------------------------------------------------


def _prefix() -> str:
    return str(current_app.config.get("CASE_PREFIX", "C-"))


def case_label(number: int) -> str:
    """'C-1042' with the office's prefix."""
    return f"{_prefix()}{number}"


@dataclass(frozen=True)
class CaseTag:
    """The case a message names with this office's tag [NY21 C-N CHECK]: the subject's first
    tag, else the text's; and the tags found that cannot be trusted, with the reason."""

    number: int | None
    several: tuple[int, ...] = ()  # distinct valid tags in the text when the subject has none
    problems: tuple[str, ...] = ()  # another office's tag, a wrong check, an old-style tag
    legacy: tuple[int, ...] = ()  # numbers of old-style [Case #N] tags (never filed alone)
    foreign: bool = False  # it carries another office's tag: it was meant for that office


def find_case_tag(subject: str, text: str) -> CaseTag:
    """Read the tags of a message: only this office's code with a valid check files it."""
    code = tags.office_code()
    in_subject = tags.find_tags(subject, code)
    in_text = tags.find_tags(text, code)
    problems = tuple(dict.fromkeys(t.problem for t in in_subject + in_text if not t.valid))
    legacy = tuple(tags.legacy_numbers(f"{subject}\n{text}")[:10])
    if legacy:
        problems += (
            f"its old-style tag [Case #{legacy[0]}] names no office (every office numbers its "
            "cases from 1001), so it is never filed automatically",
        )
    foreign = any(not t.ours for t in in_subject + in_text)
    first = next((t for t in in_subject if t.valid), None)
    if first is not None:
        return CaseTag(first.number, (), problems, legacy, foreign)
    numbers = list(dict.fromkeys(t.number for t in in_text if t.valid and t.number is not None))
    if len(numbers) > 1:
        return CaseTag(None, tuple(numbers[:10]), problems, legacy, foreign)
    return CaseTag(numbers[0] if numbers else None, (), problems, legacy, foreign)


def _case_by_number(number: int, user: User | None) -> Case | None:
    """The case to file onto: any case for a system import, else one the user may edit."""
    if user is None:
        return db.session.scalar(sa.select(Case).where(Case.number == number))
    try:
        return permissions.get_case_by_number(user, number, Action.EDIT)
    except NotFound:
        return None


def _several(numbers: Iterable[int]) -> str:
    return ", ".join(case_label(n) for n in numbers)


def _tag_problem(tag: CaseTag, user: User | None) -> str:
    if tag.several:
        return (
            f"It names several cases in its text ({_several(tag.several)}) and none in its "
            "subject: choose the case."
        )
    if tag.number is None:
        if tag.problems:
            return "Not filed: " + "; ".join(tag.problems) + "."
        return f"There is no case tag ({tags.case_tag(1042)}) in its subject or text."
    if user is None:
        return f"It names case {case_label(tag.number)}, but there is no such case."
    # The same words whether the case does not exist or is not the user's: no hint either way.
    return f"It names case {case_label(tag.number)}, which is not a case you can file onto."


# The agency directory: who sent it ---------------------------------------------------------------


@dataclass
class SenderDirectory:
    """Active contacts of active agencies by address and by domain (one load per batch)."""

    by_address: dict[str, int]
    by_domain: dict[str, set[int]]
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> SenderDirectory:
        """Read the directory once."""
        rows = db.session.execute(
            sa.select(AgencyContact.email, AgencyContact.agency_id, Agency.acronym, Agency.name)
            .join(Agency, Agency.id == AgencyContact.agency_id)
            .where(
                AgencyContact.active.is_(True),
                Agency.active.is_(True),
                AgencyContact.email.is_not(None),
            )
        ).all()
        by_address: dict[str, int] = {}
        by_domain: dict[str, set[int]] = {}
        names: dict[int, str] = {}
        for email, agency_id, acronym, name in rows:
            names[agency_id] = acronym or name
            address = (email or "").strip().lower()
            if "@" not in address:
                continue
            by_address.setdefault(address, agency_id)
            domain = address.rsplit("@", 1)[1]
            if domain not in FREE_MAIL_DOMAINS:
                by_domain.setdefault(domain, set()).add(agency_id)
        return cls(by_address, by_domain, names)

    def agencies_for(self, address: str) -> set[int]:
        """The agencies a sender writes for: by exact address first, then by domain (the
        sender's domain or a parent of it, e.g. mail.ssa.gov for ssa.gov)."""
        address = (address or "").lower()
        if address in self.by_address:
            return {self.by_address[address]}
        if "@" not in address:
            return set()
        labels = address.rsplit("@", 1)[1].split(".")
        for i in range(len(labels) - 1):
            found = self.by_domain.get(".".join(labels[i:]))
            if found:
                return set(found)
        return set()


# Filing ------------------------------------------------------------------------------------------


def _fmt(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{math.ceil(n / 1024)} KB"
    return f"{n} bytes"


@dataclass
class Filing:
    """What filing a message onto a case did."""

    case: Case
    referral: Referral | None = None
    response_id: int | None = None
    note: str = ""  # why it was not recorded as a response, when the sender is an agency


def _attachment_line(message: InboundMessage) -> str:
    if not message.attachments:
        return ""
    items = []
    for a in message.attachments:
        if a.outcome == AttachmentOutcome.KEPT:
            items.append(f"{a.filename} (kept)")
        else:
            items.append(f"{a.filename} ({a.outcome.value}: {a.reason})")
    return "Attachments: " + "; ".join(items)


def _response_for(
    message: InboundMessage,
    case: Case,
    directory: SenderDirectory,
) -> tuple[Referral | None, str]:
    """The case's open referral this message answers, or None with the reason (if any)."""
    address = _address_of(message.sender)
    agency_ids = directory.agencies_for(address)
    if not agency_ids:
        return None, ""
    open_referrals = list(
        db.session.scalars(
            sa.select(Referral)
            .where(
                Referral.case_id == case.id,
                Referral.agency_id.in_(agency_ids),
                Referral.status.in_(referrals.OPEN_REFERRAL_STATUSES),
            )
            .order_by(Referral.sent_on, Referral.id)
        )
    )
    names = sorted(directory.names.get(i, "an agency") for i in agency_ids)
    if not open_referrals:
        return None, (
            f"The sender writes for {' or '.join(names)}, but the case has no open "
            "referral to it: filed as an email only."
        )
    if len(open_referrals) > 1:
        return None, (
            f"The sender's address matches several agencies with open referrals "
            f"({', '.join(names)}): record the response on the right referral."
        )
    referral = open_referrals[0]
    received_on = _received_on(message)
    if received_on < referral.sent_on:
        return None, (
            f"It was sent before the referral to {referral.agency.label} "
            f"({_fmt(referral.sent_on)}), so it is not its response: filed as an "
            "email only."
        )
    return referral, ""


def sender_address(message: InboundMessage) -> str:
    """The sender's email address (lower case), or '' when the From header had none."""
    return _address_of(message.sender)


def is_agency_sender(address: str) -> bool:
    """Whether the address (or its domain) belongs to an agency in the directory."""
    return bool(address) and bool(SenderDirectory.load().agencies_for(address))


def _address_of(sender: str) -> str:
    found = re.search(r"<([^<>@\s]+@[^<>\s]+)>\s*$", sender or "")
    if found:
        return found.group(1).lower()
    return (sender or "").strip().lower() if "@" in (sender or "") else ""


def _received_on(message: InboundMessage) -> date:
    """The office date the message was sent (never later than the office's today)."""
    today = referrals.office_today()
    if message.sent_at is None:
        return today
    return min(_office_date(message.sent_at), today)


def file_message(
    message: InboundMessage,
    case: Case,
    author: User | None,
    directory: SenderDirectory | None = None,
) -> Filing:
    """File the message onto the case: an email on the timeline, its kept attachments on the
    case, and the agency's response when the sender is the contact of an open referral
    (flushes, never commits). The caller has checked that ``author`` may edit the case.

    The response's outcome is always "pending": a staffer reads the letter and sets the
    outcome, since words such as "denied" or "approved" in a quoted thread would mislead any
    guess. The referral becomes responded and the case page offers the next status.
    """
    if message.status == InboundStatus.FILED:
        raise DomainError("This message is already filed.")
    directory = directory or SenderDirectory.load()
    filing = Filing(case=case)
    now = utcnow()
    sent = message.sent_at if message.sent_at is not None and message.sent_at <= now else now
    when = f", sent {_fmt(_office_date(message.sent_at))}" if message.sent_at else ""
    header = f"Email from {message.sender or 'an unknown sender'}{when}: “{message.subject}”"
    referral, filing.note = _response_for(message, case, directory)
    for item in message.attachments:
        if item.attachment is not None:
            item.attachment.case_id = case.id
    message.status = InboundStatus.FILED
    message.case_id = case.id
    message.filed_at = now
    if message.id is None:
        db.session.flush()
    attachments = _attachment_line(message)
    data = {
        "inbound_message_id": message.id,
        "attachment_ids": [a.attachment_id for a in message.attachments if a.attachment_id],
    }
    if referral is not None:
        text = message.body_text or "(The email has no text; see its attachments.)"
        response = referrals.record_response(
            referral,
            received_on=_received_on(message),
            channel=ReferralMethod.EMAIL,
            body=f"From: {message.sender}\nSubject: {message.subject}\n\n{text}",
            outcome=ResponseOutcome.PENDING,
            author=author,
            inbound_message=message,
        )
        message.referral_id = referral.id
        filing.referral, filing.response_id = referral, response.id
        data["referral_id"] = referral.id
        body = (
            f"{header}. Recorded as the response to the referral to "
            f"{referral.agency.label} (outcome pending until someone reads it); its full "
            "text is in that response entry."
        )
    else:
        body = f"{header}\n\n{message.body_text or '(The email has no text.)'}"
    if attachments:
        body += f"\n\n{attachments}"
    timeline.add_event(case, EventKind.EMAIL, body, author=author, data=data, occurred_at=sent)
    audit.record(
        "mail_filed",
        "inbound_message",
        message.id,
        detail=f"case {case.number}" + (" as an agency response" if referral else ""),
        user=author,
    )
    return filing


def _store_attachments(
    message: InboundMessage, parsed: ParsedMessage, user: User | None, stored: list[Path]
) -> list[AttachmentNote]:
    """Keep the attachments of the kinds agencies send (recognised by content) through the
    upload checks; refuse web pages, SVG pictures and programs; note the rest, with why."""
    notes = []
    for raw in parsed.attachments:
        size = len(raw.data)
        outcome, reason, attachment = AttachmentOutcome.SKIPPED, "", None
        danger = uploads.refusal(raw.data, raw.content_type, raw.filename) if raw.data else ""
        kind = uploads.sniff_document(raw.data) if raw.data and not danger else None
        if not raw.data:
            reason = "the attachment is empty"
        elif danger:
            outcome, reason = AttachmentOutcome.REFUSED, danger
        elif kind is None:
            reason = (
                f"only {uploads.DOCUMENTS_LABEL} files are kept (checked by content; "
                f"this one is {raw.content_type})"
            )
        elif size > uploads.MAX_UPLOAD_BYTES:
            outcome = AttachmentOutcome.REFUSED
            reason = (
                f"it is {_size(size)}, over the {uploads.MAX_UPLOAD_LABEL} limit for "
                "stored files; the message itself is filed. Save a smaller copy and add "
                "it to the case"
            )
        else:
            try:
                attachment = uploads.store_upload(
                    io.BytesIO(raw.data),
                    raw.filename,
                    case=None,
                    uploaded_by=user,
                    recognise=uploads.sniff_document,
                    accepted=uploads.DOCUMENTS_LABEL,
                )
            except DomainError as exc:
                outcome, reason = AttachmentOutcome.REFUSED, exc.message
            else:
                stored.append(uploads.stored_path(attachment))
                outcome, reason = AttachmentOutcome.KEPT, ""
        row = InboundAttachment(
            message=message,
            attachment=attachment,
            filename=raw.filename,
            content_type=raw.content_type,
            size=size,
            outcome=outcome,
            reason=reason[:500],
        )
        db.session.add(row)
        notes.append(AttachmentNote(raw.filename, outcome, reason, size))
    return notes


def _existing(sha256: str | None, message_id: str | None) -> tuple[InboundMessage | None, str]:
    if sha256 is not None:
        found = db.session.scalar(sa.select(InboundMessage).where(InboundMessage.sha256 == sha256))
        if found is not None:
            return found, "the same file"
    if message_id:
        found = db.session.scalars(
            sa.select(InboundMessage)
            .where(InboundMessage.message_id == message_id)
            .order_by(InboundMessage.id)
        ).first()
        if found is not None:
            return found, "the same Message-ID"
    return None, ""


def _duplicate(source: str, found: InboundMessage, how: str, user: User | None) -> MessageReport:
    when = _fmt(_office_date(found.received_at))
    detail = f"Already imported on {when} ({how}): nothing was added."
    case = None
    if found.status == InboundStatus.FILED and found.case_id is not None:
        case = db.session.get(Case, found.case_id)
        if case is not None and (user is None or permissions.can(user, Action.VIEW, case)):
            detail = (
                f"Already imported on {when} ({how}) and filed to case "
                f"{case_label(case.number)}: nothing was added."
            )
        else:
            case = None
    elif found.status == InboundStatus.UNFILED:
        detail = (
            f"Already imported on {when} ({how}); it is waiting in the unfiled queue: "
            "nothing was added."
        )
    visible = case is not None or found.status == InboundStatus.UNFILED
    return MessageReport(
        source,
        ImportOutcome.DUPLICATE,
        detail,
        subject=found.subject,
        sender=found.sender,
        message=found if visible else None,
        case=case,
    )


def import_message(
    raw: bytes,
    source: str,
    *,
    user: User | None,
    directory: SenderDirectory | None = None,
) -> MessageReport:
    """Import one saved message: file it onto its tagged case, or queue it (flushes).

    ``user`` None is a system import (`flask mail import`): any case may be filed onto.
    Otherwise only cases the user may edit; any other tag leaves the message in the queue.
    The message is written in its own SAVEPOINT: a message that fails half-way leaves
    nothing behind (no row, no event, no stored file), and the rest of the batch goes on.
    """
    if user is not None:
        _require(user)
    sha256 = hashlib.sha256(raw).hexdigest()
    found, how = _existing(sha256, None)
    if found is not None:
        return _duplicate(source, found, how, user)
    try:
        parsed = parse_message(raw)
    except MessageRefused as exc:
        return MessageReport(source, ImportOutcome.REFUSED, exc.reason)
    found, how = _existing(None, parsed.message_id)
    if found is not None:
        return _duplicate(source, found, how, user)
    directory = directory or SenderDirectory.load()
    stored: list[Path] = []
    try:
        with db.session.begin_nested():
            report = _import_parsed(parsed, sha256, source, user, directory, stored)
    except Exception as exc:  # one broken message must not stop the batch: report it
        _remove(stored)
        if isinstance(exc, IntegrityError):
            found, how = _existing(sha256, parsed.message_id)
            if found is not None:  # imported by someone else at the same moment
                return _duplicate(source, found, how, user)
        if isinstance(exc, DomainError):
            reason = f"It could not be filed: {exc.message}"
        else:
            log.exception("mail import failed for %s", source)
            reason = (
                "It could not be imported because of an unexpected error (logged for the "
                "office IT staff); nothing of it was saved."
            )
        return MessageReport(
            source, ImportOutcome.REFUSED, reason, subject=parsed.subject, sender=parsed.sender
        )
    return report


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _import_parsed(
    parsed: ParsedMessage,
    sha256: str,
    source: str,
    user: User | None,
    directory: SenderDirectory,
    stored: list[Path],
) -> MessageReport:
    message = InboundMessage(
        sha256=sha256,
        message_id=parsed.message_id,
        sender=parsed.sender,
        subject=parsed.subject,
        sent_at=parsed.sent_at,
        body_text=parsed.text,
        reading_notes="\n".join(parsed.notes)[:4000],
        status=InboundStatus.UNFILED,
        imported_by_id=user.id if user is not None else None,
        received_at=utcnow(),
        attachments=[],
    )
    db.session.add(message)
    db.session.flush()
    notes = _store_attachments(message, parsed, user, stored)
    report = MessageReport(
        source,
        ImportOutcome.QUEUED,
        "",
        subject=parsed.subject,
        sender=parsed.sender,
        message=message,
        attachments=notes,
    )
    tag = find_case_tag(parsed.subject, parsed.text)
    case = _case_by_number(tag.number, user) if tag.number is not None else None
    if case is None:
        report.detail = "Waiting in the unfiled queue. " + _tag_problem(tag, user)
        return report
    filing = file_message(message, case, user, directory)
    report.outcome, report.case = ImportOutcome.FILED, case
    report.detail = f"Filed to case {case_label(case.number)}."
    if case.status == CaseStatus.CLOSED:
        report.detail += " The case is closed; the email is on its timeline."
    if filing.referral is not None:
        report.referral_id, report.response_id = filing.referral.id, filing.response_id
        report.detail += (
            f" Recorded as the response to the referral to "
            f"{filing.referral.agency.label} (outcome: pending)."
        )
    elif filing.note:
        report.detail += " " + filing.note
    return report


def import_sources(
    sources: Iterable[MailSource],
    *,
    user: User | None,
    on_message: Callable[[MessageReport], None] | None = None,
    keep_records: bool = True,
) -> ImportReport:
    """Import a batch, one SAVEPOINT per message; the caller commits (flushes only).

    ``keep_records`` False: the report keeps each message's words, not its database records
    (the command line's long imports, whose memory must not grow with the mailbox)."""
    report = ImportReport()
    directory = SenderDirectory.load()
    for source in sources:
        try:
            raw = source.load()
        except (OSError, KeyError, ValueError) as exc:
            result = MessageReport(
                source.name,
                ImportOutcome.REFUSED,
                f"The message could not be read from its file ({exc}).",
            )
        else:
            result = import_message(raw, source.name, user=user, directory=directory)
        if on_message is not None:
            on_message(result)
        if not keep_records:
            # The words only: a long import's report must not hold every message's records.
            result.message, result.case = None, None
        report.messages.append(result)
    return report


# The unfiled queue -------------------------------------------------------------------------------


def may_handle_mail(user: User | None) -> bool:
    """Unfiled mail carries residents' details: supervisors and caseworkers given mail triage."""
    return permissions.may(user, Capability.TRIAGE_MAIL)


def _require(user: User | None) -> None:
    if not may_handle_mail(user):
        raise Forbidden(
            "The unfiled mail queue is open to supervisors and to caseworkers an "
            "administrator has given mail triage."
        )


@dataclass
class QueuePage:
    """One page of the unfiled queue, newest first."""

    messages: list[InboundMessage]
    total: int
    page: int
    pages: int


def unfiled_messages(user: User, page: int = 1, per_page: int = PER_PAGE) -> QueuePage:
    """The messages waiting to be filed, for every caseworker and supervisor of the office."""
    _require(user)
    total = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.status == InboundStatus.UNFILED)
        )
        or 0
    )
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    messages = list(
        db.session.scalars(
            sa.select(InboundMessage)
            .where(InboundMessage.status == InboundStatus.UNFILED)
            .options(selectinload(InboundMessage.attachments))
            .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return QueuePage(messages, total, page, pages)


def get_message(user: User, message_id: int) -> InboundMessage:
    """A message the user may see: unfiled ones to mail triage, filed ones only to caseworkers
    and supervisors who may see the case. NotFound otherwise (no hint that it exists)."""
    message = db.session.get(InboundMessage, message_id)
    if message is None:
        raise NotFound("No message with that number is available to you.")
    if message.status == InboundStatus.FILED:
        if message.case_id is None or not permissions.may(user, Capability.READ_FILED_MAIL):
            raise NotFound("No message with that number is available to you.")
        permissions.get_case(user, message.case_id, Action.VIEW)
    else:
        _require(user)
    return message


def open_message(user: User, message_id: int) -> InboundMessage:
    """get_message for showing the message to a person: opening an unfiled one is audited."""
    message = get_message(user, message_id)
    if message.status != InboundStatus.FILED:
        audit.record("unfiled_message_opened", "inbound_message", message.id, user=user)
    return message


def get_attachment(message: InboundMessage, item_id: int) -> InboundAttachment:
    """A kept attachment of the message (the caller has already been allowed the message)."""
    item = next((a for a in message.attachments if a.id == item_id), None)
    if item is None or item.attachment is None:
        raise NotFound("That file is not kept with this message.")
    return item


def response_of(message: InboundMessage) -> AgencyResponse | None:
    """The agency response recorded from this message, if any."""
    return db.session.scalars(
        sa.select(AgencyResponse)
        .where(AgencyResponse.inbound_message_id == message.id)
        .options(selectinload(AgencyResponse.referral).selectinload(Referral.agency))
    ).first()


def queue_reason(message: InboundMessage, user: User) -> str:
    """Why the message waits, as this user would see it."""
    tag = find_case_tag(message.subject, message.body_text)
    if tag.number is not None and _case_by_number(tag.number, user) is not None:
        return f"It names case {case_label(tag.number)}, which you can file it onto."
    return _tag_problem(tag, user)


def _number_candidates(text: str) -> list[int]:
    prefix = re.escape(_prefix().strip())
    optional = f"(?:{prefix})?" if prefix else ""
    patterns = [
        r"\bcase\s*(?:no\.?|number|#)?\s*[:#]?\s*" + optional + r"\s*([0-9]{3,9})\b",
        r"(?:ref(?:erence)?|inquiry|file)\s*(?:no\.?|number|#)\s*[:#]?\s*"
        + optional
        + r"([0-9]{3,9})\b",
        r"#\s?([0-9]{3,9})\b",
    ]
    if prefix:
        patterns.append(r"(?<![\w-])" + prefix + r"\s?([0-9]{3,9})\b")
    numbers: list[int] = []
    for pattern in patterns:
        for found in re.finditer(pattern, text, re.IGNORECASE):
            number = int(found.group(1))
            if number not in numbers:
                numbers.append(number)
            if len(numbers) >= 20:
                return numbers
    return numbers


def _liaison_cases(numbers: Iterable[int], sender: str) -> list[int]:
    """Those of the case numbers on which the sender is the liaison (or of the agency's
    domain) of a referral: the only way an old-style [Case #N] tag is offered."""
    numbers = list(numbers)
    address = _address_of(sender)
    if not numbers or not address:
        return []
    agency_ids = SenderDirectory.load().agencies_for(address)
    rows = db.session.scalars(
        sa.select(Case.number)
        .join(Referral, Referral.case_id == Case.id)
        .outerjoin(AgencyContact, AgencyContact.id == Referral.contact_id)
        .where(
            Case.number.in_(numbers),
            sa.or_(
                sa.func.lower(AgencyContact.email) == address,
                Referral.agency_id.in_(agency_ids or {-1}),
            ),
        )
    )
    liaison = set(rows)
    return [n for n in numbers if n in liaison]


PHONE_RE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
# Words of a case subject too common to say anything about which case a message is about.
COMMON_WORDS = frozenset(
    "about after again agency benefit benefits case claim could dear department from have "
    "help inquiry letter office please regarding request status thank their there these this "
    "update which with would your".split()
)


@dataclass
class Suggestion:
    """A case a queued message probably belongs to, with why, best first."""

    case: Case
    score: int = 0
    reasons: list[str] = field(default_factory=list)
    referral: Referral | None = None  # filing records the agency's response to it

    def add(self, points: int, reason: str) -> None:
        """Count one more reason for this case."""
        if reason not in self.reasons:
            self.score += points
            self.reasons.append(reason)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in COMMON_WORDS}


def suggest_cases(
    message: InboundMessage, user: User, limit: int = MAX_SUGGESTIONS
) -> list[Suggestion]:
    """The cases a queued message probably belongs to, among those the user may edit, ranked:
    a valid tag of this office; the sender is the liaison (or writes from the agency's
    domain) of an open referral, or of the case an old-style tag names; the constituent's
    name, phone or email and the case subject's words in the message; a case number written
    loosely ("case 1042", "#1042"). Tags of other offices and forged checks count for nothing.
    """
    text = f"{message.subject}\n{message.body_text[:20_000]}"
    lowered = " ".join(text.lower().split())
    tag = find_case_tag(message.subject, message.body_text)
    address = _address_of(message.sender)
    directory = SenderDirectory.load()
    agency_ids = directory.agencies_for(address) if address else set()
    numbers: dict[int, tuple[int, str]] = {}
    for n in (tag.number, *tag.several):
        if n is not None:
            numbers.setdefault(n, (100, f"it carries this office's tag for {case_label(n)}"))
    for n in _liaison_cases(tag.legacy, message.sender):
        numbers.setdefault(
            n, (60, f"its old-style tag names {case_label(n)} and the sender is its liaison")
        )
    for n in _number_candidates(tags.strip_tags(text)):
        numbers.setdefault(n, (20, f"it mentions {case_label(n)}"))
    editable = permissions.visible_cases(user, Action.EDIT).options(
        selectinload(Case.constituent).selectinload(Constituent.contact_points)
    )
    found: dict[int, Suggestion] = {}

    def consider(case: Case) -> Suggestion:
        return found.setdefault(case.id, Suggestion(case))

    if numbers:
        for case in db.session.scalars(editable.where(Case.number.in_(list(numbers)[:20]))):
            points, reason = numbers[case.number]
            consider(case).add(points, reason)
    # A reply tagged for another office is that office's: the liaison (who serves many
    # offices) sending it says nothing about this office's cases.
    if address and not (tag.foreign and tag.number is None):
        open_referrals = db.session.execute(
            editable.add_columns(Referral)
            .join(Referral, Referral.case_id == Case.id)
            .outerjoin(AgencyContact, AgencyContact.id == Referral.contact_id)
            .where(
                Referral.status.in_(referrals.OPEN_REFERRAL_STATUSES),
                sa.or_(
                    sa.func.lower(AgencyContact.email) == address,
                    Referral.agency_id.in_(agency_ids or {-1}),
                ),
            )
            .order_by(Referral.sent_on.desc(), Referral.id.desc())
            .limit(50)
        ).all()
        for case, referral in open_referrals:
            contact_email = (referral.contact.email or "").lower() if referral.contact else ""
            who = "the liaison" if contact_email == address else "from the agency"
            suggestion = consider(case)
            suggestion.add(
                40 if who == "the liaison" else 30,
                f"the sender is {who} of its open referral to {referral.agency.label}",
            )
            suggestion.referral = suggestion.referral or referral
    addresses = {a.lower() for a in EMAIL_RE.findall(text)[:20]} | ({address} if address else set())
    phones = {
        p for p in (normalize.phone_e164(m) for m in PHONE_RE.findall(text)[:20]) if p is not None
    }
    wanted = [(ContactKind.EMAIL, sorted(addresses)), (ContactKind.PHONE, sorted(phones))]
    for kind, values in wanted:
        if not values:
            continue
        for case in db.session.scalars(
            editable.join(ContactPoint, ContactPoint.constituent_id == Case.constituent_id)
            .where(
                ContactPoint.kind == kind,
                ContactPoint.normalized.in_(values),
                Case.status != CaseStatus.CLOSED,
            )
            .order_by(Case.last_activity_at.desc(), Case.id.desc())
            .limit(limit * 3)
        ):
            what = "email address" if kind == ContactKind.EMAIL else "phone number"
            consider(case).add(35, f"it carries the constituent's {what}")
    message_words = _words(text)
    for suggestion in found.values():
        person = suggestion.case.constituent
        full = " ".join(f"{person.first_name} {person.last_name}".lower().split())
        if full.strip() and full in lowered:
            suggestion.add(25, f"it names {person.full_name}")
        elif len(person.last_name) > 3 and person.last_name.lower() in message_words:
            suggestion.add(10, f"it names {person.last_name}")
        shared = _words(suggestion.case.subject) & message_words
        if shared:
            suggestion.add(
                min(15, 5 * len(shared)), "the case subject's words: " + ", ".join(sorted(shared))
            )
    ranked = sorted(
        found.values(),
        key=lambda s: (-s.score, s.case.status == CaseStatus.CLOSED, -s.case.id),
    )
    for suggestion in ranked:
        if suggestion.referral is None or suggestion.referral.agency_id not in agency_ids:
            # Filing records a response only when the sender writes for the referral's agency
            # and it is that agency's only open referral on the case.
            suggestion.referral = None
            continue
        fitting, _why = _response_for(message, suggestion.case, directory)
        suggestion.referral = fitting
    return ranked[:limit]


def file_by_number(message: InboundMessage, number_text: str, user: User) -> Filing:
    """File a queued message onto the case the staffer typed (only a case they may edit)."""
    _require(user)
    if message.status != InboundStatus.UNFILED:
        raise DomainError("This message is already filed.", field="case_number")
    number = cases.parse_case_number(number_text, _prefix())
    if number is None:
        raise DomainError(
            f"Type a case number such as {case_label(1042)} or 1042.", field="case_number"
        )
    try:
        case = permissions.get_case_by_number(user, number, Action.EDIT)
    except NotFound:
        raise DomainError(
            f"There is no case {case_label(number)} that you can file onto. Check the number.",
            field="case_number",
        ) from None
    return file_message(message, case, user)


def open_case_from_message(
    message: InboundMessage, user: User, details: intake.CallDetails
) -> Case:
    """Open a new case from a queued message (as logging a call does) and file it there.

    The channel is email; the description is the start of the message unless given; the
    whole message lands on the new case's timeline.
    """
    _require(user)
    if message.status != InboundStatus.UNFILED:
        raise DomainError("This message is already filed.")
    details.channel = Channel.EMAIL.value
    if not details.description.strip():
        details.description = _cut(
            message.body_text or message.subject, MAX_DESCRIPTION_CHARS, "email"
        )
    case = intake.log_call(user, details)
    file_message(message, case, user)
    return case
