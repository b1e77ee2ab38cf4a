"""Agency email saved as .eml and filed onto cases."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, WordsEnum, str_enum, utcnow

if TYPE_CHECKING:
    from constituent.models.cases import Case
    from constituent.models.releases import Attachment


class InboundStatus(enum.StrEnum):
    FILED = "filed"
    UNFILED = "unfiled"


class InboundMessage(Base):
    """One imported message; ``sha256`` of the raw bytes makes re-imports idempotent."""

    __tablename__ = "inbound_messages"
    __table_args__ = (sa.Index("ix_inbound_messages_status", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(998), index=True)
    sender: Mapped[str] = mapped_column(sa.String(320), default="")
    subject: Mapped[str] = mapped_column(sa.String(998), default="")
    sent_at: Mapped[datetime | None]
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    # What the page says about the reading, one line each: parts shown and skipped (why),
    # forwarded messages, charsets guessed, damaged structure salvaged.
    reading_notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    status: Mapped[InboundStatus] = mapped_column(str_enum(InboundStatus, 16))
    case_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    referral_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="SET NULL")
    )
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    filed_at: Mapped[datetime | None]

    case: Mapped[Case | None] = relationship()
    attachments: Mapped[list[InboundAttachment]] = relationship(
        back_populates="message", order_by="InboundAttachment.id", passive_deletes=True
    )

    @property
    def reading_lines(self) -> list[str]:
        """What the message page says about how the message was read, one line each."""
        return [line for line in (self.reading_notes or "").splitlines() if line.strip()]

    @property
    def damaged(self) -> bool:
        """Whether its MIME structure was broken and the message is shown as received."""
        return "Structure damaged: shown as received." in self.reading_lines


class AttachmentOutcome(WordsEnum):
    """What became of one attachment of an imported message."""

    KEPT = "kept"  # stored through the upload checks (PDF, PNG or JPEG within the size limit)
    SKIPPED = "skipped"  # a type the office does not keep
    REFUSED = "refused"  # an accepted type, but over the size limit


class InboundAttachment(Base):
    """One attachment of an imported message and what became of it (kept, skipped, refused)."""

    __tablename__ = "inbound_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("inbound_messages.id", ondelete="CASCADE"), index=True
    )
    attachment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachments.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    outcome: Mapped[AttachmentOutcome] = mapped_column(str_enum(AttachmentOutcome, 16))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")

    message: Mapped[InboundMessage] = relationship(back_populates="attachments")
    attachment: Mapped[Attachment | None] = relationship()
