"""Encryption at rest for what a resident gives that an agency uses to find them (claim numbers,
A-numbers, the last four of an SSN): a database dump without the key shows none of it.

The key is the app's DATA_KEY (CONSTITUENT_DATA_KEY, see config.py): Fernet (AES-128-CBC with an
HMAC-SHA256, from the well-kept ``cryptography`` package) rather than anything home-made. Several
comma-separated keys rotate: the first encrypts, every one decrypts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

_EXTENSION = "constituent.crypto"


class DataKeyError(RuntimeError):
    """The stored value cannot be read with the configured key(s)."""


def init_app(app: Flask) -> None:
    keys = [k.strip() for k in str(app.config["DATA_KEY"]).split(",") if k.strip()]
    try:
        app.extensions[_EXTENSION] = MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError) as error:
        raise RuntimeError(
            "CONSTITUENT_DATA_KEY is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from error


_A_STORED_TOKEN = sa.text(
    "SELECT value FROM agency_identifiers"
    " UNION ALL SELECT identifiers FROM online_requests WHERE identifiers IS NOT NULL"
)


def check_key(app: Flask) -> None:
    """Refuse to start when the configured key does not open what is stored (a database
    restored without its key, or a key mistyped): better than pages failing one by one."""
    from constituent.config import ConfigurationError
    from constituent.extensions import db

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                token = connection.execute(_A_STORED_TOKEN).scalars().first()
        except sa.exc.DBAPIError:  # not migrated yet: nothing stored to check
            return
        if token is None:
            return
        try:
            decrypt(token)
        except DataKeyError as error:
            raise ConfigurationError(
                "CONSTITUENT_DATA_KEY does not open the agency identifiers stored in this "
                "database: set it to the key they were written with (a restored backup needs "
                "the office's key; to change keys, list the new key first and the old one "
                "after it, comma-separated)."
            ) from error


def _cipher() -> MultiFernet:
    cipher: MultiFernet = current_app.extensions[_EXTENSION]
    return cipher


def encrypt(text: str) -> str:
    return _cipher().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode("ascii")).decode()
    except InvalidToken as error:
        raise DataKeyError("an encrypted value does not open with CONSTITUENT_DATA_KEY") from error


class EncryptedText(sa.types.TypeDecorator[str]):
    """Text stored as a Fernet token (ASCII), read back as the plain text. Needs an app context."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)
