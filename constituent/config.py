"""Settings from CONSTITUENT_* environment variables, with safe embedded defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


class ConfigurationError(RuntimeError):
    """Start-up cannot continue: the message says which setting to fix."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CONSTITUENT_{name}", default)


def _instance_secret(instance_path: Path) -> str:
    """Return the secret kept in the instance folder, generating it on first start."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_settings(instance_path: Path) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = (_env("ENV", "development") or "development").lower()
    production = env == "production"
    secret = _env("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigurationError(
                "CONSTITUENT_SECRET_KEY must be set when CONSTITUENT_ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        secret = _instance_secret(instance_path)
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance_path / 'constituent.db'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    max_mb = int(_env("MAX_UPLOAD_MB", "12") or "12")
    return {
        "CONSTITUENT_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SEARCH_INDEX_DIR": _env("SEARCH_INDEX_DIR") or str(instance_path / "search-index"),
        # The in-process indexer thread: on by default (off under TESTING); set 0 when several
        # processes serve and `flask search worker` runs beside them.
        "SEARCH_BACKGROUND_INDEXER": (
            None
            if _env("SEARCH_BACKGROUND_INDEXER") is None
            else (_env("SEARCH_BACKGROUND_INDEXER") or "").lower() in {"1", "true", "yes"}
        ),
        "UPLOAD_DIR": _env("UPLOAD_DIR") or str(instance_path / "uploads"),
        "OFFICE_NAME": _env("OFFICE_NAME", "District Office") or "District Office",
        "OFFICE_TIMEZONE": _env("TIMEZONE", "America/New_York") or "America/New_York",
        "CASE_PREFIX": _env("CASE_PREFIX", "C-") or "C-",
        # A letter template may not spend more than this filling in one letter (an admin's
        # loop by mistake must not hold a worker), nor come out longer.
        "LETTER_RENDER_SECONDS": float(_env("LETTER_RENDER_SECONDS", "2") or "2"),
        "LETTER_RENDER_MAX_CHARS": int(_env("LETTER_RENDER_MAX_CHARS", "50000") or "50000"),
        "MAX_CONTENT_LENGTH": max_mb * 1024 * 1024,
        # Werkzeug refuses a single form field over 500 KB with a bare 413; let fields through
        # to the forms' own length checks, which name the limit beside the field.
        "MAX_FORM_MEMORY_SIZE": 4 * 1024 * 1024,
        "MAIL_SERVER": _env("MAIL_SERVER"),
        "MAIL_PORT": int(_env("MAIL_PORT", "25") or "25"),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_USE_TLS": (_env("MAIL_USE_TLS", "") or "").lower() in {"1", "true", "yes"},
        "MAIL_SENDER": _env("MAIL_SENDER", "casework@localhost"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "SIGN_IN_LIMIT_PER_ACCOUNT": _env("SIGN_IN_LIMIT_PER_ACCOUNT", "5 per minute"),
        "SIGN_IN_LIMIT_PER_ADDRESS": _env("SIGN_IN_LIMIT_PER_ADDRESS", "30 per minute"),
        "SESSION_IDLE_SECONDS": int(_env("SESSION_IDLE_MINUTES", "30") or "30") * 60,
        "SESSION_ABSOLUTE_SECONDS": int(_env("SESSION_ABSOLUTE_HOURS", "12") or "12") * 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        # argon2id parameters (RFC 9106 second recommended option: 64 MiB, t=3, p=4).
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "ARGON2_PARALLELISM": 4,
    }


class TestConfig:
    """Overrides applied by the test suite (a temporary database is set by the fixtures)."""

    TESTING = True
    WTF_CSRF_ENABLED = True
    # Cheap argon2id parameters so the suite does not spend seconds hashing.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
