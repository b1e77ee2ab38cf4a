"""Passwords (argon2id), sign-in, and the Flask-Login user loader."""

from __future__ import annotations

import gzip
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app
from flask_login import LoginManager

from constituent.extensions import db
from constituent.models import District, Role, User, utcnow
from constituent.services import audit, permissions
from constituent.services.errors import DomainError
from constituent.services.permissions import Capability

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
SIGN_IN_FAILED = "Email or password is incorrect."


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """argon2id hash of a password."""
    return _hasher().hash(password)


@cache
def common_passwords() -> frozenset[str]:
    """Common passwords of 12+ characters shipped with the package (data/SOURCE.md)."""
    path = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        return frozenset(line.rstrip("\n") for line in fh if line.strip())


def check_password_rules(
    password: str,
    field: str = "password",
    *,
    email: str = "",
    name: str = "",
    current: str = "",
) -> None:
    """12 to 128 characters, not a known common password, and none of the account's own words
    (NIST SP 800-63B 3.1.1.2: context-specific words); no composition rules (ASVS 6.2)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Use at least {MIN_PASSWORD_LENGTH} characters.", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(f"Use at most {MAX_PASSWORD_LENGTH} characters.", field=field)
    if password.lower() in common_passwords():
        raise DomainError(
            "That password is on a list of commonly used passwords. Choose another.", field=field
        )
    folded = _fold(password)
    if current and _fold(current) in folded:
        raise DomainError(
            "The new password is the current one, or contains it. Choose a different one.",
            field=field,
        )
    if any(word in folded for word in _email_words(email)):
        raise DomainError(
            "The password contains the account's email address (or the part before the @). "
            "Choose one that does not.",
            field=field,
        )
    if any(word in folded for word in _name_words(name)):
        raise DomainError(
            "The password contains the account holder's name. Choose one that does not.",
            field=field,
        )


# Shorter pieces of a name or email ("li", "jo") would refuse many good passwords by chance.
MIN_CONTEXT_WORD = 4


def _fold(text: str) -> str:
    """Case and spacing do not make a password different ("Pat Lee" in "patlee2026!!")."""
    return "".join(text.casefold().split())


def _email_words(email: str) -> set[str]:
    email = _fold(email)
    local = email.partition("@")[0]
    return {w for w in (email, local) if len(w) >= MIN_CONTEXT_WORD}


def _name_words(name: str) -> set[str]:
    parts = [p.strip(".,'-") for p in name.casefold().split()]
    words = {p for p in parts if len(p) >= MIN_CONTEXT_WORD}
    whole = "".join(parts)
    if len(whole) >= MIN_CONTEXT_WORD:
        words.add(whole)
    return words


def change_password(user: User, current: str, new: str) -> None:
    """Change a user's own password; the current one is required. Ends every other session."""
    try:
        _hasher().verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise DomainError("The current password is not right.", field="current_password") from exc
    check_password_rules(
        new, field="new_password", email=user.email, name=user.full_name, current=current
    )
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    end_sessions(user)
    audit.record("password_changed", "user", user.id, user=user)


def set_active(user: User, active: bool, by: User) -> None:
    """Enable or disable an account; disabling ends every session of that user at once."""
    if user.id == by.id and not active:
        raise DomainError("You cannot disable your own account.")
    user.active = active
    if not active:
        end_sessions(user)
    audit.record("user_enabled" if active else "user_disabled", "user", user.id, user=by)


def reset_password(user: User, by: User) -> str:
    """Give the account a new generated password (returned once, to show to the admin) and
    end its sessions; audited. An admin changes their own password on the account page."""
    if user.id == by.id:
        raise DomainError("Change your own password on the Change password page.")
    password = generate_password()
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_sessions(user)
    audit.record("password_reset", "user", user.id, user=by)
    return password


def generate_password() -> str:
    """A random password of 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


@dataclass(frozen=True)
class PasswordRecord:
    """What sign-in needs to know of an account, read before the (slow) hash check."""

    user_id: int
    password_hash: str
    active: bool


def password_record(email: str) -> PasswordRecord | None:
    """The account's stored hash, or None for an unknown email (reads only)."""
    if not email:
        return None
    row = db.session.execute(
        sa.select(User.id, User.password_hash, User.active).where(
            User.email == email.strip().lower()
        )
    ).first()
    return PasswordRecord(row.id, row.password_hash, row.active) if row else None


def verify_password(record: PasswordRecord | None, password: str) -> bool:
    """Check the password against the record (CPU only, no database).

    An unknown or disabled account costs the same hash as a wrong password, so timing says
    nothing about which accounts exist.
    """
    hasher = _hasher()
    if record is None or not record.active:
        try:
            hasher.verify(_dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(record.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def finish_sign_in(record: PasswordRecord | None, ok: bool, password: str) -> User | None:
    """Record the attempt (audited either way); the signed-in user when ``ok``."""
    if not ok or record is None:
        audit.record("sign_in_failed", "user", record.user_id if record else None, user=None)
        return None
    user = db.session.get(User, record.user_id)
    if user is None or not user.active:
        audit.record("sign_in_failed", "user", record.user_id, user=None)
        return None
    hasher = _hasher()
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_sign_in_at = utcnow()
    audit.record("sign_in", "user", user.id, user=user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """Check credentials and record the attempt, in the caller's transaction.

    The sign-in view does the same in three steps so that no database lock is held during
    the deliberately slow hash.
    """
    record = password_record(email)
    return finish_sign_in(record, verify_password(record, password), password)


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    key = repr(_hasher())
    if key not in _DUMMY:
        _DUMMY[key] = _hasher().hash(secrets.token_urlsafe(16))
    return _DUMMY[key]


def end_sessions(user: User) -> None:
    """Invalidate every session of the user (sign-out everywhere)."""
    user.session_epoch += 1


def create_user(
    email: str,
    full_name: str,
    role: Role | str,
    district_codes: list[str],
    password: str,
    mail_triage: bool = False,
) -> User:
    """Create a staff account. Raises DomainError on a duplicate email or unknown district."""
    email = email.strip().lower()
    if not email or "@" not in email:
        raise DomainError("Enter a valid email address.", field="email")
    try:
        role = Role(role)
    except ValueError as exc:
        raise DomainError(
            f"Unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}.",
            field="role",
        ) from exc
    check_password_rules(password, email=email, name=full_name)
    if find_user_by_email(email) is not None:
        raise DomainError(f"A user with email {email} already exists.", field="email")
    districts = []
    for code in district_codes:
        district = db.session.scalar(db.select(District).where(District.code == code.upper()))
        if district is None:
            raise DomainError(f"Unknown district {code}.", field="districts")
        if not district.active:
            raise DomainError(
                f"{district.code} is deactivated: choose a district the office serves.",
                field="districts",
            )
        districts.append(district)
    if not districts and permissions.needs_district(role):
        raise DomainError(
            "Every user but an administrator belongs to at least one district.",
            field="districts",
        )
    user = User(
        email=email,
        full_name=full_name.strip() or email,
        role=role,
        password_hash=hash_password(password),
        districts=districts,
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", "user", user.id, detail=f"role={role.value}")
    if mail_triage:
        set_mail_triage(user, True)
    return user


def set_mail_triage(user: User, granted: bool) -> None:
    """Give or take back the unfiled-mail queue (residents' details): audited; flushes."""
    if not permissions.may_grant(user, Capability.TRIAGE_MAIL):
        raise DomainError(
            "Mail triage is given to caseworkers; supervisors work the queue already and "
            "other roles do not file mail.",
            field="mail_triage",
        )
    if user.mail_triage == granted:
        return
    user.mail_triage = granted
    db.session.flush()
    audit.record("mail_triage_granted" if granted else "mail_triage_revoked", "user", user.id)


def init_login(app: Flask, manager: LoginManager) -> None:
    """Configure Flask-Login: load users by 'id:epoch' so bumped epochs end old sessions."""
    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader  # type: ignore[untyped-decorator]  # Flask-Login ships no types
    def load_user(token: str) -> User | None:
        try:
            user_id, epoch = (int(part) for part in token.split(":", 1))
        except ValueError:
            return None
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.session_epoch != epoch:
            return None
        return user


def caseworkers_near(user: User, *, active_only: bool = False) -> list[User]:
    """Staff who work cases in any of ``user``'s districts, by name (the assignee filters)."""
    if not user.district_ids:
        return []
    query = sa.select(User).where(
        User.role.in_(permissions.roles_that_may(Capability.WORK_CASES)),
        User.districts.any(District.id.in_(user.district_ids)),
    )
    if active_only:
        query = query.where(User.active)
    return list(db.session.scalars(query.order_by(User.full_name)))


def list_users() -> list[User]:
    """Every staff account, by role and then by name (the Users page)."""
    return list(db.session.scalars(sa.select(User).order_by(User.role, User.full_name)))
