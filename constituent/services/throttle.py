"""Sign-in throttling: every attempt is counted before its password is hashed.

Three limits, each a fixed window that opens at its first attempt:

- per (account, address) pair: the tight one, so guessing one account from one place stops
  after a handful of tries;
- per address: across every account, so one place cannot spray a common password;
- per account: much looser, a backstop against guessing from many places at once. An attempt
  refused by the pair or address limit is not charged here, so one attacking address cannot
  spend the account's budget and lock its owner out from everywhere else.

An attempt takes one unit from each limit *before* the slow hash, with an atomic increment in
storage every worker shares (Redis when CONSTITUENT_RATELIMIT_STORAGE_URL is set), so parallel
tries across workers cannot outrun the count. A right password gives its units back and clears
the pair's count, so only failed tries are held against anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

PAIR, ADDRESS, ACCOUNT = "sign-in-pair", "sign-in-address", "sign-in-account"
_EXTENSION = "constituent.throttle"


def init_app(app: Flask) -> None:
    """Give the app its counters: memory:// (one process only) or a shared store."""
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions[_EXTENSION] = FixedWindowRateLimiter(storage)


def _limiter() -> FixedWindowRateLimiter:
    limiter: FixedWindowRateLimiter = current_app.extensions[_EXTENSION]
    return limiter


def reset(app: Flask) -> None:
    """Forget every count (tests; the memory store only)."""
    app.extensions[_EXTENSION].storage.reset()


@dataclass
class SignInReservation:
    """The units one attempt took from each limit, to give back after a right password."""

    taken: list[tuple[RateLimitItem, tuple[str, ...]]] = field(default_factory=list)


def _limits(email: str, address: str) -> list[tuple[str, tuple[str, ...]]]:
    """(limit text, key) for each limit, tightest first: a refusal stops the later ones."""
    cfg = current_app.config
    prefix = cfg.get("RATELIMIT_KEY_PREFIX") or "constituent"
    account = email.strip().lower()[:254]
    return [
        (cfg["SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS"], (prefix, PAIR, account, address)),
        (cfg["SIGN_IN_LIMIT_PER_ADDRESS"], (prefix, ADDRESS, address)),
        (cfg["SIGN_IN_LIMIT_PER_ACCOUNT"], (prefix, ACCOUNT, account)),
    ]


def _give_back(taken: list[tuple[RateLimitItem, tuple[str, ...]]]) -> None:
    storage = _limiter().storage
    for item, key in taken:
        storage.incr(item.key_for(*key), item.get_expiry(), amount=-1)


def reserve_sign_in(email: str, address: str) -> SignInReservation | None:
    """Count one sign-in attempt against every limit, or None when a limit is spent.

    A refused attempt keeps nothing it took from the limits checked before the one that
    refused it.
    """
    limiter = _limiter()
    reservation = SignInReservation()
    for text, key in _limits(email, address):
        for item in parse_many(text):
            if not limiter.hit(item, *key):
                _give_back(reservation.taken)
                return None
            reservation.taken.append((item, key))
    return reservation


def sign_in_succeeded(reservation: SignInReservation) -> None:
    """A right password: give back what the attempt took and forgive the pair's earlier tries."""
    _give_back([(item, key) for item, key in reservation.taken if key[1] != PAIR])
    storage = _limiter().storage
    for item, key in reservation.taken:
        if key[1] == PAIR:
            storage.clear(item.key_for(*key))


# --- the public help form (/help) ------------------------------------------------------------

PUBLIC_ADDRESS, PUBLIC_EMAIL = "help-form-address", "help-form-email"


def allow_public_post(address: str, email: str) -> bool:
    """Count one post of the public help form against the per-address limit and, when an
    email is given, the per-email limit; False when one of them is spent (the post is then
    refused whole, and what it took from the other limit is given back)."""
    cfg = current_app.config
    prefix = cfg.get("RATELIMIT_KEY_PREFIX") or "constituent"
    limits = [(cfg["PUBLIC_FORM_LIMIT_PER_ADDRESS"], (prefix, PUBLIC_ADDRESS, address))]
    email_key = email.strip().lower()[:254]
    if email_key:
        limits.append((cfg["PUBLIC_FORM_LIMIT_PER_EMAIL"], (prefix, PUBLIC_EMAIL, email_key)))
    limiter = _limiter()
    taken: list[tuple[RateLimitItem, tuple[str, ...]]] = []
    for text, key in limits:
        for item in parse_many(text):
            if not limiter.hit(item, *key):
                _give_back(taken)
                return False
            taken.append((item, key))
    return True
