"""One-time set-password links emailed to staff: only a hash of each link's secret is kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, CreatedAt


class PasswordLink(CreatedAt, Base):
    """A link an admin had emailed to an account: it sets a password once, before it expires.
    A newer link (or a use) ends it; the secret itself is never stored."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256, hex
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()  # used, or replaced by a newer link
