"""Test data for referrals: agencies, contacts, releases and referrals in known states."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    Case,
    CaseStatus,
    PrivacyRelease,
    Referral,
    ReferralMethod,
    ReferralStatus,
    User,
)


def gen_agency(
    name: str = "Social Security Administration",
    acronym: str | None = "SSA",
    level: AgencyLevel = AgencyLevel.FEDERAL,
    expected_response_days: int = 30,
    **kw,
) -> Agency:
    agency = Agency(
        name=name, acronym=acronym, level=level, expected_response_days=expected_response_days, **kw
    )
    db.session.add(agency)
    db.session.flush()
    return agency


def gen_contact(agency: Agency, name: str = "Pat Liaison", **kw) -> AgencyContact:
    contact = AgencyContact(
        agency=agency,
        name=name,
        title=kw.pop("title", "Congressional liaison"),
        email=kw.pop("email", f"{name.split()[0].lower()}@agency.example"),
        **kw,
    )
    db.session.add(contact)
    db.session.flush()
    return contact


def gen_release(
    case: Case,
    agencies: list[Agency] | None = None,
    received: bool = True,
    requested_on: date | None = date(2025, 3, 3),
    received_at: datetime | None = None,
) -> PrivacyRelease:
    release = PrivacyRelease(
        case=case,
        requested_on=requested_on,
        received_at=(received_at or datetime(2025, 3, 10, 15, 0, tzinfo=UTC)) if received else None,
        signed_on=date(2025, 3, 8) if received else None,
        agencies=agencies or [],
    )
    db.session.add(release)
    db.session.flush()
    db.session.refresh(case)
    return release


def gen_referral(
    case: Case,
    agency: Agency,
    *,
    sent_on: date,
    due_on: date | None = None,
    status: ReferralStatus = ReferralStatus.SENT,
    responded_on: date | None = None,
    author: User | None = None,
    contact: AgencyContact | None = None,
) -> Referral:
    """A referral row as it would stand after some history (no timeline, no status change)."""
    referral = Referral(
        case=case,
        agency=agency,
        contact=contact,
        method=ReferralMethod.EMAIL,
        sent_on=sent_on,
        due_on=due_on or sent_on + timedelta(days=agency.expected_response_days),
        status=status,
        responded_on=responded_on,
        created_by_id=author.id if author else None,
    )
    db.session.add(referral)
    if case.status == CaseStatus.OPEN:
        case.status = CaseStatus.WAITING_ON_AGENCY
    db.session.flush()
    return referral
