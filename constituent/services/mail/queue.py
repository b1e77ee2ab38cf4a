"""The unfiled queue: messages waiting to be filed, opening them (audited), why each waits,
ranked suggestions, filing by a typed case number, and opening a new case from a message."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from constituent.extensions import db
from constituent.models import (
    AgencyContact,
    AgencyResponse,
    Case,
    CaseStatus,
    Channel,
    Constituent,
    ContactKind,
    ContactPoint,
    InboundMessage,
    InboundStatus,
    Referral,
    User,
)
from constituent.models.mail import InboundAttachment
from constituent.services import (
    audit,
    cases,
    intake,
    normalize,
    permissions,
    referrals,
    tags,
)
from constituent.services.errors import DomainError, NotFound
from constituent.services.mail.filing import (
    CaseTag,
    Filing,
    SenderDirectory,
    _address_of,
    _case_by_number,
    _prefix,
    _require,
    _response_for,
    _tag_problem,
    case_label,
    file_message,
    find_case_tag,
)
from constituent.services.mail.parse import _cut
from constituent.services.permissions import Action, Capability

MAX_DESCRIPTION_CHARS = 2_000  # the description of a case opened from a message
PER_PAGE = 25
MAX_SUGGESTIONS = 3

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


# The unfiled queue -------------------------------------------------------------------------------


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


class _Candidates(dict[int, Suggestion]):
    """The cases considered so far, by id, each with its suggestion."""

    def consider(self, case: Case) -> Suggestion:
        return self.setdefault(case.id, Suggestion(case))


def _numbered(tag: CaseTag, sender: str, text: str) -> dict[int, tuple[int, str]]:
    """Case numbers the message names, strongest way first: this office's tag, an old-style
    tag the sender is the liaison of, a number written loosely."""
    numbers: dict[int, tuple[int, str]] = {}
    for n in (tag.number, *tag.several):
        if n is not None:
            numbers.setdefault(n, (100, f"it carries this office's tag for {case_label(n)}"))
    for n in _liaison_cases(tag.legacy, sender):
        numbers.setdefault(
            n, (60, f"its old-style tag names {case_label(n)} and the sender is its liaison")
        )
    for n in _number_candidates(tags.strip_tags(text)):
        numbers.setdefault(n, (20, f"it mentions {case_label(n)}"))
    return numbers


def _add_numbered(
    found: _Candidates, editable: sa.Select[Any], numbers: dict[int, tuple[int, str]]
) -> None:
    if not numbers:
        return
    for case in db.session.scalars(editable.where(Case.number.in_(list(numbers)[:20]))):
        points, reason = numbers[case.number]
        found.consider(case).add(points, reason)


def _add_open_referrals(
    found: _Candidates, editable: sa.Select[Any], address: str, agency_ids: set[int]
) -> None:
    """Cases with an open referral whose liaison (or agency) sent the message."""
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
        suggestion = found.consider(case)
        suggestion.add(
            40 if who == "the liaison" else 30,
            f"the sender is {who} of its open referral to {referral.agency.label}",
        )
        suggestion.referral = suggestion.referral or referral


def _add_contact_matches(
    found: _Candidates, editable: sa.Select[Any], text: str, address: str, limit: int
) -> None:
    """Open cases of constituents whose email address or phone number the message carries."""
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
            found.consider(case).add(35, f"it carries the constituent's {what}")


def _add_names_and_words(found: _Candidates, text: str) -> None:
    """The constituent's name, and the case subject's words, in the message."""
    lowered = " ".join(text.lower().split())
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


def _settle_referrals(
    ranked: list[Suggestion],
    message: InboundMessage,
    agency_ids: set[int],
    directory: SenderDirectory,
) -> None:
    for suggestion in ranked:
        if suggestion.referral is None or suggestion.referral.agency_id not in agency_ids:
            # Filing records a response only when the sender writes for the referral's agency
            # and it is that agency's only open referral on the case.
            suggestion.referral = None
            continue
        fitting, _why = _response_for(message, suggestion.case, directory)
        suggestion.referral = fitting


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
    tag = find_case_tag(message.subject, message.body_text)
    address = _address_of(message.sender)
    directory = SenderDirectory.load()
    agency_ids = directory.agencies_for(address) if address else set()
    editable = permissions.visible_cases(user, Action.EDIT).options(
        selectinload(Case.constituent).selectinload(Constituent.contact_points)
    )
    found = _Candidates()
    _add_numbered(found, editable, _numbered(tag, message.sender, text))
    # A reply tagged for another office is that office's: the liaison (who serves many
    # offices) sending it says nothing about this office's cases.
    if address and not (tag.foreign and tag.number is None):
        _add_open_referrals(found, editable, address, agency_ids)
    _add_contact_matches(found, editable, text, address, limit)
    _add_names_and_words(found, text)
    ranked = sorted(
        found.values(),
        key=lambda s: (-s.score, s.case.status == CaseStatus.CLOSED, -s.case.id),
    )
    _settle_referrals(ranked, message, agency_ids, directory)
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
