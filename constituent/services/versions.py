"""Optimistic locking for forms: a change made on a page loaded before someone else saved."""

from __future__ import annotations

from typing import Protocol

from constituent.services.errors import Conflict


class Versioned(Protocol):
    version: int


def check_version(record: Versioned, expected: int | None, what: str) -> None:
    """Refuse (409) a change made on a page loaded at another version of ``record``.

    ``expected`` None is a caller without a page (a command, a test); every form sends one,
    and views refuse a post that lacks it (views.helpers.required_version).
    """
    if expected is not None and expected != record.version:
        raise Conflict(
            f"This {what} changed after you opened the page (someone else saved it). Nothing "
            f"you entered was saved: reload the {what} and make your change again."
        )
