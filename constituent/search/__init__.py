"""Full-text search: Whoosh schema, the queue filled in each transaction, the indexer that
applies it after commit, the query language and the permission-filtered search."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Check Whoosh and choose the search engine's path; queue index work in every
    transaction; start the indexer thread with the first request.

    The thread is not started for CLI commands (they serve no requests), nor under TESTING
    unless SEARCH_BACKGROUND_INDEXER is set: multi-process deployments turn it off and run
    ``flask search worker`` instead.
    """
    from constituent.extensions import db
    from constituent.search import engine, indexer, queue

    engine.init_app(app)
    queue.install(db.session)
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
