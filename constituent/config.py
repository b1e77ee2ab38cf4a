"""Settings from CONSTITUENT_* environment variables, with safe embedded defaults."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet


class ConfigurationError(RuntimeError):
    """Start-up cannot continue: the message says which setting to fix."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CONSTITUENT_{name}", default)


def _min_cell(text: str) -> int:
    """The summaries' small-cell threshold: a whole number of at least 2 (1 would hide nothing)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise ConfigurationError(
            f"CONSTITUENT_SUMMARY_MIN_CELL must be a whole number of at least 2, not {text!r}."
        )
    return value


def _instance_secret(
    instance_path: Path, name: str = "secret_key", make: Callable[[], str] | None = None
) -> str:
    """Return the secret kept in the instance folder under ``name``, generating it on first
    start. Several processes may start at once (gunicorn workers, commands): the key is written
    to a private temporary file and linked into place, which only the first succeeds at, so
    every process reads the same whole key."""
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make() if make else secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):  # another process was first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


def _count(name: str) -> int:
    raw = (_env(name, "0") or "0").strip()
    if not raw.isdigit():
        raise ConfigurationError(f"CONSTITUENT_{name} must be a whole number, not {raw!r}.")
    return int(raw)


def _count_or(name: str, default: int) -> int:
    """A whole-number setting with a default when unset."""
    if _env(name) is None:
        return default
    return _count(name)


def worker_count(environ: Mapping[str, str]) -> int:
    """How many processes serve the app: CONSTITUENT_WORKERS (set by gunicorn.conf.py from
    gunicorn's own setting), else WEB_CONCURRENCY (gunicorn's default worker count), else 1."""
    for name in ("CONSTITUENT_WORKERS", "WEB_CONCURRENCY"):
        raw = (environ.get(name) or "").strip()
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
    return 1


def require_shared_rate_limit_storage(workers: int, storage: str) -> None:
    """Refuse per-process throttle counters when several processes serve: each worker would
    count on its own, and N workers would allow N times the sign-in limit."""
    if workers > 1 and storage.startswith("memory://"):
        raise ConfigurationError(
            f"Serving with {workers} workers needs sign-in throttle counters that every worker "
            "shares: set CONSTITUENT_RATELIMIT_STORAGE_URL (for example "
            "redis://127.0.0.1:6379/0). With the default memory:// each worker counts alone."
        )


def _text(name: str, default: str) -> str:
    """CONSTITUENT_<name>, or the default when it is unset or empty."""
    return _env(name, default) or default


def _yes(name: str) -> bool:
    """Whether CONSTITUENT_<name> says yes (1, true or yes)."""
    return (_env(name, "") or "").lower() in {"1", "true", "yes"}


def _secret_key(instance_path: Path, production: bool) -> str:
    """CONSTITUENT_SECRET_KEY; required in production, else kept in the instance folder."""
    secret = _env("SECRET_KEY")
    if secret:
        return secret
    if production:
        raise ConfigurationError(
            "CONSTITUENT_SECRET_KEY must be set when CONSTITUENT_ENV=production "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    return _instance_secret(instance_path)


def _data_key(instance_path: Path, production: bool) -> str:
    """CONSTITUENT_DATA_KEY (a Fernet key: it encrypts agency identifiers at rest); required in
    production, else generated into the instance folder. Several keys, comma-separated, rotate:
    the first encrypts, all decrypt."""
    key = _env("DATA_KEY")
    if key:
        return key
    if production:
        raise ConfigurationError(
            "CONSTITUENT_DATA_KEY must be set when CONSTITUENT_ENV=production (generate one "
            "with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        )
    return _instance_secret(instance_path, "data_key", lambda: Fernet.generate_key().decode())


def _database_url(instance_path: Path) -> str:
    """CONSTITUENT_DATABASE_URL (PostgreSQL through psycopg 3), else SQLite in the instance."""
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance_path / 'constituent.db'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return database_url


def _upload_storage() -> str:
    """CONSTITUENT_UPLOAD_STORAGE: ``filesystem`` (UPLOAD_DIR, the default) or ``database``."""
    value = _text("UPLOAD_STORAGE", "filesystem").strip().lower()
    if value not in ("filesystem", "database"):
        raise ConfigurationError(
            f"CONSTITUENT_UPLOAD_STORAGE must be 'filesystem' or 'database', not {value!r}."
        )
    return value


def load_settings(instance_path: Path) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = _text("ENV", "development").lower()
    production = env == "production"
    secret = _secret_key(instance_path, production)
    database_url = _database_url(instance_path)
    max_mb = int(_text("MAX_UPLOAD_MB", "12"))
    storage = _text("RATELIMIT_STORAGE_URL", "memory://")
    workers = worker_count(os.environ)
    if production:
        require_shared_rate_limit_storage(workers, storage)
    trusted_proxies = _count("TRUSTED_PROXIES")
    return {
        "CONSTITUENT_ENV": env,
        "SECRET_KEY": secret,
        "DATA_KEY": _data_key(instance_path, production),
        # Days after a case closes that its agency identifiers are deleted (flask identifiers
        # purge, run daily from cron).
        "IDENTIFIER_RETENTION_DAYS": _count_or("IDENTIFIER_RETENTION_DAYS", 90),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # whoosh (an index folder on this server) or postgres (full-text search inside the
        # PostgreSQL database: any number of app servers).
        "SEARCH_BACKEND": _text("SEARCH_BACKEND", "whoosh").strip().lower(),
        "SEARCH_INDEX_DIR": _text("SEARCH_INDEX_DIR", str(instance_path / "search-index")),
        # The in-process indexer thread: on by default (off under TESTING); set 0 when several
        # processes serve and `flask search worker` runs beside them.
        "SEARCH_BACKGROUND_INDEXER": (
            None if _env("SEARCH_BACKGROUND_INDEXER") is None else _yes("SEARCH_BACKGROUND_INDEXER")
        ),
        "UPLOAD_DIR": _text("UPLOAD_DIR", str(instance_path / "uploads")),
        # Where uploaded files' bytes live: the folder above, or the database (any app server
        # on one PostgreSQL serves every file; backups carry them inside the database dump).
        "UPLOAD_STORAGE": _upload_storage(),
        "OFFICE_NAME": _text("OFFICE_NAME", "District Office"),
        "OFFICE_TIMEZONE": _text("TIMEZONE", "America/New_York"),
        "CASE_PREFIX": _text("CASE_PREFIX", "C-"),
        # A letter template may not spend more than this filling in one letter (an admin's
        # loop by mistake must not hold a worker), nor come out longer.
        "LETTER_RENDER_SECONDS": float(_text("LETTER_RENDER_SECONDS", "2")),
        "LETTER_RENDER_MAX_CHARS": int(_text("LETTER_RENDER_MAX_CHARS", "50000")),
        # The short code in every case tag ([NY21 C-1042 K7QXA]); empty: the first district's
        # code. Read only through services.tags.office_code().
        "OFFICE_CODE": _text("OFFICE_CODE", ""),
        # Summaries for audiences that see no names withhold breakdown cells below this.
        "SUMMARY_MIN_CELL": _min_cell(_text("SUMMARY_MIN_CELL", "5")),
        "MAX_CONTENT_LENGTH": max_mb * 1024 * 1024,
        # Werkzeug refuses a single form field over 500 KB with a bare 413; let fields through
        # to the forms' own length checks, which name the limit beside the field.
        "MAX_FORM_MEMORY_SIZE": 4 * 1024 * 1024,
        "MAIL_SERVER": _env("MAIL_SERVER"),
        "MAIL_PORT": int(_text("MAIL_PORT", "25")),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _yes("MAIL_USE_TLS"),
        "MAIL_SENDER": _env("MAIL_SENDER", "casework@localhost"),
        # Where services/throttle.py keeps sign-in counts: memory:// (one process) or Redis.
        "RATELIMIT_STORAGE_URI": storage,
        # Set when several instances share one Redis, so their counts stay apart.
        "RATELIMIT_KEY_PREFIX": _env("RATELIMIT_KEY_PREFIX", "constituent"),
        # Sign-in limits (services/throttle.py): tight per (account, address) pair and per
        # address; the per-account one is much looser, so that one attacking address cannot
        # lock the owner out from everywhere else (the pair limit stops it long before).
        "SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS": _env(
            "SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS", "5 per minute;20 per hour"
        ),
        "SIGN_IN_LIMIT_PER_ADDRESS": _env("SIGN_IN_LIMIT_PER_ADDRESS", "30 per minute"),
        "SIGN_IN_LIMIT_PER_ACCOUNT": _env("SIGN_IN_LIMIT_PER_ACCOUNT", "100 per hour"),
        # The public help form (/help): CONSTITUENT_PUBLIC_FORM=off closes it with a polite page.
        "PUBLIC_FORM_OPEN": (_env("PUBLIC_FORM", "on") or "on").strip().lower()
        not in {"off", "0", "no", "false"},
        # A person takes longer than this to fill the form; a faster post is a bot's.
        "PUBLIC_FORM_MIN_SECONDS": float(_text("PUBLIC_FORM_MIN_SECONDS", "2")),
        # Posts of the public form counted per address and per email (same storage as sign-in).
        "PUBLIC_FORM_LIMIT_PER_ADDRESS": _env(
            "PUBLIC_FORM_LIMIT_PER_ADDRESS", "10 per minute;60 per hour"
        ),
        "PUBLIC_FORM_LIMIT_PER_EMAIL": _env("PUBLIC_FORM_LIMIT_PER_EMAIL", "5 per hour"),
        # The office's phone, told to residents in the confirmation email ("" leaves it out).
        "OFFICE_PHONE": _text("OFFICE_PHONE", ""),
        # How many proxies in front of the app set X-Forwarded-For/-Proto (0: believe none).
        "TRUSTED_PROXIES": trusted_proxies,
        "WORKERS": workers,
        "SESSION_IDLE_SECONDS": int(_text("SESSION_IDLE_MINUTES", "30")) * 60,
        "SESSION_ABSOLUTE_SECONDS": int(_text("SESSION_ABSOLUTE_HOURS", "12")) * 3600,
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
