"""Referrals of a case to an agency contact, and the agency's responses."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, CreatedAt, Timestamped, str_enum

if TYPE_CHECKING:
    from constituent.models.agencies import Agency, AgencyContact
    from constituent.models.cases import Case


class ReferralMethod(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    PORTAL = "portal"
    LETTER = "letter"
    FAX = "fax"


class ReferralStatus(enum.StrEnum):
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class ResponseOutcome(enum.StrEnum):
    RESOLVED = "resolved"
    PENDING = "pending"
    DENIED = "denied"
    NEEDS_INFORMATION = "needs_information"


class Referral(Timestamped, Base):
    """The case sent to an agency contact, awaiting the agency's answer."""

    __tablename__ = "referrals"
    __table_args__ = (
        sa.Index("ix_referrals_status_due_on", "status", "due_on"),
        sa.Index("ix_referrals_agency_status", "agency_id", "status"),
        # Summaries read the referrals sent, or answered, in a range of dates.
        sa.Index("ix_referrals_sent_on", "sent_on", "case_id", "agency_id"),
        sa.Index("ix_referrals_responded_on", "responded_on", "case_id", "agency_id", "sent_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency_contacts.id"))
    method: Mapped[ReferralMethod] = mapped_column(str_enum(ReferralMethod, 16))
    sent_on: Mapped[date]
    due_on: Mapped[date]
    reference_number: Mapped[str | None] = mapped_column(sa.String(80))
    status: Mapped[ReferralStatus] = mapped_column(
        str_enum(ReferralStatus, 16), default=ReferralStatus.SENT
    )
    declined_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    override_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    inquiry_count: Mapped[int] = mapped_column(default=1)
    last_inquiry_on: Mapped[date | None]
    acknowledged_on: Mapped[date | None]
    responded_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    agency: Mapped[Agency] = relationship()
    contact: Mapped[AgencyContact | None] = relationship()
    responses: Mapped[list[AgencyResponse]] = relationship(
        back_populates="referral", order_by="AgencyResponse.received_on"
    )


class AgencyResponse(CreatedAt, Base):
    """What the agency answered: received date, channel, full text and outcome."""

    __tablename__ = "agency_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    received_on: Mapped[date]
    channel: Mapped[ReferralMethod] = mapped_column(str_enum(ReferralMethod, 16))
    body: Mapped[str] = mapped_column(sa.Text)
    outcome: Mapped[ResponseOutcome] = mapped_column(str_enum(ResponseOutcome, 24))
    inbound_message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_messages.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    referral: Mapped[Referral] = relationship(back_populates="responses")
