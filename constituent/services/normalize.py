"""Normal forms that look-ups compare: names, streets, phones (E.164) and emails."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

DEFAULT_REGION = "US"

_STREET_WORDS = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "court": "ct",
    "place": "pl",
    "terrace": "ter",
    "parkway": "pkwy",
    "highway": "hwy",
    "circle": "cir",
    "square": "sq",
    "route": "rte",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "apartment": "apt",
    "suite": "ste",
    "unit": "unit",
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
}


def fold(text: str) -> str:
    """Lower-case, strip accents and collapse spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(ascii_text.lower().split())


def name_key(name: str) -> str:
    """'  O’Brien-Smith ' → 'obriensmith': letters only, for exact and prefix matching."""
    return re.sub(r"[^a-z]", "", fold(name))


def street_key(street: str | None) -> str | None:
    """'12 North Main Street, Apt. 4' → '12 n main st apt 4'."""
    if not street:
        return None
    words = re.sub(r"[^a-z0-9 ]", " ", fold(street)).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words) or None


def phone_number(
    raw: str, region: str = DEFAULT_REGION, area_code: str | None = None
) -> phonenumbers.PhoneNumber | None:
    """The parsed number (with its extension), or None when it cannot be dialled as given.

    A local 7-digit number is dialable only with an area code: ``area_code`` (the office's
    default) is put in front, and without one it is refused rather than guessed.
    """
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        if not area_code:
            return None
        extension = parsed.extension
        try:
            parsed = phonenumbers.parse(f"{area_code}{parsed.national_number}", region)
        except phonenumbers.NumberParseException:
            return None
        parsed.extension = extension
        reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return parsed


def phone_e164(raw: str, region: str = DEFAULT_REGION, area_code: str | None = None) -> str | None:
    """E.164 form of a phone number (no extension: what look-ups compare), or None when it
    does not parse as a number that can be dialled."""
    parsed = phone_number(raw, region, area_code)
    if parsed is None:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _as_dialled(parsed: phonenumbers.PhoneNumber) -> str:
    """A number as the office dials it: national for US numbers, else international."""
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)


def phone_with_extension(raw: str, area_code: str | None = None) -> str | None:
    """'2055550123 x12' → '(205) 555-0123 ext. 12': the number as the office dials it."""
    parsed = phone_number(raw, DEFAULT_REGION, area_code)
    if parsed is None:
        return None
    return _as_dialled(parsed)


def phone_display(e164: str) -> str:
    """'+15185550123' → '(518) 555-0123' (national format for US numbers)."""
    try:
        parsed = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    return _as_dialled(parsed)


def email_key(email: str) -> str:
    return email.strip().lower()
