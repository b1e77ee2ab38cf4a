"""Constituents: residents who contact the office, with contact points and household."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, CreatedAt, Timestamped, str_enum

if TYPE_CHECKING:
    from constituent.models.cases import Case
    from constituent.models.districts import District


class ContactKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"


class ContactMethod(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    MAIL = "mail"
    TEXT = "text"


class Constituent(Timestamped, Base):
    """A resident. A merged-away record keeps ``merged_into_id`` so old links still resolve."""

    __tablename__ = "constituents"
    __table_args__ = (
        sa.Index("ix_constituents_last_first", "last_name_key", "first_name_key"),
        sa.Index("ix_constituents_zip5_street", "zip5", "street_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(80))
    middle_name: Mapped[str | None] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    suffix: Mapped[str | None] = mapped_column(sa.String(20))
    # Lower-cased, accent-folded forms used by look-ups (kept in step by the service).
    first_name_key: Mapped[str] = mapped_column(sa.String(80), default="")
    last_name_key: Mapped[str] = mapped_column(sa.String(80), default="")
    street: Mapped[str | None] = mapped_column(sa.String(200))
    street2: Mapped[str | None] = mapped_column(sa.String(200))
    street_key: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    state: Mapped[str | None] = mapped_column(sa.String(2))
    zip5: Mapped[str | None] = mapped_column(sa.String(5))
    zip4: Mapped[str | None] = mapped_column(sa.String(4))  # ZIP+4 add-on, when known
    district_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    # True when staff chose the district by hand (a re-import of the ZIP table keeps it).
    district_override: Mapped[bool] = mapped_column(default=False)
    out_of_district: Mapped[bool] = mapped_column(default=False)
    preferred_contact: Mapped[ContactMethod | None] = mapped_column(str_enum(ContactMethod, 16))
    language: Mapped[str | None] = mapped_column(sa.String(40))
    is_veteran: Mapped[bool] = mapped_column(default=False)
    is_senior: Mapped[bool] = mapped_column(default=False)
    has_disability: Mapped[bool] = mapped_column(default=False)
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    do_not_contact_reason: Mapped[str | None] = mapped_column(sa.String(500))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    # The record's id in the system it was imported from: a re-run updates, never duplicates.
    external_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("constituents.id", ondelete="SET NULL"), index=True
    )
    merged_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    district: Mapped[District | None] = relationship()
    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="constituent", cascade="all, delete-orphan", order_by="ContactPoint.id"
    )
    household: Mapped[list[HouseholdMember]] = relationship(
        back_populates="constituent",
        cascade="all, delete-orphan",
        foreign_keys="HouseholdMember.constituent_id",
        order_by="HouseholdMember.id",
    )
    cases: Mapped[list[Case]] = relationship(back_populates="constituent", order_by="Case.id")
    merged_into: Mapped[Constituent | None] = relationship(remote_side=[id])

    @property
    def full_name(self) -> str:
        parts = [self.first_name, self.middle_name, self.last_name, self.suffix]
        return " ".join(p for p in parts if p)

    @property
    def sort_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    @property
    def phones(self) -> list[ContactPoint]:
        return [c for c in self.contact_points if c.kind == ContactKind.PHONE]

    @property
    def emails(self) -> list[ContactPoint]:
        return [c for c in self.contact_points if c.kind == ContactKind.EMAIL]

    def __repr__(self) -> str:
        return f"<Constituent {self.id} {self.full_name}>"


class ContactPoint(CreatedAt, Base):
    """A phone number or email address of a constituent."""

    __tablename__ = "contact_points"
    __table_args__ = (sa.Index("ix_contact_points_kind_normalized", "kind", "normalized"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    constituent_id: Mapped[int] = mapped_column(
        sa.ForeignKey("constituents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind, 8))
    value: Mapped[str] = mapped_column(sa.String(254))
    # E.164 for phones, lower-case for emails: what look-ups compare.
    normalized: Mapped[str] = mapped_column(sa.String(254))
    label: Mapped[str | None] = mapped_column(sa.String(40))
    is_primary: Mapped[bool] = mapped_column(default=False)

    constituent: Mapped[Constituent] = relationship(back_populates="contact_points")


class HouseholdMember(CreatedAt, Base):
    """Someone in the constituent's household (optionally a constituent record too)."""

    __tablename__ = "household_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    constituent_id: Mapped[int] = mapped_column(
        sa.ForeignKey("constituents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(160))
    relationship_label: Mapped[str | None] = mapped_column("relationship", sa.String(60))
    member_constituent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("constituents.id", ondelete="SET NULL")
    )

    constituent: Mapped[Constituent] = relationship(
        back_populates="household", foreign_keys=[constituent_id]
    )
