"""Letter templates with merge fields, and letters produced from them."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, CreatedAt, Timestamped, str_enum


class LetterKind(enum.StrEnum):
    AGENCY_INQUIRY = "agency_inquiry"
    ACKNOWLEDGEMENT = "acknowledgement"
    CLOSING = "closing"


class LetterTemplate(Timestamped, Base):
    """A Jinja (sandboxed) letter body with merge fields; admins edit them."""

    __tablename__ = "letter_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LetterKind] = mapped_column(str_enum(LetterKind, 24))
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Letter(CreatedAt, Base):
    """A letter rendered for a case (kept as rendered, recorded on the timeline)."""

    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("letter_templates.id", ondelete="SET NULL")
    )
    referral_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
