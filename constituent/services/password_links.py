"""One-time set-password links: when outgoing mail is configured, an admin's "reset password"
can email the account a signed link that sets a new password once, within LINK_LIFETIME.

The link carries a signed, timed token (itsdangerous, keyed by the app's secret) holding the
account and a random secret; the database keeps only the secret's SHA-256, so a link is used
once (its row is marked used in the same statement that checks it) and a database reader
learns nothing to forge one with. Issuing a link ends the account's earlier links.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from constituent.database import affected_rows
from constituent.extensions import db
from constituent.models import PasswordLink, User, utcnow
from constituent.services import audit, auth, notifications
from constituent.services.errors import DomainError

LINK_LIFETIME = timedelta(hours=24)
_SALT = "constituent.set-password-link"

INVALID = (
    "This set-password link is not valid (it may be cut short or mistyped). Ask an "
    "administrator to send a new one."
)
EXPIRED = "This set-password link has expired. Ask an administrator to send a new one."
USED = (
    "This set-password link was used already, or a newer one was sent: each link works once. "
    "Sign in with the password you set, or ask an administrator for a new link."
)


class LinkRefused(DomainError):
    """A set-password link that cannot be used (not valid, expired, or used)."""


def mail_configured() -> bool:
    """True when outgoing mail is set up (links can be sent)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def send_link(user: User, by: User, link_for: Callable[[str], str]) -> datetime:
    """Email ``user`` a one-time link (``link_for(token)`` makes its URL), ending earlier links;
    audited. The email goes after commit. Returns when the link expires."""
    if user.id == by.id:
        raise DomainError("Change your own password on the Change password page.")
    if not user.active:
        raise DomainError(f"{user.full_name}'s account is disabled: enable it first.")
    if not mail_configured():
        raise DomainError(
            "Outgoing mail is not configured, so no link can be sent: reset the password "
            "instead (a generated one is shown once)."
        )
    now = utcnow()
    db.session.execute(
        sa.update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )
    secret = secrets.token_urlsafe(32)
    expires = now + LINK_LIFETIME
    db.session.add(
        PasswordLink(
            user_id=user.id,
            secret_hash=_digest(secret),
            created_by_id=by.id,
            created_at=now,
            expires_at=expires,
        )
    )
    token = _serializer().dumps({"u": user.id, "s": secret})
    hours = int(LINK_LIFETIME.total_seconds() // 3600)
    notifications.queue_staff_email(
        user,
        subject="Set your Constituent password",
        body=(
            f"{by.full_name} asked for a new password for your Constituent account "
            f"({user.email}).\n\nSet it here (the link works once, within {hours} hours):\n"
            f"{link_for(token)}\n\nIf you did not expect this, tell your administrator.\n"
        ),
    )
    db.session.flush()
    audit.record("password_link_sent", "user", user.id, detail=f"expires in {hours}h", user=by)
    return expires


def _find(token: str) -> tuple[User, PasswordLink]:
    try:
        data = _serializer().loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
        user_id, secret = int(data["u"]), str(data["s"])
    except SignatureExpired as exc:
        raise LinkRefused(EXPIRED, code="link_expired") from exc
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(INVALID, code="link_invalid") from exc
    link = db.session.scalar(
        sa.select(PasswordLink).where(
            PasswordLink.secret_hash == _digest(secret), PasswordLink.user_id == user_id
        )
    )
    user = db.session.get(User, user_id)
    if link is None or user is None or not user.active:
        raise LinkRefused(INVALID, code="link_invalid")
    if link.used_at is not None:
        raise LinkRefused(USED, code="link_used")
    if link.expires_at <= utcnow():
        raise LinkRefused(EXPIRED, code="link_expired")
    return user, link


def check_link(token: str) -> User:
    """The account a usable link is for (LinkRefused otherwise)."""
    return _find(token)[0]


def set_password_by_link(token: str, password: str) -> User:
    """Set the account's password through its link, once: the link is spent in the same
    statement that checks it is unspent, so two uses at once set it once. Ends the account's
    sessions; audited."""
    user, link = _find(token)
    auth.check_password_rules(password, "new_password", email=user.email, name=user.full_name)
    spent = db.session.execute(
        sa.update(PasswordLink)
        .where(PasswordLink.id == link.id, PasswordLink.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if affected_rows(spent) != 1:
        raise LinkRefused(USED, code="link_used")
    user.password_hash = auth.hash_password(password)
    user.password_changed_at = utcnow()
    auth.end_sessions(user)
    audit.record("password_set_by_link", "user", user.id, user=user)
    return user
