"""Helpers for the case tests: open a case the way intake does, small valid upload files."""

from __future__ import annotations

import struct
import zlib

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, Channel, Priority, User
from constituent.services import cases as case_service
from tests import factories
from tests.factories import Office


def open_case(
    office: Office,
    *,
    district=None,
    opened_by: User | None = None,
    assignee: User | None = None,
    confidential: bool = False,
    priority: Priority = Priority.ROUTINE,
    subject: str = "Pension payment stopped",
    description: str = "VA pension stopped after the move.",
    release_needed: bool = False,
    commit: bool = True,
) -> Case:
    """Open a case through services.cases.open_case (with its first interval and event)."""
    district = district or office.a
    case = case_service.open_case(
        constituent=factories.gen_constituent(district),
        header=case_service.CaseHeader(
            subject=subject,
            description=description,
            category=office.category,
            priority=priority,
            confidential=confidential,
            district=district,
        ),
        channel=Channel.PHONE,
        release_needed=release_needed,
        opened_by=opened_by or office.intake,
        assignee=assignee,
    )
    if commit:
        db.session.commit()
    return case


def png_bytes() -> bytes:
    """A valid 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def pdf_bytes() -> bytes:
    """A small, well-formed one-page PDF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


ELF_AS_PDF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
PE_AS_PDF = (
    b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
)


def with_version(case_id: int, prefix: str, fields: dict) -> dict:
    """A case form's fields with the version its page carries (what a browser would send)."""
    version = db.session.scalar(sa.select(Case.version).where(Case.id == case_id))
    return {**fields, f"{prefix}-version": str(version)}
