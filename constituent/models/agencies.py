"""Agencies, their liaison contacts, and routing rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, CreatedAt, Timestamped, WordsEnum, link_table, str_enum

if TYPE_CHECKING:
    from constituent.models.categories import Category
    from constituent.models.districts import District


class AgencyLevel(WordsEnum):
    FEDERAL = "federal"
    STATE = "state"
    COUNTY = "county"
    CITY = "city"
    NONPROFIT = "nonprofit"


agency_categories = link_table(
    "agency_categories", ("agency_id", "agencies.id"), ("category_id", "categories.id")
)


class Agency(Timestamped, Base):
    """A government agency or nonprofit the office refers residents' concerns to."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    acronym: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    level: Mapped[AgencyLevel] = mapped_column(str_enum(AgencyLevel, 16))
    expected_response_days: Mapped[int] = mapped_column(default=30)
    website: Mapped[str | None] = mapped_column(sa.String(300))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    categories: Mapped[list[Category]] = relationship(
        secondary=agency_categories, order_by="Category.name"
    )
    contacts: Mapped[list[AgencyContact]] = relationship(
        back_populates="agency", order_by="AgencyContact.name"
    )

    @property
    def label(self) -> str:
        return f"{self.name} ({self.acronym})" if self.acronym else self.name

    def __repr__(self) -> str:
        return f"<Agency {self.acronym or self.name}>"


class AgencyContact(CreatedAt, Base):
    """A liaison at an agency."""

    __tablename__ = "agency_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    title: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    notes: Mapped[str | None] = mapped_column(sa.String(2000))
    active: Mapped[bool] = mapped_column(default=True)

    agency: Mapped[Agency] = relationship(back_populates="contacts")


class RoutingRule(CreatedAt, Base):
    """Category (optionally district) → suggested agency, contact and follow-up interval."""

    __tablename__ = "routing_rules"
    __table_args__ = (sa.Index("ix_routing_rules_category_district", "category_id", "district_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id", ondelete="CASCADE"))
    district_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("districts.id", ondelete="CASCADE")
    )
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agency_contacts.id", ondelete="SET NULL")
    )
    follow_up_days: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[Category] = relationship()
    district: Mapped[District | None] = relationship()
    agency: Mapped[Agency] = relationship()
    contact: Mapped[AgencyContact | None] = relationship()
