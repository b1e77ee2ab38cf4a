"""gunicorn settings for Constituent. gunicorn reads ./gunicorn.conf.py from the folder it
starts in (or pass --config gunicorn.conf.py); command-line options still win."""

from __future__ import annotations

import os

from constituent.config import require_shared_rate_limit_storage


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Tell the app how many workers serve, and refuse per-worker throttle counters in
    production when there are several (each worker would count sign-in failures alone)."""
    workers = int(server.cfg.workers)
    os.environ["CONSTITUENT_WORKERS"] = str(workers)
    if (os.environ.get("CONSTITUENT_ENV") or "").lower() == "production":
        storage = os.environ.get("CONSTITUENT_RATELIMIT_STORAGE_URL") or "memory://"
        require_shared_rate_limit_storage(workers, storage)
