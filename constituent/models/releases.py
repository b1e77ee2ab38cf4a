"""Privacy releases (the resident's signed consent) and stored attachments."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, CreatedAt, link_table, str_enum

if TYPE_CHECKING:
    from constituent.models.agencies import Agency
    from constituent.models.cases import Case


class RequestMethod(enum.StrEnum):
    MAILED_FORM = "mailed_form"
    E_SIGNATURE = "e_signature"
    IN_PERSON = "in_person"
    ONLINE_FORM = "online_form"

    @property
    def label(self) -> str:
        return {
            "mailed_form": "Mailed form",
            "e_signature": "E-signature",
            "in_person": "In person",
            "online_form": "Online help form",
        }[self.value]


class SignatureMethod(enum.StrEnum):
    WET = "wet"
    ELECTRONIC = "electronic"
    # Signed on the public help form: typed name, consent box, identity attested (CASES Act,
    # P.L. 116-50; OMB M-21-04 requires federal agencies to accept it).
    CASES_ACT = "cases_act"

    @property
    def label(self) -> str:
        return {
            "wet": "Wet signature",
            "electronic": "Electronic signature",
            "cases_act": "Electronic (CASES Act)",
        }[self.value]


class Attachment(CreatedAt, Base):
    """A file kept outside static/, served only to users who may see its case."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class StoredFileChunk(Base):
    """Up to 1 MiB of a stored file's bytes, when CONSTITUENT_UPLOAD_STORAGE=database
    (services/file_store.py): chunk 0, 1, 2 … of the file with that storage key."""

    __tablename__ = "stored_file_chunks"

    storage_key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    chunk: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


privacy_release_agencies = link_table(
    "privacy_release_agencies", ("release_id", "privacy_releases.id"), ("agency_id", "agencies.id")
)


class PrivacyRelease(CreatedAt, Base):
    """The resident's Privacy Act consent for a case: requested, then received."""

    __tablename__ = "privacy_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requested_on: Mapped[date | None]
    request_method: Mapped[RequestMethod | None] = mapped_column(str_enum(RequestMethod, 16))
    signed_on: Mapped[date | None]
    signature_method: Mapped[SignatureMethod | None] = mapped_column(str_enum(SignatureMethod, 16))
    received_at: Mapped[datetime | None]
    attachment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachments.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    case: Mapped[Case] = relationship(back_populates="releases")
    attachment: Mapped[Attachment | None] = relationship()
    agencies: Mapped[list[Agency]] = relationship(
        secondary=privacy_release_agencies, order_by="Agency.name"
    )

    @property
    def is_received(self) -> bool:
        return self.received_at is not None
