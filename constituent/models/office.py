"""The office itself: who it serves and how it presents itself (one row, set up once)."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, Timestamped, str_enum


class Body(enum.StrEnum):
    """The legislative body the legislator sits in."""

    US_HOUSE = "us_house"
    US_SENATE = "us_senate"
    STATE_SENATE = "state_senate"
    STATE_HOUSE = "state_house"
    COUNCIL = "council"

    @property
    def label(self) -> str:
        return {
            "us_house": "U.S. House of Representatives",
            "us_senate": "U.S. Senate",
            "state_senate": "State senate",
            "state_house": "State house or assembly",
            "council": "County or city council",
        }[self.value]

    @property
    def usual_title(self) -> str:
        return {
            "us_house": "Representative",
            "us_senate": "Senator",
            "state_senate": "Senator",
            "state_house": "Representative",
            "council": "Council Member",
        }[self.value]


class OfficeSettings(Timestamped, Base):
    """The office's settings, changed on the admin Office page (a single row)."""

    __tablename__ = "office_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    legislator_name: Mapped[str] = mapped_column(sa.String(120))
    legislator_title: Mapped[str] = mapped_column(sa.String(60))
    body: Mapped[Body] = mapped_column(str_enum(Body, 16))
    # The home state: the default State of an address, and of a district code without one.
    state: Mapped[str] = mapped_column(sa.String(2))
    office_code: Mapped[str] = mapped_column(sa.String(8))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    # Prefixed to 7-digit local phone numbers; without it such numbers are refused.
    default_area_code: Mapped[str | None] = mapped_column(sa.String(3))
    # Two admins saving the Office page at once: the second is refused (services.versions).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<OfficeSettings {self.office_code} {self.name}>"
