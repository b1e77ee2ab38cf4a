"""Filing imported mail: the reports of a batch, this office's case tag in a message, the
agency directory (who sent it), filing onto a case (and the agency's response), attachments
through the upload checks, duplicates, and importing a batch message by message."""

from __future__ import annotations

import enum
import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    Case,
    CaseStatus,
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
    permissions,
    referrals,
    tags,
    timeline,
    uploads,
)
from constituent.services.clock import office_date as _office_date
from constituent.services.clock import office_today
from constituent.services.errors import DomainError, Forbidden, NotFound
from constituent.services.mail.parse import (
    MailSource,
    MessageRefused,
    ParsedMessage,
    _size,
    parse_message,
)
from constituent.services.permissions import Action, Capability

log = logging.getLogger(__name__)

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
    today = office_today()
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
                if (path := uploads.stored_path(attachment)) is not None:
                    stored.append(path)  # database storage: rolled back with the savepoint
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


def may_handle_mail(user: User | None) -> bool:
    """Unfiled mail carries residents' details: supervisors and caseworkers given mail triage."""
    return permissions.may(user, Capability.TRIAGE_MAIL)


def _require(user: User | None) -> None:
    if not may_handle_mail(user):
        raise Forbidden(
            "The unfiled mail queue is open to supervisors and to caseworkers an "
            "administrator has given mail triage."
        )
