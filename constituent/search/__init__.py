"""Full-text search: Whoosh schema, the queue filled in each transaction, the indexer that
applies it after commit, the query language and the permission-filtered search."""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """Check Whoosh and choose the search engine's path; queue index work in every
    transaction; start the indexer thread with the first request.

    The thread is not started for CLI commands (they serve no requests), nor under TESTING
    unless SEARCH_BACKGROUND_INDEXER is set: multi-process deployments turn it off and run
    ``flask search worker`` instead.
    """
    from constituent.config import ConfigurationError
    from constituent.extensions import db
    from constituent.search import backends, engine, indexer, queue

    backend = app.config.setdefault("SEARCH_BACKEND", "whoosh")
    if backend not in backends.NAMES:
        raise ConfigurationError(
            f"CONSTITUENT_SEARCH_BACKEND must be 'whoosh' or 'postgres', not {backend!r}."
        )
    if backend == "postgres" and not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise ConfigurationError(
            "CONSTITUENT_SEARCH_BACKEND=postgres needs a PostgreSQL database "
            "(CONSTITUENT_DATABASE_URL=postgresql://...); this one is "
            f"{app.config['SQLALCHEMY_DATABASE_URI'].split(':', 1)[0]}. "
            "Use CONSTITUENT_SEARCH_BACKEND=whoosh with SQLite."
        )
    engine.init_app(app)
    queue.install(db.session)
    queue.write_directly(_postgres_backend_chosen, _write_postgres_documents)
    if backend == "postgres":
        return  # no index to keep: each transaction writes its own search documents
    enabled = app.config.get("SEARCH_BACKGROUND_INDEXER")
    if enabled is None:
        enabled = not app.testing
    if not enabled:
        return
    started = False

    @app.before_request
    def _start_search_indexer() -> None:
        nonlocal started
        if not started:
            started = True
            indexer.start_background_indexer(app)


def _postgres_backend_chosen() -> bool:
    from constituent.search import backends

    return backends.name() == "postgres"


def _write_postgres_documents(session: Any, touched: dict[str, set[int]]) -> None:
    from constituent.search import postgres

    postgres.write_touched(session, touched)
