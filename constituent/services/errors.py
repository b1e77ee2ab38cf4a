"""The one exception type services raise, with a message fit for a person."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """A rule refused the request. ``field`` names the form field it belongs to, if any;
    ``code`` names the refusal for callers that treat one differently (never the message)."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class NotFound(DomainError):
    """The record does not exist, or the user may not know that it does."""

    status_code = 404


class Forbidden(DomainError):
    """The user may not do this."""

    status_code = 403


class Conflict(DomainError):
    """Someone else saved the record since the form was loaded."""

    status_code = 409

    def __init__(self, message: str, changes: list[tuple[str, str, str]] | None = None) -> None:
        super().__init__(message)
        self.changes = changes or []


def must_exist(record: T | None, message: str) -> T:
    """The record fetched, or NotFound with ``message`` when there is none."""
    if record is None:
        raise NotFound(message)
    return record
