"""What residents send through the public help form (/help), before intake staff make it a case,
and the privacy-release wording they sign there.

A request holds the resident's own words until staff review it: accepted, it becomes a case
(channel "web form") with its electronic release; declined, it keeps the reason. Agency
identifiers (claim number, A-number, last four of the SSN) are encrypted at rest
(``constituent.crypto.EncryptedText``) and purged a set number of days after the case closes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.crypto import EncryptedText
from constituent.models.base import Base, CreatedAt, WordsEnum, link_table, str_enum, utcnow

if TYPE_CHECKING:
    from constituent.models.agencies import Agency
    from constituent.models.cases import Case
    from constituent.models.categories import Category
    from constituent.models.districts import District
    from constituent.models.releases import Attachment
    from constituent.models.users import User

REFERENCE_LENGTH = 12


class Language(enum.StrEnum):
    """The languages of the public pages (staff pages stay English)."""

    ENGLISH = "en"
    SPANISH = "es"

    @property
    def label(self) -> str:
        return {"en": "English", "es": "Spanish"}[self.value]


class IdentifierKind(enum.StrEnum):
    """Agency identifiers a public category may ask for."""

    CLAIM_NUMBER = "claim_number"
    A_NUMBER = "a_number"
    SSN_LAST4 = "ssn_last4"

    @property
    def label(self) -> str:
        return {
            "claim_number": "Claim or case number",
            "a_number": "A-number",
            "ssn_last4": "Last four of SSN",
        }[self.value]


class RequestStatus(WordsEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class DeclineReason(WordsEnum):
    SPAM = "spam"
    DUPLICATE = "duplicate"
    OUT_OF_DISTRICT = "out_of_district"
    NOT_CASEWORK = "not_casework"


class PreferredContact(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    MAIL = "mail"


release_template_agencies = link_table(
    "release_template_agencies",
    ("template_id", "release_templates.id"),
    ("agency_id", "agencies.id"),
)

online_request_agencies = link_table(
    "online_request_agencies",
    ("request_id", "online_requests.id"),
    ("agency_id", "agencies.id"),
)


class ReleaseTemplate(CreatedAt, Base):
    """A privacy-release wording an admin maintains for one or more agencies. Its text lives in
    numbered versions: a signed release keeps the exact version the resident read."""

    __tablename__ = "release_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    active: Mapped[bool] = mapped_column(default=True)

    agencies: Mapped[list[Agency]] = relationship(
        secondary=release_template_agencies, order_by="Agency.name"
    )
    versions: Mapped[list[ReleaseTemplateVersion]] = relationship(
        back_populates="template", order_by="ReleaseTemplateVersion.number"
    )


class ReleaseTemplateVersion(CreatedAt, Base):
    """One version of a release's wording, in English and Spanish. Never edited: a change is a
    new version."""

    __tablename__ = "release_template_versions"
    __table_args__ = (sa.UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("release_templates.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    text_en: Mapped[str] = mapped_column(sa.Text)
    text_es: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    template: Mapped[ReleaseTemplate] = relationship(back_populates="versions")


FORM_KEY_LENGTH = 43  # secrets.token_urlsafe(32)


class OnlineRequest(Base):
    """A resident's request for help sent through /help, waiting for (or past) staff review."""

    __tablename__ = "online_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the resident is told (and may quote on the phone): random, never sequential.
    reference: Mapped[str] = mapped_column(sa.String(REFERENCE_LENGTH), unique=True)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, 16), default=RequestStatus.NEW, index=True
    )
    language: Mapped[Language] = mapped_column(str_enum(Language, 8), default=Language.ENGLISH)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"))
    # The agency the resident named, if any (one from the list, or their own words).
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    agency_named: Mapped[str | None] = mapped_column(sa.String(200))
    what_happened: Mapped[str] = mapped_column(sa.Text)
    tried: Mapped[str | None] = mapped_column(sa.Text)

    first_name: Mapped[str] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    address_line1: Mapped[str] = mapped_column(sa.String(200))
    address_line2: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(2))
    zip_code: Mapped[str] = mapped_column(sa.String(10))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    preferred_contact: Mapped[PreferredContact] = mapped_column(str_enum(PreferredContact, 16))
    contact_times: Mapped[str | None] = mapped_column(sa.String(200))

    # Encrypted JSON object {IdentifierKind value: text}; None once purged or never given.
    identifiers: Mapped[str | None] = mapped_column(EncryptedText)
    identifiers_purged_at: Mapped[datetime | None]

    # The electronic release, signed on the form (None when the resident did not sign).
    release_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("release_template_versions.id")
    )
    signed_name: Mapped[str | None] = mapped_column(sa.String(200))
    signed_at: Mapped[datetime | None]
    # The rendered copy of what was signed (an attachment without a case until accepted).
    release_copy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachments.id"))

    submitted_from: Mapped[str] = mapped_column(sa.String(64))
    # The random key of the form page it was sent from: a second post of the same page (a
    # double click) finds this request instead of keeping another. None for requests made
    # otherwise (staff tools, older rows); NULLs do not collide.
    form_key: Mapped[str | None] = mapped_column(sa.String(FORM_KEY_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    # Review by intake staff.
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    decline_reason: Mapped[DeclineReason | None] = mapped_column(str_enum(DeclineReason, 32))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"))

    category: Mapped[Category] = relationship()
    agency: Mapped[Agency | None] = relationship()
    release_agencies: Mapped[list[Agency]] = relationship(
        secondary=online_request_agencies, order_by="Agency.name"
    )
    release_version: Mapped[ReleaseTemplateVersion | None] = relationship()
    release_copy: Mapped[Attachment | None] = relationship()
    district: Mapped[District | None] = relationship()
    reviewed_by: Mapped[User | None] = relationship()
    case: Mapped[Case | None] = relationship()

    def __repr__(self) -> str:
        return f"<OnlineRequest {self.reference} {self.status.value}>"


class AgencyIdentifier(CreatedAt, Base):
    """An identifier an agency finds the resident's file by, kept on the case encrypted, shown
    to staff masked until an audited reveal, and deleted a set number of days after the case
    closes (CONSTITUENT_IDENTIFIER_RETENTION_DAYS)."""

    __tablename__ = "agency_identifiers"
    __table_args__ = (sa.UniqueConstraint("case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IdentifierKind] = mapped_column(str_enum(IdentifierKind, 16))
    value: Mapped[str] = mapped_column(EncryptedText)
