"""Staff users, their roles and their district memberships."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, CreatedAt, link_table, str_enum

if TYPE_CHECKING:
    from constituent.models.districts import District


class Role(enum.StrEnum):
    """The five roles of DESIGN.md."""

    INTAKE = "intake"
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    LEGISLATOR = "legislator"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {
            "intake": "Intake",
            "caseworker": "Caseworker",
            "supervisor": "Supervisor",
            "legislator": "Legislator",
            "admin": "Administrator",
        }[self.value]


user_districts = link_table(
    "user_districts", ("user_id", "users.id"), ("district_id", "districts.id")
)


class User(CreatedAt, Base):
    """A member of staff who signs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # A caseworker an admin trusts with the unfiled-mail queue (see permissions.GRANTS).
    mail_triage: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Bumped on sign-out, password change and disabling: every older session stops working.
    session_epoch: Mapped[int] = mapped_column(default=0)
    last_sign_in_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    districts: Mapped[list[District]] = relationship(
        secondary=user_districts, back_populates="users", order_by="District.code"
    )

    # Flask-Login protocol -------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    @property
    def district_ids(self) -> set[int]:
        return {d.id for d in self.districts}

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
