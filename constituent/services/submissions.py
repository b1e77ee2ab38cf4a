"""Each call saved once: a create form's one-time key is claimed before anything is created.

A create form carries a fresh random key. The first post claims (user, key) in the same
transaction as what it creates, and records the address of what it made; a repeated post with
the same key (a second click, a resent request) finds the claim and is sent there instead.
Two posts at the same moment cannot both claim: SQLite write requests take the write lock when
they begin, and on PostgreSQL the unique key makes the second insert wait for the first
transaction, then fail, after which the claim it lost to is read.
"""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from constituent.extensions import db
from constituent.models import SubmissionKey, User
from constituent.models.submissions import KEY_LENGTH
from constituent.services.errors import DomainError

KEY_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{16,{KEY_LENGTH}}}")


class AlreadySubmitted(DomainError):
    """This form was posted before: ``url`` is what the first post created."""

    status_code = 303

    def __init__(self, url: str) -> None:
        super().__init__("That form was already sent; here is what it saved.")
        self.url = url


def new_key() -> str:
    """A fresh one-time key for a create form."""
    return secrets.token_urlsafe(24)


def _earlier(user: User, key: str) -> SubmissionKey | None:
    return db.session.scalar(
        sa.select(SubmissionKey).where(SubmissionKey.user_id == user.id, SubmissionKey.key == key)
    )


def claim(user: User, key: str | None) -> SubmissionKey | None:
    """Claim ``key`` for ``user`` before creating (flushes): None when the form sent no key.

    Raises AlreadySubmitted when an earlier post with this key was saved, and DomainError for
    a key that no form of ours made.
    """
    if not key:
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise DomainError("The form is damaged: reload the page and enter it again.")
    found = _earlier(user, key)
    if found is None:
        found = SubmissionKey(user_id=user.id, key=key)
        try:
            with db.session.begin_nested():
                db.session.add(found)
                db.session.flush()
            return found
        except IntegrityError:
            found = _earlier(user, key)  # a post at the same moment was saved first
            if found is None:
                raise
    raise AlreadySubmitted(found.created_url)


def record(claimed: SubmissionKey | None, url: str) -> None:
    """Note the address of what the claiming post created (same transaction; flushes)."""
    if claimed is not None:
        claimed.created_url = url[:500]
        db.session.flush()
