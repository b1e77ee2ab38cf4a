"""The case tag outgoing mail carries and agency replies quote: ``[NY21 C-1152 K7QXA]``.

The office code makes a tag of one office unlike every other office's (all installations
number their cases from 1001); the check, a few characters of an HMAC of the office code and
the case number under the secret key, makes a typo or a made-up tag fail. The office code is
looked up in ONE place, :func:`office_code`: the admin Office page's setting first, then the
configuration value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from constituent.extensions import db
from constituent.models import District
from constituent.services.cases import parse_case_number

CHECK_CHARS = 5  # base32: 25 bits, one chance in 33 million for a made-up check
FALLBACK_CODE = "OFFICE"
_CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,14}[A-Z0-9]|[A-Z0-9]")
# [CODE NUMBER CHECK]: codes are written in capitals (so "[see 1152 below]" is no tag), the
# number as staff write it (C-1152, 1152), the check in base32; spaces inside are loose.
_TAG_RE = re.compile(
    r"\[\s*([A-Z0-9][A-Z0-9-]{0,15})\s+([A-Za-z]{0,4}-?#?[0-9]{1,9})\s+"
    rf"([A-Za-z2-7]{{{CHECK_CHARS}}})\s*\]"
)
_LEGACY_RE = re.compile(
    r"\[\s*case\s*(?:no\.?|number)?\s*#?\s*([A-Za-z]{0,4}-?[0-9]{1,9})\s*\]", re.IGNORECASE
)


def normalize_code(value: str) -> str:
    """'ny-21 ' → 'NY-21'; '' when nothing usable is left (letters, digits, inner hyphens)."""
    value = re.sub(r"[^A-Z0-9-]", "", (value or "").upper()).strip("-")[:16]
    return value if _CODE_RE.fullmatch(value) else ""


def office_code() -> str:
    """This office's short code: the admin Office page's (``flask office init``), else the
    CONSTITUENT_OFFICE_CODE setting, else the first district's code without punctuation
    (NY-21 → NY21)."""
    from constituent.services.office import profile

    office = profile()
    configured = normalize_code(office.office_code) if office.configured else ""
    configured = configured or normalize_code(str(current_app.config.get("OFFICE_CODE") or ""))
    if configured:
        return configured
    first = db.session.scalar(sa.select(District.code).order_by(District.id).limit(1))
    return normalize_code((first or "").replace("-", "")) or FALLBACK_CODE


def _prefix() -> str:
    return str(current_app.config.get("CASE_PREFIX", "C-"))


def tag_check(code: str, number: int) -> str:
    """The check characters of a tag: HMAC-SHA256(secret key, code + number), base32."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"case-tag|{code.upper()}|{number}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:CHECK_CHARS]


def case_tag(number: int, code: str | None = None) -> str:
    """'[NY21 C-1152 K7QXA]': what outgoing mail about case 1152 carries."""
    code = code or office_code()
    return f"[{code} {_prefix()}{number} {tag_check(code, number)}]"


@dataclass(frozen=True)
class FoundTag:
    """A tag found in a message, and what it is worth here."""

    text: str
    code: str
    number: int | None
    ours: bool  # this office's code
    valid: bool  # this office's code, a case number and the right check

    @property
    def problem(self) -> str:
        """Why the tag cannot be trusted, in words for a staffer ('' when it can)."""
        if self.valid:
            return ""
        if not self.ours:
            return (
                f"its tag {self.text} is for another office (code {self.code}; this office is "
                f"{office_code()}): it was not filed here"
            )
        return (
            f"its tag {self.text} has a check that does not match case "
            f"{_prefix()}{self.number}: a typing mistake or a made-up tag"
        )


def find_tags(text: str, code: str | None = None) -> list[FoundTag]:
    """Every [CODE C-N CHECK] tag in the text, in order (each distinct tag once)."""
    code = code or office_code()
    found: list[FoundTag] = []
    seen: set[str] = set()
    for match in _TAG_RE.finditer(text or ""):
        tag_code = match.group(1).upper()
        number = parse_case_number(match.group(2), _prefix())
        check = match.group(3).upper()
        key = f"{tag_code} {number} {check}"
        if number is None or key in seen:
            continue
        seen.add(key)
        ours = tag_code == code
        valid = ours and hmac.compare_digest(check, tag_check(code, number))
        found.append(FoundTag(" ".join(match.group(0).split()), tag_code, number, ours, valid))
        if len(found) >= 20:
            break
    return found


def legacy_numbers(text: str) -> list[int]:
    """Numbers of the old office-less tags '[Case #1152]' in the text (never trusted alone)."""
    numbers: list[int] = []
    for match in _LEGACY_RE.finditer(text or ""):
        number = parse_case_number(match.group(1), _prefix())
        if number is not None and number not in numbers:
            numbers.append(number)
        if len(numbers) >= 20:
            break
    return numbers


def rewrite_legacy(text: str, number: int, tag: str) -> str:
    """Replace '[Case #1152]' (a template written before office tags) with the office tag."""

    def swap(match: re.Match[str]) -> str:
        return tag if parse_case_number(match.group(1), _prefix()) == number else match.group(0)

    return _LEGACY_RE.sub(swap, text or "")


def strip_tags(text: str) -> str:
    """The text without its tags (office tags and old-style ones), for looser number hunts."""
    return _LEGACY_RE.sub(" ", _TAG_RE.sub(" ", text or ""))
