"""One-time submission keys: which create form post made what, so a repeat saves nothing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, CreatedAt

KEY_LENGTH = 64


class SubmissionKey(CreatedAt, Base):
    """A create form's one-time key, claimed by the first post, and the address it created."""

    __tablename__ = "submission_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(KEY_LENGTH))
    # Filled in the same transaction as the creation, so a committed key always has it.
    created_url: Mapped[str] = mapped_column(sa.String(500), default="")
