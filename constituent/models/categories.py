"""Case categories (Social Security, Veterans, Housing, ...)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from constituent.models.base import Base, CreatedAt


class Category(CreatedAt, Base):
    """What the resident needs help with."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(default=True)
    # Offered on the public help form (/help), with a plain-language sentence in each language.
    public: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The name Spanish pages show (None: the English name).
    public_name_es: Mapped[str | None] = mapped_column(sa.String(80))
    public_blurb_en: Mapped[str | None] = mapped_column(sa.String(200))
    public_blurb_es: Mapped[str | None] = mapped_column(sa.String(200))
    # The agency identifiers the public form asks for here: IdentifierKind values, comma-separated.
    asks_identifiers: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"

    def public_name(self, language: str) -> str:
        """The name a resident reads on the public pages in ``language`` ('en' or 'es')."""
        if language == "es" and self.public_name_es and self.public_name_es.strip():
            return self.public_name_es.strip()
        return self.name
