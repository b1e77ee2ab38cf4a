"""Declarative base with a naming convention, UTC-aware datetimes and shared column helpers."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (used as a callable column default)."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A DateTime stored as UTC and always returned timezone-aware, on SQLite too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class WordsEnum(enum.StrEnum):
    """A string enum labelled by its value in words: "waiting_on_agency" → "Waiting on agency"."""

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def str_enum(enum_cls: type[enum.Enum], length: int = 32) -> sa.Enum:
    """A portable string column holding an enum's values (no native ENUM type)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Base class of every model."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class CreatedAt:
    """A row that keeps when it was made (UTC)."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Timestamped(CreatedAt):
    """A row that keeps when it was made and when it last changed (UTC)."""

    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def link_table(name: str, *keys: tuple[str, str]) -> sa.Table:
    """A many-to-many table: its columns are foreign keys, named with what they refer to
    (``("agency_id", "agencies.id")``), together its primary key, each row deleted with either
    of the rows it links."""
    return sa.Table(
        name,
        Base.metadata,
        *(
            sa.Column(column, sa.ForeignKey(target, ondelete="CASCADE"), primary_key=True)
            for column, target in keys
        ),
    )
