"""WTForms per area, mirroring views/."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms import DateField, HiddenField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet
from wtforms.validators import InputRequired, Length, Optional

from constituent.models.submissions import KEY_LENGTH
from constituent.services.submissions import new_key

MAX_ID = 2**31 - 1  # any record id; larger numbers would overflow the database's integer
# The one message of every date field, missing or bad: the browser's picker shows the date as
# mm/dd/yyyy in the United States, so the example is written that way.
DATE_MESSAGE = "Enter a date like 03/14/2025."
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y"]  # what the picker sends first; then typed by hand


class CarriesVersion:
    """A form that changes a versioned record carries the version it was loaded with; the
    view refuses a post without it (views.helpers.required_version)."""

    version = HiddenField(validators=[Optional(), Length(max=12)])


class OneTimeKey:
    """A create form carries a one-time key, so a second click saves nothing more
    (services.submissions)."""

    submission_key = HiddenField(default=new_key, validators=[Optional(), Length(max=KEY_LENGTH)])


def choices(pairs: Iterable[tuple[Any, str]], optgroup: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices, optionally in an <optgroup>."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


class Marked:
    """Marks a field as required on the page (an asterisk beside its label) where the service,
    not the form, checks it and says what is missing."""

    field_flags = {"required": True}

    def __call__(self, form: object, field: object) -> None:
        return None


class DayField(DateField):
    """Every date field: an ``<input type="date">`` (the browser's picker in its own locale,
    its value ISO), that also takes 03/14/2025 typed where there is no picker, and that says
    DATE_MESSAGE for a bad date."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", DATE_FORMATS)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(DATE_MESSAGE) from exc

    def _value(self) -> str:
        """ISO for the picker, even when the date was typed another way."""
        if self.data is not None:
            return str(self.data.isoformat())
        return " ".join(self.raw_data or [])  # as typed, to be corrected


def required_day(label: str, **kwargs: Any) -> DayField:
    """A date that must be given (the same message when it is missing as when it is bad)."""
    return DayField(label, validators=[InputRequired(DATE_MESSAGE)], **kwargs)


def limit(n: int) -> Length:
    """A length limit whose message names the limit."""
    return Length(max=n, message=f"Use at most {n:,} characters.")


def optional_int(value: object) -> int | None:
    """A select's value as a record id; '', junk and impossible numbers become None (the
    service then says what is missing)."""
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None
