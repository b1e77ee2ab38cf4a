"""Districts the office serves, and the ZIP → district table."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, CreatedAt, utcnow
from constituent.models.users import user_districts

if TYPE_CHECKING:
    from constituent.models.users import User


class District(CreatedAt, Base):
    """A legislative district served by this deployment, e.g. ``NY-12``."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    state: Mapped[str] = mapped_column(sa.String(2))
    chamber: Mapped[str] = mapped_column(sa.String(16), default="house")
    legislator_name: Mapped[str | None] = mapped_column(sa.String(120))
    # A deactivated district keeps its cases and history but takes no new ones.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    users: Mapped[list[User]] = relationship(secondary=user_districts, back_populates="districts")

    def __repr__(self) -> str:
        return f"<District {self.code}>"


class ZipDistrict(Base):
    """One row of the ZIP table: ZIP5 lies (partly) in district ``district_code``.

    The table covers whole states, not only the served districts, so an address in a
    neighbouring district is recognised as out-of-district rather than unknown.
    """

    __tablename__ = "zip_districts"

    zip5: Mapped[str] = mapped_column(sa.String(5), primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(2), index=True)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
