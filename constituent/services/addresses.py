"""Postal addresses the way the Postal Service writes them: ZIP or ZIP+4, and the last line
``Cullman AL 35055-1234`` (city, state, ZIP with no comma: USPS Publication 28)."""

from __future__ import annotations

import re

ZIP_INPUT_RE = re.compile(r"^(\d{5})(?:[- ]?(\d{4}))?$")
ZIP_MESSAGE = "Enter a ZIP code of five digits, or ZIP+4, like 35055 or 35055-1234."


def split_zip(text: str | None) -> tuple[str, str | None] | None:
    """'35055-1234' → ('35055', '1234'); '35055' → ('35055', None); None when not a ZIP."""
    match = ZIP_INPUT_RE.match((text or "").strip())
    if match is None:
        return None
    return match.group(1), match.group(2)


def zip_code(zip5: str | None, zip4: str | None) -> str:
    """'35055', '1234' → '35055-1234'."""
    if not zip5:
        return ""
    return f"{zip5}-{zip4}" if zip4 else zip5


def last_line(city: str | None, state: str | None, zip5: str | None, zip4: str | None) -> str:
    """'Cullman AL 35055-1234': city, state and ZIP separated by single spaces."""
    return " ".join(p for p in (city or "", (state or "").upper(), zip_code(zip5, zip4)) if p)


def address_lines(
    street: str | None,
    street2: str | None,
    city: str | None,
    state: str | None,
    zip5: str | None,
    zip4: str | None = None,
) -> list[str]:
    """The lines of an address block: street, apartment or suite, then the last line."""
    lines = [street or "", street2 or "", last_line(city, state, zip5, zip4)]
    return [line for line in lines if line.strip()]
