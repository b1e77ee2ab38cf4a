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


def phone_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of a phone number, or None when it does not parse as a possible number."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """'+15185550123' → '(518) 555-0123' (national format for US numbers)."""
    try:
        parsed = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)


def email_key(email: str) -> str:
    return email.strip().lower()
