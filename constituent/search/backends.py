"""The search backends: ``whoosh`` (embedded, the default) and ``postgres`` (PostgreSQL
full-text search), chosen by CONSTITUENT_SEARCH_BACKEND (config SEARCH_BACKEND).

Views and the CLI call ``current()``; each backend answers with the same Outcome objects
(search/searching.py), so the templates do not know which one answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from flask import Flask, current_app, has_app_context

from constituent.models import User
from constituent.search.indexer import Drift
from constituent.search.searching import Outcome

NAMES = ("whoosh", "postgres")
Progress = Callable[[str, int, int], None]


class SearchBackend(Protocol):
    """What the views and `flask search` need of a search engine."""

    name: str

    def search(self, user: User, text: str, *, sort: str = ..., page: int = ...) -> Outcome:
        """Cases, constituents and agencies matching ``text`` that ``user`` may see."""
        ...

    def count_cases(self, user: User, text: str) -> int:
        """How many permitted cases match."""
        ...

    def count_constituents(self, user: User, text: str) -> int:
        """How many constituents the user may see match."""
        ...

    def reindex(self, app: Flask, progress: Progress | None = None) -> str:
        """Rebuild everything from the database; a line saying what was done."""
        ...

    def check(
        self, app: Flask, repair: bool = False, progress: Progress | None = None
    ) -> list[Drift]:
        """Compare what is searchable with the database."""
        ...

    def sync(self, app: Flask) -> str:
        """Apply queued changes now; a line saying what was done."""
        ...

    def prepare(self, app: Flask, progress: Progress | None = None) -> str | None:
        """Make search answer at once after bulk loading (demo seed); what was done."""
        ...


class WhooshBackend:
    """Today's Whoosh index (search/searching.py, search/indexer.py) behind the interface."""

    name = "whoosh"

    def search(self, user: User, text: str, *, sort: str = "relevance", page: int = 1) -> Outcome:
        from constituent.search import searching

        return searching.search(user, text, sort=sort, page=page)

    def count_cases(self, user: User, text: str) -> int:
        from constituent.search import searching

        return searching.count_cases(user, text)

    def count_constituents(self, user: User, text: str) -> int:
        from constituent.search import searching

        return searching.count_constituents(user, text)

    def reindex(
        self, app: Flask, progress: Progress | None = None, procs: int | None = None
    ) -> str:
        from constituent.search import indexer
        from constituent.search.store import index_root

        result = indexer.rebuild(app, progress=progress, procs=procs)
        total = sum(result.counts.values())
        rate = total / result.seconds if result.seconds else 0.0
        counts = ", ".join(f"{n:,} {name}" for name, n in result.counts.items())
        return (
            f"Rebuilt the search index ({counts}) in {result.seconds:.1f}s "
            f"({rate:,.0f} documents/s); {result.replayed} saved meanwhile carried over.\n"
            f"Index: {index_root(app) / result.generation}"
        )

    def check(
        self, app: Flask, repair: bool = False, progress: Progress | None = None
    ) -> list[Drift]:
        from constituent.search import indexer

        return indexer.check(app, repair=repair, progress=progress)

    def sync(self, app: Flask) -> str:
        from constituent.search import indexer

        result = indexer.drain(app, lock_timeout=300.0)
        return (
            f"Indexed {result.indexed} and removed {result.removed} documents "
            f"({result.rows} queued changes)."
        )

    def prepare(self, app: Flask, progress: Progress | None = None) -> str | None:
        from constituent.search import indexer

        rebuilt = indexer.ensure_index(app, progress=progress)
        indexer.drain(app, lock_timeout=300.0)
        return None if rebuilt is None else f"Built the search index in {rebuilt.seconds:.1f}s."


class PostgresBackend:
    """PostgreSQL full-text search (search/postgres.py): rows kept current in each
    transaction, so there is no queue to drain."""

    name = "postgres"

    def search(self, user: User, text: str, *, sort: str = "relevance", page: int = 1) -> Outcome:
        from constituent.search import postgres

        return postgres.search(user, text, sort=sort, page=page)

    def count_cases(self, user: User, text: str) -> int:
        from constituent.search import postgres

        return postgres.count_cases(user, text)

    def count_constituents(self, user: User, text: str) -> int:
        from constituent.search import postgres

        return postgres.count_constituents(user, text)

    def reindex(
        self, app: Flask, progress: Progress | None = None, procs: int | None = None
    ) -> str:
        import time

        from constituent.search import postgres

        started = time.perf_counter()
        result = postgres.reindex(app, progress=progress)
        seconds = time.perf_counter() - started
        total = sum(result.counts.values())
        counts = ", ".join(f"{n:,} {name}" for name, n in result.counts.items())
        return (
            f"Rebuilt the PostgreSQL search documents ({counts}) in {seconds:.1f}s "
            f"({total / seconds if seconds else 0.0:,.0f} documents/s)."
        )

    def check(
        self, app: Flask, repair: bool = False, progress: Progress | None = None
    ) -> list[Drift]:
        from constituent.search import postgres

        return postgres.check(app, repair=repair, progress=progress)

    def sync(self, app: Flask) -> str:
        return "Nothing queued: the postgres backend writes search documents with each save."

    def prepare(self, app: Flask, progress: Progress | None = None) -> str | None:
        # Bulk loads bypass the session hooks: bring every row up to date.
        drift = self.check(app, repair=True, progress=progress)
        fixed = sum(len(d.missing) + len(d.extra) + len(d.stale) for d in drift)
        return f"Wrote {fixed:,} search documents." if fixed else None


_BACKENDS: dict[str, SearchBackend] = {"whoosh": WhooshBackend(), "postgres": PostgresBackend()}


def name(app: Flask | None = None) -> str:
    """The configured backend's name (whoosh outside an application context)."""
    if app is None:
        if not has_app_context():
            return "whoosh"
        app = current_app
    return str(app.config.get("SEARCH_BACKEND") or "whoosh")


def current(app: Flask | None = None) -> SearchBackend:
    """The backend the app is configured to use."""
    return _BACKENDS[name(app)]
