"""The office's calendar: its time zone (the Office page's, else ``CONSTITUENT_TIMEZONE``),
today there, and the office date of an instant. Every "today" and "which day was that" in the
app comes from here."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import has_app_context

DEFAULT_TIMEZONE = "America/New_York"


def office_tz() -> ZoneInfo:
    """The office's time zone (the default one outside an app, e.g. rendering a letter)."""
    if not has_app_context():
        return ZoneInfo(DEFAULT_TIMEZONE)
    from constituent.services.office import profile

    return ZoneInfo(profile().timezone or DEFAULT_TIMEZONE)


def office_today() -> date:
    """Today's date in the office's time zone."""
    return datetime.now(office_tz()).date()


def office_date(value: datetime) -> date:
    """The office's calendar date of an aware instant."""
    return value.astimezone(office_tz()).date()


def now() -> datetime:
    """The current instant, timezone-aware UTC: rules that count days from a stored time
    (such as purging agency identifiers) ask here, so a test can move time forward."""
    from constituent.models.base import utcnow

    return utcnow()
