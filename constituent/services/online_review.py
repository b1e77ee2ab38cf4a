"""Staff review of what residents send through the public help form: the Online requests
queue, the constituents a request may be about (intake's own matching rules, suggested and
never merged silently), its district (split ZIPs asked, out-of-district flagged with intake's
courtesy-referral text), accepting it as a case with its electronic release and agency
identifiers, declining it with a reason, the audited reveal of the identifiers, and their
purge a set number of days after the case closes.

Services never commit: the request boundary (``views/boundary.py``) or the command does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from constituent.database import affected_rows
from constituent.extensions import db
from constituent.models import (
    AgencyIdentifier,
    Case,
    CaseStatus,
    Channel,
    DeclineReason,
    EventKind,
    IdentifierKind,
    Language,
    OnlineRequest,
    PrivacyRelease,
    RequestMethod,
    RequestStatus,
    SignatureMethod,
    User,
)
from constituent.models.constituents import ContactMethod
from constituent.services import audit, clock, constituents, intake, permissions, releases, timeline
from constituent.services.constituents import Match
from constituent.services.errors import Conflict, DomainError, Forbidden, NotFound
from constituent.services.intake import MAX_DESCRIPTION, MAX_SUBJECT, CallDetails
from constituent.services.permissions import Action, Capability

PAGE_SIZE = 25
DEFAULT_RETENTION_DAYS = 90
MASK = "•••••"
# Shown to staff who may review but not open cases (administrators).
ACCEPT_NEEDS_INTAKE = "Accepting a request opens a case: ask intake or a caseworker to accept it."


# --- who may review ----------------------------------------------------------------------------


def may_review(user: User | None) -> bool:
    """Whether ``user`` may see the Online requests queue (and decline or reveal there)."""
    return permissions.may(user, Capability.REVIEW_ONLINE_REQUESTS)


def may_accept(user: User | None) -> bool:
    """Whether ``user`` may accept a request: it opens a case, as logging a call does."""
    return may_review(user) and permissions.may(user, Capability.LOG_CALLS)


def _require_review(user: User | None) -> None:
    if not may_review(user):
        raise Forbidden("Your role does not review online requests.")


# --- the queue ---------------------------------------------------------------------------------


@dataclass
class QueuePage:
    """One page of new requests, newest first, with the total waiting."""

    requests: list[OnlineRequest]
    total: int
    page: int
    pages: int


def waiting_count(user: User | None) -> int:
    """How many requests wait for review (0 for a user who may not review: nothing to show)."""
    if not may_review(user):
        return 0
    query = sa.select(sa.func.count(OnlineRequest.id)).where(
        OnlineRequest.status == RequestStatus.NEW
    )
    return db.session.scalar(query) or 0


def queue(user: User | None, page: int = 1, per_page: int = PAGE_SIZE) -> QueuePage:
    """The requests waiting for review, newest first: one page of them."""
    _require_review(user)
    total = waiting_count(user)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        sa.select(OnlineRequest)
        .where(OnlineRequest.status == RequestStatus.NEW)
        .order_by(OnlineRequest.created_at.desc(), OnlineRequest.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return QueuePage(list(rows), total, page, pages)


def recently_reviewed(user: User | None, limit: int = 10) -> list[OnlineRequest]:
    """The last requests reviewed (accepted or declined), newest review first."""
    _require_review(user)
    return list(
        db.session.scalars(
            sa.select(OnlineRequest)
            .where(OnlineRequest.status != RequestStatus.NEW)
            .order_by(OnlineRequest.reviewed_at.desc(), OnlineRequest.id.desc())
            .limit(limit)
        )
    )


def get_request(user: User | None, request_id: int) -> OnlineRequest:
    """A request by id for a reviewer, or NotFound (403 first for a user who may not review)."""
    _require_review(user)
    found = db.session.get(OnlineRequest, request_id)
    if found is None:
        raise NotFound("No online request with that number.")
    return found


# --- matching and the district -----------------------------------------------------------------


def suggested_matches(user: User, request: OnlineRequest) -> list[Match]:
    """Existing constituents the request may be about, by intake's own rules (name, phone,
    email, street within the ZIP), best first. Suggestions only: staff choose."""
    return constituents.find_matches(
        user,
        first_name=request.first_name,
        last_name=request.last_name,
        phone=request.phone or "",
        email=request.email or "",
        street=request.address_line1,
        zip5=request.zip_code,
    )


def district_question(user: User, request: OnlineRequest) -> intake.DistrictQuestion:
    """What the ZIP table says of the request's ZIP, in intake's words: in one district, split
    (staff choose), out of district (flagged, with the courtesy-referral text) or unknown."""
    return intake.district_question(user, request.zip_code)


def district_note(request: OnlineRequest) -> str:
    """A word on the request's district for the queue: its code when the ZIP settles it,
    else what staff must do (a split ZIP to ask, out of district, a ZIP not in the table)."""
    where = constituents.districting(request.zip_code)
    if where.kind == "set":
        return where.served[0].code
    return {
        "split": "Split ZIP: ask",
        "out": "Out of district",
        "unknown": "ZIP not in the table",
    }.get(where.kind, "No ZIP")


# --- accepting ---------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def default_subject(request: OnlineRequest) -> str:
    """A case subject for the request: its category and, when given, the agency named."""
    agency = request.agency.label if request.agency else (request.agency_named or "")
    subject = request.category.name + (f": {agency}" if agency else "")
    return _cut(subject, MAX_SUBJECT)


def description_of(request: OnlineRequest) -> str:
    """The case description: what the resident wrote, and how they want to be reached."""
    parts = [f"Online request {request.reference}.", "", "What happened:", request.what_happened]
    if request.tried:
        parts += ["", "What they have tried:", request.tried]
    if request.agency_named and request.agency is None:
        parts += ["", f"Agency named: {request.agency_named}"]
    contact = f"Prefers {request.preferred_contact.value}"
    if request.contact_times:
        contact += f", {request.contact_times}"
    parts += ["", contact + "."]
    return _cut("\n".join(parts), MAX_DESCRIPTION)


def call_details(request: OnlineRequest) -> CallDetails:
    """The new-case fields as the request fills them (staff may change any before accepting)."""
    return CallDetails(
        first_name=request.first_name,
        last_name=request.last_name,
        phone=request.phone or "",
        email=request.email or "",
        street=request.address_line1,
        street2=request.address_line2 or "",
        city=request.city,
        state=request.state,
        zip5=request.zip_code,
        category_id=request.category_id,
        subject=default_subject(request),
        description=description_of(request),
        channel=Channel.WEB_FORM.value,
    )


def _claim(request: OnlineRequest, user: User, status: RequestStatus) -> None:
    """Mark the request reviewed, in one conditional UPDATE: of two staff reviewing at once,
    the second finds it no longer new (the row is locked until the first commits) and is
    refused, so a request never becomes two cases."""
    now = clock.now()
    claimed = db.session.execute(
        sa.update(OnlineRequest)
        .where(OnlineRequest.id == request.id, OnlineRequest.status == RequestStatus.NEW)
        .values(status=status, reviewed_by_id=user.id, reviewed_at=now)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(claimed) != 1:
        db.session.refresh(request)
        raise Conflict(already_reviewed(request))
    db.session.refresh(request)


def already_reviewed(request: OnlineRequest) -> str:
    """The sentence for a request someone else reviewed first."""
    who = request.reviewed_by.full_name if request.reviewed_by else "someone"
    return f"Online request {request.reference} was already {request.status.value} by {who}."


def _set_language(request: OnlineRequest, case: Case) -> None:
    """The resident's language and contact preference on their record (a language they chose
    on the form replaces an empty one, and Spanish replaces English)."""
    person = case.constituent
    if not person.language or request.language != Language.ENGLISH:
        person.language = request.language.label
    if person.preferred_contact is None:
        person.preferred_contact = ContactMethod(request.preferred_contact.value)


def _record_release(request: OnlineRequest, case: Case, user: User) -> PrivacyRelease | None:
    """The electronic release signed on the form, as the case's received release: the referral
    gate (``referrals.release_problem``) accepts it for the agencies it covers."""
    if request.release_version is None or request.signed_at is None:
        return None
    signed_on = clock.office_date(request.signed_at)
    copy = request.release_copy
    if copy is not None:
        copy.case_id = case.id
    release = PrivacyRelease(
        case=case,
        requested_on=signed_on,
        request_method=RequestMethod.ONLINE_FORM,
        signed_on=signed_on,
        signature_method=SignatureMethod.CASES_ACT,
        received_at=request.signed_at,
        attachment=copy,
    )
    db.session.add(release)
    version = request.release_version
    detail = f"online request {request.reference}"
    if copy is not None:
        detail += f", attachment {copy.id}"
    releases.mark_received(
        case,
        release,
        list(request.release_agencies),
        how=(
            f"on the online help form (electronic, CASES Act), typed name "
            f"“{request.signed_name}”, “{version.template.name}” version {version.number}"
        ),
        by=user,
        detail=detail,
        data={"online_request": request.reference},
    )
    return release


def stored_identifiers(request: OnlineRequest) -> dict[IdentifierKind, str]:
    """The identifiers the resident gave, decrypted (empty when none or purged)."""
    if not request.identifiers:
        return {}
    try:
        raw = json.loads(request.identifiers)
    except ValueError:
        return {}
    kinds = {k.value: k for k in IdentifierKind}
    return {
        kinds[key]: str(value).strip()
        for key, value in (raw.items() if isinstance(raw, dict) else [])
        if key in kinds and str(value or "").strip()
    }


def _keep_identifiers(request: OnlineRequest, case: Case) -> int:
    """Move the request's identifiers onto the case (encrypted there too): one copy is kept,
    the case's, and it is purged after the case closes."""
    found = stored_identifiers(request)
    for kind, value in found.items():
        db.session.add(AgencyIdentifier(case_id=case.id, kind=kind, value=value))
    request.identifiers = None
    return len(found)


def accept(request: OnlineRequest, user: User, details: CallDetails) -> Case:
    """Accept a new request: open its case (channel web form) through intake's own checks, for
    the existing constituent staff chose or a new one, with the resident's language, the
    electronic release and the agency identifiers; the request is marked accepted and linked.

    Everything is checked before anything is written, and two staff accepting at once make
    one case: the second is refused.
    """
    _require_review(user)
    if not permissions.may(user, Capability.LOG_CALLS):
        raise Forbidden(ACCEPT_NEEDS_INTAKE)
    if request.status != RequestStatus.NEW:
        raise Conflict(already_reviewed(request))
    details.channel = Channel.WEB_FORM.value
    details.release_needed = False
    if not details.description.strip():
        details.description = description_of(request)
    errors = intake.validate_call(user, details)
    if errors:
        raise intake.IntakeRefused(errors)
    _claim(request, user, RequestStatus.ACCEPTED)
    case = intake.log_call(user, details)
    _set_language(request, case)
    request.case = case
    request.district = case.district
    _record_release(request, case, user)
    kept = _keep_identifiers(request, case)
    timeline.add_event(
        case,
        EventKind.SYSTEM,
        f"Opened from online request {request.reference}, sent "
        f"{clock.office_date(request.created_at):%b %-d, %Y} in {request.language.label}.",
        author=user,
        data={"online_request": request.reference, "identifiers": kept},
    )
    db.session.flush()
    audit.record(
        "online_request_accepted",
        "online_request",
        request.reference,
        detail=f"case {case.number}; {kept} identifiers kept",
        user=user,
    )
    return case


# --- declining ---------------------------------------------------------------------------------


def decline(request: OnlineRequest, user: User, reason: str) -> OnlineRequest:
    """Decline a new request with a reason (spam, duplicate, out of district, not casework)."""
    _require_review(user)
    try:
        why = DeclineReason(reason)
    except ValueError:
        raise DomainError("Choose why the request is declined.", field="reason") from None
    if request.status != RequestStatus.NEW:
        raise Conflict(already_reviewed(request))
    _claim(request, user, RequestStatus.DECLINED)
    request.decline_reason = why
    db.session.flush()
    audit.record(
        "online_request_declined", "online_request", request.reference, detail=why.value, user=user
    )
    return request


# --- identifiers: masked, revealed (audited), purged -------------------------------------------


def mask(value: str) -> str:
    """An identifier as staff see it before a reveal: its last four characters at most, and
    none of a value that short (the last four of an SSN stay hidden whole)."""
    return MASK + value[-4:] if len(value) >= 8 else MASK


def case_identifiers(case: Case) -> list[AgencyIdentifier]:
    """The agency identifiers kept on a case, in the order of IdentifierKind."""
    order = {k: i for i, k in enumerate(IdentifierKind)}
    query = sa.select(AgencyIdentifier).where(AgencyIdentifier.case_id == case.id)
    rows = db.session.scalars(query)
    return sorted(rows, key=lambda row: order[row.kind])


def reveal_request_identifiers(user: User, request: OnlineRequest) -> dict[IdentifierKind, str]:
    """The request's identifiers in full, for a reviewer; the reveal is audited (which kinds,
    never the values)."""
    _require_review(user)
    found = stored_identifiers(request)
    if not found:
        raise DomainError("This request holds no agency identifiers.")
    audit.record(
        "identifiers_revealed",
        "online_request",
        request.reference,
        detail="kinds: " + ", ".join(k.value for k in found),
        user=user,
    )
    return found


def reveal_case_identifiers(user: User, case_id: int) -> tuple[Case, dict[IdentifierKind, str]]:
    """A case's identifiers in full, for staff who may work the case (the case scope decides;
    a case out of scope is not found); the reveal is audited."""
    case = permissions.get_case(user, case_id, Action.EDIT)
    rows = case_identifiers(case)
    if not rows:
        raise DomainError("This case holds no agency identifiers.")
    detail = "kinds: " + ", ".join(row.kind.value for row in rows)
    if case.confidential:
        detail += " (confidential case)"
    audit.record("identifiers_revealed", "case", case.number, detail=detail, user=user)
    return case, {row.kind: row.value for row in rows}


@dataclass
class PurgeReport:
    """What a purge deleted."""

    identifiers: int = 0
    cases: int = 0
    requests: int = 0
    days: int = DEFAULT_RETENTION_DAYS


def retention_days() -> int:
    """CONSTITUENT_IDENTIFIER_RETENTION_DAYS: days after a case closes that its identifiers go."""
    return int(current_app.config.get("IDENTIFIER_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def purge_identifiers(now: datetime | None = None, days: int | None = None) -> PurgeReport:
    """Delete the agency identifiers of cases closed more than ``days`` ago (the setting by
    default), and those a request still holds once its case closed that long ago or it was
    declined that long ago. Audited with the counts (flushes, never commits)."""
    now = now or clock.now()
    days = retention_days() if days is None else days
    cutoff = now - timedelta(days=days)
    closed_long_ago = sa.select(Case.id).where(
        Case.status == CaseStatus.CLOSED, Case.closed_at.is_not(None), Case.closed_at < cutoff
    )
    report = PurgeReport(days=days)
    report.cases = (
        db.session.scalar(
            sa.select(sa.func.count(sa.distinct(AgencyIdentifier.case_id))).where(
                AgencyIdentifier.case_id.in_(closed_long_ago)
            )
        )
        or 0
    )
    deleted = db.session.execute(
        sa.delete(AgencyIdentifier)
        .where(AgencyIdentifier.case_id.in_(closed_long_ago))
        .execution_options(synchronize_session=False)
    )
    report.identifiers = affected_rows(deleted)
    stale = sa.or_(
        OnlineRequest.case_id.in_(closed_long_ago),
        sa.and_(OnlineRequest.status == RequestStatus.DECLINED, OnlineRequest.reviewed_at < cutoff),
    )
    cleared = db.session.execute(
        sa.update(OnlineRequest)
        .where(OnlineRequest.identifiers.is_not(None), stale)
        .values(identifiers=None, identifiers_purged_at=now)
        .execution_options(synchronize_session=False)
    )
    report.requests = affected_rows(cleared)
    db.session.expire_all()
    if report.identifiers or report.requests:
        audit.record(
            "identifiers_purged",
            "agency_identifier",
            None,
            detail=(
                f"{report.identifiers} identifiers on {report.cases} cases closed over "
                f"{days} days ago; {report.requests} online requests"
            ),
        )
    db.session.flush()
    return report
