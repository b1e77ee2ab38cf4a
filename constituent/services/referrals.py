"""Referrals of a case to an agency: the privacy-release gate, statuses, agency responses,
second inquiries, the overdue queue and agency response times."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    AgencyResponse,
    Case,
    CaseStatus,
    Constituent,
    EventKind,
    InboundMessage,
    PrivacyRelease,
    Referral,
    ReferralMethod,
    ReferralStatus,
    ResponseOutcome,
    User,
)
from constituent.services import audit, permissions, routing, timeline, versions, workflow
from constituent.services.clock import office_date as _office_date
from constituent.services.clock import office_today
from constituent.services.errors import DomainError, Forbidden, NotFound
from constituent.services.permissions import Action, Capability

# Referrals still waiting on the agency: the only ones that can be overdue.
OPEN_REFERRAL_STATUSES = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)

# The case status an agency's answer naturally leads to (offered, never applied silently).
NEXT_CASE_STATUS: dict[ResponseOutcome, CaseStatus] = {
    ResponseOutcome.RESOLVED: CaseStatus.RESOLVED,
    ResponseOutcome.DENIED: CaseStatus.RESOLVED,
    ResponseOutcome.PENDING: CaseStatus.WAITING_ON_AGENCY,
    ResponseOutcome.NEEDS_INFORMATION: CaseStatus.WAITING_ON_CONSTITUENT,
}

OUTCOME_LABELS: dict[ResponseOutcome, str] = {
    ResponseOutcome.RESOLVED: "Resolved",
    ResponseOutcome.PENDING: "Pending",
    ResponseOutcome.DENIED: "Denied",
    ResponseOutcome.NEEDS_INFORMATION: "Needs more information",
}

METHOD_LABELS: dict[ReferralMethod, str] = {
    ReferralMethod.EMAIL: "Email",
    ReferralMethod.PHONE: "Phone",
    ReferralMethod.PORTAL: "Agency portal",
    ReferralMethod.LETTER: "Letter",
    ReferralMethod.FAX: "Fax",
}

STATUS_LABELS: dict[ReferralStatus, str] = {
    ReferralStatus.SENT: "Sent",
    ReferralStatus.ACKNOWLEDGED: "Acknowledged",
    ReferralStatus.RESPONDED: "Responded",
    ReferralStatus.DECLINED: "Declined",
    ReferralStatus.WITHDRAWN: "Withdrawn",
}


# Dates -------------------------------------------------------------------------------------


def _fmt(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


# The privacy-release gate --------------------------------------------------------------------


def _names(agencies: list[Agency]) -> str:
    names = [a.acronym or a.name for a in agencies]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def release_problem(case: Case, agency: Agency) -> str | None:
    """Why no received privacy release lets the office refer this case to ``agency``.

    None when the agency is not federal (the Privacy Act gate applies to federal agencies
    only) or when a received release on the case covers the agency; otherwise a sentence that
    says exactly what is missing.
    """
    if agency.level != AgencyLevel.FEDERAL:
        return None
    releases: list[PrivacyRelease] = list(case.releases)
    if any(r.is_received and any(a.id == agency.id for a in r.agencies) for r in releases):
        return None
    parts: list[str] = []
    for release in releases:
        if release.received_at is not None:
            when = _fmt(_office_date(release.received_at))
            if release.agencies:
                covered = _names(release.agencies)
                parts.append(f"the release received on {when} covers {covered} only")
            else:
                parts.append(f"the release received on {when} names no agency")
        elif release.requested_on is not None:
            parts.append(
                f"the release for this case was requested on {_fmt(release.requested_on)} "
                "but not received"
            )
        else:
            parts.append("a release is recorded for this case but has not been received")
    if not parts:
        parts.append("no privacy release has been requested for this case")
    return f"No signed privacy release covers {agency.label}: " + "; ".join(parts) + "."


def agencies_for_release(case: Case, also: Agency | None = None) -> list[Agency]:
    """The agencies a new release on the case should name: those of its referrals, the
    routing suggestion's and ``also`` (the one a referral is being written to), in that order."""
    found: list[Agency] = [r.agency for r in case_referrals(case)]
    suggestion = routing.best_rule(case.category, case.district)
    if suggestion is not None:
        found.append(suggestion.agency)
    if also is not None:
        found.append(also)
    unique: dict[int, Agency] = {}
    for agency in found:
        unique.setdefault(agency.id, agency)
    return list(unique.values())


def may_override_release(user: User, case: Case) -> bool:
    """Whether ``user`` may refer this case without a covering release (supervisors only)."""
    return permissions.may(user, Capability.LEAD_TEAM) and permissions.can(
        user, Action.MANAGE, case
    )


# Due dates ---------------------------------------------------------------------------------


def follow_up_days(case: Case, agency: Agency) -> int:
    """Days the office gives ``agency`` to answer on this case: the best routing rule's
    interval when that rule suggests this agency, else the agency's expected response days."""
    suggestion = routing.best_rule(case.category_id, case.district_id)
    if suggestion is not None and suggestion.agency.id == agency.id:
        return suggestion.follow_up_days
    return agency.expected_response_days


def default_due_on(case: Case, agency: Agency, sent_on: date) -> date:
    """The suggested due date: sent date plus the follow-up interval."""
    return sent_on + timedelta(days=follow_up_days(case, agency))


# Changing referrals --------------------------------------------------------------------------


def check_version(referral: Referral, version: int | None) -> None:
    """Refuse a form loaded before someone else saved the referral (409)."""
    versions.check_version(referral, version, "referral")


def _move_case(case: Case, status: CaseStatus, user: User, reason: str) -> None:
    """Move the case through the status workflow (no-op when it is already there)."""
    if case.status == status:
        return
    if status not in workflow.allowed_next(case) and CaseStatus.OPEN in workflow.allowed_next(case):
        # A resolved case that goes back to an agency is open again first.
        workflow.change_status(case, CaseStatus.OPEN, user, note=reason)
    workflow.change_status(case, status, user, note=reason)


def _open_referral_to(case: Case, agency: Agency) -> Referral | None:
    return db.session.scalars(
        sa.select(Referral).where(
            Referral.case_id == case.id,
            Referral.agency_id == agency.id,
            Referral.status.in_(OPEN_REFERRAL_STATUSES),
        )
    ).first()


def _referral_event(
    referral: Referral, action: str, body: str, author: User, **more: object
) -> None:
    """A step of the referral on its case's timeline (``action`` and ``more`` in its data)."""
    timeline.add_event(
        referral.case,
        EventKind.REFERRAL,
        body,
        author=author,
        data={"referral_id": referral.id, "action": action, **more},
    )


def _check_referral(
    case: Case,
    agency: Agency,
    contact: AgencyContact | None,
    sent_on: date,
    due_on: date | None,
    today: date,
) -> date:
    """Refuse a referral that cannot be sent; its due date (the agency's default if none)."""
    if case.status == CaseStatus.CLOSED:
        raise DomainError("This case is closed. Reopen it before referring it to an agency.")
    if not agency.active:
        raise DomainError(f"{agency.label} is no longer active in the directory.", field="agency")
    if contact is not None and contact.agency_id != agency.id:
        raise DomainError(f"{contact.name} is not a contact at {agency.label}.", field="contact")
    if sent_on > today:
        raise DomainError("The date sent cannot be in the future.", field="sent_on")
    due_on = due_on or default_due_on(case, agency, sent_on)
    if due_on < sent_on:
        raise DomainError(
            f"The due date ({_fmt(due_on)}) cannot be before the date sent ({_fmt(sent_on)}).",
            field="due_on",
        )
    if _open_referral_to(case, agency) is not None:
        raise DomainError(
            f"This case already has an open referral to {agency.label}. Record a second "
            "inquiry on it instead.",
            field="agency",
        )
    return due_on


def _release_override(
    case: Case, agency: Agency, author: User, override_reason: str | None
) -> tuple[str | None, str | None]:
    """The missing-release problem and the override reason that answers it (None when there
    is nothing to override); refused when a release is missing and not rightly overridden."""
    override_reason = (override_reason or "").strip() or None
    problem = release_problem(case, agency)
    if problem is None:
        return None, None  # nothing to override: do not record a needless override
    if override_reason is None:
        raise DomainError(problem, field="agency", code="release_missing")
    if not may_override_release(author, case):
        raise Forbidden("Only a supervisor can override the privacy-release requirement.")
    return problem, override_reason


def _record_override(referral: Referral, problem: str | None, author: User) -> None:
    """The override of a missing release, on the timeline and in the audit log."""
    case, agency = referral.case, referral.agency
    _referral_event(
        referral,
        "release_override",
        f"Privacy-release requirement overridden by {author.full_name} for the referral to "
        f"{agency.label}. {problem} Reason given: {referral.override_reason}",
        author,
    )
    audit.record(
        "release_override",
        "referral",
        referral.id,
        detail=f"Case {case.number} referred to {agency.acronym or agency.name} without a "
        "covering privacy release",
        user=author,
    )


def route_case(
    case: Case,
    *,
    agency: Agency,
    contact: AgencyContact | None,
    method: ReferralMethod,
    sent_on: date,
    due_on: date | None,
    reference_number: str | None,
    author: User,
    override_reason: str | None = None,
    today: date | None = None,
) -> Referral:
    """Refer the case to an agency contact; the case waits on the agency (flushes).

    A referral to a federal agency needs a received privacy release covering that agency,
    unless a supervisor gives a written reason to override (audited, on the timeline).
    """
    due_on = _check_referral(case, agency, contact, sent_on, due_on, today or office_today())
    problem, override_reason = _release_override(case, agency, author, override_reason)
    referral = Referral(
        case=case,
        agency=agency,
        contact=contact,
        method=method,
        sent_on=sent_on,
        due_on=due_on,
        reference_number=(reference_number or "").strip() or None,
        status=ReferralStatus.SENT,
        inquiry_count=1,
        created_by_id=author.id,
        override_reason=override_reason,
        override_by_id=author.id if override_reason else None,
    )
    db.session.add(referral)
    db.session.flush()
    to = agency.label + (f" — {contact.name}" if contact else "")
    body = (
        f"Referred to {to} by {METHOD_LABELS[method].lower()} on {_fmt(sent_on)}; "
        f"response due {_fmt(due_on)}."
    )
    if referral.reference_number:
        body += f" Agency reference {referral.reference_number}."
    _referral_event(
        referral,
        "sent",
        body,
        author,
        agency_id=agency.id,
    )
    if override_reason:
        _record_override(referral, problem, author)
    audit.record(
        "referral_sent",
        "referral",
        referral.id,
        detail=f"case {case.number} to {agency.acronym or agency.name}",
        user=author,
    )
    _move_case(case, CaseStatus.WAITING_ON_AGENCY, author, f"Referred to {agency.label}.")
    db.session.flush()
    return referral


def update_referral(
    referral: Referral,
    *,
    contact: AgencyContact | None,
    reference_number: str | None,
    due_on: date,
    author: User,
    version: int | None = None,
) -> Referral:
    """Correct a referral's contact, agency reference number or due date (timeline entry)."""
    check_version(referral, version)
    if contact is not None and contact.agency_id != referral.agency_id:
        raise DomainError(
            f"{contact.name} is not a contact at {referral.agency.label}.", field="contact"
        )
    if due_on < referral.sent_on:
        raise DomainError(
            f"The due date ({_fmt(due_on)}) cannot be before the date sent "
            f"({_fmt(referral.sent_on)}).",
            field="due_on",
        )
    reference_number = (reference_number or "").strip() or None
    changes = []
    if (contact.id if contact else None) != referral.contact_id:
        changes.append(f"contact {contact.name if contact else 'none'}")
        referral.contact = contact
    if reference_number != referral.reference_number:
        changes.append(f"agency reference {reference_number or 'none'}")
        referral.reference_number = reference_number
    if due_on != referral.due_on:
        changes.append(f"due date {_fmt(due_on)}")
        referral.due_on = due_on
    if changes:
        _referral_event(
            referral,
            "updated",
            f"Referral to {referral.agency.label} updated: " + "; ".join(changes) + ".",
            author,
        )
    db.session.flush()
    return referral


def _require_open(referral: Referral, doing: str) -> None:
    if referral.status not in OPEN_REFERRAL_STATUSES:
        raise DomainError(
            f"This referral is {STATUS_LABELS[referral.status].lower()}; it cannot be {doing}."
        )


def acknowledge(
    referral: Referral,
    *,
    on: date,
    author: User,
    reference_number: str | None = None,
    version: int | None = None,
    today: date | None = None,
) -> Referral:
    """Record that the agency acknowledged the referral (optionally with its reference)."""
    check_version(referral, version)
    if referral.status != ReferralStatus.SENT:
        raise DomainError(
            f"This referral is {STATUS_LABELS[referral.status].lower()}; only a sent referral "
            "can be acknowledged."
        )
    if on < referral.sent_on:
        raise DomainError(
            "The agency cannot acknowledge a referral before it was sent.", field="acknowledged_on"
        )
    if on > (today or office_today()):
        raise DomainError(
            "The acknowledgement date cannot be in the future.", field="acknowledged_on"
        )
    referral.status = ReferralStatus.ACKNOWLEDGED
    referral.acknowledged_on = on
    reference_number = (reference_number or "").strip()
    if reference_number:
        referral.reference_number = reference_number
    body = f"{referral.agency.label} acknowledged the referral on {_fmt(on)}."
    if reference_number:
        body += f" Agency reference {reference_number}."
    _referral_event(referral, "acknowledged", body, author)
    db.session.flush()
    return referral


def decline(
    referral: Referral,
    *,
    reason: str,
    author: User,
    version: int | None = None,
) -> Referral:
    """Record that the agency declined the referral; a reason is required."""
    check_version(referral, version)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the agency declined the referral.", field="reason")
    _require_open(referral, "declined")
    referral.status = ReferralStatus.DECLINED
    referral.declined_reason = reason
    _referral_event(
        referral,
        "declined",
        f"{referral.agency.label} declined the referral. Reason: {reason}",
        author,
    )
    db.session.flush()
    return referral


def withdraw(
    referral: Referral, *, author: User, reason: str | None = None, version: int | None = None
) -> Referral:
    """The office withdraws the referral (the agency need not answer any more)."""
    check_version(referral, version)
    _require_open(referral, "withdrawn")
    referral.status = ReferralStatus.WITHDRAWN
    reason = (reason or "").strip()
    body = f"Referral to {referral.agency.label} withdrawn by the office."
    if reason:
        body += f" Reason: {reason}"
    _referral_event(referral, "withdrawn", body, author)
    db.session.flush()
    return referral


def is_overdue(referral: Referral, today: date | None = None) -> bool:
    """Past its due date with no response (and not declined or withdrawn)."""
    return referral.status in OPEN_REFERRAL_STATUSES and referral.due_on < (today or office_today())


def days_overdue(referral: Referral, today: date | None = None) -> int:
    """Whole days past the due date (0 when not overdue)."""
    if not is_overdue(referral, today):
        return 0
    return ((today or office_today()) - referral.due_on).days


def second_inquiry(
    referral: Referral,
    *,
    author: User,
    on: date | None = None,
    due_on: date | None = None,
    method: ReferralMethod | None = None,
    note: str | None = None,
    version: int | None = None,
) -> Referral:
    """Record a further inquiry on an overdue referral and reset its due date.

    The new due date is ``due_on`` if given, else the inquiry date plus the referral's
    follow-up interval (the routing rule's or the agency's expected response days).
    """
    check_version(referral, version)
    on = on or office_today()
    _require_open(referral, "followed up")
    if not is_overdue(referral, on):
        raise DomainError(
            f"This referral is not overdue: the response is due {_fmt(referral.due_on)}."
        )
    new_due = due_on or on + timedelta(days=follow_up_days(referral.case, referral.agency))
    if new_due <= on:
        raise DomainError("The new due date must be after the date of the inquiry.", field="due_on")
    previous_due = referral.due_on
    referral.inquiry_count += 1
    referral.last_inquiry_on = on
    referral.due_on = new_due
    ordinal = {2: "Second", 3: "Third", 4: "Fourth", 5: "Fifth"}.get(
        referral.inquiry_count, f"Inquiry no. {referral.inquiry_count}:"
    )
    how = f" by {METHOD_LABELS[method].lower()}" if method else ""
    body = (
        f"{ordinal} inquiry to {referral.agency.label}{how} on {_fmt(on)}: the response was due "
        f"{_fmt(previous_due)} ({_days((on - previous_due).days)} overdue). "
        f"New due date {_fmt(new_due)}."
    )
    if note and note.strip():
        body += f" {note.strip()}"
    _referral_event(
        referral,
        "inquiry",
        body,
        author,
        inquiry_count=referral.inquiry_count,
    )
    db.session.flush()
    return referral


def record_response(
    referral: Referral,
    *,
    received_on: date,
    channel: ReferralMethod,
    body: str,
    outcome: ResponseOutcome,
    author: User | None,
    inbound_message: InboundMessage | None = None,
) -> AgencyResponse:
    """Record the agency's answer on a referral; the referral becomes responded (flushes).

    The full text lands on the case timeline. The case's status is not changed here: the
    response page offers ``next_case_status(outcome)``.
    """
    body = (body or "").strip()
    if not body:
        raise DomainError("Paste the text of the agency's response.", field="body")
    if referral.status in (ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN):
        raise DomainError(
            f"This referral was {STATUS_LABELS[referral.status].lower()}; a response cannot be "
            "recorded on it."
        )
    if received_on < referral.sent_on:
        raise DomainError(
            f"The response cannot be received before the referral was sent "
            f"({_fmt(referral.sent_on)}).",
            field="received_on",
        )
    if received_on > office_today():
        raise DomainError("The date received cannot be in the future.", field="received_on")
    response = AgencyResponse(
        referral=referral,
        received_on=received_on,
        channel=channel,
        body=body,
        outcome=outcome,
        inbound_message_id=inbound_message.id if inbound_message is not None else None,
        recorded_by_id=author.id if author is not None else None,
    )
    db.session.add(response)
    referral.status = ReferralStatus.RESPONDED
    if referral.responded_on is None or received_on < referral.responded_on:
        referral.responded_on = received_on
    db.session.flush()
    timeline.add_event(
        referral.case,
        EventKind.RESPONSE,
        f"Response from {referral.agency.label} ({METHOD_LABELS[channel].lower()}, received "
        f"{_fmt(received_on)}), outcome: {OUTCOME_LABELS[outcome]}.\n\n{body}",
        author=author,
        data={"referral_id": referral.id, "response_id": response.id, "outcome": outcome.value},
    )
    db.session.flush()
    return response


def next_case_status(case: Case, outcome: ResponseOutcome) -> CaseStatus | None:
    """The status an agency's answer naturally moves the case to, or None when it is there."""
    status = NEXT_CASE_STATUS[outcome]
    if case.status in (status, CaseStatus.CLOSED):
        return None
    return status


def move_case_after_response(
    case: Case, status: CaseStatus, *, author: User, response: AgencyResponse
) -> None:
    """Move the case on after an agency's response (the status the response page offered)."""
    if status not in (
        CaseStatus.OPEN,
        CaseStatus.WAITING_ON_AGENCY,
        CaseStatus.WAITING_ON_CONSTITUENT,
        CaseStatus.RESOLVED,
    ):
        raise DomainError("Choose an open status; close the case from its page.", field="status")
    if case.status == CaseStatus.CLOSED:
        raise DomainError("This case is closed. Reopen it from its page first.")
    _move_case(
        case,
        status,
        author,
        f"After the response from {response.referral.agency.label} "
        f"({OUTCOME_LABELS[response.outcome].lower()}).",
    )
    db.session.flush()


# Reading -----------------------------------------------------------------------------------


def get_referral(user: User, referral_id: int, action: Action = Action.VIEW) -> Referral:
    """Load a referral whose case the user may ``action``, or raise NotFound."""
    referral = db.session.scalar(
        sa.select(Referral)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.id == referral_id, permissions.case_scope(user, action))
    )
    if referral is None:
        raise NotFound("No referral with that number is available to you.")
    return referral


def case_referrals(case: Case) -> list[Referral]:
    """The case's referrals, newest first (the caller has already been allowed the case)."""
    return list(
        db.session.scalars(
            sa.select(Referral)
            .where(Referral.case_id == case.id)
            .options(
                selectinload(Referral.agency),
                selectinload(Referral.contact),
                selectinload(Referral.responses),
            )
            .order_by(Referral.sent_on.desc(), Referral.id.desc())
        )
    )


@dataclass(frozen=True)
class OverdueReferral:
    """A row of the follow-up queue."""

    referral: Referral
    case: Case
    days_overdue: int


def overdue_referrals(
    user: User,
    agency: Agency | int | None = None,
    district: int | None = None,
    assignee: User | int | None = None,
    today: date | None = None,
) -> list[OverdueReferral]:
    """Referrals past due with no response on cases the user may see, most overdue first.

    Filters: ``agency`` (an Agency or its id), ``district`` (a District id), ``assignee``
    (a User or id: the case's assigned staffer). Closed cases are left out.
    """
    today = today or office_today()
    query = (
        sa.select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(
            permissions.case_scope(user, Action.VIEW),
            Referral.status.in_(OPEN_REFERRAL_STATUSES),
            Referral.due_on < today,
            Case.status != CaseStatus.CLOSED,
        )
        .options(
            selectinload(Referral.agency),
            selectinload(Referral.contact),
            selectinload(Case.assignee),
            selectinload(Case.district),
            selectinload(Case.constituent).selectinload(Constituent.contact_points),
        )
        .order_by(Referral.due_on, Case.number, Referral.id)
    )
    if agency is not None:
        query = query.where(Referral.agency_id == getattr(agency, "id", agency))
    if district is not None:
        query = query.where(Case.district_id == getattr(district, "id", district))
    if assignee is not None:
        query = query.where(Case.assignee_id == getattr(assignee, "id", assignee))
    return [
        OverdueReferral(referral=r, case=c, days_overdue=(today - r.due_on).days)
        for r, c in db.session.execute(query)
    ]


@dataclass(frozen=True)
class AgencyResponseTimes:
    """One agency's row of the response-time table."""

    agency: Agency
    sent: int
    responded: int
    median_days: float | None
    p90_days: float | None
    overdue: int


def percentile_90(days: list[int]) -> float | None:
    """90th percentile by linear interpolation between order statistics (inclusive method).

    This is ``statistics.quantiles(days, n=10, method="inclusive")[8]``, the same as
    numpy's default "linear" percentile and Excel's PERCENTILE.INC: with the n values sorted
    as x[0..n-1], the 90th percentile sits at position h = 0.9·(n-1) and is
    x[floor(h)] + (h - floor(h))·(x[floor(h)+1] - x[floor(h)]). One value is its own
    percentile; no values give None.
    """
    if not days:
        return None
    if len(days) == 1:
        return float(days[0])
    return float(statistics.quantiles(days, n=10, method="inclusive")[8])


def response_time_stats(user: User, today: date | None = None) -> list[AgencyResponseTimes]:
    """Per agency, over the referrals on cases the user may see: referrals sent (every
    referral, declined and withdrawn ones included), responded (those with a response),
    median and 90th-percentile days from sent to first response (see ``percentile_90``), and
    how many are overdue now (open, past due, case not closed). Agencies with no referrals
    are left out; sorted by name."""
    today = today or office_today()
    rows = db.session.execute(
        sa.select(
            Referral.agency_id,
            Referral.status,
            Referral.sent_on,
            Referral.due_on,
            Referral.responded_on,
            Case.status.label("case_status"),
        )
        .join(Case, Case.id == Referral.case_id)
        .where(permissions.case_scope(user, Action.VIEW))
    ).all()
    grouped: dict[int, list[sa.Row[*tuple[Any, ...]]]] = {}
    for row in rows:
        grouped.setdefault(row.agency_id, []).append(row)
    agencies = {
        a.id: a for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_(grouped)))
    }
    result = []
    for agency_id, referrals in grouped.items():
        days = sorted(
            (r.responded_on - r.sent_on).days for r in referrals if r.responded_on is not None
        )
        overdue = sum(
            1
            for r in referrals
            if r.status in OPEN_REFERRAL_STATUSES
            and r.due_on < today
            and r.case_status != CaseStatus.CLOSED
        )
        result.append(
            AgencyResponseTimes(
                agency=agencies[agency_id],
                sent=len(referrals),
                responded=len(days),
                median_days=float(statistics.median(days)) if days else None,
                p90_days=percentile_90(days),
                overdue=overdue,
            )
        )
    result.sort(key=lambda r: r.agency.name.lower())
    return result


def agencies_with_open_referrals() -> list[Agency]:
    """Agencies that have a referral waiting for an answer, by name (the overdue filter)."""
    waiting = sa.select(Referral.agency_id).where(Referral.status.in_(OPEN_REFERRAL_STATUSES))
    return list(
        db.session.scalars(sa.select(Agency).where(Agency.id.in_(waiting)).order_by(Agency.name))
    )
